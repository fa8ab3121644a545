// The storefront and the dashboard in headless Chromium, against the built
// binary. Screenshots of each step go to test-output/browser/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startShop, ownerClient, guestClient, createProduct, guestOrder, OWNER_EMAIL, OWNER_PASSWORD } from '../lib/shop.js';
import { launch, openPage, screenshot, PHONE, DESKTOP } from '../lib/browser.js';

let shop;
let owner;
let browser;
const products = {};
let placed; // the order the guest places in the first test

before(async () => {
  shop = await startShop();
  owner = await ownerClient(shop.url);
  products.mug = await createProduct(owner, { name: 'Enamel Mug', price_cents: 1800, stock: 10, low_stock_threshold: 3, image: '#2a7f6f', description: '<p>A camp mug that survives the <strong>dishwasher</strong>.</p>' });
  products.tote = await createProduct(owner, { name: 'Canvas Tote', price_cents: 2400, stock: 3, low_stock_threshold: 3, image: '#c7793a' });
  products.notebook = await createProduct(owner, { name: 'Field Notebook', price_cents: 1200, stock: 0 });
  products.beanie = await createProduct(owner, { name: 'Wool Beanie', price_cents: 3200, stock: 2, low_stock_threshold: 2, image: '#3a5fc7' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await owner?.realtime.unsubscribe().catch(() => {});
  await shop?.stop();
});

/** Fails unless problems holds only entries matching one of allowed. */
function assertNoProblems(problems, allowed = []) {
  const unexpected = problems.filter((p) => !allowed.some((re) => re.test(p)));
  assert.deepEqual(unexpected, [], 'the browser reported errors');
}

async function waitLive(page) {
  await page.locator('body[data-live=true]').waitFor({ state: 'attached' });
}

function card(page, product) {
  return page.locator(`li.product[data-id="${product.id}"]`);
}

/** Lists the visible form controls that have no accessible label. */
function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML));
}

async function fillCheckout(page, { email = 'ann@example.com', payment = 'Bank transfer' } = {}) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Full name').fill('Ann Example');
  await page.getByLabel('Address', { exact: true }).fill('1 Main Street');
  await page.getByLabel('Postal code').fill('12345');
  await page.getByLabel('City').fill('Springfield');
  await page.getByLabel('Country').fill('United States');
  await page.getByLabel(payment).check();
}

test('a guest buys two items and sees the order page', async () => {
  // A second shopper keeps the catalog open: its stock labels follow live.
  const watcher = await openPage(browser, PHONE);
  await watcher.page.goto(`${shop.url}/`);
  await waitLive(watcher.page);

  const { page, problems } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  assert.equal(await page.locator('h1').textContent(), 'Products');
  assert.equal(await card(page, products.mug).locator('.price').textContent(), '$18.00');
  assert.equal(await card(page, products.mug).locator('.stock').textContent(), 'In stock');
  assert.equal(await card(page, products.tote).locator('.stock').textContent(), 'Only 3 left');
  assert.equal(await card(page, products.notebook).locator('.stock').textContent(), 'Sold out');
  // The product images are PocketBase's 400x400 thumbs, and they load.
  const img = card(page, products.mug).locator('img');
  assert.match(await img.getAttribute('src'), /\/api\/files\/.+\?thumb=400x400$/);
  await page.waitForFunction((el) => el.complete && el.naturalWidth === 400, await img.elementHandle());
  await screenshot(page, 'guest-catalog');

  await page.getByRole('button', { name: 'Add Enamel Mug to cart' }).click();
  await page.getByRole('button', { name: 'Add Canvas Tote to cart' }).click();
  assert.equal(await page.locator('[data-cart-count]').textContent(), '2');
  assert.equal(await page.getByRole('link', { name: 'Cart, 2 items' }).count(), 1);

  await page.getByRole('link', { name: 'Cart, 2 items' }).click();
  await page.locator('[data-checkout-form]').waitFor();
  assert.equal(await page.locator('.cart-line').count(), 2);
  assert.equal(await page.locator('[data-subtotal]').textContent(), '$42.00');
  await fillCheckout(page);
  assert.deepEqual(await unlabelledControls(page), [], 'form controls without a label');
  await screenshot(page, 'guest-checkout');

  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/order\.html\?id=\w+&token=\w+/);
  await waitLive(page);
  await page.locator('[data-instructions]').waitFor();
  assert.match(await page.locator('h1').textContent(), /^Order #\d+$/);
  assert.equal(await page.locator('[data-status]').textContent(), 'Waiting for payment');
  assert.equal(await page.locator('[data-lines] tr').count(), 2);
  assert.equal(await page.locator('[data-totals] .total').textContent(), '$47.00', '42.00 plus 5.00 shipping');
  // The owner's manual payment instructions, from POST /api/shop/orders/{id}/pay.
  assert.match(await page.locator('[data-instructions]').textContent(), /bank transfer/i);
  assert.equal(await page.locator('[data-cart-count]').textContent(), '0', 'the cart was emptied');
  await screenshot(page, 'guest-order-placed');

  const url = new URL(page.url());
  placed = { id: url.searchParams.get('id'), token: url.searchParams.get('token') };
  const order = await owner.collection('orders').getOne(placed.id);
  assert.equal(order.status, 'pending');
  assert.equal(order.payment_method, 'manual');
  assert.equal(order.total_cents, 4700);
  // The country as typed ("United States") is sent as its ISO code: tax
  // rates and shipping rates go by it (second round).
  assert.deepEqual(order.shipping_address, {
    name: 'Ann Example', line1: '1 Main Street', postal_code: '12345', city: 'Springfield', country: 'US',
  });

  // The other shopper's catalog shows the reserved stock without a reload.
  await card(watcher.page, products.tote).locator('.stock', { hasText: 'Only 2 left' }).waitFor();
  await screenshot(watcher.page, 'other-shopper-live-stock');

  assertNoProblems(problems);
  assertNoProblems(watcher.problems);
  await watcher.context.close();
  await page.context().close();
});

