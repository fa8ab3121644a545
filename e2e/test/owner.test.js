// The owner's page (/owner/) in headless Chromium against the built binary:
// who may see it, that its figures are the reports API's, and that a payment
// shows up without a reload. Screenshots go to test-output/owner/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  startShop, binary, ownerClient, customerClient, createProduct, guestOrder, guestClient, REPO, OWNER_EMAIL, OWNER_PASSWORD,
} from '../lib/shop.js';
import { launch, openPage, screenshot, PHONE, DESKTOP } from '../lib/browser.js';

const run = promisify(execFile);
const OUTPUT = join(REPO, 'test-output', 'owner');

let shop;
let owner;
let browser;

before(async () => {
  shop = await startShop();
  // A week of demo sales (the demo catalog, orders paid over the last 7
  // days), written by the seed command beside the running server.
  const { stdout } = await run(await binary(), ['seed', '--sales', '7', '--dir', shop.dir, '--dev=false']);
  assert.match(stdout, /Seeded \d+ demo orders paid over the last 7 days/);
  owner = await ownerClient(shop.url);
  browser = await launch(OUTPUT);
});

after(async () => {
  await browser?.close();
  await shop?.stop();
});

function sales(query = '') {
  return owner.send(`/api/shop/reports/sales${query}`, { method: 'GET' });
}

function money(cents) {
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(cents / 100);
}

async function signIn(page, email, password) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function figure(page, period) {
  const box = page.locator(`.figure[data-period="${period}"]`);
  return {
    cents: Number(await box.locator('[data-revenue]').getAttribute('data-cents')),
    revenue: await box.locator('[data-revenue]').textContent(),
    orders: Number(await box.locator('[data-orders]').textContent()),
  };
}

