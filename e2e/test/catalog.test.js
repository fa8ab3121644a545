// The storefront's catalog in headless Chromium, against the built binary:
// a product sold by variant (option pickers, live price and stock, the
// variant bought), a sold-out variant, search from the header, a category's
// page. Screenshots go to test-output/catalog/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startShop, ownerClient, createProduct, REPO } from '../lib/shop.js';
import { launch, openPage, screenshot, PHONE } from '../lib/browser.js';

const OUTPUT = join(REPO, 'test-output', 'catalog');

let shop;
let owner;
let browser;
const products = {};
const variants = {};
const categories = {};

before(async () => {
  shop = await startShop();
  owner = await ownerClient(shop.url);
  categories.clothing = await owner.collection('categories').create({ name: 'Clothing', slug: 'clothing', position: 1 });
  categories.tshirts = await owner.collection('categories').create({ name: 'T-shirts', slug: 't-shirts', parent: categories.clothing.id, position: 1 });
  categories.kitchen = await owner.collection('categories').create({ name: 'Kitchen', slug: 'kitchen', position: 2 });

  products.tee = await createProduct(owner, { name: 'Trail Tee', price_cents: 2400, stock: 0, image: '#2a7f6f', description: '<p>Organic cotton.</p>' });
  products.tee = await owner.collection('products').update(products.tee.id, {
    options: [{ name: 'Size', values: ['S', 'M', 'L'] }, { name: 'Color', values: ['Red', 'Blue'] }],
    categories: [categories.tshirts.id],
  });
  const variant = (title, options, extra) => owner.collection('variants').create({
    product: products.tee.id, title, options, sku: `TEE-${title.replace(/\W+/g, '')}`, active: true, low_stock_threshold: 2, price_cents: 0, ...extra,
  });
  variants.sRed = await variant('S / Red', { Size: 'S', Color: 'Red' }, { stock: 5, position: 1 });
  variants.mRed = await variant('M / Red', { Size: 'M', Color: 'Red' }, { stock: 3, price_cents: 2600, position: 2 });
  variants.mBlue = await variant('M / Blue', { Size: 'M', Color: 'Blue' }, { stock: 0, position: 3 });
  variants.lBlue = await variant('L / Blue', { Size: 'L', Color: 'Blue' }, { stock: 4, position: 4 });
  // No S / Blue and no L / Red: the pickers must not offer them.

  products.jacket = await createProduct(owner, { name: 'Rain Jacket', price_cents: 8900, stock: 4, description: '<p>Taped seams, packs into its pocket.</p>' });
  await owner.collection('products').update(products.jacket.id, { categories: [categories.clothing.id] });
  products.mug = await createProduct(owner, { name: 'Enamel Mug', price_cents: 1800, stock: 10, description: '<p>A camp mug that survives the <strong>dishwasher</strong>.</p>' });
  await owner.collection('products').update(products.mug.id, { categories: [categories.kitchen.id] });
  products.notebook = await createProduct(owner, { name: 'Field Notebook', price_cents: 1200, stock: 7, description: '<p>Waterproof paper for the trail.</p>' });
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

/** Returns [[value, sold out?, checked?]] of one option picker. */
function picker(page, name) {
  return page.locator('fieldset.option', { has: page.locator('legend', { hasText: new RegExp(`^${name}$`) }) })
    .locator('label').evaluateAll((labels) => labels.map((l) => [
      l.querySelector('span').textContent, l.classList.contains('sold-out'), l.querySelector('input').checked,
    ]));
}

/** Chooses a value of an option as a shopper does: a tap on its label. */
async function pick(page, name, value) {
  await page.locator('fieldset.option', { has: page.locator('legend', { hasText: new RegExp(`^${name}$`) }) })
    .locator('label', { has: page.locator('span', { hasText: new RegExp(`^${value}$`) }) }).click();
}

/** Fails when the page is wider than the phone's screen. */
async function assertFitsPhone(page) {
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= width, `the page is ${scroll}px wide on a ${width}px screen`);
}

test('a shopper chooses a variant, sees its price and stock live, and buys it', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  const card = page.locator(`li.product[data-id="${products.tee.id}"]`);
  assert.equal(await card.locator('.price').textContent(), 'From $24.00');
  assert.equal(await card.locator('.stock').textContent(), 'In stock');
  await card.getByRole('link', { name: 'Choose options for Trail Tee' }).click();

  await page.waitForURL(/product\.html/);
  await waitLive(page);
  // The first size and colour in stock are chosen; only existing
  // combinations are offered; sold-out ones are marked.
  assert.deepEqual(await picker(page, 'Size'), [['S', false, true], ['M', false, false], ['L', false, false]]);
  assert.deepEqual(await picker(page, 'Color'), [['Red', false, true]], 'S comes in red only');
  assert.equal(await page.locator('[data-price]').textContent(), '$24.00', 'a variant without a price has the product\'s');
  assert.equal(await page.locator('[data-variant-title]').textContent(), 'S / Red');
  assert.match(page.url(), new RegExp(`variant=${variants.sRed.id}`));

  await pick(page, 'Size', 'M');
  assert.deepEqual(await picker(page, 'Color'), [['Red', false, true], ['Blue', true, false]]);
  assert.equal(await page.getByRole('radio', { name: 'Blue (sold out)' }).count(), 1, 'the mark is in the accessible name');
  assert.equal(await page.locator('[data-price]').textContent(), '$26.00');
  assert.equal(await page.locator('[data-stock]').textContent(), 'In stock');
  await assertFitsPhone(page);
  await shot(page, 'variant-chosen');

  // Others buy and the owner edits while the page is open: the chosen
  // variant's stock and price follow.
  await owner.collection('variants').update(variants.mRed.id, { stock: 2, price_cents: 2700 });
  await page.locator('[data-stock]', { hasText: 'Only 2 left' }).waitFor();
  await page.locator('[data-price]', { hasText: '$27.00' }).waitFor();
  await shot(page, 'variant-live-update');

  await page.getByLabel('Quantity').fill('1');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.locator('[data-added]', { hasText: '1 × M / Red in your cart' }).waitFor();

  await page.getByRole('link', { name: 'Cart, 1 item' }).click();
  await page.locator('[data-checkout-form]').waitFor();
  const line = page.locator('.cart-line');
  assert.equal(await line.count(), 1);
  assert.equal(await line.locator('[data-variant-title]').textContent(), 'M / Red');
  assert.equal(await line.locator('.unit').textContent(), '$27.00 each');
  assert.equal(await page.locator('[data-subtotal]').textContent(), '$27.00');
  await page.getByLabel('Email').fill('vera@example.com');
  await page.getByLabel('Full name').fill('Vera Variant');
  await page.getByLabel('Address', { exact: true }).fill('2 Side Street');
  await page.getByLabel('Postal code').fill('54321');
  await page.getByLabel('City').fill('Shelbyville');
  await page.getByLabel('Country').fill('United States');
  await page.getByLabel('Bank transfer').check();
  await assertFitsPhone(page);
  await shot(page, 'variant-cart');
  await page.getByRole('button', { name: 'Place order' }).click();

  await page.waitForURL(/\/order\.html/);
  await waitLive(page);
  const row = page.locator('[data-lines] tr');
  assert.equal(await row.count(), 1);
  assert.equal(await row.locator('[data-variant-title]').textContent(), 'M / Red');
  assert.equal(await row.locator('td').last().textContent(), '$27.00');
  await shot(page, 'variant-order');

  const id = new URL(page.url()).searchParams.get('id');
  const order = await owner.collection('orders').getOne(id);
  assert.equal(order.items.length, 1);
  assert.equal(order.items[0].variant, variants.mRed.id);
  assert.equal(order.items[0].variant_title, 'M / Red');
  assert.equal(order.items[0].unit_price_cents, 2700);
  assert.equal((await owner.collection('variants').getOne(variants.mRed.id)).stock, 1, 'the variant\'s stock was reserved');
  assertNoProblems(problems);
  await context.close();
});

