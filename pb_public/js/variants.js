// What the pages need to know about a product sold by variant: its option
// names, the values a shopper can pick, which variant a choice names, its
// price. Pure functions on records (no DOM, no requests), so that
// e2e/test/storefront-modules.test.js runs them in Node.

/** Returns the price of a variant: its own, or its product's when empty or 0. */
export function variantPrice(product, variant) {
  return variant && variant.price_cents > 0 ? variant.price_cents : product.price_cents;
}

/** Returns the lowest and highest price among a product's variants. */
export function priceRange(product, variants) {
  const prices = variants.map((v) => variantPrice(product, v));
  if (prices.length === 0) return { min: product.price_cents, max: product.price_cents };
  return { min: Math.min(...prices), max: Math.max(...prices) };
}

/** Returns the stock of all a product's variants together. */
export function totalStock(variants) {
  return variants.reduce((n, v) => n + Math.max(0, v.stock || 0), 0);
}

// The option a picker is about: a name the product declares (Size, Color),
// or, for variants that name no options, the variant's title.
const TITLE = Symbol('title');

function valueOf(variant, name) {
  if (name === TITLE) return variant.title || '';
  const v = variant.options?.[name];
  return v === undefined || v === null ? '' : String(v);
}

/**
 * Returns the option names of a product sold by variant, in the product's
 * order (its `options`), or the ones its variants use when the product
 * declares none.
 */
export function optionNames(product, variants) {
  const declared = (Array.isArray(product.options) ? product.options : [])
    .map((o) => o?.name).filter((n) => typeof n === 'string' && n !== '');
  if (declared.length) return declared;
  const seen = [];
  for (const v of variants) {
    for (const k of Object.keys(v.options || {})) if (!seen.includes(k)) seen.push(k);
  }
  return seen;
}

// The values of one option that the candidate variants have: in the
// product's declared order first, then any other in the variants' order.
function valuesOf(product, name, candidates) {
  const present = new Set(candidates.map((v) => valueOf(v, name)));
  const declared = name === TITLE ? [] : (product.options || []).find((o) => o?.name === name)?.values || [];
  const order = [...declared.map(String), ...candidates.map((v) => valueOf(v, name))];
  return [...new Set(order)].filter((value) => present.has(value));
}

/**
 * Works out the option pickers of a product for the shopper's selection
 * ({Size: "M", Color: "Red"}): each option lists only the values that some
 * variant has together with the values chosen in the options before it (so
 * every choice names a variant that exists); a value is soldOut when every
 * such variant is out of stock. A selected value that no longer fits is
 * replaced by the first value in stock (or the first value).
 *
 * Returns {pickers: [{name, label, values: [{value, soldOut}], selected}],
 * selection, variant}: the variant the pickers name, or null for a product
 * without variants.
 */
export function choose(product, variants, selection = {}) {
  if (!variants.length) return { pickers: [], selection: {}, variant: null };
  const declared = optionNames(product, variants);
  const names = declared.length ? declared : [TITLE];
  let candidates = [...variants].sort((a, b) => (a.position || 0) - (b.position || 0));
  const pickers = [];
  const chosen = {};
  for (const name of names) {
    const key = name === TITLE ? 'Option' : name;
    const values = valuesOf(product, name, candidates).map((value) => ({
      value,
      soldOut: candidates.every((v) => valueOf(v, name) !== value || !(v.stock > 0)),
    }));
    const wanted = values.find((x) => x.value === selection[key]);
    const selected = (wanted || values.find((x) => !x.soldOut) || values[0]).value;
    chosen[key] = selected;
    candidates = candidates.filter((v) => valueOf(v, name) === selected);
    pickers.push({ name: key, values, selected });
  }
  return { pickers, selection: chosen, variant: candidates[0] || null };
}

/** Returns the selection that names the given variant (for ?variant= links). */
export function selectionOf(product, variants, variant) {
  const names = optionNames(product, variants);
  if (!names.length) return { Option: variant.title || '' };
  return Object.fromEntries(names.map((n) => [n, valueOf(variant, n)]));
}
