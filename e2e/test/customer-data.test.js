// Customer data (privacy requests): the SDK contract of
// GET /api/shop/account/export and POST /api/shop/account/erase, and the
// account page's "Download my data" and "Delete my account" in headless
// Chromium, against the built binary. Screenshots go to test-output/account/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClientResponseError } from 'pocketbase';
import { startShop, ownerClient, customerClient, createProduct, guestOrder, REPO } from '../lib/shop.js';
import { launch, openPage, screenshot, PHONE } from '../lib/browser.js';

const OUTPUT = join(REPO, 'test-output', 'account');
const PASSWORD = 'customer-password-123';
const ADDRESS = { name: 'Yara Quenton', line1: '9 Quenton Lane', city: 'Yarrow', postal_code: 'YQ 1', country: 'US' };

let shop;
let owner;
let browser;
let mug;

before(async () => {
  shop = await startShop();
  owner = await ownerClient(shop.url);
  mug = await createProduct(owner, { name: 'Enamel Mug', price_cents: 1800, stock: 20 });
  browser = await launch(OUTPUT);
});

after(async () => {
  await browser?.close();
  await shop?.stop();
});

/** Returns the ClientResponseError a promise rejects with. */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ClientResponseError, `not a ClientResponseError: ${err}`);
    return err;
  }
  assert.fail('the request succeeded');
}