test('a sold-out product cannot be added', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  const notebook = card(page, products.notebook);
  assert.equal(await notebook.getByRole('button').textContent(), 'Sold out');
  assert.ok(await notebook.getByRole('button').isDisabled());

  await page.goto(`${shop.url}/product.html?slug=${products.notebook.slug}`);
  await waitLive(page);
  assert.equal(await page.locator('h1').textContent(), 'Field Notebook');
  assert.equal(await page.locator('[data-stock]').textContent(), 'Sold out');
  assert.ok(await page.getByRole('button', { name: 'Sold out' }).isDisabled());
  assert.ok(await page.getByLabel('Quantity').isDisabled());
  await screenshot(page, 'sold-out-product');

  // A product that sells out while the page is open turns to sold out live.
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  assert.ok(await card(page, products.beanie).getByRole('button').isEnabled());
  await owner.collection('products').update(products.beanie.id, { stock: 0 });
  await card(page, products.beanie).locator('.stock', { hasText: 'Sold out' }).waitFor();
  assert.ok(await card(page, products.beanie).getByRole('button').isDisabled());
  await screenshot(page, 'sold-out-live');

  const cart = await page.evaluate(() => localStorage.getItem('pocketshop.cart'));
  assert.ok(!cart || !cart.includes(products.notebook.id), 'the sold-out product is in the cart');
  await owner.collection('products').update(products.beanie.id, { stock: 2 });
  assertNoProblems(problems);
  await context.close();
});

