// The storefront's pricing rules in headless Chromium, against the built
// binary: a discount code the server accepts, one it refuses (expired) with
// its reason, shipping rates that change with the country, and VAT added to
// or contained in the prices. Screenshots go to test-output/pricing/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startShop, ownerClient, createProduct, REPO } from '../lib/shop.js';
import { launch, openPage, screenshot, PHONE } from '../lib/browser.js';

const OUTPUT = join(REPO, 'test-output', 'pricing');
const DAY = 24 * 3600 * 1000;

let shop;
let owner;
let browser;
let shirt;
const rates = {};

before(async () => {
  shop = await startShop();
  owner = await ownerClient(shop.url);
  shirt = await createProduct(owner, { name: 'Linen Shirt', price_cents: 5000, stock: 50, low_stock_threshold: 1, image: '#8a6d3b' });
  rates.usStandard = await owner.collection('shipping_rates').create({ name: 'Standard', countries: ['US'], price_cents: 500, free_over_cents: 0, active: true, position: 1 });
  rates.usExpress = await owner.collection('shipping_rates').create({ name: 'Express', countries: ['US'], price_cents: 1500, free_over_cents: 0, active: true, position: 2 });
  rates.eu = await owner.collection('shipping_rates').create({ name: 'EU Post', countries: ['DE', 'FR'], price_cents: 900, free_over_cents: 20000, active: true, position: 3 });
  await owner.collection('tax_rates').create({ name: 'VAT', country: 'DE', rate_bp: 1900, applies_to_shipping: false });
  await owner.collection('discount_codes').create({ code: 'SAVE10', kind: 'percent', value: 10, active: true, min_subtotal_cents: 0, max_uses: 0, max_uses_per_email: 0 });
  await owner.collection('discount_codes').create({
    code: 'SUMMER', kind: 'fixed', value: 1000, active: true,
    starts_at: new Date(Date.now() - 60 * DAY).toISOString().replace('T', ' '),
    ends_at: new Date(Date.now() - 30 * DAY).toISOString().replace('T', ' '),
  });
  browser = await launch(OUTPUT);
});

after(async () => {
  await browser?.close();
  await shop?.stop();
});

function assertNoProblems(problems, allowed = []) {
  const unexpected = problems.filter((p) => !allowed.some((re) => re.test(p)));
  assert.deepEqual(unexpected, [], 'the browser reported errors');
}

async function waitLive(page) {
  await page.locator('body[data-live=true]').waitFor({ state: 'attached' });
}

function shot(page, name) {
  return screenshot(page, name, OUTPUT);
}

/** Returns the totals as [[label, amount]]. */
function totals(page, selector = '[data-cart-totals]') {
  return page.locator(selector).evaluate((dl) => [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
}

/** Waits until the totals list has a row with this label and amount. */
async function waitRow(page, label, amount, selector = '[data-cart-totals]') {
  await page.waitForFunction(([sel, l, a]) => [...document.querySelectorAll(`${sel} dt`)]
    .some((dt) => dt.textContent.toLowerCase() === l.toLowerCase() && dt.nextElementSibling?.textContent === a), [selector, label, amount], { timeout: 10000 })
    .catch(async (err) => { throw new Error(`no row "${label}: ${amount}" in ${JSON.stringify(await totals(page, selector))}: ${err.message}`); });
}

/** Puts one shirt in the cart and fills the checkout form up to the country. */
async function toCheckout(page, { email = 'pia@example.com', country = 'United States' } = {}) {
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  await page.getByRole('button', { name: 'Add Linen Shirt to cart' }).click();
  await page.getByRole('link', { name: 'Cart, 1 item' }).click();
  await page.locator('[data-checkout-form]').waitFor();
  await waitLive(page);
  // Until the country is known, the shipping is not.
  await waitRow(page, 'Shipping', 'Chosen at checkout');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Full name').fill('Pia Pricing');
  await page.getByLabel('Address', { exact: true }).fill('3 Rate Road');
  await page.getByLabel('Postal code').fill('10115');
  await page.getByLabel('City').fill('Berlin');
  await setCountry(page, country);
  await page.getByLabel('Bank transfer').check();
}

async function setCountry(page, country) {
  await page.getByLabel('Country').fill(country);
  await page.getByLabel('Country').press('Tab'); // the change event: rates and quote follow
}

async function placeOrder(page) {
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/order\.html/);
  await waitLive(page);
  return owner.collection('orders').getOne(new URL(page.url()).searchParams.get('id'));
}

test('a valid discount code lowers the total, in the cart and on the order', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await toCheckout(page);
  await waitRow(page, 'Shipping (Standard)', '$5.00');
  await page.getByLabel('Discount code (optional)').fill('save10'); // codes are case-insensitive
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('[data-code-ok]', { hasText: 'applied' }).waitFor();
  assert.match(await page.locator('[data-code-ok]').textContent(), /^Code SAVE10 applied: -\$5\.00\.$/i);
  await waitRow(page, 'Discount (SAVE10)', '-$5.00');
  assert.deepEqual(await totals(page), [
    ['Subtotal', '$50.00'], [(await totals(page))[1][0], '-$5.00'], ['Shipping (Standard)', '$5.00'], ['Total', '$50.00'],
  ]);
  assert.match((await totals(page))[1][0], /^Discount \(SAVE10\)$/i);
  await shot(page, 'code-valid-cart');

  const order = await placeOrder(page);
  assert.equal(order.discount_cents, 500);
  assert.equal(order.total_cents, 5000);
  await waitRow(page, 'Discount (SAVE10)', '-$5.00', '[data-totals]');
  await waitRow(page, 'Total', '$50.00', '[data-totals]');
  assert.ok((await totals(page, '[data-totals]')).some(([l, a]) => l === 'Shipping (Standard)' && a === '$5.00'));
  await shot(page, 'code-valid-order');
  assertNoProblems(problems);
  await context.close();
});