test('SDK: a customer exports her data and erases her account; the owner keeps the order\'s figures', async () => {
  const yara = await customerClient(shop.url, 'yara@example.com');
  const bob = await customerClient(shop.url, 'bob.sdk@example.com');
  const order = await yara.collection('orders').create({ ...guestOrder([[mug, 2]]), email: undefined, shipping_address: ADDRESS, note: 'ring twice' });
  await bob.collection('orders').create(guestOrder([[mug, 1]], { email: 'bob.sdk@example.com' }));

  // The export: her account, her order with lines and events, her emails;
  // the download headers; never Bob's order, never the guest token.
  const data = await yara.send('/api/shop/account/export', { method: 'GET' });
  assert.equal(data.user.email, 'yara@example.com');
  assert.equal(data.orders.length, 1);
  assert.equal(data.orders[0].id, order.id);
  assert.equal(data.orders[0].note, 'ring twice');
  assert.equal(data.orders[0].token, undefined);
  assert.equal(data.orders[0].items.length, 1);
  assert.deepEqual(data.orders[0].events.map((e) => e.to_status), ['pending']);
  assert.ok(data.emails.every((e) => e.to === 'yara@example.com'));
  const raw = await fetch(`${shop.url}/api/shop/account/export`, { headers: { Authorization: yara.authStore.token } });
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-disposition'), /^attachment; filename="my-data-\d{4}-\d{2}-\d{2}\.json"$/);
  assert.equal((await bob.send('/api/shop/account/export', { method: 'GET' })).orders.length, 1, 'Bob sees only his own');
  assert.equal((await rejection(owner.send('/api/shop/account/export', { method: 'GET' }))).status, 403);

  // Not while the order is pending; not with a wrong password; nothing changes.
  let err = await rejection(yara.send('/api/shop/account/erase', { method: 'POST', body: { password: PASSWORD } }));
  assert.equal(err.status, 400);
  assert.match(err.response.message, /order #\d+ is pending/);
  await yara.send(`/api/shop/orders/${order.id}/cancel`, { method: 'POST' });
  err = await rejection(yara.send('/api/shop/account/erase', { method: 'POST', body: { password: 'wrong-password-1' } }));
  assert.equal(err.status, 401);
  err = await rejection(yara.send('/api/shop/account/erase', { method: 'POST', body: {} }));
  assert.equal(err.status, 400);
  assert.ok(err.response.data.password.message);
  assert.equal((await owner.collection('orders').getOne(order.id)).email, 'yara@example.com');

  const res = await yara.send('/api/shop/account/erase', { method: 'POST', body: { password: PASSWORD } });
  assert.deepEqual(res, { erased: true, orders_kept: 1 });

  const kept = await owner.collection('orders').getOne(order.id);
  assert.equal(kept.email, `erased-${order.id}@erased.invalid`);
  assert.equal(kept.shipping_address, null);
  assert.equal(kept.note, '');
  assert.equal(kept.token, '');
  assert.equal(kept.customer, '');
  assert.equal(kept.number, order.number);
  assert.equal(kept.total_cents, order.total_cents);
  assert.equal(kept.status, 'cancelled');
  const erasures = await owner.collection('erasures').getFullList();
  assert.equal(erasures.length, 1);
  assert.equal(erasures[0].requested_by, 'customer');
  assert.equal(erasures[0].orders, 1);
  assert.ok(!JSON.stringify(erasures).includes('yara'), 'the erasures row holds no personal data');
  // The account is gone: no sign-in, no export with the old session.
  assert.equal((await rejection(yara.collection('users').authWithPassword('yara@example.com', PASSWORD))).status, 400);
  assert.equal((await rejection(yara.send('/api/shop/account/export', { method: 'GET' }))).status, 401);
});

test('browser: "Download my data" saves the JSON file and "Delete my account" asks for the password', async () => {
  const zoe = await customerClient(shop.url, 'zoe@example.com');
  const order = await zoe.collection('orders').create({ ...guestOrder([[mug, 1]]), email: undefined, shipping_address: { ...ADDRESS, name: 'Zoe Quenton' } });

  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/account.html`);
  // The order is remembered on this device, as checkout does.
  await page.evaluate((o) => localStorage.setItem('pocketshop.orders', JSON.stringify([o])),
    { id: order.id, token: order.token, number: order.number });
  await page.reload();
  await page.locator('[data-device-orders]:not([hidden])').waitFor();
  await page.locator('[data-signin-form]').waitFor();
  await page.locator('#signin-email').fill('zoe@example.com');
  await page.locator('#signin-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-order-list] li', { hasText: `Order #${order.number}` }).waitFor();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^my-data-\d{4}-\d{2}-\d{2}\.json$/);
  const file = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(file.user.email, 'zoe@example.com');
  assert.deepEqual(file.orders.map((o) => o.number), [order.number]);
  assert.equal(file.orders[0].shipping_address.name, 'Zoe Quenton');
  await screenshot(page, 'account-your-data', OUTPUT);

  // Pending order: the server's reason, next to the form.
  await page.getByLabel('Your password, to confirm').fill(PASSWORD);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.locator('[data-erase-form] [data-form-error]', { hasText: `order #${order.number} is pending` }).waitFor();
  await screenshot(page, 'account-delete-pending-order', OUTPUT);

  await zoe.send(`/api/shop/orders/${order.id}/cancel`, { method: 'POST' });
  // No password, then a wrong one: said next to the field, nothing deleted.
  await page.getByLabel('Your password, to confirm').fill('');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.locator('#erase-password-error', { hasText: 'Enter your password' }).waitFor();
  await page.getByLabel('Your password, to confirm').fill('not-the-password');
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.locator('#erase-password-error', { hasText: 'The password is not right.' }).waitFor();
  assert.equal(await page.getByLabel('Your password, to confirm').getAttribute('aria-invalid'), 'true');
  assert.equal((await owner.collection('orders').getOne(order.id)).email, 'zoe@example.com');
  await screenshot(page, 'account-delete-wrong-password', OUTPUT);

  await page.getByLabel('Your password, to confirm').fill(PASSWORD);
  await page.getByRole('button', { name: 'Delete my account' }).click();
  await page.locator('[data-signed-out]').waitFor();
  assert.match(await page.locator('[data-notice]').textContent(), /Your account was deleted\. Your order stays in the shop's books without your personal data\./);
  assert.equal(await page.evaluate(() => localStorage.getItem('pocketbase_auth')), null, 'signed out');
  assert.ok(await page.locator('[data-device-orders]').isHidden(), 'the erased order is forgotten on this device');
  await screenshot(page, 'account-deleted', OUTPUT);

  const kept = await owner.collection('orders').getOne(order.id);
  assert.equal(kept.email, `erased-${order.id}@erased.invalid`);
  assert.equal(kept.shipping_address, null);
  // Signing in again fails: the account is gone.
  await page.locator('#signin-email').fill('zoe@example.com');
  await page.locator('#signin-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-signin-form] [data-form-error]', { hasText: 'The email or password is not right.' }).waitFor();

  const expected = [/status of 400 \(Bad Request\)/, /status of 401 \(Unauthorized\)/];
  const unexpected = problems.filter((p) => !expected.some((re) => re.test(p)));
  assert.deepEqual(unexpected, [], 'the browser reported errors');
  await context.close();
});
