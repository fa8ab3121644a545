// Outgoing webhooks to a real Node receiver: the owner adds an endpoint with
// the JS SDK, the built binary posts signed events to it, and the receiver
// checks every one with the README's verifier (lib/verify-webhook.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { ClientResponseError } from 'pocketbase';
import {
  startShop, ownerClient, guestClient, createProduct, guestOrder,
} from '../lib/shop.js';
import { verifySignature } from '../lib/verify-webhook.js';

let shop;
let owner;
let receiver;
let secret = '';
const received = []; // { event, delivery, body, valid }

/** A receiver as a shop owner's CRM would write it: raw body, verify, 2xx. */
function startReceiver() {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const valid = verifySignature(raw, req.headers['pocketshop-signature'], secret);
      received.push({
        event: req.headers['pocketshop-event'], delivery: req.headers['pocketshop-delivery'],
        body: valid ? JSON.parse(raw.toString('utf8')) : null, valid,
      });
      res.writeHead(valid ? 200 : 400).end(valid ? 'ok' : 'bad signature');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function waitFor(match, what) {
  for (let i = 0; i < 200; i++) {
    const hit = received.find(match);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no ${what} within 10 s; received: ${JSON.stringify(received.map((r) => r.event))}`);
}

before(async () => {
  // The receiver runs on 127.0.0.1, which the shop refuses unless the owner
  // allows private addresses.
  shop = await startShop({ POCKETSHOP_WEBHOOK_ALLOW_PRIVATE: '1' });
  owner = await ownerClient(shop.url);
  await owner.settings.update({ rateLimits: { enabled: false } });
  receiver = await startReceiver();
});

after(async () => {
  receiver?.close();
  await shop?.stop();
});

test('an order placed and cancelled reaches the receiver, signed', async () => {
  const url = `http://127.0.0.1:${receiver.address().port}/hooks/shop`;
  const endpoint = await owner.collection('webhook_endpoints').create({
    url, events: ['order.placed', 'order.cancelled'], active: true, description: 'CRM',
  });
  assert.match(endpoint.secret, /^whsec_\w{32}$/, 'the server generates the secret');
  secret = endpoint.secret;

  const mug = await createProduct(owner, { name: 'Hook Mug', price_cents: 1500, stock: 5 });
  const guest = guestClient(shop.url);
  const order = await guest.collection('orders').create(guestOrder([[mug, 1]]));

  const placed = await waitFor((r) => r.event === 'order.placed', 'order.placed');
  assert.equal(placed.valid, true);
  assert.equal(placed.body.type, 'order.placed');
  assert.equal(placed.body.id, placed.delivery);
  assert.equal(placed.body.data.id, order.id);
  assert.equal(placed.body.data.number, order.number);
  assert.equal(placed.body.data.total_cents, order.total_cents);
  assert.ok(Math.abs(placed.body.created - Date.now() / 1000) < 60);

  await guest.send(`/api/shop/orders/${order.id}/cancel`, { method: 'POST', query: { token: order.token } });
  const cancelled = await waitFor((r) => r.event === 'order.cancelled', 'order.cancelled');
  assert.equal(cancelled.valid, true);
  assert.equal(cancelled.body.data.status, 'cancelled');
  assert.notEqual(cancelled.delivery, placed.delivery);

  // The owner sees both delivered.
  const rows = await owner.collection('webhook_deliveries').getFullList({ filter: `endpoint = "${endpoint.id}"`, sort: 'created' });
  for (let i = 0; i < 50 && rows.some((d) => d.status !== 'sent'); i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows.splice(0, rows.length, ...await owner.collection('webhook_deliveries').getFullList({ filter: `endpoint = "${endpoint.id}"`, sort: 'created' }));
  }
  assert.deepEqual(rows.map((d) => [d.event, d.status, d.response_status]), [
    ['order.placed', 'sent', 200], ['order.cancelled', 'sent', 200],
  ]);
  assert.equal(received.filter((r) => !r.valid).length, 0);
});

test('the verifier rejects a forged and a stale signature', async () => {
  assert.ok(secret, 'runs after the delivery test');
  const body = JSON.stringify({ id: 'evt_forged', type: 'order.paid', created: 0, data: {} });
  const sign = (key, t) => `t=${t},v1=${createHmac('sha256', key).update(`${t}.${body}`).digest('hex')}`;
  const now = Math.floor(Date.now() / 1000);
  assert.equal(verifySignature(body, sign(secret, now), secret), true, 'a fresh signature with the secret');
  assert.equal(verifySignature(body, sign('whsec_forged', now), secret), false, 'signed with another secret');
  assert.equal(verifySignature(`${body} `, sign(secret, now), secret), false, 'body changed');
  assert.equal(verifySignature(body, sign(secret, now - 600), secret), false, 'ten minutes old');
  assert.equal(verifySignature(body, undefined, secret), false, 'no header');

  // Posted to the receiver, a forged event is refused.
  const res = await fetch(`http://127.0.0.1:${receiver.address().port}/hooks/shop`, {
    method: 'POST', body, headers: { 'Pocketshop-Signature': sign('whsec_forged', now), 'Pocketshop-Event': 'order.paid' },
  });
  assert.equal(res.status, 400);
});

test('bad endpoints are refused with a message on the field', async () => {
  for (const [data, field, message] of [
    [{ url: 'file:///etc/passwd', events: ['*'] }, 'url', /must start with https:\/\//],
    [{ url: 'ftp://crm.example.com/in', events: ['*'] }, 'url', /must start with https:\/\//],
    [{ url: `https://crm.example.com/${'a'.repeat(2000)}`, events: ['*'] }, 'url', /at most 2000 characters/],
    [{ url: 'https://crm.example.com/in', events: ['order.shipped'] }, 'events', /Unknown event "order.shipped"/],
    [{ url: 'https://crm.example.com/in', events: ['*'], secret: 'whsec_mine' }, 'secret', /generated by the server/],
  ]) {
    let err;
    try {
      await owner.collection('webhook_endpoints').create(data);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ClientResponseError, `${JSON.stringify(data).slice(0, 80)} was accepted`);
    assert.equal(err.status, 400);
    assert.match(err.response.data[field]?.message ?? '', message);
  }
});
