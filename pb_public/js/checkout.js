// The cart and the checkout form. The order is placed with one SDK call,
// pb.collection('orders').create(...); the server prices it, reserves its
// stock and answers either the order or a 400 whose response.data has one
// message per field, shown here next to the field it is about.
//
// Shipping: with shipping rates defined, the form offers the ones that cover
// the address's country; without any, the shop's flat rule applies. The
// totals shown before the order is placed are the server's quote when it
// offers one (discount, tax, shipping), else an estimate of subtotal and
// shipping; the order page shows what the server stored.
import { pb, startPage, shopSettings, money, productImage, el, errorMessage, notice, signedInCustomer, ClientResponseError, loadVariants, subscribeVariants, applyVariantChange, drawTotals } from './shop.js';
import { cartLines, setQuantity, clearCart, rememberOrder } from './cart.js';
import { variantPrice } from './variants.js';
import { ratesForCountry, rateCents, countryCode, countryName, countryList } from './pricing.js';

const status = document.querySelector('[data-notice]');
const linesList = document.querySelector('[data-cart-lines]');
const totals = document.querySelector('[data-cart-totals]');
const totalsHint = document.querySelector('[data-totals-hint]');
const form = document.querySelector('[data-checkout-form]');
const formError = form.querySelector('[data-form-error]');
const placeButton = form.querySelector('[data-place-order]');
const ratesBox = form.querySelector('[data-shipping-rates]');
const codeInput = form.elements.namedItem('discount_code');
const codeOk = form.querySelector('[data-code-ok]');
const products = new Map(); // id → product record, for the lines in the cart
let variants = new Map(); // product id → its active variants
let rates = []; // the shop's active shipping rates ([] = the flat rule)
let quote = null; // the server's last quote for the cart as it is, or null
let quoteRoute = true; // false once the server shows it has no quote route

const addressFields = ['name', 'line1', 'line2', 'city', 'postal_code', 'region', 'country'];

// The variant a cart line names, or null (a simple product, or one gone).
function lineVariant(l) {
  return l.variant ? (variants.get(l.product) || []).find((v) => v.id === l.variant) || null : null;
}

async function loadProducts() {
  const ids = [...new Set(cartLines().map((l) => l.product))];
  products.clear();
  if (ids.length === 0) return;
  const params = {};
  const filter = ids.map((id, i) => { params[`id${i}`] = id; return `id = {:id${i}}`; }).join(' || ');
  const items = await pb.collection('products').getFullList({ filter: pb.filter(filter, params) });
  items.forEach((p) => products.set(p.id, p));
  variants = await loadVariants(ids);

  // A product (or a variant) the owner removed or switched off can no
  // longer be bought.
  const gone = cartLines().filter((l) => !products.has(l.product) || (l.variant && !lineVariant(l)));
  gone.forEach((l) => setQuantity(l.product, 0, l.variant));
  if (gone.length) {
    notice(status, `${gone.length === 1 ? 'One item is' : `${gone.length} items are`} no longer available and left your cart.`);
  }
}

// Loads the shop's shipping rates; a server without them keeps the flat rule.
async function loadRates() {
  try {
    rates = await pb.collection('shipping_rates').getFullList({ filter: 'active = true', sort: 'position' });
  } catch (err) {
    if (!(err instanceof ClientResponseError && err.status === 404)) console.warn('shipping rates unavailable', err);
    rates = [];
  }
}

// The cart's lines whose product the shop still sells.
function liveLines() {
  return cartLines().filter((l) => products.has(l.product));
}

function cartSubtotal() {
  return liveLines().reduce((sum, l) => sum + variantPrice(products.get(l.product), lineVariant(l)) * l.quantity, 0);
}