test('a sold-out variant cannot be added, and one that sells out live turns sold out', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/product.html?slug=${products.tee.slug}&variant=${variants.mBlue.id}`);
  await waitLive(page);
  assert.deepEqual(await picker(page, 'Size'), [['S', false, false], ['M', false, true], ['L', false, false]]);
  assert.deepEqual(await picker(page, 'Color'), [['Red', false, false], ['Blue', true, true]]);
  assert.equal(await page.locator('[data-stock]').textContent(), 'Sold out');
  assert.ok(await page.getByRole('button', { name: 'Sold out' }).isDisabled());
  assert.ok(await page.getByLabel('Quantity').isDisabled());
  await shot(page, 'variant-sold-out');

  // L comes in blue only; it sells out while the shopper looks at it.
  await pick(page, 'Size', 'L');
  assert.deepEqual(await picker(page, 'Color'), [['Blue', false, true]]);
  assert.ok(await page.getByRole('button', { name: 'Add to cart' }).isEnabled());
  await owner.collection('variants').update(variants.lBlue.id, { stock: 0 });
  await page.locator('[data-stock]', { hasText: 'Sold out' }).waitFor();
  assert.ok(await page.getByRole('button', { name: 'Sold out' }).isDisabled());
  assert.deepEqual(await picker(page, 'Size'), [['S', false, false], ['M', false, false], ['L', true, true]]);
  await shot(page, 'variant-sold-out-live');

  const cart = await page.evaluate(() => localStorage.getItem('pocketshop.cart'));
  assert.ok(!cart || (!cart.includes(variants.mBlue.id) && !cart.includes(variants.lBlue.id)), 'a sold-out variant is in the cart');
  await owner.collection('variants').update(variants.lBlue.id, { stock: 4 });
  assertNoProblems(problems);
  await context.close();
});

test('the header\'s search box finds a product by a word from its description', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/cart.html`);
  await page.getByRole('searchbox', { name: 'Search products' }).fill('dishwasher');
  await page.getByRole('searchbox', { name: 'Search products' }).press('Enter');
  await page.waitForURL(/\/search\.html\?q=dishwasher/);
  await waitLive(page);
  assert.equal(await page.locator('h1').textContent(), 'Results for “dishwasher”');
  assert.equal(await page.locator('[data-search-count]').textContent(), '1 product found.');
  assert.deepEqual(await page.locator('li.product h2').allTextContents(), ['Enamel Mug']);
  assert.equal(await page.getByRole('searchbox', { name: 'Search products' }).inputValue(), 'dishwasher');
  await page.getByRole('button', { name: 'Add Enamel Mug to cart' }).click();
  assert.equal(await page.locator('[data-cart-count]').textContent(), '1');
  await assertFitsPhone(page);
  await shot(page, 'search-results');

  // A word from the variant titles, and words that match nothing.
  await page.getByRole('searchbox', { name: 'Search products' }).fill('blue');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.waitForURL(/q=blue/);
  await waitLive(page);
  assert.deepEqual(await page.locator('li.product h2').allTextContents(), ['Trail Tee']);
  await page.goto(`${shop.url}/search.html?q=${encodeURIComponent('zebra "quoted" (x)')}`);
  await waitLive(page);
  assert.equal(await page.locator('li.product').count(), 0);
  assert.match(await page.locator('[data-notice]').textContent(), /No products match/);
  await shot(page, 'search-nothing');
  assertNoProblems(problems);
  await context.close();
});

