// The cart and the checkout form. The order is placed with one SDK call,
// pb.collection('orders').create(...); the server prices it, reserves its
// stock and answers either the order or a 400 whose response.data has one
// message per field, shown here next to the field it is about.
import { pb, startPage, shopSettings, money, productImage, el, errorMessage, notice, signedInCustomer, ClientResponseError } from './shop.js';
import { cartLines, setQuantity, clearCart, rememberOrder } from './cart.js';

const status = document.querySelector('[data-notice]');
const linesList = document.querySelector('[data-cart-lines]');
const totals = document.querySelector('[data-cart-totals]');
const form = document.querySelector('[data-checkout-form]');
const formError = form.querySelector('[data-form-error]');
const placeButton = form.querySelector('[data-place-order]');
const products = new Map(); // id → product record, for the lines in the cart

const addressFields = ['name', 'line1', 'line2', 'city', 'postal_code', 'country'];

async function loadProducts() {
  const ids = cartLines().map((l) => l.product);
  products.clear();
  if (ids.length === 0) return;
  const params = {};
  const filter = ids.map((id, i) => { params[`id${i}`] = id; return `id = {:id${i}}`; }).join(' || ');
  const items = await pb.collection('products').getFullList({ filter: pb.filter(filter, params) });
  items.forEach((p) => products.set(p.id, p));

  // A product the owner removed or switched off can no longer be bought.
  const gone = ids.filter((id) => !products.has(id));
  gone.forEach((id) => setQuantity(id, 0));
  if (gone.length) {
    notice(status, `${gone.length === 1 ? 'One item is' : `${gone.length} items are`} no longer available and left your cart.`);
  }
}

function drawCart() {
  const lines = cartLines().filter((l) => products.has(l.product));
  if (lines.length === 0) {
    linesList.replaceChildren(el('li', { class: 'empty' }, 'Your cart is empty. ', el('a', { href: './' }, 'See the products')));
    totals.replaceChildren();
    form.hidden = true;
    return;
  }
  let subtotal = 0;
  linesList.replaceChildren(...lines.map((l) => {
    const p = products.get(l.product);
    const lineTotal = p.price_cents * l.quantity;
    subtotal += lineTotal;
    const image = productImage(p, '100x100');
    const qtyId = `qty-${p.id}`;
    return el('li', { class: 'cart-line', dataset: { id: p.id } },
      image ? el('img', { src: image, alt: '', width: '64', height: '64' }) : el('span', { class: 'placeholder small' }, p.name.slice(0, 1)),
      el('div', { class: 'what' },
        el('a', { href: `product.html?slug=${encodeURIComponent(p.slug)}` }, p.name),
        el('span', { class: 'unit' }, `${money(p.price_cents)} each`),
        p.stock < l.quantity
          ? el('span', { class: 'stock low' }, p.stock <= 0 ? 'Sold out' : `Only ${p.stock} left`)
          : null),
      el('label', { for: qtyId, class: 'visually-hidden' }, `Quantity of ${p.name}`),
      el('input', {
        id: qtyId, type: 'number', inputmode: 'numeric', min: '0', max: '100', value: String(l.quantity),
        onchange: (ev) => { setQuantity(p.id, Number(ev.target.value)); drawCart(); },
      }),
      el('span', { class: 'line-total' }, money(lineTotal)),
      el('button', {
        type: 'button', class: 'link', 'aria-label': `Remove ${p.name}`,
        onclick: () => { setQuantity(p.id, 0); drawCart(); },
      }, 'Remove'));
  }));

  const s = shopSettings();
  const shipping = s.free_shipping_over_cents > 0 && subtotal >= s.free_shipping_over_cents ? 0 : s.shipping_flat_cents;
  totals.replaceChildren(
    el('dt', {}, 'Subtotal'), el('dd', { dataset: { subtotal: '' } }, money(subtotal)),
    el('dt', {}, 'Shipping'), el('dd', {}, shipping === 0 ? 'Free' : money(shipping)),
    el('dt', {}, 'Total'), el('dd', { class: 'total' }, money(subtotal + shipping)),
  );
  if (shipping > 0 && s.free_shipping_over_cents > 0) {
    totals.append(el('dd', { class: 'hint wide' }, `Free shipping from ${money(s.free_shipping_over_cents)}.`));
  }
  form.hidden = false;
}