test('a guest or a customer sees no figures, and the API refuses them', async () => {
  const { context, page, problems } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/owner/`);
  await page.locator('body[data-state="signed-out"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('[data-dashboard]').isVisible(), false);

  await customerClient(shop.url, 'carol@example.com', 'carol-password-123');
  await signIn(page, 'carol@example.com', 'carol-password-123');
  await page.locator('[data-notice]', { hasText: 'Only the shop\'s owner can sign in here.' }).waitFor();
  assert.equal(await page.locator('[data-dashboard]').isVisible(), false);
  assert.equal(await page.locator('[data-revenue]').first().textContent(), '', 'no figure was filled in');
  await screenshot(page, 'customer-refused', OUTPUT);
  // The one failed request is the sign-in itself.
  assert.deepEqual(problems.filter((p) => !/auth-with-password/.test(p) && !/status of 400/.test(p)), []);

  const guest = guestClient(shop.url);
  await assert.rejects(guest.send('/api/shop/reports/sales', { method: 'GET' }), (err) => err.status === 401);
  const customer = await customerClient(shop.url, 'dan@example.com');
  await assert.rejects(customer.send('/api/shop/reports/sales', { method: 'GET' }), (err) => err.status === 403);
  await assert.rejects(customer.send('/api/shop/reports/orders.csv', { method: 'GET' }), (err) => err.status === 403);
  await context.close();
});

test('the owner signs in and sees the seeded week as the API reports it', async () => {
  const report = await sales();
  assert.equal(report.days.length, 30);
  const week = report.days.slice(-7);
  assert.ok(week.every((d) => d.orders >= 1), 'every seeded day has sales');

  const { context, page, problems } = await openPage(browser, DESKTOP);
  await page.goto(`${shop.url}/owner/`);
  await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
  await page.locator('body[data-live=true]').waitFor({ state: 'attached' });

  const today = report.days[report.days.length - 1];
  assert.deepEqual(await figure(page, 'today'), { cents: today.net_cents, revenue: money(today.net_cents), orders: today.orders });
  const month = await figure(page, 'month');
  assert.deepEqual(month, { cents: report.totals.net_cents, revenue: money(report.totals.net_cents), orders: report.totals.orders });
  // This week: Monday (in the shop's zone) to today.
  const weekday = (new Date(`${today.date}T00:00:00Z`).getUTCDay() + 6) % 7;
  const thisWeek = report.days.slice(-1 - weekday);
  const weekCents = thisWeek.reduce((s, d) => s + d.net_cents, 0);
  const weekOrders = thisWeek.reduce((s, d) => s + d.orders, 0);
  assert.deepEqual(await figure(page, 'week'), { cents: weekCents, revenue: money(weekCents), orders: weekOrders });

  // The charts are drawn (uPlot canvases), one point per day.
  assert.equal(await page.locator('[data-chart] canvas').count(), 2);
  // Top products: the API's order and figures.
  const rows = page.locator('[data-section="top"] tbody tr');
  assert.equal(await rows.count(), report.top_by_revenue.length);
  for (const [i, p] of report.top_by_revenue.entries()) {
    assert.equal(await rows.nth(i).getAttribute('data-product'), p.product);
    assert.equal(await rows.nth(i).locator('td').nth(2).textContent(), money(p.revenue_cents));
  }
  // The demo catalog's sold-out notebook and nearly gone beanie are low.
  const low = await page.locator('[data-section="lowstock"] li').allTextContents();
  assert.ok(low.some((t) => t.startsWith('Field Notebook')), low.join('\n'));
  // Stock is kept per variant: the T-shirt's sold-out variant is listed
  // under the product's name, the product itself (no stock of its own) not.
  assert.ok(low.some((t) => t.startsWith('Organic T-shirt (L / Black) (TEE-L-BLK): 0 left')), low.join('\n'));
  assert.ok(!low.some((t) => /^Organic T-shirt[ :]*\(TEE\)|^Organic T-shirt:/.test(t)), low.join('\n'));
  // Demo sales of the last two days are paid, not yet shipped: each links
  // to its record in the dashboard.
  const waiting = page.locator('[data-section="waiting"] li a');
  assert.ok(await waiting.count() > 0);
  assert.match(await waiting.first().getAttribute('href'), /^\/_\/#\/collections\?collection=orders&record=\w{15}$/);
  // The accountant's CSV: the same paid orders, one row per line.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the orders (CSV)' }).click()]);
  assert.equal(download.suggestedFilename(), `orders-${report.from}-to-${report.to}.csv`);
  const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
  assert.match(csv[0], /^order_number,order_id,status,paid_at,paid_date,/);
  const firstLines = csv.slice(1).filter((row) => row.split(',')[7] === '1');
  assert.equal(firstLines.length, report.totals.orders, 'one first line per counted order');
  // No webhook_deliveries collection yet: its section stays hidden.
  assert.equal(await page.locator('[data-section="webhooks"]').isVisible(), false);
  assert.deepEqual(problems, []);
  await screenshot(page, 'owner-desktop', OUTPUT);

  // The link opens that order in the dashboard (PocketBase v0.39's URLs).
  const href = await waiting.first().getAttribute('href');
  const dashboard = await context.newPage();
  await dashboard.goto(`${shop.url}/_/`);
  await dashboard.getByLabel('Email').fill(OWNER_EMAIL);
  await dashboard.getByLabel('Password', { exact: true }).fill(OWNER_PASSWORD);
  await dashboard.getByRole('button', { name: 'Login' }).click();
  await dashboard.locator('.collections-list').waitFor();
  // A full page load (not a hash change on the page that is still settling
  // after the sign-in) so the dashboard's router reads the link as it starts.
  await dashboard.goto('about:blank');
  await dashboard.goto(`${shop.url}${href}`);
  const panel = dashboard.locator('.record-upsert-modal');
  await panel.waitFor();
  assert.match(await panel.textContent(), new RegExp(href.split('record=')[1]));
  await screenshot(dashboard, 'dashboard-from-owner-link', OUTPUT);
  await context.close();
});

test('an order paid while the page is open raises today\'s revenue without a reload', async () => {
  const { context, page, problems } = await openPage(browser, PHONE);
  await page.goto(`${shop.url}/owner/`);
  await page.getByLabel('Email').waitFor();
  await signIn(page, OWNER_EMAIL, OWNER_PASSWORD);
  await page.locator('body[data-live=true]').waitFor({ state: 'attached' });
  const before = await figure(page, 'today');

  const mug = await createProduct(owner, { name: 'Live Mug', price_cents: 2500, stock: 5 });
  const order = await guestClient(shop.url).collection('orders').create(guestOrder([[mug, 2]]));
  await owner.collection('orders').update(order.id, { status: 'paid' });
  const want = before.cents + order.total_cents;
  await page.locator(`.figure[data-period="today"] [data-revenue][data-cents="${want}"]`).waitFor({ timeout: 10_000 });
  assert.deepEqual(await figure(page, 'today'), { cents: want, revenue: money(want), orders: before.orders + 1 });
  // It is listed as waiting to be shipped.
  await page.locator(`[data-section="waiting"] li[data-id="${order.id}"]`).waitFor();

  // Readable on a phone: nothing is wider than the screen.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await screenshot(page, 'owner-phone-after-payment', OUTPUT);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the vendored uPlot is the npm package the tests pin, unchanged', async () => {
  const pkg = JSON.parse(await readFile(join(REPO, 'e2e', 'node_modules', 'uplot', 'package.json'), 'utf8'));
  for (const [vendored, dist] of [['uplot.esm.js', 'dist/uPlot.esm.js'], ['uplot.min.css', 'dist/uPlot.min.css'], ['uplot.LICENSE', 'LICENSE']]) {
    const a = await readFile(join(REPO, 'pb_public', 'vendor', vendored));
    const b = await readFile(join(REPO, 'e2e', 'node_modules', 'uplot', dist));
    assert.ok(a.equals(b), `pb_public/vendor/${vendored} differs from the npm package's ${dist}: copy it again (see pb_public/vendor/README.md)`);
  }
  const readme = await readFile(join(REPO, 'pb_public', 'vendor', 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.includes('`uplot.esm.js`')) ?? '';
  assert.ok(line.includes(`| ${pkg.version} |`), `pb_public/vendor/README.md does not name uPlot ${pkg.version}`);
});