function drawCart() {
  const lines = liveLines();
  if (lines.length === 0) {
    linesList.replaceChildren(el('li', { class: 'empty' }, 'Your cart is empty. ', el('a', { href: './' }, 'See the products')));
    totals.replaceChildren();
    form.hidden = true;
    return;
  }
  linesList.replaceChildren(...lines.map((l) => {
    const p = products.get(l.product);
    const v = lineVariant(l);
    const held = v || p;
    const unitCents = variantPrice(p, v);
    const name = v ? `${p.name} (${v.title})` : p.name;
    const needsVariant = !v && (variants.get(p.id) || []).length > 0;
    const image = productImage(p, '100x100');
    const qtyId = `qty-${p.id}${v ? `-${v.id}` : ''}`;
    const href = `product.html?slug=${encodeURIComponent(p.slug)}${v ? `&variant=${encodeURIComponent(v.id)}` : ''}`;
    return el('li', { class: 'cart-line', dataset: { id: p.id, variant: v?.id || '' } },
      image ? el('img', { src: image, alt: '', width: '64', height: '64' }) : el('span', { class: 'placeholder small' }, p.name.slice(0, 1)),
      el('div', { class: 'what' },
        el('a', { href }, p.name),
        v ? el('span', { class: 'variant', dataset: { variantTitle: '' } }, v.title) : null,
        el('span', { class: 'unit' }, `${money(unitCents)} each`),
        needsVariant ? el('span', { class: 'stock low' }, 'Choose the options on the product page') : null,
        held.stock < l.quantity
          ? el('span', { class: 'stock low' }, held.stock <= 0 ? 'Sold out' : `Only ${held.stock} left`)
          : null),
      el('label', { for: qtyId, class: 'visually-hidden' }, `Quantity of ${name}`),
      el('input', {
        id: qtyId, type: 'number', inputmode: 'numeric', min: '0', max: '100', value: String(l.quantity),
        onchange: (ev) => { setQuantity(p.id, Number(ev.target.value), l.variant); changed(); },
      }),
      el('span', { class: 'line-total' }, money(unitCents * l.quantity)),
      el('button', {
        type: 'button', class: 'link', 'aria-label': `Remove ${name}`,
        onclick: () => { setQuantity(p.id, 0, l.variant); changed(); },
      }, 'Remove'));
  }));
  drawRates();
  drawCartTotals();
  form.hidden = false;
}

// The shipping rates that cover the address's country, as radio buttons;
// the first one is chosen unless the shopper chose another that still fits.
function drawRates() {
  ratesBox.hidden = rates.length === 0;
  if (rates.length === 0) return;
  const subtotal = cartSubtotal();
  const typed = form.elements.namedItem('country').value.trim();
  const code = countryCode(typed) || typed.toUpperCase();
  const choices = ratesForCountry(rates, code);
  const chosen = selectedRate();
  const keep = choices.find((r) => r.id === chosen?.id) || choices[0];
  const hint = form.querySelector('[data-rate-hint]');
  hint.textContent = !typed
    ? 'Enter your country to see the shipping options.'
    : choices.length === 0 ? `We do not ship to ${countryName(code) || typed} yet.` : '';
  hint.hidden = !hint.textContent;
  form.querySelector('[data-rate-choices]').replaceChildren(...choices.map((r) => {
    const cents = rateCents(r, subtotal);
    return el('label', { class: 'choice' },
      el('input', {
        type: 'radio', name: 'shipping_rate', value: r.id, checked: r === keep,
        onchange: () => { drawCartTotals(); requestQuote(); },
      }),
      ` ${r.name} · ${cents === 0 ? 'Free' : money(cents)}`,
      r.free_over_cents > 0 && cents > 0 ? el('span', { class: 'hint' }, ` (free from ${money(r.free_over_cents)})`) : null);
  }));
}

function selectedRate() {
  const id = form.querySelector('input[name=shipping_rate]:checked')?.value;
  return rates.find((r) => r.id === id) || null;
}

