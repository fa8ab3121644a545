// A grid of product cards with live stock and prices: the home page, a
// category's page and search results. A product sold by variant shows its
// price range and links to its page, where the shopper picks the options.
import { pb, money, stockLabel, productImage, el, notice, loadVariants, subscribeVariants, applyVariantChange } from './shop.js';
import { addToCart, quantityInCart } from './cart.js';
import { priceRange, totalStock } from './variants.js';

const byName = (a, b) => a.name.localeCompare(b.name);

export class ProductGrid {
  /**
   * list: the <ul>; status: the page's notice. Options: order (a compare
   * function, by name by default), belongs (whether a product changed live
   * belongs on this page), adopt (whether a product not shown yet may be
   * added live), empty (what to say when there is nothing to show).
   */
  constructor(list, status, { order = byName, belongs = () => true, adopt = true, empty = 'No products here.' } = {}) {
    this.list = list;
    this.status = status;
    this.order = order;
    this.belongs = belongs;
    this.adopt = adopt;
    this.empty = empty;
    this.products = new Map(); // id → product record
    this.variants = new Map(); // product id → its active variants
  }

  /** Shows these products (loading their variants first). */
  async show(items) {
    this.products.clear();
    items.forEach((p) => this.products.set(p.id, p));
    this.variants = await loadVariants(items.length > 40 ? null : items.map((p) => p.id));
    this.drawAll();
  }

  /**
   * Follows products and variants live: stock, prices and availability
   * change while the page is open (orders reserve stock, the owner edits).
   * The list rules apply to realtime too: a product switched off sends no
   * update.
   */
  async live() {
    await pb.collection('products').subscribe('*', (e) => {
      const known = this.products.has(e.record.id);
      if (e.action === 'delete' || !this.belongs(e.record)) {
        this.products.delete(e.record.id);
      } else if (known || this.adopt) {
        this.products.set(e.record.id, e.record);
      }
      this.redraw(e.record.id);
    });
    await subscribeVariants((action, v) => {
      if (!this.products.has(v.product)) return;
      this.variants.set(v.product, applyVariantChange(this.variants.get(v.product), action, v));
      this.redraw(v.product);
    });
  }

  card(p) {
    const href = `product.html?slug=${encodeURIComponent(p.slug)}`;
    const image = productImage(p);
    const variants = this.variants.get(p.id) || [];
    let price;
    let stock;
    let action;
    if (variants.length) {
      const { min, max } = priceRange(p, variants);
      price = min === max ? money(min) : `From ${money(min)}`;
      stock = totalStock(variants) > 0 ? { text: 'In stock', kind: 'in' } : { text: 'Sold out', kind: 'out' };
      action = el('a', { href, class: 'button', 'aria-label': `Choose options for ${p.name}` }, 'Choose options');
    } else {
      const canAdd = p.stock > quantityInCart(p.id);
      price = money(p.price_cents);
      stock = stockLabel(p);
      action = el('button', {
        type: 'button',
        disabled: !canAdd,
        'aria-label': `Add ${p.name} to cart`,
        onclick: () => this.add(p.id),
      }, p.stock <= 0 ? 'Sold out' : canAdd ? 'Add to cart' : 'All in cart');
    }
    return el('li', { class: 'product', dataset: { id: p.id, slug: p.slug } },
      el('a', { href, class: 'image-link', tabindex: '-1', 'aria-hidden': 'true' },
        image
          ? el('img', { src: image, alt: '', width: '400', height: '400', loading: 'lazy' })
          : el('span', { class: 'placeholder' }, p.name.slice(0, 1))),
      el('h2', {}, el('a', { href }, p.name)),
      el('p', { class: 'price' }, price),
      el('p', { class: `stock ${stock.kind}`, dataset: { stock: '' } }, stock.text),
      action,
    );
  }

  add(id) {
    const p = this.products.get(id);
    if (!p || p.stock <= 0) return;
    const n = addToCart(id, 1, p.stock);
    notice(this.status, `${p.name} added to your cart (${n} in cart).`);
    this.redraw(id);
    this.list.querySelector(`[data-id="${id}"] button`)?.focus();
  }

  redraw(id) {
    const p = this.products.get(id);
    const old = this.list.querySelector(`[data-id="${id}"]`);
    if (!p) {
      old?.remove();
      return;
    }
    if (old) old.replaceWith(this.card(p));
    else this.drawAll();
  }

  drawAll() {
    const sorted = [...this.products.values()].sort(this.order);
    this.list.replaceChildren(...sorted.map((p) => this.card(p)));
    if (sorted.length === 0) notice(this.status, this.empty);
  }
}
