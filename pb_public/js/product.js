// One product: images, description, price and live stock, and a quantity to
// add to the cart. Reached as product.html?slug=... (or ?id=...), with
// &variant=... for one variant of a product sold by variant: its option
// pickers offer only the combinations that exist, mark the sold-out ones,
// and the price and stock shown are the chosen variant's, live.
import { pb, startPage, money, stockLabel, el, errorMessage, notice, loadVariants, subscribeVariants, applyVariantChange } from './shop.js';
import { addToCart, quantityInCart } from './cart.js';
import { choose, selectionOf, variantPrice } from './variants.js';

const page = document.querySelector('[data-product]');
const status = document.querySelector('[data-notice]');
const form = document.querySelector('[data-add-form]');
const quantity = form.querySelector('input[name=quantity]');
const added = document.querySelector('[data-added]');
const optionsBox = form.querySelector('[data-options]');
let product;
let variants = []; // the product's active variants; empty for a simple product
let selection = {}; // the shopper's choice: {Size: "M", Color: "Red"}
let variant = null; // the variant the choice names

// What holds the stock being sold: the chosen variant, or the product.
function unit() {
  return variant || product;
}

function drawStock() {
  const held = unit();
  const stock = stockLabel(held);
  const node = page.querySelector('[data-stock]');
  node.textContent = stock.text;
  node.className = `stock ${stock.kind}`;
  const room = held.stock - quantityInCart(product.id, variant?.id);
  const button = form.querySelector('button[type=submit]');
  button.disabled = room <= 0;
  button.textContent = held.stock <= 0 ? 'Sold out' : room <= 0 ? 'All in cart' : 'Add to cart';
  quantity.disabled = room <= 0;
  quantity.max = String(Math.max(1, Math.min(room, 100)));
}

function drawPrice() {
  page.querySelector('[data-price]').textContent = money(variantPrice(product, variant));
  const title = page.querySelector('[data-variant-title]');
  title.textContent = variant?.title || '';
  title.hidden = !variant?.title;
}

// The pickers: one group of radio buttons per option, each value marked when
// sold out. A sold-out value can still be chosen (to see it is sold out), but
// not added.
function drawOptions() {
  const choice = choose(product, variants, selection);
  selection = choice.selection;
  variant = choice.variant;
  optionsBox.hidden = choice.pickers.length === 0;
  optionsBox.replaceChildren(...choice.pickers.map((picker, i) => el('fieldset', { class: 'option' },
    el('legend', {}, picker.name),
    ...picker.values.map((v, j) => el('label', { class: `option-value${v.soldOut ? ' sold-out' : ''}` },
      el('input', {
        type: 'radio',
        name: `option-${i}`,
        value: v.value,
        checked: v.value === picker.selected,
        id: `option-${i}-${j}`,
        onchange: () => choosePart(picker.name, v.value),
      }),
      el('span', {}, v.value),
      v.soldOut ? el('span', { class: 'mark' }, ' (sold out)') : null)))));
  if (variant) {
    const url = new URL(location.href);
    url.searchParams.set('variant', variant.id);
    history.replaceState(null, '', url);
  }
}

function choosePart(name, value) {
  selection = { ...selection, [name]: value };
  added.textContent = '';
  drawVariant();
}

function drawVariant() {
  // The pickers are drawn anew: keep the keyboard focus where it was.
  const focused = optionsBox.contains(document.activeElement) ? document.activeElement.id : '';
  drawOptions();
  drawPrice();
  drawStock();
  if (focused) document.getElementById(focused)?.focus();
}

function draw() {
  document.title = `${product.name} · ${document.title.split(' · ').pop()}`;
  page.querySelector('[data-name]').textContent = product.name;
  const gallery = page.querySelector('[data-gallery]');
  const images = product.images || [];
  gallery.replaceChildren(...(images.length
    ? images.map((file, i) => el('img', {
      src: pb.files.getURL(product, file, { thumb: '400x400' }),
      alt: i === 0 ? product.name : `${product.name}, picture ${i + 1}`,
      width: '400',
      height: '400',
    }))
    : [el('span', { class: 'placeholder' }, product.name.slice(0, 1))]));
  // The description is the owner's rich text from the dashboard (only
  // superusers write products), shown as the owner formatted it.
  page.querySelector('[data-description]').innerHTML = product.description || '';
  drawVariant();
  page.hidden = false;
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const want = Number(quantity.value);
  if (!Number.isInteger(want) || want < 1) {
    added.textContent = 'Choose a quantity of at least 1.';
    return;
  }
  const held = unit();
  const room = held.stock - quantityInCart(product.id, variant?.id);
  if (room <= 0) return;
  const n = addToCart(product.id, Math.min(want, room), held.stock, variant?.id);
  added.replaceChildren(
    `${want > room ? `Only ${room} more could be added. ` : ''}${n}${variant ? ` × ${variant.title}` : ''} in your cart. `,
    el('a', { href: 'cart.html' }, 'Go to cart'),
  );
  quantity.value = '1';
  drawStock();
});

async function main() {
  await startPage();
  const params = new URLSearchParams(location.search);
  try {
    if (params.get('id')) {
      product = await pb.collection('products').getOne(params.get('id'));
    } else {
      product = await pb.collection('products').getFirstListItem(pb.filter('slug = {:slug}', { slug: params.get('slug') || '' }));
    }
    variants = (await loadVariants([product.id])).get(product.id) || [];
  } catch (err) {
    notice(status, err.status === 404 ? 'This product is not in the shop (any more).' : `The product could not be loaded: ${errorMessage(err)}`, 'error');
    return;
  }
  const linked = variants.find((v) => v.id === params.get('variant'));
  if (linked) selection = selectionOf(product, variants, linked);
  draw();

  await pb.collection('products').subscribe(product.id, (e) => {
    if (e.action === 'delete') {
      notice(status, 'This product was removed from the shop.', 'error');
      form.querySelector('button[type=submit]').disabled = true;
      return;
    }
    product = e.record;
    drawPrice();
    drawStock();
  });
  // A variant's stock and price change as others buy and the owner edits;
  // a variant added, removed or switched off changes the pickers.
  await subscribeVariants((action, v) => {
    if (v.product !== product.id) return;
    variants = applyVariantChange(variants, action, v);
    drawVariant();
  });
  document.body.dataset.live = 'true';
}

main();
