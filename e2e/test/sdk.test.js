// The public contract, exercised the way a frontend developer writes it:
// the real `pocketbase` npm package against the built pocketshop binary.
// Each test is also an example: copy the calls, not the assertions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import PocketBase, { ClientResponseError } from 'pocketbase';
import {
  startShop, ownerClient, guestClient, customerClient, createProduct, guestOrder, watch,
} from '../lib/shop.js';

let shop;
let owner; // the shop owner (a superuser), as the dashboard would be
const clients = [];

function guest() {
  const pb = guestClient(shop.url);
  clients.push(pb);
  return pb;
}

async function customer(email) {
  const pb = await customerClient(shop.url, email);
  clients.push(pb);
  return pb;
}

/** Runs fn, which must fail with a ClientResponseError, and returns the error. */
async function rejected(fn) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof ClientResponseError, `expected a ClientResponseError, got ${err}`);
    return err;
  }
  assert.fail('the request was expected to fail');
}

async function stockOf(product) {
  return (await owner.collection('products').getOne(product.id)).stock;
}

before(async () => {
  shop = await startShop();
  owner = await ownerClient(shop.url);
  clients.push(owner);
  // These tests place far more orders from one IP in a minute than the
  // shop's per-IP rate limits allow (README: rate limits); the limits are
  // the owner's setting, switched off here. A storefront shows a 429's
  // message like any other error.
  await owner.settings.update({ rateLimits: { enabled: false } });
});

after(async () => {
  // Close every realtime connection before the server goes away.
  await Promise.all(clients.map((pb) => pb.realtime.unsubscribe().catch(() => {})));
  await shop?.stop();
});

