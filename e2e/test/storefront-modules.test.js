// The storefront's plain modules, loaded straight from pb_public/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../lib/shop.js';
import { centsToDecimal, formatCents, intlExponent } from '../../pb_public/js/money.js';
import { choose, selectionOf, variantPrice, priceRange, totalStock } from '../../pb_public/js/variants.js';
import { totalsRows, taxIncluded, percentLabel, ratesForCountry, rateCents, countryCode, countryName, countryList } from '../../pb_public/js/pricing.js';

test('centsToDecimal splits minor units with integer arithmetic', () => {
  const cases = [
    [0, 2, '0.00'], [5, 2, '0.05'], [123456, 2, '1234.56'], [-5, 2, '-0.05'], [-123456, 2, '-1234.56'],
    [500, 0, '500'], [1234, 3, '1.234'], [1, 3, '0.001'],
    // Beyond 2^53 a float would round; BigInt does not.
    [9007199254740993n, 2, '90071992547409.93'],
  ];
  for (const [cents, exp, want] of cases) assert.equal(centsToDecimal(cents, exp), want, `${cents} with ${exp} decimals`);
});

test('formatCents formats with the currency exponent', () => {
  assert.equal(formatCents(123456, 'usd', 2, 'en-US'), '$1,234.56');
  assert.equal(formatCents(1999, 'eur', 2, 'de-DE'), '19,99\u00a0€');
  assert.equal(formatCents(500, 'jpy', 0, 'en-US'), '¥500');
  assert.equal(formatCents(1234, 'kwd', 3, 'en-US'), 'KWD\u00a01.234');
  assert.equal(formatCents(-250, 'usd', 2, 'en-US'), '-$2.50');
  // 0.1 + 0.2 style float errors never show up.
  assert.equal(formatCents(30, 'usd', 2, 'en-US'), '$0.30');
  assert.equal(intlExponent('usd'), 2);
  assert.equal(intlExponent('jpy'), 0);
});

test('the vendored SDK is the npm package the tests use, unchanged', async () => {
  const pkg = JSON.parse(await readFile(join(REPO, 'e2e', 'node_modules', 'pocketbase', 'package.json'), 'utf8'));
  const vendored = await readFile(join(REPO, 'pb_public', 'vendor', 'pocketbase.es.mjs'));
  const fromNpm = await readFile(join(REPO, 'e2e', 'node_modules', 'pocketbase', 'dist', 'pocketbase.es.mjs'));
  assert.ok(vendored.equals(fromNpm), 'pb_public/vendor/pocketbase.es.mjs differs from the npm package: copy it again (see pb_public/vendor/README.md)');
  const readme = await readFile(join(REPO, 'pb_public', 'vendor', 'README.md'), 'utf8');
  assert.ok(readme.includes(`| ${pkg.version} |`), `pb_public/vendor/README.md does not name version ${pkg.version}`);
});

// --- variants.js: the product page's option pickers --------------------------

const shirt = {
  price_cents: 2000,
  options: [{ name: 'Size', values: ['S', 'M', 'L', 'XL'] }, { name: 'Color', values: ['Red', 'Blue'] }],
};
const shirtVariants = [
  { id: 'sr', title: 'S / Red', options: { Size: 'S', Color: 'Red' }, stock: 0, price_cents: 0, position: 1 },
  { id: 'sb', title: 'S / Blue', options: { Size: 'S', Color: 'Blue' }, stock: 3, price_cents: 0, position: 2 },
  { id: 'mr', title: 'M / Red', options: { Size: 'M', Color: 'Red' }, stock: 5, price_cents: 2200, position: 3 },
  { id: 'lb', title: 'L / Blue', options: { Size: 'L', Color: 'Blue' }, stock: 0, price_cents: 0, position: 4 },
];

test('choose offers only the combinations that exist and marks the sold-out ones', () => {
  // Nothing chosen yet: the first value in stock at each step.
  let c = choose(shirt, shirtVariants);
  assert.deepEqual(c.pickers.map((p) => [p.name, p.values.map((v) => `${v.value}${v.soldOut ? '!' : ''}`), p.selected]), [
    ['Size', ['S', 'M', 'L!'], 'S'], // XL: no variant; L: its only variant is sold out
    ['Color', ['Red!', 'Blue'], 'Blue'],
  ]);
  assert.equal(c.variant.id, 'sb');
  assert.deepEqual(c.selection, { Size: 'S', Color: 'Blue' });

  // M only comes in red: the colour follows.
  c = choose(shirt, shirtVariants, { Size: 'M', Color: 'Blue' });
  assert.deepEqual(c.pickers[1].values, [{ value: 'Red', soldOut: false }]);
  assert.equal(c.variant.id, 'mr');
  assert.equal(variantPrice(shirt, c.variant), 2200);

  // A sold-out combination can be chosen (to be seen sold out).
  c = choose(shirt, shirtVariants, { Size: 'S', Color: 'Red' });
  assert.equal(c.variant.id, 'sr');
  assert.equal(variantPrice(shirt, c.variant), 2000, 'price 0 = the product\'s price');
  assert.deepEqual(selectionOf(shirt, shirtVariants, shirtVariants[3]), { Size: 'L', Color: 'Blue' });

  assert.deepEqual(priceRange(shirt, shirtVariants), { min: 2000, max: 2200 });
  assert.equal(totalStock(shirtVariants), 8);
  assert.deepEqual(choose(shirt, []), { pickers: [], selection: {}, variant: null });
});