// The totals: the server's quote when it has one for the cart as it is,
// else subtotal and shipping worked out here (the flat rule, or the chosen
// rate's price).
function drawCartTotals() {
  const s = shopSettings();
  const subtotal = cartSubtotal();
  if (quote) {
    // Before the country is known, an order ships nothing: say when the
    // shipping will be known rather than "Free".
    const unknownShipping = rates.length > 0 && !selectedRate();
    drawTotals(totals, unknownShipping ? { ...quote, shipping_cents: null, shipping_text: 'Chosen at checkout' } : quote, quote.currency);
    if (!rates.length && quote.shipping_cents > 0 && s.free_shipping_over_cents > 0) {
      totals.append(el('dd', { class: 'hint wide' }, `Free shipping from ${money(s.free_shipping_over_cents)}.`));
    }
    totalsHint.textContent = 'The shop confirms these figures when you place the order.';
    return;
  }
  let shipping;
  let name = '';
  if (rates.length) {
    const rate = selectedRate();
    shipping = rate ? rateCents(rate, subtotal) : null;
    name = rate?.name || '';
  } else {
    shipping = s.free_shipping_over_cents > 0 && subtotal >= s.free_shipping_over_cents ? 0 : s.shipping_flat_cents;
  }
  drawTotals(totals, {
    subtotal_cents: subtotal,
    shipping_cents: shipping,
    shipping_rate_name: name,
    shipping_text: 'Chosen at checkout',
    total_cents: subtotal + (shipping || 0),
    inclusive: false,
  });
  if (!rates.length && shipping > 0 && s.free_shipping_over_cents > 0) {
    totals.append(el('dd', { class: 'hint wide' }, `Free shipping from ${money(s.free_shipping_over_cents)}.`));
  }
  totalsHint.textContent = 'The final total, with any discount and tax, is calculated by the shop when you place the order.';
}

// --- the server's quote (discount, tax and shipping before ordering) --------

let quoteTimer = 0;
let quoteSeq = 0;
let quoteInFlight = Promise.resolve();

// Asks the server for the cart's figures a moment after the last change.
// An answer to an older request than the last one is dropped.
function requestQuote({ now = false, fromApply = false } = {}) {
  clearTimeout(quoteTimer);
  quote = null;
  const seq = ++quoteSeq;
  if (!quoteRoute) return Promise.resolve();
  return new Promise((resolve) => {
    quoteTimer = setTimeout(() => {
      quoteInFlight = fetchQuote(seq, fromApply).catch((err) => console.warn('quote failed', err));
      quoteInFlight.then(resolve);
    }, now ? 0 : 300);
  });
}

async function fetchQuote(seq, fromApply) {
  const body = quoteBody();
  if (!body.items.length) return;
  let res;
  try {
    res = await pb.send('/api/shop/quote', { method: 'POST', body });
  } catch (err) {
    if (seq !== quoteSeq) return;
    if (err instanceof ClientResponseError && (err.status === 404 || err.status === 405)) {
      quoteRoute = false; // a server without quotes: the order's 400 says what is wrong
      if (fromApply) codeOk.textContent = 'The code is checked when you place the order.';
      return;
    }
    const data = err instanceof ClientResponseError ? err.response?.data || {} : {};
    showCodeResult(data.discount_code?.message || '');
    drawCartTotals();
    return;
  }
  if (seq !== quoteSeq) return;
  quote = res;
  showCodeResult('');
  drawCartTotals();
}

// Shows why the server refused the code, or that it applies.
function showCodeResult(refusal) {
  const slot = form.querySelector('[data-error-for="discount_code"]');
  slot.textContent = refusal;
  if (refusal) codeInput.setAttribute('aria-invalid', 'true');
  else codeInput.removeAttribute('aria-invalid');
  // The quote names the code it applied (none when it was asked without one).
  const applied = !refusal && codeInput.value.trim() && quote?.discount_code;
  codeOk.textContent = !applied ? ''
    : quote.discount_cents > 0 ? `Code ${quote.discount_code} applied: ${money(-quote.discount_cents, quote.currency)}.`
      : `Code ${quote.discount_code} applied.`;
}