test('the catalog: guests see active products only', async () => {
  const mug = await createProduct(owner, { name: 'Catalog Mug', price_cents: 1800, stock: 4, image: '#336699' });
  const hidden = await createProduct(owner, { name: 'Hidden Thing', active: false });
  const pb = guest();

  const list = await pb.collection('products').getFullList({ sort: 'name' });
  assert.ok(list.some((p) => p.id === mug.id));
  assert.ok(!list.some((p) => p.id === hidden.id), 'an inactive product is listed');

  const err = await rejected(() => pb.collection('products').getOne(hidden.id));
  assert.equal(err.status, 404);

  // Images: the SDK builds file URLs; the 400x400 thumb exists.
  const one = await pb.collection('products').getFirstListItem(pb.filter('slug = {:slug}', { slug: mug.slug }));
  assert.equal(one.images.length, 1);
  const res = await fetch(pb.files.getURL(one, one.images[0], { thumb: '400x400' }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');

  // Guests cannot write products.
  const denied = await rejected(() => pb.collection('products').update(mug.id, { stock: 999 }));
  assert.equal(denied.status, 403);
  assert.equal(await stockOf(mug), 4);
});

test('the shop settings a storefront needs are public', async () => {
  const settings = await guest().send('/api/shop/settings', { method: 'GET' });
  assert.deepEqual(settings, {
    shop_name: 'pocketshop', currency: 'usd', currency_exponent: 2,
    shipping_flat_cents: 500, free_shipping_over_cents: 5000,
  });
  // The settings record itself stays the owner's.
  const list = await guest().collection('shop_settings').getList(1, 10).catch((e) => e);
  assert.ok(list instanceof ClientResponseError ? list.status === 403 : list.items.length === 0);
});

test('a guest places an order and the server prices it', async () => {
  const mug = await createProduct(owner, { name: 'Priced Mug', price_cents: 1500, stock: 10 });
  const tote = await createProduct(owner, { name: 'Priced Tote', price_cents: 2400, stock: 5 });
  const pb = guest();

  const order = await pb.collection('orders').create(guestOrder([[mug, 2], [tote, 1]], { note: 'Leave at the door' }));

  assert.equal(order.status, 'pending');
  assert.ok(Number.isInteger(order.number) && order.number > 1000);
  assert.equal(order.email, 'ann@example.com');
  assert.equal(order.currency, 'usd');
  assert.deepEqual(order.items, [
    { product: mug.id, name: 'Priced Mug', sku: mug.sku, unit_price_cents: 1500, quantity: 2, line_total_cents: 3000, discount_cents: 0, tax_cents: 0 },
    { product: tote.id, name: 'Priced Tote', sku: tote.sku, unit_price_cents: 2400, quantity: 1, line_total_cents: 2400, discount_cents: 0, tax_cents: 0 },
  ]);
  assert.equal(order.subtotal_cents, 5400);
  assert.equal(order.shipping_cents, 0, 'free shipping from 50.00');
  assert.equal(order.total_cents, 5400);
  assert.equal(order.refunded_cents, 0);
  assert.ok(order.token.length >= 32, 'a guest gets an unguessable token');
  assert.ok(Date.parse(order.expires_at.replace(' ', 'T')) > Date.now(), 'the reservation ends in the future');

  // The stock is reserved at once.
  assert.equal(await stockOf(mug), 8);
  assert.equal(await stockOf(tote), 4);

  // Below the free-shipping threshold the flat rate applies.
  const small = await pb.collection('orders').create(guestOrder([[mug, 1]]));
  assert.equal(small.shipping_cents, 500);
  assert.equal(small.total_cents, 2000);
  assert.ok(small.number > order.number);
});

test('bad orders get a 400 with a message per field and change nothing', async () => {
  const mug = await createProduct(owner, { name: 'Strict Mug', price_cents: 1500, stock: 3 });
  const gone = await createProduct(owner, { name: 'Gone Notebook', stock: 0 });
  const hidden = await createProduct(owner, { name: 'Hidden Lamp', stock: 5, active: false });
  const pb = guest();

  const cases = [
    ['no email from a guest', guestOrder([[mug, 1]], { email: undefined }), 'email', /email/i],
    ['a malformed email', guestOrder([[mug, 1]], { email: 'ann@localhost' }), 'email', /valid email/],
    ['no items', guestOrder([]), 'items', /at least one item/],
    ['an unknown product', guestOrder([['nosuchproduct00', 1]]), 'items', /.+/],
    ['an inactive product', guestOrder([[hidden, 1]]), 'items', /.+/],
    ['quantity 0', guestOrder([[mug, 0]]), 'items', /quantity must be a whole number from 1 to 100/],
    ['quantity 1.5', guestOrder([[mug, 1.5]]), 'items', /quantity must be a whole number/],
    ['quantity 101', guestOrder([[mug, 101]]), 'items', /from 1 to 100/],
    ['the same product twice', guestOrder([[mug, 1], [mug, 1]]), 'items', /already in the order/],
    ['more than in stock', guestOrder([[mug, 4]]), 'items', /Strict Mug.*3 left/],
    ['a sold-out product', guestOrder([[gone, 1]]), 'items', /Gone Notebook/],
    ['an unknown payment method', guestOrder([[mug, 1]], { payment_method: 'bitcoin' }), 'payment_method', /stripe.*manual/],
    ['an address without a city', guestOrder([[mug, 1]], { shipping_address: { name: 'A', line1: 'B', postal_code: '1', country: 'US' } }), 'shipping_address', /^City is required/],
    ['a price sent by the client', { ...guestOrder([]), items: [{ product: mug.id, quantity: 1, unit_price_cents: 1 }] }, 'items', /prices are set by the server/],
    ['a total sent by the client', guestOrder([[mug, 1]], { total_cents: 1 }), 'total_cents', /set by the server/],
    ['a status sent by the client', guestOrder([[mug, 1]], { status: 'paid' }), 'status', /set by the server/],
  ];
  const ordersBefore = await owner.collection('orders').getList(1, 1);
  for (const [name, body, field, message] of cases) {
    const err = await rejected(() => pb.collection('orders').create(body));
    assert.equal(err.status, 400, name);
    assert.equal(typeof err.response.message, 'string', name);
    assert.match(err.response.data[field]?.message ?? '', message, `${name}: data.${field} = ${JSON.stringify(err.response.data)}`);
  }
  assert.equal(await stockOf(mug), 3, 'a rejected order reserved stock');
  const ordersAfter = await owner.collection('orders').getList(1, 1);
  assert.equal(ordersAfter.totalItems, ordersBefore.totalItems, 'a rejected order was written');
});

test('a guest reads the order with its token, and only with it', async () => {
  const mug = await createProduct(owner, { name: 'Token Mug', stock: 5 });
  const order = await guest().collection('orders').create(guestOrder([[mug, 1]]));
  const stranger = guest();

  const same = await stranger.collection('orders').getOne(order.id, { query: { token: order.token } });
  assert.equal(same.id, order.id);
  assert.equal(same.total_cents, order.total_cents);

  for (const query of [{}, { token: 'wrong' }, { token: '' }]) {
    const err = await rejected(() => stranger.collection('orders').getOne(order.id, { query }));
    assert.equal(err.status, 404, `getOne with ${JSON.stringify(query)}`);
  }

  // Listing shows no orders without a token, and only this one with it.
  assert.equal((await stranger.collection('orders').getList(1, 50)).totalItems, 0);
  const mine = await stranger.collection('orders').getList(1, 50, { query: { token: order.token } });
  assert.deepEqual(mine.items.map((o) => o.id), [order.id]);

  // Orders are the owner's to change.
  const denied = await rejected(() => stranger.collection('orders').update(order.id, { status: 'paid' }, { query: { token: order.token } }));
  assert.equal(denied.status, 403);
});

test('customers see their own orders and never another customer\'s', async () => {
  const mug = await createProduct(owner, { name: 'Account Mug', stock: 10 });
  const ann = await customer('ann.account@example.com');
  const bob = await customer('bob.account@example.com');

  // Signed in, the email may be left out: it defaults to the account's.
  const body = guestOrder([[mug, 1]]);
  delete body.email;
  const annOrder = await ann.collection('orders').create(body);
  assert.equal(annOrder.email, 'ann.account@example.com');
  assert.equal(annOrder.customer, ann.authStore.record.id);
  const bobOrder = await bob.collection('orders').create(guestOrder([[mug, 2]], { email: 'bob.gifts@example.com' }));
  assert.equal(bobOrder.email, 'bob.gifts@example.com');

  const annList = await ann.collection('orders').getFullList({ sort: '-created' });
  assert.deepEqual(annList.map((o) => o.id), [annOrder.id]);
  const err = await rejected(() => ann.collection('orders').getOne(bobOrder.id));
  assert.equal(err.status, 404);
  const filtered = await ann.collection('orders').getList(1, 50, { filter: pb().filter('id = {:id}', { id: bobOrder.id }) });
  assert.equal(filtered.totalItems, 0);

  // Nor can a customer cancel another's order.
  const cancel = await rejected(() => ann.send(`/api/shop/orders/${bobOrder.id}/cancel`, { method: 'POST' }));
  assert.equal(cancel.status, 404);
  assert.equal((await owner.collection('orders').getOne(bobOrder.id)).status, 'pending');
});

function pb() {
  return new PocketBase(shop.url);
}

test('stock changes arrive live through subscribe', async () => {
  const tote = await createProduct(owner, { name: 'Live Tote', price_cents: 2400, stock: 3, low_stock_threshold: 3 });
  const watcher = guest();

  // A storefront subscribes to every product ('*') or to one (its id).
  const all = await watch(watcher, 'products', '*', (e) => e.record.id === tote.id && e.record.stock === 1);
  const one = await watch(watcher, 'products', tote.id, (e) => e.record.stock === 1);
  const order = await guest().collection('orders').create(guestOrder([[tote, 2]]));
  for (const e of [await all.event, await one.event]) {
    assert.equal(e.action, 'update');
    assert.equal(e.record.stock, 1);
    assert.equal(e.record.name, 'Live Tote');
  }

  // Cancelling puts the stock back, live too.
  const back = await watch(watcher, 'products', tote.id, (e) => e.record.stock === 3);
  await guest().send(`/api/shop/orders/${order.id}/cancel`, { method: 'POST', query: { token: order.token } });
  assert.equal((await back.event).record.stock, 3);

  // The owner's restock from the dashboard arrives the same way.
  const restock = await watch(watcher, 'products', '*', (e) => e.record.id === tote.id && e.record.stock === 10);
  await owner.collection('products').update(tote.id, { stock: 10 });
  assert.equal((await restock.event).record.stock, 10);
});

test('a guest follows the order live with its token; others get nothing', async () => {
  const mug = await createProduct(owner, { name: 'Followed Mug', stock: 5 });
  const order = await guest().collection('orders').create(guestOrder([[mug, 1]]));

  // subscribe(id, callback, {query: {token}}): the server checks the order's
  // view rule with the token for every event it sends.
  const follower = guest();
  const paid = await watch(follower, 'orders', order.id, (e) => e.record.status === 'paid', { query: { token: order.token } });

  // A client without the token also listens, to the order and to the
  // products; the products' event comes after the order's, on the same
  // stream, so when it arrives we know the order's event was never sent.
  const snooper = guest();
  const seen = [];
  await snooper.collection('orders').subscribe(order.id, (e) => seen.push(e), { query: { token: 'wrong' } });
  await snooper.collection('orders').subscribe('*', (e) => seen.push(e));
  const marker = await watch(snooper, 'products', mug.id, (e) => e.record.stock === 50);

  // The owner marks the manual payment as received (as in the dashboard).
  await owner.collection('orders').update(order.id, { status: 'paid' });
  const e = await paid.event;
  assert.equal(e.record.id, order.id);
  assert.equal(e.record.status, 'paid');
  assert.ok(e.record.paid_at);

  await owner.collection('products').update(mug.id, { stock: 50 });
  await marker.event;
  assert.deepEqual(seen, [], 'a client without the token received the order');
  await snooper.realtime.unsubscribe();
});

test('the owner moves an order; fulfilled needs a tracking number; bad moves are refused', async () => {
  const mug = await createProduct(owner, { name: 'Moved Mug', stock: 5 });
  const order = await guest().collection('orders').create(guestOrder([[mug, 1]]));

  const skip = await rejected(() => owner.collection('orders').update(order.id, { status: 'fulfilled', tracking_number: 'T1' }));
  assert.equal(skip.status, 400);
  assert.match(skip.response.data.status.message, /pending.*fulfilled/);

  await owner.collection('orders').update(order.id, { status: 'paid' });
  const noTracking = await rejected(() => owner.collection('orders').update(order.id, { status: 'fulfilled' }));
  assert.equal(noTracking.status, 400);
  assert.match(noTracking.response.data.tracking_number.message, /tracking number is required/);

  const done = await owner.collection('orders').update(order.id, { status: 'fulfilled', tracking_number: 'TRACK-123' });
  assert.equal(done.status, 'fulfilled');
  assert.equal(done.tracking_number, 'TRACK-123');
  assert.ok(done.fulfilled_at);

  // Totals stay as sold, even for the owner.
  const total = await rejected(() => owner.collection('orders').update(order.id, { total_cents: 1 }));
  assert.equal(total.status, 400);
  assert.ok(total.response.data.total_cents);

  // Every move is on the order's timeline.
  const events = await owner.collection('order_events').getFullList({ filter: owner.filter('order = {:id}', { id: order.id }), sort: 'created' });
  assert.deepEqual(events.map((ev) => [ev.from_status, ev.to_status]), [['', 'pending'], ['pending', 'paid'], ['paid', 'fulfilled']]);
});

test('the cancel route: the guest with the token, or the signed-in customer', async () => {
  const mug = await createProduct(owner, { name: 'Cancel Mug', stock: 5 });
  const order = await guest().collection('orders').create(guestOrder([[mug, 2]]));
  assert.equal(await stockOf(mug), 3);
  const pbGuest = guest();
  const path = `/api/shop/orders/${order.id}/cancel`;

  const noToken = await rejected(() => pbGuest.send(path, { method: 'POST' }));
  assert.equal(noToken.status, 404);
  const wrongToken = await rejected(() => pbGuest.send(path, { method: 'POST', query: { token: 'nope' } }));
  assert.equal(wrongToken.status, 404);

  const cancelled = await pbGuest.send(path, { method: 'POST', query: { token: order.token } });
  assert.equal(cancelled.status, 'cancelled');
  assert.ok(cancelled.cancelled_at);
  assert.equal(await stockOf(mug), 5, 'the stock was released');

  // Cancelling again changes nothing (the core answers a 400 that names
  // the statuses; what matters here is that no stock is released twice).
  const again = await pbGuest.send(path, { method: 'POST', query: { token: order.token } }).catch((e) => e);
  if (again instanceof ClientResponseError) {
    assert.equal(again.status, 400);
    assert.match(JSON.stringify(again.response), /cancelled/);
  } else {
    assert.equal(again.status, 'cancelled');
  }
  assert.equal(await stockOf(mug), 5, 'a second cancel released stock again');

  // A signed-in customer cancels their own order without a token.
  const cara = await customer('cara.cancel@example.com');
  const own = await cara.collection('orders').create(guestOrder([[mug, 1]], { email: undefined }));
  const done = await cara.send(`/api/shop/orders/${own.id}/cancel`, { method: 'POST' });
  assert.equal(done.status, 'cancelled');

  // A paid order can no longer be cancelled by the customer.
  const paid = await cara.collection('orders').create(guestOrder([[mug, 1]], { email: undefined }));
  await owner.collection('orders').update(paid.id, { status: 'paid' });
  const late = await rejected(() => cara.send(`/api/shop/orders/${paid.id}/cancel`, { method: 'POST' }));
  assert.equal(late.status, 400);
  assert.equal(await stockOf(mug), 4);
});

test('pay: manual payment answers instructions', async () => {
  const mug = await createProduct(owner, { name: 'Manual Mug', stock: 5 });
  const order = await guest().collection('orders').create(guestOrder([[mug, 1]]));
  const res = await guest().send(`/api/shop/orders/${order.id}/pay`, { method: 'POST', query: { token: order.token } });
  assert.equal(typeof res.instructions, 'string');
  assert.ok(res.instructions.length > 0);
});

test('pay: Stripe without keys answers 503 and keeps the order', async () => {
  const mug = await createProduct(owner, { name: 'Card Mug', stock: 5 });
  const order = await guest().collection('orders').create(guestOrder([[mug, 1]], { payment_method: 'stripe' }));
  const err = await rejected(() => guest().send(`/api/shop/orders/${order.id}/pay`, { method: 'POST', query: { token: order.token } }));
  assert.equal(err.status, 503);
  assert.match(err.response.message, /payments are not configured/i);
  const same = await owner.collection('orders').getOne(order.id);
  assert.equal(same.status, 'pending');
  assert.equal(await stockOf(mug), 4);
});

test('variants: a guest orders a T-shirt by size and colour; stock is held on the variant', async () => {
  // The owner sets up a product sold by variant (Dashboard → products, variants).
  const shirt = await createProduct(owner, { name: 'SDK Tee', price_cents: 2000, stock: 0 });
  await owner.collection('products').update(shirt.id, {
    options: [{ name: 'Size', values: ['S', 'M'] }, { name: 'Color', values: ['Red', 'Blue'] }],
  });
  const mRed = await owner.collection('variants').create({
    product: shirt.id, options: { Size: 'M', Color: 'Red' }, sku: `${shirt.sku}-M-RED`, stock: 3, active: true,
  });
  const sBlue = await owner.collection('variants').create({
    product: shirt.id, options: { Size: 'S', Color: 'Blue' }, price_cents: 2200, stock: 0, active: true,
  });
  assert.equal(mRed.title, 'M / Red', 'a variant is titled by its options');

  // A storefront lists a product's active variants (anyone may) and
  // follows their stock live.
  const pb = guest();
  const variants = await pb.collection('variants').getFullList({
    filter: pb.filter('product = {:p}', { p: shirt.id }), sort: 'position,title',
  });
  assert.deepEqual(variants.map((v) => [v.title, v.stock]), [['M / Red', 3], ['S / Blue', 0]]);
  const live = await watch(pb, 'variants', mRed.id, (e) => e.record.stock === 1);

  // An order line names the variant.
  const order = await pb.collection('orders').create({
    email: 'ann@example.com',
    items: [{ product: shirt.id, variant: mRed.id, quantity: 2 }],
    payment_method: 'manual',
  });
  assert.deepEqual(order.items, [{
    product: shirt.id, variant: mRed.id, variant_title: 'M / Red', name: 'SDK Tee', sku: `${shirt.sku}-M-RED`,
    unit_price_cents: 2000, quantity: 2, line_total_cents: 4000,
  }]);
  assert.equal((await live.event).record.stock, 1);

  // A product sold by variant needs one; a sold-out variant is refused.
  for (const [items, message] of [
    [[{ product: shirt.id, quantity: 1 }], /needs a variant/],
    [[{ product: shirt.id, variant: sBlue.id, quantity: 1 }], /Not enough stock for "SDK Tee \(S \/ Blue\)": it is sold out/],
  ]) {
    const err = await rejected(() => pb.collection('orders').create({ email: 'ann@example.com', items, payment_method: 'manual' }));
    assert.equal(err.status, 400);
    assert.match(err.response.data.items.message, message);
  }

  // Cancelling puts the units back on the variant.
  await pb.send(`/api/shop/orders/${order.id}/cancel`, { method: 'POST', query: { token: order.token } });
  assert.equal((await owner.collection('variants').getOne(mRed.id)).stock, 3);
});

test('categories: anyone reads them, nested by parent', async () => {
  const clothing = await owner.collection('categories').create({ name: 'SDK Clothing', slug: 'sdk-clothing' });
  const tees = await owner.collection('categories').create({ name: 'SDK Tees', slug: 'sdk-tees', parent: clothing.id });
  const tee = await createProduct(owner, { name: 'Categorised Tee' });
  await owner.collection('products').update(tee.id, { categories: [tees.id] });

  const pb = guest();
  const children = await pb.collection('categories').getFullList({ filter: pb.filter('parent = {:p}', { p: clothing.id }) });
  assert.deepEqual(children.map((c) => c.slug), ['sdk-tees']);
  const listed = await pb.collection('products').getFullList({ filter: pb.filter('categories ~ {:c}', { c: tees.id }) });
  assert.deepEqual(listed.map((p) => p.id), [tee.id]);

  // A category cannot be inside its own sub-category.
  const err = await rejected(() => owner.collection('categories').update(clothing.id, { parent: tees.id }));
  assert.equal(err.status, 400);
  assert.match(err.response.data.parent.message, /cannot be inside itself/);
});
