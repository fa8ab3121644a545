// The owner's page: sales at a glance and what needs doing today. It signs
// in with a dashboard (superuser) account and reads GET /api/shop/reports/sales
// and the superuser-only collections through the JS SDK; figures follow new
// payments live through a realtime subscription to orders.
import PocketBase, { LocalAuthStore, ClientResponseError } from '../vendor/pocketbase.es.mjs';
import uPlot from '../vendor/uplot.esm.js';
import { formatCents, intlExponent } from '../js/money.js';

// Its own auth store: a customer signed in on the storefront (same origin)
// stays signed in there, and is never taken for the owner here.
const pb = new PocketBase('/', new LocalAuthStore('pocketshop_owner_auth'));
pb.autoCancellation(false);

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** How many rows each list shows. */
const LIST_LIMIT = 20;

let currency = 'usd';
let exponent = 2;
let charts = [];
let subscribed = null; // the orders unsubscribe function

function money(cents) {
  return formatCents(cents, currency, exponent);
}

/** Creates an element: el('a', {href}, 'text', child). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** The record's page in the dashboard (PocketBase v0.39's admin UI). */
export function recordLink(collection, id) {
  return `/_/#/collections?collection=${encodeURIComponent(collection)}&record=${encodeURIComponent(id)}`;
}

function showNotice(text) {
  const n = $('[data-notice]');
  n.textContent = text;
  n.hidden = !text;
}

function errorText(err) {
  if (err instanceof ClientResponseError) {
    if (err.status === 0) return 'The shop cannot be reached. Check your connection and try again.';
    return err.response?.message || err.message;
  }
  return err?.message || String(err);
}

// --- signing in and out ------------------------------------------------------