// Something the price depends on changed: draw again, ask again.
function changed() {
  quote = null;
  drawCart();
  requestQuote();
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
  // Tax and shipping rates go by the country's ISO code: "Germany" is sent
  // as "DE"; text that names no country is sent as typed, for the server
  // to judge.
  if (address.country) address.country = countryCode(address.country) || address.country;
  const body = {
    items: cartLines().map((l) => (l.variant
      ? { product: l.product, variant: l.variant, quantity: l.quantity }
      : { product: l.product, quantity: l.quantity })),
    payment_method: f.namedItem('payment_method').value,
    shipping_address: address,
  };
  const email = f.namedItem('email').value.trim();
  if (email) body.email = email;
  const note = f.namedItem('note').value.trim();
  if (note) body.note = note;
  const rate = selectedRate();
  if (rate) body.shipping_rate = rate.id;
  const code = codeInput.value.trim();
  if (code) body.discount_code = code;
  return body;
}

// The quote's body: what the price depends on. The address counts only by
// its country and region; while the shopper has not filled it in, its other
// parts are stand-ins, so that the quote speaks of the price (the order's
// own 400 speaks of the address). The email counts only for a code (its
// uses per email).
function quoteBody() {
  const body = orderBody();
  delete body.note;
  delete body.payment_method;
  if (!body.discount_code) delete body.email;
  const a = body.shipping_address;
  if (a.country) {
    body.shipping_address = { name: '-', line1: '-', city: '-', postal_code: '-', ...a };
  } else {
    delete body.shipping_address;
    delete body.shipping_rate;
  }
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
  // A quote still on its way would be cut off by the order page.
  clearTimeout(quoteTimer);
  await quoteInFlight;
  let order;
  try {
    order = await pb.collection('orders').create(orderBody());
  } catch (err) {
    showErrors(err);
    placeButton.disabled = false;
    placeButton.textContent = 'Place order';
    // Stock may have changed: show the cart as the shop sees it now.
    await loadProducts().then(drawCart).catch(() => {});
    codeOk.textContent = '';
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
  form.querySelector('[data-country-list]').replaceChildren(...countryList().map((c) => el('option', { value: c.name })));
  try {
    await Promise.all([loadProducts(), loadRates()]);
  } catch (err) {
    notice(status, `Your cart could not be loaded: ${errorMessage(err)}`, 'error');
    return;
  }
  drawCart();
  requestQuote({ now: true });
  window.addEventListener('storage', () => loadProducts().then(changed));

  // The country decides the shipping rates and the tax; the code, the discount.
  for (const name of ['country', 'region']) form.elements.namedItem(name).addEventListener('change', changed);
  form.elements.namedItem('country').addEventListener('input', drawRates);
  form.querySelector('[data-apply-code]').addEventListener('click', () => requestQuote({ now: true, fromApply: true }));
  codeInput.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault(); // Enter applies the code; it does not place the order
    requestQuote({ now: true, fromApply: true });
  });
  codeInput.addEventListener('input', () => showCodeResult(''));

  // Keep the cart's stock warnings and prices current while the shopper
  // fills the form; a new price asks for a new quote.
  await pb.collection('products').subscribe('*', (e) => {
    const old = products.get(e.record.id);
    if (!old) return;
    if (e.action === 'delete') products.delete(e.record.id);
    else products.set(e.record.id, e.record);
    if (e.action === 'delete' || old.price_cents !== e.record.price_cents) changed();
    else drawCart();
  });
  await subscribeVariants((action, v) => {
    if (!products.has(v.product)) return;
    const old = (variants.get(v.product) || []).find((x) => x.id === v.id);
    variants.set(v.product, applyVariantChange(variants.get(v.product), action, v));
    if (action !== 'update' || old?.price_cents !== v.price_cents || v.active === false) changed();
    else drawCart();
  });
  document.body.dataset.live = 'true';
}

main();