test('choose falls back to the variants\' own options, then to their titles', () => {
  const bean = { price_cents: 900, options: [] };
  const bags = [
    { id: 'k', title: '1 kg', options: { Weight: '1 kg' }, stock: 2, position: 2, price_cents: 3000 },
    { id: 'g', title: '250 g', options: { Weight: '250 g' }, stock: 2, position: 1 },
  ];
  let c = choose(bean, bags);
  assert.deepEqual(c.pickers.map((p) => [p.name, p.values.map((v) => v.value)]), [['Weight', ['250 g', '1 kg']]]);
  assert.equal(c.variant.id, 'g');
  c = choose(bean, bags.map((v) => ({ ...v, options: {} })), { Option: '1 kg' });
  assert.deepEqual(c.pickers.map((p) => [p.name, p.values.map((v) => v.value)]), [['Option', ['250 g', '1 kg']]]);
  assert.equal(c.variant.id, 'k');
});

// --- pricing.js: what the cart, checkout and order pages show --------------

test('totalsRows lists discount, shipping and tax, added or contained', () => {
  const rows = (f) => totalsRows(f).map((r) => `${r.label}=${r.text || r.cents}`);
  // A first-round order: subtotal, shipping, total.
  assert.deepEqual(rows({ subtotal_cents: 4200, shipping_cents: 500, total_cents: 4700 }), ['Subtotal=4200', 'Shipping=500', 'Total=4700']);
  assert.deepEqual(rows({ subtotal_cents: 4200, shipping_cents: 0, total_cents: 4200, refunded_cents: 100 }), ['Subtotal=4200', 'Shipping=Free', 'Total=4200', 'Refunded=100']);
  // Tax added to the prices (US sales tax).
  assert.deepEqual(rows({
    subtotal_cents: 10000, discount_cents: 1000, discount_code: 'SAVE10', shipping_cents: 500, shipping_rate_name: 'Standard',
    tax_cents: 744, tax_lines: [{ name: 'Sales tax', rate_bp: 825, amount_cents: 744 }], total_cents: 10244,
  }), ['Subtotal=10000', 'Discount (SAVE10)=-1000', 'Shipping (Standard)=500', 'Sales tax (8.25%)=744', 'Total=10244']);
  // Tax contained in the prices (EU VAT): the total leaves it out.
  assert.deepEqual(rows({
    subtotal_cents: 1200, shipping_cents: 0, tax_cents: 200, tax_lines: [{ name: 'VAT', rate_bp: 2000, amount_cents: 200 }], total_cents: 1200,
  }), ['Subtotal=1200', 'Shipping=Free', 'Total=1200', 'Includes VAT (20%)=200']);
  assert.equal(taxIncluded({ subtotal_cents: 1200, shipping_cents: 0, tax_cents: 200, total_cents: 1400 }), false);
  assert.equal(taxIncluded({ prices_include_tax: true, subtotal_cents: 1200, shipping_cents: 0, tax_cents: 200, total_cents: 1400 }), true);
  assert.deepEqual(['2000', '825', '550', '0', '10000', '5'].map((bp) => percentLabel(Number(bp))), ['20%', '8.25%', '5.5%', '0%', '100%', '0.05%']);
});

test('shipping rates by country and countries by name or code', () => {
  const rates = [
    { id: 'w', name: 'World', countries: ['*'], price_cents: 2500, free_over_cents: 0, active: true, position: 3 },
    { id: 'e', name: 'EU', countries: ['DE', 'FR'], price_cents: 900, free_over_cents: 10000, active: true, position: 2 },
    { id: 'u', name: 'US', countries: ['US'], price_cents: 500, free_over_cents: 0, active: true, position: 1 },
    { id: 'x', name: 'Old', countries: ['US'], price_cents: 100, active: false, position: 0 },
  ];
  assert.deepEqual(ratesForCountry(rates, 'de').map((r) => r.id), ['e', 'w']);
  assert.deepEqual(ratesForCountry(rates, 'US').map((r) => r.id), ['u', 'w']);
  assert.deepEqual(ratesForCountry(rates, 'JP').map((r) => r.id), ['w']);
  assert.deepEqual(ratesForCountry(rates, ''), []);
  assert.equal(rateCents(rates[1], 9999), 900);
  assert.equal(rateCents(rates[1], 10000), 0);
  assert.equal(rateCents(rates[0], 1e9), 2500, 'free_over_cents 0 = never free');

  for (const [text, code] of [['Germany', 'DE'], ['germany', 'DE'], ['de', 'DE'], ['UK', 'GB'], ['United Kingdom', 'GB'], ['United States', 'US'], ['Atlantis', ''], ['', ''], ['ZZ', ''], ['EU', '']]) {
    assert.equal(countryCode(text), code, text);
  }
  assert.equal(countryName('DE'), 'Germany');
  assert.equal(countryName('United States'), 'United States', 'text that is no code stays as it is');
  const list = countryList();
  assert.ok(list.length > 200 && list.some((c) => c.code === 'FR' && c.name === 'France'));
});
