// What every page shares: the PocketBase client, the shop's public settings,
// the header and a few DOM helpers.
import PocketBase, { ClientResponseError } from '../vendor/pocketbase.es.mjs';
import { formatCents, intlExponent } from './money.js';
import { cartCount } from './cart.js';

export { ClientResponseError };

/** pb talks to the server that served the page. */
export const pb = new PocketBase('/');

// The pages never send two identical requests they would want dropped, so
// the SDK's auto-cancellation would only turn slow answers into errors.
pb.autoCancellation(false);

let settings = { shop_name: 'pocketshop', currency: 'usd', currency_exponent: 2, shipping_flat_cents: 0, free_shipping_over_cents: 0 };

/** Loads the shop's public settings (name, currency, shipping rule). */
export async function loadSettings() {
  try {
    settings = await pb.send('/api/shop/settings', { method: 'GET' });
  } catch (err) {
    console.warn('shop settings unavailable, using defaults', err);
  }
  return settings;
}

/** Returns the settings loaded by loadSettings. */
export function shopSettings() {
  return settings;
}

/**
 * Formats minor units in the given currency (the shop's by default), with
 * the shop's own minor-unit exponent for its currency.
 */
export function money(cents, currency = settings.currency) {
  const exponent = currency === settings.currency ? settings.currency_exponent : intlExponent(currency);
  return formatCents(cents, currency, exponent);
}

/** Returns what to tell a shopper about a product's stock. */
export function stockLabel(product) {
  if (product.stock <= 0) return { text: 'Sold out', kind: 'out' };
  if (product.stock <= (product.low_stock_threshold || 0)) return { text: `Only ${product.stock} left`, kind: 'low' };
  return { text: 'In stock', kind: 'in' };
}

/** Returns the URL of a product's first image (a 400x400 thumb by default), or "". */
export function productImage(product, thumb = '400x400') {
  const file = product.images?.[0];
  if (!file) return '';
  return pb.files.getURL(product, file, thumb ? { thumb } : {});
}

/** Creates an element: el('p', {class: 'x'}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Returns a readable message for any error a request raised. */
export function errorMessage(err) {
  if (err instanceof ClientResponseError) {
    if (err.status === 0) return 'The shop cannot be reached. Check your connection and try again.';
    return err.response?.message || err.message;
  }
  return err?.message || String(err);
}

let headerListening = false;

/** Fills the page header: shop name, account link and cart count. */
export function renderHeader() {
  document.querySelectorAll('[data-shop-name]').forEach((n) => { n.textContent = settings.shop_name; });
  if (document.title.includes('pocketshop') && settings.shop_name !== 'pocketshop') {
    document.title = document.title.replace('pocketshop', settings.shop_name);
  }
  const account = document.querySelector('[data-account-link]');
  if (account) account.textContent = pb.authStore.isValid && pb.authStore.record?.collectionName === 'users' ? 'My orders' : 'Sign in';
  const updateCount = () => {
    const n = cartCount();
    document.querySelectorAll('[data-cart-count]').forEach((c) => { c.textContent = String(n); });
    document.querySelectorAll('[data-cart-link]').forEach((a) => a.setAttribute('aria-label', `Cart, ${n} item${n === 1 ? '' : 's'}`));
  };
  updateCount();
  if (!headerListening) {
    headerListening = true;
    window.addEventListener('cart-change', updateCount);
    window.addEventListener('storage', updateCount);
  }
}

/** Loads settings and draws the header; every page calls it first. */
export async function startPage() {
  await loadSettings();
  renderHeader();
}

/** Returns whether a customer (not a superuser) is signed in. */
export function signedInCustomer() {
  return pb.authStore.isValid && pb.authStore.record?.collectionName === 'users' ? pb.authStore.record : null;
}

/** Shows a message in the page's status area (role=status or alert). */
export function notice(target, text, kind = 'info') {
  target.textContent = text;
  target.dataset.kind = kind;
  target.hidden = !text;
}