test('the checkout form shows the server\'s validation errors next to the fields', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/product.html?slug=${products.beanie.slug}`);
  await waitLive(page);
  assert.equal(await page.locator('[data-stock]').textContent(), 'Only 2 left');
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.locator('[data-added]', { hasText: '2 in your cart' }).waitFor();
  await screenshot(page, 'validation-product-added');

  await page.getByRole('link', { name: 'Cart, 2 items' }).click();
  await page.locator('[data-checkout-form]').waitFor();
  const before = (await owner.collection('orders').getList(1, 1)).totalItems;

  // The browser lets "ann@localhost" through; the shop does not.
  await fillCheckout(page, { email: 'ann@localhost' });
  await page.getByRole('button', { name: 'Place order' }).click();
  const emailError = page.locator('#email-error');
  await emailError.filter({ hasText: /.+/ }).waitFor();
  assert.equal(await emailError.textContent(), 'Must be a valid email address.');
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.getByLabel('Email').getAttribute('aria-describedby'), 'email-error');
  assert.ok(await page.getByLabel('Email').evaluate((el) => el === document.activeElement), 'the invalid field has the focus');
  await screenshot(page, 'validation-email');

  // Someone else bought a beanie meanwhile: the shop says what is left.
  await owner.collection('products').update(products.beanie.id, { stock: 1 });
  await page.getByLabel('Email').fill('ann@example.com');
  await page.getByRole('button', { name: 'Place order' }).click();
  const itemsError = page.locator('#items-error');
  await itemsError.filter({ hasText: /.+/ }).waitFor();
  assert.equal(await itemsError.textContent(), 'Not enough stock for "Wool Beanie": only 1 left.');
  assert.equal(await page.locator('#email-error').textContent(), '', 'the fixed field\'s error was cleared');
  await page.locator('.cart-line .stock', { hasText: 'Only 1 left' }).waitFor();
  await screenshot(page, 'validation-stock');

  assert.equal((await owner.collection('orders').getList(1, 1)).totalItems, before, 'a rejected order was written');
  assert.equal((await owner.collection('products').getOne(products.beanie.id)).stock, 1);
  // The two 400 answers are logged by the browser itself; nothing else.
  assertNoProblems(problems, [/status of 400 \(Bad Request\).*\/api\/collections\/orders\/records/]);
  await context.close();
});

test('the owner fulfils the order in the dashboard and the customer sees it live', async () => {
  assert.ok(placed, 'needs the order of the first test');
  const customer = await openPage(browser, PHONE);
  await customer.page.goto(`${shop.url}/order.html?id=${placed.id}&token=${placed.token}`);
  await waitLive(customer.page);
  assert.equal(await customer.page.locator('[data-status]').textContent(), 'Waiting for payment');

  // The owner is not in UTC: the dashboard's dates must still round-trip.
  const { page, problems, context } = await openPage(browser, { ...DESKTOP, timezoneId: 'America/New_York' });
  await page.goto(`${shop.url}/_/`);
  await page.getByLabel('Email').fill(OWNER_EMAIL);
  await page.getByLabel('Password', { exact: true }).fill(OWNER_PASSWORD);
  await screenshot(page, 'dashboard-login');
  await page.getByRole('button', { name: 'Login' }).click();
  await page.locator('.collections-list .nav-item[title="orders"]').click();
  const order = await owner.collection('orders').getOne(placed.id);
  const row = page.locator('.records-table tbody tr', { hasText: order.id });
  await row.waitFor();
  await screenshot(page, 'dashboard-orders');

  const panel = page.locator('.record-upsert-modal');
  const field = (name) => panel.locator('.record-field-input').filter({ has: page.locator('label span.txt', { hasText: new RegExp(`^${name}$`) }) });
  const setStatus = async (status) => {
    await field('status').locator('.selected-container').click();
    await field('status').locator('.select-option', { hasText: new RegExp(`^${status}$`) }).click();
  };

  // The money arrived by bank transfer: the owner marks the order paid.
  await row.click();
  await panel.waitFor();
  await setStatus('paid');
  await screenshot(page, 'dashboard-mark-paid');
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await panel.waitFor({ state: 'detached' });
  await customer.page.locator('[data-status]', { hasText: 'Paid' }).waitFor();
  await screenshot(customer.page, 'customer-sees-paid');

  // Shipped: fulfilled with a tracking number.
  await row.click();
  await panel.waitFor();
  await setStatus('fulfilled');
  await field('tracking_number').locator('textarea').fill('1Z999AA10123456784');
  await screenshot(page, 'dashboard-mark-fulfilled');
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await panel.waitFor({ state: 'detached' });
  await screenshot(page, 'dashboard-saved');

  await customer.page.locator('[data-status]', { hasText: 'Shipped' }).waitFor();
  assert.match(await customer.page.locator('[data-status-detail]').textContent(), /Tracking number: 1Z999AA10123456784\./);
  assert.ok(await customer.page.locator('[data-cancel]').isHidden(), 'a shipped order offers no cancel');
  await screenshot(customer.page, 'customer-sees-shipped');

  const done = await owner.collection('orders').getOne(placed.id);
  assert.equal(done.status, 'fulfilled');
  assert.equal(done.tracking_number, '1Z999AA10123456784');
  assert.ok(done.paid_at && done.fulfilled_at);
  assert.equal(done.expires_at, order.expires_at, 'the dashboard changed a server-written date');
  const events = await owner.collection('order_events').getFullList({ filter: owner.filter('order = {:id}', { id: placed.id }), sort: 'created' });
  assert.deepEqual(events.map((e) => [e.to_status, e.actor]), [['pending', 'customer'], ['paid', 'admin'], ['fulfilled', 'admin']]);

  assertNoProblems(problems);
  assertNoProblems(customer.problems);
  await context.close();
  await customer.context.close();
});

test('a customer signs up, orders signed in and finds the order under My orders', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/account.html`);
  await page.locator('[data-signed-out]').waitFor();
  await page.getByLabel('Email', { exact: true }).last().fill('dana@example.com');
  await page.locator('#signup-password').fill('short');
  await page.getByLabel('Repeat the password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  // PocketBase's own validation message, next to the field.
  await page.locator('#signup-password-error').filter({ hasText: /.+/ }).waitFor();
  await screenshot(page, 'account-signup-error');

  await page.locator('#signup-password').fill('dana-password-1');
  await page.getByLabel('Repeat the password').fill('dana-password-1');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('[data-signed-in]').waitFor();
  assert.equal(await page.locator('[data-user-email]').textContent(), 'dana@example.com');
  assert.equal(await page.locator('[data-account-link]').textContent(), 'My orders');

  await page.goto(`${shop.url}/`);
  await waitLive(page);
  await page.getByRole('button', { name: 'Add Enamel Mug to cart' }).click();
  await page.getByRole('link', { name: 'Cart, 1 item' }).click();
  await page.locator('[data-checkout-form]').waitFor();
  assert.equal(await page.getByLabel('Email (for this order)').inputValue(), 'dana@example.com');
  await fillCheckout(page, { email: 'dana@example.com' });
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/order\.html/);
  await waitLive(page);
  const number = (await page.locator('h1').textContent()).replace('Order ', '');

  await page.getByRole('link', { name: 'My orders' }).click();
  await page.locator('[data-order-list] li', { hasText: `Order ${number}` }).waitFor();
  assert.equal(await page.locator('[data-order-list] li').count(), 1, 'only her own order is listed');
  await screenshot(page, 'account-my-orders');

  // Signed out, then in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('[data-signin-form]').waitFor();
  await page.locator('#signin-email').fill('dana@example.com');
  await page.locator('#signin-password').fill('wrong-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-signin-form] [data-form-error]', { hasText: 'The email or password is not right.' }).waitFor();
  await page.locator('#signin-password').fill('dana-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-order-list] li', { hasText: `Order ${number}` }).waitFor();

  assertNoProblems(problems, [/status of 400 \(Bad Request\).*\/api\/collections\/users\//]);
  await context.close();
});

