// The storefront's plain modules, loaded straight from pb_public/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../lib/shop.js';
import { centsToDecimal, formatCents, intlExponent } from '../../pb_public/js/money.js';

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
