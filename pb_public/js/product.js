// One product: images, description, price and live stock, and a quantity to
// add to the cart. Reached as product.html?slug=... (or ?id=...).
import { pb, startPage, money, stockLabel, productImage, el, errorMessage, notice } from './shop.js';
import { addToCart, quantityInCart } from './cart.js';

const page = document.querySelector('[data-product]');
const status = document.querySelector('[data-notice]');
const form = document.querySelector('[data-add-form]');
const quantity = form.querySelector('input[name=quantity]');
const added = document.querySelector('[data-added]');
let product;

function drawStock() {
  const stock = stockLabel(product);
  const node = page.querySelector('[data-stock]');
  node.textContent = stock.text;
  node.className = `stock ${stock.kind}`;
  const room = product.stock - quantityInCart(product.id);
  const button = form.querySelector('button');
  button.disabled = room <= 0;
  button.textContent = product.stock <= 0 ? 'Sold out' : room <= 0 ? 'All in cart' : 'Add to cart';
  quantity.disabled = room <= 0;
  quantity.max = String(Math.max(1, Math.min(room, 100)));
}

function draw() {
  document.title = `${product.name} · ${document.title.split(' · ').pop()}`;
  page.querySelector('[data-name]').textContent = product.name;
  page.querySelector('[data-price]').textContent = money(product.price_cents);
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
  drawStock();
  page.hidden = false;
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const want = Number(quantity.value);
  if (!Number.isInteger(want) || want < 1) {
    added.textContent = 'Choose a quantity of at least 1.';
    return;
  }
  const room = product.stock - quantityInCart(product.id);
  const n = addToCart(product.id, Math.min(want, room), product.stock);
  added.replaceChildren(
    `${want > room ? `Only ${room} more could be added. ` : ''}${n} in your cart. `,
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
  } catch (err) {
    notice(status, err.status === 404 ? 'This product is not in the shop (any more).' : `The product could not be loaded: ${errorMessage(err)}`, 'error');
    return;
  }
  draw();

  await pb.collection('products').subscribe(product.id, (e) => {
    if (e.action === 'delete') {
      notice(status, 'This product was removed from the shop.', 'error');
      form.querySelector('button').disabled = true;
      return;
    }
    product = e.record;
    page.querySelector('[data-price]').textContent = money(product.price_cents);
    drawStock();
  });
  document.body.dataset.live = 'true';
}

main();
