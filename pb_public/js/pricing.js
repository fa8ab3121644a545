// What the cart, checkout and order pages show of the shop's pricing rules:
// shipping rates by country, tax lines, discounts, and country names. Pure
// functions (no DOM, no requests): the server computes every figure; this
// only chooses what to show and how to name it.

/** Formats a rate in basis points: 2000 → "20%", 825 → "8.25%", 550 → "5.5%". */
export function percentLabel(bp) {
  const whole = Math.trunc(bp / 100);
  const fraction = String(Math.abs(bp % 100)).padStart(2, '0').replace(/0+$/, '');
  return `${whole}${fraction ? `.${fraction}` : ''}%`;
}

/** Returns the active shipping rates that cover a country (ISO code), in the owner's order. */
export function ratesForCountry(rates, country) {
  const code = String(country || '').toUpperCase();
  if (!code) return [];
  return rates
    .filter((r) => r.active !== false && Array.isArray(r.countries)
      && r.countries.some((c) => c === '*' || String(c).toUpperCase() === code))
    .sort((a, b) => (a.position || 0) - (b.position || 0) || a.name.localeCompare(b.name));
}

/** Returns what a shipping rate costs for a subtotal (free from free_over_cents, when set). */
export function rateCents(rate, subtotalCents) {
  return rate.free_over_cents > 0 && subtotalCents >= rate.free_over_cents ? 0 : rate.price_cents;
}

/**
 * Returns whether an order's tax is contained in its prices: the order says
 * so (prices_include_tax), or its total leaves the tax out.
 */
export function taxIncluded(order) {
  if (typeof order.prices_include_tax === 'boolean') return order.prices_include_tax;
  const tax = order.tax_cents || 0;
  return tax > 0 && order.total_cents === order.subtotal_cents - (order.discount_cents || 0) + (order.shipping_cents || 0);
}

/**
 * Returns the rows of an order's (or a quote's) totals, in the order a
 * receipt lists them: [{key, label, cents, text}] where text, when set,
 * replaces the amount ("Free"). Tax contained in the prices comes after the
 * total as "Includes VAT (20%)"; added tax comes before it.
 */
export function totalsRows(f) {
  const rows = [{ key: 'subtotal', label: 'Subtotal', cents: f.subtotal_cents }];
  if (f.discount_cents > 0) {
    rows.push({ key: 'discount', label: f.discount_code ? `Discount (${f.discount_code})` : 'Discount', cents: -f.discount_cents });
  }
  const shippingName = f.shipping_rate_name ? `Shipping (${f.shipping_rate_name})` : 'Shipping';
  if (f.shipping_cents === null || f.shipping_cents === undefined) {
    rows.push({ key: 'shipping', label: shippingName, cents: 0, text: f.shipping_text || 'At checkout' });
  } else {
    rows.push({ key: 'shipping', label: shippingName, cents: f.shipping_cents, text: f.shipping_cents === 0 ? 'Free' : '' });
  }
  const lines = Array.isArray(f.tax_lines) && f.tax_lines.length
    ? f.tax_lines.filter((t) => t.amount_cents > 0)
    : f.tax_cents > 0 ? [{ name: 'Tax', amount_cents: f.tax_cents }] : [];
  const taxName = (t) => (t.rate_bp > 0 ? `${t.name} (${percentLabel(t.rate_bp)})` : t.name);
  const included = f.inclusive ?? taxIncluded(f);
  if (!included) lines.forEach((t) => rows.push({ key: 'tax', label: taxName(t), cents: t.amount_cents }));
  rows.push({ key: 'total', label: 'Total', cents: f.total_cents });
  if (included) lines.forEach((t) => rows.push({ key: 'tax-included', label: `Includes ${taxName(t)}`, cents: t.amount_cents }));
  if (f.refunded_cents > 0) rows.push({ key: 'refunded', label: 'Refunded', cents: f.refunded_cents });
  return rows;
}

// --- countries: the address's country is an ISO 3166-1 alpha-2 code --------

// Codes Intl names that are not countries one ships to.
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'UN', 'ZZ', 'QO', 'XA', 'XB']);
let table; // {codes: [code], byName: Map(lower-case name → code)}

function locales() {
  const own = globalThis.navigator?.languages || [];
  return [...new Set([...own, 'en'])];
}

function countryTable() {
  if (table) return table;
  table = { codes: [], byName: new Map() };
  const A = 'A'.charCodeAt(0);
  for (const locale of locales()) {
    let names;
    try {
      names = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
    } catch {
      continue;
    }
    for (let i = 0; i < 26; i++) {
      for (let j = 0; j < 26; j++) {
        const code = String.fromCharCode(A + i, A + j);
        if (NOT_COUNTRIES.has(code)) continue;
        let canonical;
        try {
          canonical = new Intl.Locale(`und-${code}`).region;
        } catch {
          continue;
        }
        const name = names.of(code);
        if (canonical !== code || !name) continue; // an old alias (DD, UK) or no country
        if (!table.byName.has(name.toLowerCase())) table.byName.set(name.toLowerCase(), code);
        if (!table.codes.includes(code)) table.codes.push(code);
      }
    }
  }
  return table;
}

/**
 * Returns the ISO code of what a shopper typed as a country: a code ("de",
 * "UK" → "GB") or a name in their language or English ("Germany" → "DE");
 * "" when it names no country.
 */
export function countryCode(text) {
  const t = String(text || '').trim();
  if (!t) return '';
  const { codes, byName } = countryTable();
  if (/^[a-z]{2}$/i.test(t)) {
    let canonical = '';
    try {
      canonical = new Intl.Locale(`und-${t.toUpperCase()}`).region;
    } catch { /* not a region */ }
    if (codes.includes(canonical)) return canonical;
  }
  return byName.get(t.toLowerCase()) || '';
}

/** Returns a country's name in the shopper's language ("DE" → "Germany"), or the text itself. */
export function countryName(code) {
  const c = String(code || '');
  if (!/^[A-Z]{2}$/.test(c)) return c;
  try {
    return new Intl.DisplayNames(locales(), { type: 'region', fallback: 'code' }).of(c) || c;
  } catch {
    return c;
  }
}

/** Returns every country as [{code, name}], sorted by name (for a datalist). */
export function countryList() {
  const names = new Intl.DisplayNames(locales(), { type: 'region', fallback: 'code' });
  return countryTable().codes.map((code) => ({ code, name: names.of(code) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
