// The product list: every active product with its image, price and stock,
// kept current through a realtime subscription to the products collection.
import { pb, startPage, money, stockLabel, productImage, el, errorMessage, notice } from './shop.js';
import { addToCart, quantityInCart } from './cart.js';

const list = document.querySelector('[data-products]');
const status = document.querySelector('[data-notice]');
const products = new Map(); // id → product record

function card(p) {
  const stock = stockLabel(p);
  const href = `product.html?slug=${encodeURIComponent(p.slug)}`;
  const image = productImage(p);
  const inCart = quantityInCart(p.id);
  const canAdd = p.stock > inCart;
  return el('li', { class: 'product', dataset: { id: p.id, slug: p.slug } },
    el('a', { href, class: 'image-link', tabindex: '-1', 'aria-hidden': 'true' },
      image
        ? el('img', { src: image, alt: '', width: '400', height: '400', loading: 'lazy' })
        : el('span', { class: 'placeholder' }, p.name.slice(0, 1))),
    el('h2', {}, el('a', { href }, p.name)),
    el('p', { class: 'price' }, money(p.price_cents)),
    el('p', { class: `stock ${stock.kind}`, dataset: { stock: '' } }, stock.text),
    el('button', {
      type: 'button',
      disabled: !canAdd,
      'aria-label': `Add ${p.name} to cart`,
      onclick: () => add(p.id),
    }, p.stock <= 0 ? 'Sold out' : canAdd ? 'Add to cart' : 'All in cart'),
  );
}

function add(id) {
  const p = products.get(id);
  if (!p || p.stock <= 0) return;
  const n = addToCart(id, 1, p.stock);
  notice(status, `${p.name} added to your cart (${n} in cart).`);
  redraw(id);
  list.querySelector(`[data-id="${id}"] button`)?.focus();
}

function redraw(id) {
  const p = products.get(id);
  const old = list.querySelector(`[data-id="${id}"]`);
  if (!p) {
    old?.remove();
    return;
  }
  const fresh = card(p);
  if (old) old.replaceWith(fresh);
  else drawAll();
}

function drawAll() {
  const sorted = [...products.values()].sort((a, b) => a.name.localeCompare(b.name));
  list.replaceChildren(...sorted.map(card));
  if (sorted.length === 0) notice(status, 'No products yet. The shop owner adds them in the dashboard.');
}

async function main() {
  await startPage();
  try {
    const items = await pb.collection('products').getFullList({ sort: 'name' });
    items.forEach((p) => products.set(p.id, p));
    drawAll();
  } catch (err) {
    notice(status, `The products could not be loaded: ${errorMessage(err)}`, 'error');
  } finally {
    list.setAttribute('aria-busy', 'false');
  }

  // Stock, prices and availability change while the page is open: orders
  // reserve stock, the owner edits products. The list rule (active = true)
  // applies here too, so a product that is switched off sends no update.
  await pb.collection('products').subscribe('*', (e) => {
    if (e.action === 'delete') products.delete(e.record.id);
    else products.set(e.record.id, e.record);
    redraw(e.record.id);
  });
  document.body.dataset.live = 'true';
}

main();