test('an expired code is refused with the server\'s reason, and no order is written', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await toCheckout(page);
  await page.getByLabel('Discount code (optional)').fill('SUMMER');
  await page.getByLabel('Discount code (optional)').press('Enter'); // applies the code; does not place the order
  const error = page.locator('#discount_code-error');
  await error.filter({ hasText: /.+/ }).waitFor();
  assert.match(await error.textContent(), /expired/i);
  assert.equal(await page.getByLabel('Discount code (optional)').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('[data-code-ok]').textContent(), '');
  assert.ok(!(await totals(page)).some(([l]) => l.startsWith('Discount')));
  await shot(page, 'code-expired');

  const before = (await owner.collection('orders').getList(1, 1)).totalItems;
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.locator('#discount_code-error', { hasText: /expired/i }).waitFor();
  assert.ok(await page.getByLabel('Discount code (optional)').evaluate((el) => el === document.activeElement), 'the refused code has the focus');
  assert.equal((await owner.collection('orders').getList(1, 1)).totalItems, before, 'a refused order was written');
  assert.ok(page.url().includes('/cart.html'));
  assertNoProblems(problems, [/status of 400 \(Bad Request\).*\/api\/(shop\/quote|collections\/orders\/records)/]);
  await context.close();
});

test('the shipping rates offered follow the address\'s country, and so do tax and total', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await toCheckout(page);
  const choices = page.locator('[data-rate-choices] label');
  await choices.first().waitFor();
  assert.deepEqual(await choices.allTextContents(), [' Standard · $5.00', ' Express · $15.00']);
  assert.ok(await page.getByRole('radio', { name: 'Standard' }).isChecked(), 'the first rate is chosen');
  await waitRow(page, 'Total', '$55.00');
  await page.getByRole('radio', { name: 'Express' }).check();
  await waitRow(page, 'Shipping (Express)', '$15.00');
  await waitRow(page, 'Total', '$65.00');
  await shot(page, 'rates-us-express');

  // Germany: another rate, and VAT (19%, added to the prices here).
  await setCountry(page, 'Germany');
  await page.locator('[data-rate-choices] label', { hasText: 'EU Post' }).waitFor();
  assert.deepEqual(await choices.allTextContents(), [' EU Post · $9.00 (free from $200.00)']);
  await waitRow(page, 'Shipping (EU Post)', '$9.00');
  await waitRow(page, 'VAT (19%)', '$9.50');
  await waitRow(page, 'Total', '$68.50');
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `the checkout is ${scroll}px wide on a ${width}px screen`);
  await shot(page, 'rates-germany-vat');

  // Nowhere to ship: the form says so.
  await setCountry(page, 'Japan');
  await page.locator('[data-rate-hint]', { hasText: 'We do not ship to Japan' }).waitFor();
  assert.equal(await choices.count(), 0);

  await setCountry(page, 'Germany');
  await page.locator('[data-rate-choices] label', { hasText: 'EU Post' }).waitFor();
  const order = await placeOrder(page);
  assert.equal(order.shipping_address.country, 'DE');
  assert.equal(order.shipping_rate, rates.eu.id);
  assert.equal(order.shipping_rate_name, 'EU Post');
  assert.equal(order.tax_cents, 950);
  assert.equal(order.total_cents, 6850);
  await waitRow(page, 'Shipping (EU Post)', '$9.00', '[data-totals]');
  await waitRow(page, 'VAT (19%)', '$9.50', '[data-totals]');
  assert.match(await page.locator('[data-address]').textContent(), /Germany$/);
  await shot(page, 'rates-germany-order');
  assertNoProblems(problems, [/status of 400 \(Bad Request\).*\/api\/shop\/quote/]);
  await context.close();
});

test('with prices that include VAT, the pages show the VAT contained in the total', async () => {
  const settings = await owner.collection('shop_settings').getFirstListItem('');
  await owner.collection('shop_settings').update(settings.id, { prices_include_tax: true });
  try {
    const { page, problems, context } = await openPage(browser, PHONE);
    await toCheckout(page, { country: 'Germany' });
    // 50.00 contains 50.00 × 19/119 = 7.98 of VAT; shipping is not taxed here.
    await waitRow(page, 'Total', '$59.00');
    await waitRow(page, 'Includes VAT (19%)', '$7.98');
    const rows = await totals(page);
    assert.deepEqual(rows.map(([l]) => l), ['Subtotal', 'Shipping (EU Post)', 'Total', 'Includes VAT (19%)'], 'the VAT comes after the total, not added');
    await shot(page, 'vat-included-cart');

    const order = await placeOrder(page);
    assert.equal(order.tax_cents, 798);
    assert.equal(order.total_cents, 5900);
    await waitRow(page, 'Total', '$59.00', '[data-totals]');
    await waitRow(page, 'Includes VAT (19%)', '$7.98', '[data-totals]');
    await shot(page, 'vat-included-order');
    assertNoProblems(problems);
    await context.close();
  } finally {
    await owner.collection('shop_settings').update(settings.id, { prices_include_tax: false });
  }
});
