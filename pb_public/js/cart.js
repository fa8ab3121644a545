// The cart lives in localStorage as [{product, variant, quantity}], the shape
// an order takes (variant only for a product sold by variant). It holds no
// prices: the server prices every order from the catalog.

const KEY = 'pocketshop.cart';
const MAX_QUANTITY = 100; // the server's limit per line
const MAX_LINES = 50; // the server's limit per order

/** Returns the cart's lines. */
export function cartLines() {
  try {
    const lines = JSON.parse(localStorage.getItem(KEY) || '[]');
    if (!Array.isArray(lines)) return [];
    return lines.filter((l) => l && typeof l.product === 'string' && Number.isInteger(l.quantity) && l.quantity > 0
      && (l.variant === undefined || typeof l.variant === 'string'));
  } catch {
    return [];
  }
}

function save(lines) {
  localStorage.setItem(KEY, JSON.stringify(lines));
  window.dispatchEvent(new CustomEvent('cart-change'));
}

/** Returns the number of units in the cart. */
export function cartCount() {
  return cartLines().reduce((n, l) => n + l.quantity, 0);
}

// A line is one product, or one variant of a product ("" for none).
function isLine(l, productId, variantId) {
  return l.product === productId && (l.variant || '') === (variantId || '');
}

/** Returns how many units of a product (or of one of its variants) the cart holds. */
export function quantityInCart(productId, variantId = '') {
  return cartLines().find((l) => isLine(l, productId, variantId))?.quantity ?? 0;
}

/**
 * Adds quantity units of a product (of its variant variantId, if it is sold
 * by variant), never more than max in total (the stock the shop shows).
 * Returns the line's new quantity in the cart.
 */
export function addToCart(productId, quantity, max = MAX_QUANTITY, variantId = '') {
  const lines = cartLines();
  const limit = Math.min(max, MAX_QUANTITY);
  const line = lines.find((l) => isLine(l, productId, variantId));
  if (line) {
    line.quantity = Math.min(line.quantity + quantity, limit);
  } else if (lines.length < MAX_LINES && limit > 0) {
    lines.push(variantId
      ? { product: productId, variant: variantId, quantity: Math.min(quantity, limit) }
      : { product: productId, quantity: Math.min(quantity, limit) });
  }
  save(lines);
  return quantityInCart(productId, variantId);
}

/** Sets a line's quantity; 0 removes the line. */
export function setQuantity(productId, quantity, variantId = '') {
  const q = Math.max(0, Math.min(Math.trunc(quantity) || 0, MAX_QUANTITY));
  let lines = cartLines();
  if (q === 0) {
    lines = lines.filter((l) => !isLine(l, productId, variantId));
  } else {
    const line = lines.find((l) => isLine(l, productId, variantId));
    if (line) line.quantity = q;
  }
  save(lines);
}

/** Empties the cart (after an order is placed). */
export function clearCart() {
  save([]);
}

// Orders placed on this device, so that a guest finds them again.
const ORDERS_KEY = 'pocketshop.orders';

/** Remembers an order placed on this device: {id, token, number}. */
export function rememberOrder(order) {
  const list = recentOrders().filter((o) => o.id !== order.id);
  list.unshift({ id: order.id, token: order.token, number: order.number });
  localStorage.setItem(ORDERS_KEY, JSON.stringify(list.slice(0, 20)));
}

/** Forgets the orders with these ids: after an account is deleted their links no longer open them. */
export function forgetOrders(ids) {
  const drop = new Set(ids);
  localStorage.setItem(ORDERS_KEY, JSON.stringify(recentOrders().filter((o) => !drop.has(o.id))));
}

/** Returns the orders placed on this device, newest first. */
export function recentOrders() {
  try {
    const list = JSON.parse(localStorage.getItem(ORDERS_KEY) || '[]');
    return Array.isArray(list) ? list.filter((o) => o && typeof o.id === 'string') : [];
  } catch {
    return [];
  }
}