function showSignIn() {
  $('[data-dashboard]').hidden = true;
  $('[data-signout]').hidden = true;
  $('[data-signin]').hidden = false;
  document.body.dataset.state = 'signed-out';
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = $('button', form);
  button.disabled = true;
  showNotice('');
  try {
    await pb.collection('_superusers').authWithPassword(form.email.value.trim(), form.password.value);
    form.reset();
    await openDashboard();
  } catch (err) {
    pb.authStore.clear();
    showNotice(err instanceof ClientResponseError && err.status === 400
      ? 'Those are not the credentials of a dashboard account. Only the shop\'s owner can sign in here.'
      : errorText(err));
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  if (subscribed) await subscribed().catch(() => {});
  subscribed = null;
  pb.authStore.clear();
  for (const c of charts) c.destroy();
  charts = [];
  showSignIn();
}

// --- the figures ----------------------------------------------------------------

/** Sums the figures of the given days. */
function sum(days) {
  const total = { orders: 0, net_cents: 0, refunded_cents: 0, gross_cents: 0 };
  for (const d of days) {
    for (const k of Object.keys(total)) total[k] += d[k];
  }
  return total;
}

/** Returns the days of the calendar week (from Monday) that ends the report. */
function thisWeek(days) {
  const last = days[days.length - 1];
  const weekday = (new Date(`${last.date}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
  return days.slice(Math.max(0, days.length - 1 - weekday));
}

function renderFigure(period, figures) {
  const box = $(`.figure[data-period="${period}"]`);
  const revenue = $('[data-revenue]', box);
  revenue.textContent = money(figures.net_cents);
  revenue.dataset.cents = String(figures.net_cents);
  const orders = $('[data-orders]', box);
  orders.textContent = String(figures.orders);
  orders.dataset.count = String(figures.orders);
  $('[data-refunded]', box).textContent = money(figures.refunded_cents);
}

function chartSize(container) {
  const width = Math.max(240, Math.floor(container.getBoundingClientRect().width));
  return { width, height: width < 500 ? 180 : 220 };
}

function renderCharts(report) {
  for (const c of charts) c.destroy();
  charts = [];
  // One point per local day, drawn at that date's UTC midnight and labelled
  // in UTC, so that the labels are the report's dates whatever the
  // browser's time zone.
  const xs = report.days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
  const make = (name, label, values, series, yValues) => {
    const container = $(`[data-chart="${name}"]`);
    container.replaceChildren();
    const chart = new uPlot({
      ...chartSize(container),
      tzDate,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Half a day of room at either end, so that the first and last bars show whole.
        x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] },
        y: { range: (u, min, max) => [0, Math.max(max, 1) * 1.1] },
      },
      axes: [
        { values: '{D} {MMM}', space: 50 },
        { values: (u, splits) => splits.map(yValues), size: 70 },
      ],
      series: [{}, { label, ...series }],
    }, [xs, values], container);
    chart.root.setAttribute('role', 'img');
    chart.root.setAttribute('aria-label', `${label} per day, last ${report.days.length} days`);
    charts.push(chart);
  };
  make('revenue', 'Revenue', report.days.map((d) => d.net_cents), {
    stroke: '#1b5e55', fill: 'rgba(27, 94, 85, 0.35)', paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false },
  }, (v) => money(Math.round(v)));
  make('orders', 'Orders', report.days.map((d) => d.orders), {
    stroke: '#c7793a', width: 2, points: { size: 5 },
  }, (v) => (Number.isInteger(v) ? String(v) : ''));
}

function renderTop(report) {
  const section = $('[data-section="top"]');
  const rows = report.top_by_revenue.map((p) => el('tr', { dataset: { product: p.product } },
    el('td', {}, p.name, p.sku ? el('span', { class: 'muted small' }, ` ${p.sku}`) : null),
    el('td', { class: 'num' }, String(p.units)),
    el('td', { class: 'num' }, money(p.revenue_cents))));
  $('[data-rows]', section).replaceChildren(...rows);
  $('table', section).hidden = rows.length === 0;
  $('[data-empty]', section).hidden = rows.length > 0;
}

async function loadReport() {
  const report = await pb.send('/api/shop/reports/sales', { method: 'GET' });
  currency = report.currency;
  const today = report.days[report.days.length - 1];
  renderFigure('today', today);
  renderFigure('week', sum(thisWeek(report.days)));
  renderFigure('month', report.totals);
  $('[data-range]').textContent = `${report.from} to ${report.to}, ${report.timezone} time`;
  document.body.dataset.today = today.date;
  renderCharts(report);
  renderTop(report);
  const csv = $('[data-csv]');
  csv.dataset.query = `from=${report.from}&to=${report.to}`;
  return report;
}

// --- the lists ----------------------------------------------------------------

function renderList(name, items, render) {
  const section = $(`[data-section="${name}"]`);
  $('[data-rows]', section).replaceChildren(...items.map((item) => el('li', { dataset: { id: item.id } }, ...render(item))));
  $('[data-empty]', section).hidden = items.length > 0;
}

function orderLink(o) {
  return el('a', { href: recordLink('orders', o.id), target: '_blank', rel: 'noopener' }, `#${o.number}`);
}

function when(date) {
  if (!date) return '';
  return new Date(date.replace(' ', 'T')).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const ISSUES = {
  late_payment_refund_pending: 'late payment, refund pending',
  late_payment_refunded: 'late payment, refunded',
  late_payment_flagged: 'late payment: decide what to do',
  amount_mismatch: 'paid amount differs from the order',
};

async function loadLists() {
  const list = (collection, options) => pb.collection(collection).getList(1, LIST_LIMIT, { skipTotal: true, ...options });
  const [waiting, issues, low, emails] = await Promise.all([
    list('orders', { filter: 'status = "paid"', sort: 'paid_at', fields: 'id,number,email,total_cents,paid_at' }),
    list('orders', { filter: 'payment_issue != ""', sort: '-updated', fields: 'id,number,email,payment_issue,status' }),
    lowStock(list),
    list('emails', { filter: 'status = "failed"', sort: '-updated', fields: 'id,to,subject,last_error,updated' }),
  ]);
  renderList('waiting', waiting.items, (o) => [orderLink(o), ` ${money(o.total_cents)}, paid ${when(o.paid_at)} · ${o.email}`]);
  renderList('issues', issues.items, (o) => [orderLink(o), ` ${ISSUES[o.payment_issue] || o.payment_issue} (${o.status}) · ${o.email}`]);
  renderList('lowstock', low.items, (u) => [
    el('a', { href: recordLink(u.collection, u.id), target: '_blank', rel: 'noopener' }, u.name),
    `${u.sku ? ` (${u.sku})` : ''}: ${u.stock} left, threshold ${u.low_stock_threshold}`,
  ]);
  renderList('emails', emails.items, (m) => [
    el('a', { href: recordLink('emails', m.id), target: '_blank', rel: 'noopener' }, m.subject || '(no subject)'),
    ` to ${m.to}: ${m.last_error || 'failed'}`,
  ]);
  await Promise.all([loadWebhooks(), loadJobs()]);
}

/**
 * The stock-keeping units at or below their threshold: active variants of
 * active products ("T-shirt (M / Red)"), and active products sold without
 * variants (a product sold by variant keeps no stock of its own). Lowest
 * stock first.
 */
async function lowStock(list) {
  const [products, variants] = await Promise.all([
    list('products', { filter: 'stock <= low_stock_threshold && active = true', sort: 'stock,name', fields: 'id,name,sku,stock,low_stock_threshold' }),
    list('variants', {
      filter: 'stock <= low_stock_threshold && active = true && product.active = true', sort: 'stock',
      expand: 'product', fields: 'id,title,sku,stock,low_stock_threshold,expand.product.name,expand.product.sku',
    }),
  ]);
  const ids = products.items.map((p) => p.id);
  const byVariant = ids.length === 0 ? new Set() : new Set((await list('variants', {
    filter: `active = true && (${ids.map((id) => pb.filter('product = {:id}', { id })).join(' || ')})`, fields: 'product',
  })).items.map((v) => v.product));
  const units = [
    ...products.items.filter((p) => !byVariant.has(p.id)).map((p) => ({ ...p, collection: 'products' })),
    ...variants.items.map((v) => ({
      id: v.id, collection: 'variants', name: `${v.expand?.product?.name} (${v.title})`,
      sku: v.sku || v.expand?.product?.sku, stock: v.stock, low_stock_threshold: v.low_stock_threshold,
    })),
  ];
  units.sort((a, b) => a.stock - b.stock || a.name.localeCompare(b.name));
  return { items: units.slice(0, LIST_LIMIT) };
}

/**
 * Failed webhook deliveries, once the shop has outgoing webhooks (the
 * webhook_deliveries collection); until then the section stays hidden.
 */
async function loadWebhooks() {
  const section = $('[data-section="webhooks"]');
  const found = await pb.collections.getList(1, 1, { skipTotal: true, filter: 'name = "webhook_deliveries"', fields: 'id' });
  section.hidden = found.items.length === 0;
  if (section.hidden) return;
  const deliveries = await pb.collection('webhook_deliveries').getList(1, LIST_LIMIT, {
    skipTotal: true, filter: 'status = "failed"', sort: '-updated',
  });
  renderList('webhooks', deliveries.items, (d) => [
    el('a', { href: recordLink('webhook_deliveries', d.id), target: '_blank', rel: 'noopener' }, d.event || 'delivery'),
    ` ${d.response_status ? `HTTP ${d.response_status}` : ''} ${d.last_error || ''}`.trimEnd(),
  ]);
}

/**
 * The last run of every job: the newest run, then the newest run of a job
 * not seen yet, and so on (job_runs holds many runs of the frequent jobs).
 */
async function loadJobs() {
  const runs = [];
  const seen = [];
  for (let i = 0; i < 20; i++) {
    const params = Object.fromEntries(seen.map((job, n) => [`j${n}`, job]));
    const filter = seen.map((_, n) => `job != {:j${n}}`).join(' && ');
    const page = await pb.collection('job_runs').getList(1, 1, {
      skipTotal: true, sort: '-started_at', filter: filter ? pb.filter(filter, params) : '',
    });
    if (page.items.length === 0) break;
    runs.push(page.items[0]);
    seen.push(page.items[0].job);
  }
  runs.sort((a, b) => a.job.localeCompare(b.job));
  renderList('jobs', runs, (r) => [
    el('a', { href: recordLink('job_runs', r.id), target: '_blank', rel: 'noopener' }, r.job),
    ' ',
    el('span', { class: r.ok ? 'ok' : 'failed', dataset: { ok: String(r.ok) } }, r.ok ? 'ok' : 'failed'),
    ` ${when(r.started_at)}${r.message ? ` · ${r.message}` : ''}`,
  ]);
}

// --- putting it together ----------------------------------------------------------

async function refresh() {
  try {
    await Promise.all([loadReport(), loadLists()]);
    document.body.dataset.updated = String(Date.now());
  } catch (err) {
    if (err instanceof ClientResponseError && (err.status === 401 || err.status === 403)) {
      await signOut();
      showNotice('Your session has ended: sign in again.');
      return;
    }
    showNotice(`The figures could not be loaded: ${errorText(err)}`);
  }
}

let refreshTimer = null;

/** Reloads the figures soon, once for a burst of changes. */
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 250);
}

async function openDashboard() {
  $('[data-signin]').hidden = true;
  $('[data-signout]').hidden = false;
  $('[data-dashboard]').hidden = false;
  document.body.dataset.state = 'signed-in';
  await refresh();
  // Any change of an order (a payment above all) may move the figures.
  subscribed = await pb.collection('orders').subscribe('*', refreshSoon);
  document.body.dataset.live = 'true';
}

async function downloadCSV(event) {
  event.preventDefault();
  const query = event.currentTarget.dataset.query;
  try {
    const res = await fetch(`/api/shop/reports/orders.csv?${query}`, { headers: { Authorization: pb.authStore.token } });
    if (!res.ok) throw new Error(`the export failed (${res.status})`);
    const url = URL.createObjectURL(await res.blob());
    const a = el('a', { href: url, download: `orders-${query.replace(/from=|to=/g, '').replace('&', '-to-')}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    showNotice(errorText(err));
  }
}

async function start() {
  $('[data-signin]').addEventListener('submit', signIn);
  $('[data-signout]').addEventListener('click', signOut);
  $('[data-csv]').addEventListener('click', downloadCSV);
  try {
    const settings = await pb.send('/api/shop/settings', { method: 'GET' });
    currency = settings.currency;
    exponent = settings.currency_exponent ?? intlExponent(currency);
    $$('[data-shop-name]').forEach((n) => { n.textContent = settings.shop_name; });
  } catch { /* the defaults do */ }

  if (pb.authStore.isValid && pb.authStore.isSuperuser) {
    await openDashboard();
  } else {
    pb.authStore.clear();
    showSignIn();
  }

  let width = window.innerWidth;
  window.addEventListener('resize', () => {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    for (const c of charts) c.setSize(chartSize(c.root.parentElement));
  });
}

start();
