// What every page shares: the PocketBase client, the shop's public settings,
// the header and a few DOM helpers.
import PocketBase, { ClientResponseError } from '../vendor/pocketbase.es.mjs';
import { formatCents, intlExponent } from './money.js';
import { cartCount } from './cart.js';
import { totalsRows } from './pricing.js';

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
  renderSearchBox();
  renderCategoryNav();
}

// --- categories and search, in every page's header -----------------------------

let categoriesLoad;

/**
 * Returns the shop's categories, sorted by position then name ([] when it
 * has none, or when the server has no categories).
 */
export function loadCategories() {
  categoriesLoad ??= pb.collection('categories').getFullList({ sort: 'position,name' }).catch((err) => {
    console.warn('categories unavailable', err);
    return [];
  });
  return categoriesLoad;
}

/** Returns the ids of a category and of every category below it. */
export function categorySubtree(categories, id) {
  const ids = new Set([id]);
  // Parents may come after their children in the list: repeat until stable
  // (bounded by the list's length, so a cycle cannot loop forever).
  for (let pass = 0, grew = true; grew && pass < categories.length; pass++) {
    grew = false;
    for (const c of categories) {
      if (c.parent && ids.has(c.parent) && !ids.has(c.id)) {
        ids.add(c.id);
        grew = true;
      }
    }
  }
  return ids;
}

/** Returns the link of a category's page. */
export function categoryHref(category) {
  return `category.html?slug=${encodeURIComponent(category.slug)}`;
}

// The header's category links: the top-level categories (a category's page
// lists its sub-categories), the current one marked.
async function renderCategoryNav() {
  const nav = document.querySelector('[data-categories]');
  if (!nav) return;
  const categories = await loadCategories();
  const top = categories.filter((c) => !c.parent);
  const here = document.body.dataset.category || '';
  const inHere = here ? categories.find((c) => c.slug === here) : null;
  nav.replaceChildren(el('ul', {}, ...top.map((c) => el('li', {}, el('a', {
    href: categoryHref(c),
    'aria-current': c.slug === here ? 'page' : inHere && categorySubtree(categories, c.id).has(inHere.id) ? 'true' : false,
  }, c.name)))));
  nav.hidden = top.length === 0;
}

// The header's search box keeps the words of the search shown.
function renderSearchBox() {
  const q = new URLSearchParams(location.search).get('q');
  const input = document.querySelector('[data-search-input]');
  if (input && q && document.body.dataset.page === 'search') input.value = q;
}

// --- variants --------------------------------------------------------------

let variantsMissing = false;

/**
 * Returns the active variants of the given products (all products when ids
 * is null) as a Map: product id → variants in the owner's order. A server
 * without variants answers an empty Map.
 */
export async function loadVariants(ids = null) {
  const byProduct = new Map();
  if (variantsMissing || (ids && ids.length === 0)) return byProduct;
  const chunks = [];
  if (ids === null) chunks.push(null);
  else {
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 40) chunks.push(unique.slice(i, i + 40));
  }
  for (const chunk of chunks) {
    let filter = 'active = true';
    if (chunk) {
      const params = {};
      const any = chunk.map((id, i) => { params[`p${i}`] = id; return `product = {:p${i}}`; }).join(' || ');
      filter = pb.filter(`active = true && (${any})`, params);
    }
    let items;
    try {
      items = await pb.collection('variants').getFullList({ filter, sort: 'position' });
    } catch (err) {
      if (err instanceof ClientResponseError && err.status === 404) {
        variantsMissing = true; // a first-round server: every product is simple
        return byProduct;
      }
      throw err;
    }
    for (const v of items) {
      if (!byProduct.has(v.product)) byProduct.set(v.product, []);
      byProduct.get(v.product).push(v);
    }
  }
  return byProduct;
}

/**
 * Subscribes to every change of a variant; cb(action, record). Returns
 * whether it subscribed (not on a server without variants).
 */
export async function subscribeVariants(cb) {
  if (variantsMissing) return false;
  await pb.collection('variants').subscribe('*', (e) => cb(e.action, e.record));
  return true;
}

/**
 * Puts a changed variant into a product's list (removing it when deleted
 * or switched off), keeping the owner's order. Returns the new list.
 */
export function applyVariantChange(list, action, record) {
  const rest = (list || []).filter((v) => v.id !== record.id);
  if (action !== 'delete' && record.active !== false) rest.push(record);
  return rest.sort((a, b) => (a.position || 0) - (b.position || 0));
}

// --- totals ------------------------------------------------------------------

/**
 * Draws an order's or a quote's totals (see pricing.js totalsRows) into a
 * <dl>: every row is a dt and a dd with data-row set to its key.
 */
export function drawTotals(dl, figures, currency = settings.currency) {
  dl.replaceChildren(...totalsRows(figures).flatMap((r) => [
    el('dt', { dataset: { row: r.key } }, r.label),
    el('dd', {
      dataset: { row: r.key, ...(r.key === 'subtotal' ? { subtotal: '' } : {}) },
      class: r.key === 'total' ? 'total' : r.key === 'tax-included' ? 'included' : false,
    }, r.text || money(r.cents, currency)),
  ]));
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
