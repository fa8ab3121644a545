// A category's page, reached as category.html?slug=...: its products and
// those of every category below it, live, and links to its sub-categories.
import { pb, startPage, el, errorMessage, notice, loadCategories, categorySubtree, categoryHref } from './shop.js';
import { ProductGrid } from './listing.js';

const list = document.querySelector('[data-products]');
const status = document.querySelector('[data-notice]');
const slug = new URLSearchParams(location.search).get('slug') || '';
document.body.dataset.category = slug; // the header marks it

function ancestors(categories, category) {
  const chain = [];
  const seen = new Set();
  for (let c = categories.find((x) => x.id === category.parent); c && !seen.has(c.id); c = categories.find((x) => x.id === c.parent)) {
    seen.add(c.id);
    chain.unshift(c);
  }
  return chain;
}

async function main() {
  await startPage();
  const categories = await loadCategories();
  const category = categories.find((c) => c.slug === slug);
  if (!category) {
    document.querySelector('[data-category-name]').textContent = 'Category not found';
    notice(status, 'This category is not in the shop (any more). ', 'error');
    status.append(el('a', { href: './' }, 'See all products'));
    list.setAttribute('aria-busy', 'false');
    return;
  }
  document.title = `${category.name} · ${document.title.split(' · ').pop()}`;
  document.querySelector('[data-category-name]').textContent = category.name;

  const crumbs = document.querySelector('[data-breadcrumbs]');
  crumbs.replaceChildren(el('ol', {},
    el('li', {}, el('a', { href: './' }, 'All products')),
    ...ancestors(categories, category).map((c) => el('li', {}, el('a', { href: categoryHref(c) }, c.name)))));
  crumbs.hidden = false;

  const children = categories.filter((c) => c.parent === category.id);
  const sub = document.querySelector('[data-subcategories]');
  sub.replaceChildren(el('ul', {}, ...children.map((c) => el('li', {}, el('a', { href: categoryHref(c) }, c.name)))));
  sub.hidden = children.length === 0;

  // The products of this category and of its sub-categories, at any depth.
  const ids = categorySubtree(categories, category.id);
  const inHere = (p) => (p.categories || []).some((id) => ids.has(id));
  const grid = new ProductGrid(list, status, { belongs: inHere, empty: 'No products in this category yet.' });
  try {
    const params = {};
    const filter = [...ids].map((id, i) => { params[`c${i}`] = id; return `categories.id ?= {:c${i}}`; }).join(' || ');
    await grid.show(await pb.collection('products').getFullList({ filter: pb.filter(filter, params), sort: 'name' }));
  } catch (err) {
    notice(status, `The products could not be loaded: ${errorMessage(err)}`, 'error');
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
  await grid.live();
  document.body.dataset.live = 'true';
}

main();
