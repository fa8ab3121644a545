// Package shop holds the shop's domain rules: money, pricing, order input
// validation and the order state machine. It imports only the standard
// library so that every rule can be tested without a server.
package shop

import (
	"strconv"
	"strings"
)

// currencyExponents lists the ISO 4217 currencies whose minor unit is not
// 1/100 of the major unit. Every other currency is formatted with 2 decimals.
var currencyExponents = map[string]int{
	"bif": 0, "clp": 0, "djf": 0, "gnf": 0, "jpy": 0, "kmf": 0, "krw": 0,
	"mga": 0, "pyg": 0, "rwf": 0, "ugx": 0, "vnd": 0, "vuv": 0, "xaf": 0,
	"xof": 0, "xpf": 0, "isk": 0,
	"bhd": 3, "jod": 3, "kwd": 3, "omr": 3, "tnd": 3,
}

// currencySymbols are used for the few currencies a shop is most likely to
// use; the others are shown with their upper-case ISO code.
var currencySymbols = map[string]string{
	"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$",
	"chf": "CHF ", "inr": "₹",
}

// CurrencyExponent returns how many decimals the currency's minor unit has.
func CurrencyExponent(currency string) int {
	if exp, ok := currencyExponents[strings.ToLower(currency)]; ok {
		return exp
	}
	return 2
}

// ValidCurrency reports whether code looks like an ISO 4217 code in the
// lower case form Stripe uses ("usd").
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for _, c := range code {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// FormatCents formats an amount in minor units for people, e.g.
// FormatCents(123456, "usd") == "$1,234.56". It uses integer arithmetic only.
func FormatCents(cents int64, currency string) string {
	currency = strings.ToLower(currency)

	// The magnitude is unsigned so that the most negative int64, which has
	// no positive counterpart, formats too.
	sign, abs := "", uint64(cents)
	if cents < 0 {
		sign, abs = "-", uint64(-(cents+1))+1
	}

	exp := CurrencyExponent(currency)
	unit := uint64(1)
	for i := 0; i < exp; i++ {
		unit *= 10
	}

	major := groupThousands(strconv.FormatUint(abs/unit, 10))
	amount := major
	if exp > 0 {
		minor := strconv.FormatUint(abs%unit, 10)
		amount += "." + strings.Repeat("0", exp-len(minor)) + minor
	}

	if symbol, ok := currencySymbols[currency]; ok {
		return sign + symbol + amount
	}
	return sign + amount + " " + strings.ToUpper(currency)
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first > 0 {
		b.WriteString(digits[:first])
	}
	for i := first; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
