// Money is an integer number of minor units (cents) everywhere in the shop.
// formatCents turns it into text for people without ever making it a float:
// the amount is split with BigInt arithmetic and handed to Intl.NumberFormat
// as an exact decimal string.

/**
 * Returns the number of decimals of a currency's minor unit as Intl knows it.
 * Prefer the shop's own figure (GET /api/shop/settings → currency_exponent)
 * for the shop's currency: it is the one the server counts cents in.
 */
export function intlExponent(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() })
      .resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/**
 * Returns the amount as a plain decimal string, e.g. (123456, 2) → "1234.56",
 * (-5, 2) → "-0.05", (500, 0) → "500".
 */
export function centsToDecimal(cents, exponent) {
  const value = BigInt(cents);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(exponent);
  const whole = (abs / unit).toString();
  const fraction = exponent > 0 ? '.' + (abs % unit).toString().padStart(exponent, '0') : '';
  return (negative ? '-' : '') + whole + fraction;
}

/**
 * Formats an amount in minor units, e.g. formatCents(123456, 'usd', 2) →
 * "$1,234.56". exponent defaults to Intl's figure for the currency.
 */
export function formatCents(cents, currency, exponent = intlExponent(currency), locale = undefined) {
  const decimal = centsToDecimal(cents, exponent);
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: currency.toUpperCase(),
      minimumFractionDigits: exponent,
      maximumFractionDigits: exponent,
    }).format(decimal);
  } catch {
    return `${decimal} ${currency.toUpperCase()}`;
  }
}
