// Search results, reached as search.html?q=...[&category=slug][&page=n]
// (the header's search box on every page leads here). The server ranks the
// matches (GET /api/shop/search); the cards follow stock and prices live.
import { pb, startPage, el, errorMessage, notice, loadCategories } from './shop.js';
import { ProductGrid } from './listing.js';

const PER_PAGE = 24;
const list = document.querySelector('[data-products]');
const status = document.querySelector('[data-notice]');
const count = document.querySelector('[data-search-count]');
const params = new URLSearchParams(location.search);
const q = (params.get('q') || '').trim();
const category = params.get('category') || '';
const page = Math.max(1, Number.parseInt(params.get('page') || '1', 10) || 1);

function pageLink(n, text) {
  const next = new URLSearchParams(params);
  next.set('page', String(n));
  return el('a', { href: `search.html?${next}` }, text);
}

async function main() {
  await startPage();
  list.setAttribute('aria-busy', 'false');
  if (!q) {
    notice(status, 'Type a word in the search box to find products.');
    document.querySelector('[data-search-input]')?.focus();
    document.body.dataset.live = 'true';
    return;
  }
  let where = '';
  if (category) where = (await loadCategories()).find((c) => c.slug === category)?.name || category;
  const title = `Results for “${q}”${where ? ` in ${where}` : ''}`;
  document.querySelector('[data-search-title]').textContent = title;
  document.title = `${title} · ${document.title.split(' · ').pop()}`;

  let result;
  try {
    const query = { q, page, perPage: PER_PAGE };
    if (category) query.category = category;
    result = await pb.send('/api/shop/search', { method: 'GET', query });
  } catch (err) {
    notice(status, `The search failed: ${errorMessage(err)}`, 'error');
    document.body.dataset.live = 'true';
    return;
  }
  // The server ranks; the cards show the products as the records API has
  // them (every field, the files' collection), in the server's order.
  const found = (result.items || []).map((p) => p.id).filter((id) => typeof id === 'string');
  const rank = new Map(found.map((id, i) => [id, i]));
  let items = [];
  if (found.length) {
    const filter = found.map((id, i) => `id = {:id${i}}`).join(' || ');
    try {
      items = await pb.collection('products').getFullList({ filter: pb.filter(filter, Object.fromEntries(found.map((id, i) => [`id${i}`, id]))) });
    } catch (err) {
      notice(status, `The products could not be loaded: ${errorMessage(err)}`, 'error');
    }
  }
  const grid = new ProductGrid(list, status, {
    order: (a, b) => rank.get(a.id) - rank.get(b.id),
    adopt: false, // a product changed live stays out of the results unless it is in them
    empty: `No products match “${q}”. Try another word.`,
  });
  const total = result.totalItems ?? items.length;
  count.textContent = `${total} product${total === 1 ? '' : 's'} found.`;
  await grid.show(items);

  const pages = document.querySelector('[data-pages]');
  const last = Math.max(1, Math.ceil(total / PER_PAGE));
  pages.replaceChildren(...[
    page > 1 ? pageLink(page - 1, 'Previous') : null,
    last > 1 ? el('span', {}, `Page ${page} of ${last}`) : null,
    page < last ? pageLink(page + 1, 'Next') : null,
  ].filter(Boolean));
  pages.hidden = last <= 1;

  await grid.live();
  document.body.dataset.live = 'true';
}

main();