function clearErrors() {
  formError.hidden = true;
  document.querySelectorAll('[data-error-for]').forEach((n) => { n.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
}

// showErrors puts each of the server's field messages next to its field.
// shipping_address comes as one message that starts with the part it is
// about ("City is required.", "Postal_code is required."), so that input is
// marked too and the message uses the label's words.
function showErrors(err) {
  const data = err instanceof ClientResponseError ? err.response?.data || {} : {};
  let first = null;
  for (const [field, info] of Object.entries(data)) {
    let message = info?.message || String(info);
    let input = form.elements.namedItem(field);
    if (field === 'shipping_address') {
      const first = message.split(' ', 1)[0];
      const part = addressFields.find((f) => f === first.toLowerCase());
      if (part) {
        input = form.elements.namedItem(part);
        const label = form.querySelector(`label[for="${part}"]`).textContent.replace(/ \(optional\)$/, '');
        message = label + message.slice(first.length);
      }
    }
    const slot = document.querySelector(`[data-error-for="${field}"]`) || formError;
    slot.textContent = slot === formError ? `${field}: ${message}` : message;
    slot.hidden = false;
    if (input instanceof HTMLElement) {
      input.setAttribute('aria-invalid', 'true');
      first ??= input;
    } else {
      first ??= slot;
    }
  }
  if (Object.keys(data).length === 0 || data.items) {
    formError.textContent = Object.keys(data).length ? 'Some items cannot be ordered as they are: see your cart above.' : errorMessage(err);
    formError.hidden = false;
  }
  if (first) {
    if (!first.matches('input, textarea, select, button')) first.setAttribute('tabindex', '-1');
    first.focus();
  }
}

function orderBody() {
  const f = form.elements;
  const address = {};
  for (const k of addressFields) {
    const v = f.namedItem(k).value.trim();
    if (v) address[k] = v;
  }
  const body = {
    items: cartLines().map((l) => ({ product: l.product, quantity: l.quantity })),
    payment_method: f.namedItem('payment_method').value,
    shipping_address: address,
  };
  const email = f.namedItem('email').value.trim();
  if (email) body.email = email;
  const note = f.namedItem('note').value.trim();
  if (note) body.note = note;
  return body;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  // The browser checks that required fields are filled; everything else
  // (email format, stock, quantities) is the server's to judge.
  const missing = [...form.querySelectorAll('[required]')].find((i) => !i.value.trim());
  if (missing) {
    missing.setAttribute('aria-invalid', 'true');
    formError.textContent = `Please fill in: ${form.querySelector(`label[for="${missing.id}"]`).textContent}.`;
    formError.hidden = false;
    missing.focus();
    return;
  }

  placeButton.disabled = true;
  placeButton.textContent = 'Placing your order…';
  let order;
  try {
    order = await pb.collection('orders').create(orderBody());
  } catch (err) {
    showErrors(err);
    placeButton.disabled = false;
    placeButton.textContent = 'Place order';
    // Stock may have changed: show the cart as the shop sees it now.
    await loadProducts().then(drawCart).catch(() => {});
    return;
  }

  rememberOrder(order);
  clearCart();
  // The order page takes over: it shows the order and, for card payment,
  // starts the payment (pay=1).
  const next = new URLSearchParams({ id: order.id });
  if (order.token) next.set('token', order.token);
  if (order.payment_method === 'stripe') next.set('pay', '1');
  location.assign(`order.html?${next}`);
});

async function main() {
  await startPage();
  const customer = signedInCustomer();
  if (customer) {
    const email = form.elements.namedItem('email');
    email.value = customer.email;
    email.required = false;
    form.querySelector('label[for="email"]').textContent = 'Email (for this order)';
  }
  try {
    await loadProducts();
  } catch (err) {
    notice(status, `Your cart could not be loaded: ${errorMessage(err)}`, 'error');
    return;
  }
  drawCart();
  window.addEventListener('storage', () => loadProducts().then(drawCart));

  // Keep the cart's stock warnings current while the shopper fills the form.
  await pb.collection('products').subscribe('*', (e) => {
    if (!products.has(e.record.id)) return;
    if (e.action === 'delete') products.delete(e.record.id);
    else products.set(e.record.id, e.record);
    drawCart();
  });
  document.body.dataset.live = 'true';
}

main();