test('a category page lists its products and its sub-categories\'', async () => {
  const { page, problems, context } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/`);
  await waitLive(page);
  const nav = page.getByRole('navigation', { name: 'Categories' });
  await nav.getByRole('link').first().waitFor();
  assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Clothing', 'Kitchen'], 'the top-level categories');
  await nav.getByRole('link', { name: 'Clothing' }).click();

  await page.waitForURL(/\/category\.html\?slug=clothing/);
  await waitLive(page);
  assert.equal(await page.locator('h1').textContent(), 'Clothing');
  assert.equal(await nav.getByRole('link', { name: 'Clothing' }).getAttribute('aria-current'), 'page');
  assert.deepEqual(await page.locator('li.product h2').allTextContents(), ['Rain Jacket', 'Trail Tee'], 'Trail Tee is in T-shirts, under Clothing');
  const sub = page.getByRole('navigation', { name: 'Sub-categories' });
  assert.deepEqual(await sub.getByRole('link').allTextContents(), ['T-shirts']);
  await assertFitsPhone(page);
  await shot(page, 'category-clothing');

  // A product put into the category while the page is open appears.
  await owner.collection('products').update(products.notebook.id, { categories: [categories.tshirts.id] });
  await page.locator('li.product h2', { hasText: 'Field Notebook' }).waitFor();
  await owner.collection('products').update(products.notebook.id, { categories: [] });
  await page.locator('li.product h2', { hasText: 'Field Notebook' }).waitFor({ state: 'detached' });

  await sub.getByRole('link', { name: 'T-shirts' }).click();
  await page.waitForURL(/slug=t-shirts/);
  await waitLive(page);
  assert.equal(await page.locator('h1').textContent(), 'T-shirts');
  assert.deepEqual(await page.locator('li.product h2').allTextContents(), ['Trail Tee']);
  assert.deepEqual(await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link').allTextContents(), ['All products', 'Clothing']);
  assert.equal(await nav.getByRole('link', { name: 'Clothing' }).getAttribute('aria-current'), 'true', 'the top-level category it is in');
  await shot(page, 'category-t-shirts');

  await page.goto(`${shop.url}/category.html?slug=no-such-thing`);
  await page.locator('[data-notice]', { hasText: 'not in the shop' }).waitFor();
  assertNoProblems(problems);
  await context.close();
});
