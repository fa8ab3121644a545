// The product list: every active product with its image, price and stock,
// kept current through realtime subscriptions to products and variants.
import { pb, startPage, errorMessage, notice } from './shop.js';
import { ProductGrid } from './listing.js';

const list = document.querySelector('[data-products]');
const status = document.querySelector('[data-notice]');
const grid = new ProductGrid(list, status, { empty: 'No products yet. The shop owner adds them in the dashboard.' });

async function main() {
  await startPage();
  try {
    await grid.show(await pb.collection('products').getFullList({ sort: 'name' }));
  } catch (err) {
    notice(status, `The products could not be loaded: ${errorMessage(err)}`, 'error');
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
  await grid.live();
  document.body.dataset.live = 'true';
}

main();
