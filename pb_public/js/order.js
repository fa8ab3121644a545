// One order, reached as order.html?id=...&token=... (the token lets a guest
// in; a signed-in customer needs only the id). The status updates live: the
// realtime subscription passes the token too, and the server checks the same
// view rule for it as for getOne.
import { pb, startPage, money, el, errorMessage, notice, drawTotals } from './shop.js';
import { countryName } from './pricing.js';

const status = document.querySelector('[data-notice]');
const page = document.querySelector('[data-order]');
const params = new URLSearchParams(location.search);
const id = params.get('id') || '';
const token = params.get('token') || '';
const query = token ? { token } : {};
let order;
let instructionsShown = false;

const statusText = {
  pending: ['Waiting for payment', ''],
  paid: ['Paid', 'Thank you! We are preparing your order.'],
  fulfilled: ['Shipped', 'Your order is on its way.'],
  cancelled: ['Cancelled', 'This order was cancelled and nothing will be charged.'],
  refunded: ['Refunded', 'This order was refunded.'],
  expired: ['Expired', 'The reservation ran out before payment arrived. The items went back on sale.'],
};

const checkoutText = {
  success: 'Thank you! Stripe is confirming your payment; this page changes as soon as it arrives.',
  cancelled: 'The payment was not completed. Your order is kept: pay now, or cancel it below.',
};

function when(date) {
  if (!date) return '';
  const d = new Date(date.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? date : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function draw() {
  const [label, detail] = statusText[order.status] || [order.status, ''];
  page.querySelector('[data-number]').textContent = `#${order.number}`;
  const badge = page.querySelector('[data-status]');
  badge.textContent = label;
  badge.dataset.status = order.status;
  document.title = `Order #${order.number} · ${document.title.split(' · ').pop()}`;

  const details = [detail];
  if (order.status === 'pending') {
    details.push(order.expires_at ? `Your items are reserved until ${when(order.expires_at)}.` : 'Your items are reserved until payment.');
  }
  if (order.status === 'fulfilled' && order.tracking_number) details.push(`Tracking number: ${order.tracking_number}.`);
  if (order.status === 'paid' && order.paid_at) details.push(`Paid on ${when(order.paid_at)}.`);
  page.querySelector('[data-status-detail]').textContent = details.filter(Boolean).join(' ');

  page.querySelector('[data-lines]').replaceChildren(...(order.items || []).map((l) => el('tr', {},
    el('td', {}, l.name, l.variant_title ? el('span', { class: 'variant', dataset: { variantTitle: '' } }, l.variant_title) : null),
    el('td', {}, String(l.quantity)),
    el('td', {}, money(l.line_total_cents, order.currency)))));
  // Subtotal, discount, shipping (the rate's name), tax lines (added, or
  // contained in the prices), total and refunds, as the server stored them.
  drawTotals(page.querySelector('[data-totals]'), order, order.currency);

  const a = order.shipping_address;
  const shipping = page.querySelector('[data-shipping]');
  shipping.hidden = !a;
  if (a) {
    page.querySelector('[data-address]').replaceChildren(...[a.name, a.line1, a.line2, `${a.postal_code} ${a.city}`, a.region, countryName(a.country)]
      .filter(Boolean).flatMap((line, i) => (i ? [el('br'), line] : [line])));
  }

  const pending = order.status === 'pending';
  page.querySelector('[data-cancel]').hidden = !pending;
  const pay = page.querySelector('[data-pay]');
  pay.hidden = !pending;
  page.querySelector('[data-pay-button]').hidden = !(pending && order.payment_method === 'stripe');
  if (pending && order.payment_method === 'manual' && !instructionsShown) {
    instructionsShown = true;
    loadInstructions();
  }
  page.querySelector('[data-keep-link]').hidden = !token;
  // Back from Stripe Checkout (its success and cancel URLs lead here).
  const checkout = page.querySelector('[data-checkout-result]');
  checkout.textContent = pending ? checkoutText[params.get('checkout')] || '' : '';
  checkout.hidden = !checkout.textContent;
  page.hidden = false;
}

// The pay route answers {url} for Stripe (go there), {instructions} for
// manual payment, or an error such as a 503 "payments are not configured":
// the order stays as it is and the message is shown.
function payRequest() {
  return pb.send(`/api/shop/orders/${encodeURIComponent(order.id)}/pay`, { method: 'POST', query });
}

async function loadInstructions() {
  const box = page.querySelector('[data-instructions]');
  try {
    const res = await payRequest();
    box.textContent = res.instructions || 'The shop will contact you about the payment.';
  } catch (err) {
    console.warn('payment instructions unavailable', err);
    box.textContent = 'The shop will contact you about the payment.';
  }
  box.hidden = false;
}

async function startPayment() {
  const button = page.querySelector('[data-pay-button]');
  const error = page.querySelector('[data-pay-error]');
  error.hidden = true;
  button.disabled = true;
  try {
    const res = await payRequest();
    if (res.url) {
      location.assign(res.url);
      return;
    }
    error.textContent = 'The payment could not be started. Please try again later.';
  } catch (err) {
    error.textContent = `The payment could not be started: ${errorMessage(err)} Your order is kept; you can pay later from this page.`;
  }
  error.hidden = false;
  button.disabled = false;
}

async function cancel() {
  const error = page.querySelector('[data-cancel-error]');
  if (!confirm('Cancel this order? The items go back on sale.')) return;
  error.hidden = true;
  try {
    order = await pb.send(`/api/shop/orders/${encodeURIComponent(order.id)}/cancel`, { method: 'POST', query });
    draw();
  } catch (err) {
    error.textContent = errorMessage(err);
    error.hidden = false;
  }
}

async function main() {
  await startPage();
  page.querySelector('[data-pay-button]').addEventListener('click', startPayment);
  page.querySelector('[data-cancel-button]').addEventListener('click', cancel);
  try {
    order = await pb.collection('orders').getOne(id, { query });
  } catch (err) {
    notice(status, err.status === 404
      ? 'This order was not found. Use the link from your confirmation, or sign in to see your orders.'
      : `The order could not be loaded: ${errorMessage(err)}`, 'error');
    return;
  }
  draw();

  await pb.collection('orders').subscribe(order.id, (e) => {
    if (e.action === 'delete') {
      notice(status, 'This order was removed by the shop.', 'error');
      page.hidden = true;
      return;
    }
    order = e.record;
    draw();
  }, { query });
  document.body.dataset.live = 'true';

  if (params.get('pay') === '1') {
    // Came from checkout: start the card payment once, and not again when
    // the shopper comes back to this page.
    params.delete('pay');
    history.replaceState(null, '', `${location.pathname}?${params}`);
    if (order.status === 'pending' && order.payment_method === 'stripe') await startPayment();
  }
}

main();