test('a guest cancels from the order page and the stock is back on sale', async () => {
  await owner.collection('products').update(products.beanie.id, { stock: 1 });
  const order = await guestClient(shop.url).collection('orders').create(guestOrder([[products.beanie, 1]]));

  const shopper = await openPage(browser, PHONE);
  await shopper.page.goto(`${shop.url}/`);
  await waitLive(shopper.page);
  assert.equal(await card(shopper.page, products.beanie).locator('.stock').textContent(), 'Sold out');

  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/order.html?id=${order.id}&token=${order.token}`);
  await waitLive(page);
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Cancel order' }).click();
  await page.locator('[data-status]', { hasText: 'Cancelled' }).waitFor();
  assert.ok(await page.locator('[data-pay]').isHidden());
  await screenshot(page, 'guest-cancelled');

  await card(shopper.page, products.beanie).locator('.stock', { hasText: 'Only 1 left' }).waitFor();
  assert.ok(await card(shopper.page, products.beanie).getByRole('button').isEnabled());
  assertNoProblems(problems);
  assertNoProblems(shopper.problems);
  await shopper.context.close();
  await context.close();
});

test('card payment without Stripe keys shows the server\'s message and keeps the order', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  await page.getByRole('button', { name: 'Add Enamel Mug to cart' }).click();
  await page.getByRole('link', { name: 'Cart, 1 item' }).click();
  await page.locator('[data-checkout-form]').waitFor();
  await fillCheckout(page, { payment: 'Card' });
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/order\.html/);
  const error = page.locator('[data-pay-error]');
  await error.filter({ hasText: /.+/ }).waitFor();
  assert.match(await error.textContent(), /payments are not configured/i);
  assert.match(await error.textContent(), /Your order is kept/);
  assert.equal(await page.locator('[data-status]').textContent(), 'Waiting for payment');
  assert.ok(await page.getByRole('button', { name: 'Pay now' }).isVisible(), 'the customer can try again');
  assert.doesNotMatch(page.url(), /pay=1/, 'a reload would start the payment again');
  await screenshot(page, 'card-payment-not-configured');

  // Stripe's cancel URL brings the customer back here.
  await page.goto(`${page.url()}&checkout=cancelled`);
  await waitLive(page);
  assert.match(await page.locator('[data-checkout-result]').textContent(), /payment was not completed/);
  assertNoProblems(problems, [/status of 503/]);
  await context.close();
});
