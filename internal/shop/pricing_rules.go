package shop

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// The pricing rules (CONTRACT.md, "Pricing rules"): a discount code, a tax
// rate chosen by the shipping address, a shipping rate chosen by country.
// Every amount is an integer number of minor units; every division rounds
// half away from zero (amounts are never negative, so: half up), with the
// products computed in 128 bits so that no order can overflow.

// Discount kinds, as stored in discount_codes.kind.
const (
	DiscountPercent      = "percent"
	DiscountFixed        = "fixed"
	DiscountFreeShipping = "free_shipping"
)

// MaxRateBP is the largest tax rate: 100% in basis points.
const MaxRateBP = 10000

// DiscountCode is a discount_codes record as pricing needs it.
type DiscountCode struct {
	ID   string
	Code string
	Kind string
	// Value is a percent (1-100) for DiscountPercent, cents for
	// DiscountFixed, unused for DiscountFreeShipping.
	Value            int64
	MinSubtotalCents int64
	StartsAt, EndsAt time.Time // zero: no bound
	MaxUses          int64     // 0: unlimited
	MaxUsesPerEmail  int64     // 0: unlimited
	UsedCount        int64
	Active           bool
	// Products restricts the code to these products (all their variants);
	// empty means the whole order.
	Products []string
}

// Eligible reports whether the code's discount applies to line l.
func (c DiscountCode) Eligible(l OrderLine) bool {
	return len(c.Products) == 0 || slices.Contains(c.Products, l.Product)
}

// CodeUse is what the check of a code needs to know besides the code: when,
// the order's priced lines, its currency (for messages) and how many
// standing orders (neither cancelled nor expired) the buyer's email has
// placed with this code.
type CodeUse struct {
	Now         time.Time
	Lines       []OrderLine
	Currency    string
	UsedByEmail int64
}

// CheckCode returns why code c cannot be used for the order u describes, or
// "" when it can. An unknown or inactive code is the caller's to refuse
// (UnknownCodeMessage): it never gets here.
func CheckCode(c DiscountCode, u CodeUse) string {
	var subtotal int64
	for _, l := range u.Lines {
		subtotal += l.LineTotalCents
	}
	switch {
	case !c.Active:
		return UnknownCodeMessage(c.Code)
	case c.Kind == DiscountPercent && (c.Value < 1 || c.Value > 100),
		c.Kind == DiscountFixed && c.Value < 1,
		c.Kind != DiscountPercent && c.Kind != DiscountFixed && c.Kind != DiscountFreeShipping:
		return "This code is not valid."
	case !c.StartsAt.IsZero() && u.Now.Before(c.StartsAt):
		return fmt.Sprintf("This code is not valid yet: it starts on %s.", c.StartsAt.UTC().Format("2006-01-02 15:04 MST"))
	case !c.EndsAt.IsZero() && !u.Now.Before(c.EndsAt):
		return "This code has expired."
	case subtotal < c.MinSubtotalCents:
		return fmt.Sprintf("This code needs an order of at least %s.", FormatCents(c.MinSubtotalCents, u.Currency))
	case !slices.ContainsFunc(u.Lines, c.Eligible):
		return "None of the products in this order is eligible for this code."
	case c.MaxUsesPerEmail > 0 && u.UsedByEmail >= c.MaxUsesPerEmail:
		return "This code has already been used with this email address."
	case c.MaxUses > 0 && c.UsedCount >= c.MaxUses:
		return "This code has been used up."
	}
	return ""
}

// UnknownCodeMessage refuses a code the shop does not have (or has
// switched off).
func UnknownCodeMessage(code string) string {
	return fmt.Sprintf("Unknown discount code %q.", truncate(code, 64))
}

// TaxRate is a tax_rates record.
type TaxRate struct {
	ID                string
	Name              string
	Country           string // ISO 3166-1 alpha-2, upper case, or "*"
	Region            string // optional, e.g. a US state code
	RateBP            int64  // basis points: 2000 = 20%
	AppliesToShipping bool
}

// TaxLine is one entry of orders.tax_lines.
type TaxLine struct {
	Name        string `json:"name"`
	RateBP      int64  `json:"rate_bp"`
	AmountCents int64  `json:"amount_cents"`
}

// ChooseTaxRate picks the rate for an address in country and region: a
// rate for the country and that region beats one for the whole country,
// which beats a "*" rate. Among equals the first in rates wins. An order
// with no address (country "") gets a "*" rate only. nil: no tax.
func ChooseTaxRate(rates []TaxRate, country, region string) *TaxRate {
	var best *TaxRate
	bestScore := 0
	for i := range rates {
		r := &rates[i]
		score := 0
		switch {
		case r.Country == "*" && r.Region == "":
			score = 1
		case country != "" && strings.EqualFold(r.Country, country) && r.Region == "":
			score = 2
		case country != "" && region != "" && strings.EqualFold(r.Country, country) && strings.EqualFold(r.Region, region):
			score = 3
		}
		if score > bestScore {
			best, bestScore = r, score
		}
	}
	return best
}

// ShippingRate is a shipping_rates record.
type ShippingRate struct {
	ID            string
	Name          string
	Countries     []string // ISO codes, or "*"
	PriceCents    int64
	FreeOverCents int64 // 0: never free
	Active        bool
}

// Covers reports whether the rate ships to country.
func (r ShippingRate) Covers(country string) bool {
	for _, c := range r.Countries {
		if c == "*" || country != "" && strings.EqualFold(c, country) {
			return true
		}
	}
	return false
}

// Rule is the rate as a shipping price rule.
func (r ShippingRate) Rule() ShippingRule {
	return ShippingRule{FlatCents: r.PriceCents, FreeOverCents: r.FreeOverCents}
}

// ChooseShippingRate picks the shipping rate of an order from the shop's
// rates (active or not, in the order the storefront lists them): chosenID
// when the buyer chose one, else the only active rate that covers country.
// It returns nil and "" when the shop has no active rate (the flat rule
// applies) or the order has no address and chose no rate (nothing to ship,
// no shipping charged); a message for the buyer when the choice is refused.
func ChooseShippingRate(rates []ShippingRate, chosenID string, hasAddress bool, country string) (*ShippingRate, string) {
	var covering []*ShippingRate
	anyActive := false
	for i := range rates {
		if !rates[i].Active {
			continue
		}
		anyActive = true
		if hasAddress && rates[i].Covers(country) {
			covering = append(covering, &rates[i])
		}
	}
	if chosenID != "" {
		if !hasAddress {
			return nil, "A shipping rate needs a shipping address."
		}
		i := slices.IndexFunc(rates, func(r ShippingRate) bool { return r.ID == chosenID })
		switch {
		case i < 0:
			return nil, fmt.Sprintf("Unknown shipping rate %q.", truncate(chosenID, 40))
		case !rates[i].Active:
			return nil, fmt.Sprintf("The shipping rate %q is not available.", rates[i].Name)
		case !rates[i].Covers(country):
			return nil, fmt.Sprintf("The shipping rate %q does not ship to %s.", rates[i].Name, country)
		}
		return &rates[i], ""
	}
	switch {
	case !anyActive || !hasAddress:
		return nil, ""
	case len(covering) == 0:
		return nil, fmt.Sprintf("We do not ship to %s.", country)
	case len(covering) > 1:
		names := make([]string, len(covering))
		for i, r := range covering {
			names[i] = fmt.Sprintf("%s (%s)", r.Name, r.ID)
		}
		return nil, "Choose a shipping rate: " + strings.Join(names, ", ") + "."
	}
	return covering[0], ""
}

// Rules are the pricing rules that apply to one order.
type Rules struct {
	// Code has passed CheckCode; nil when the order has none.
	Code *DiscountCode
	// Shipping is the flat rule or the chosen rate's.
	Shipping ShippingRule
	// Tax is the chosen rate; nil when none applies.
	Tax *TaxRate
	// PricesIncludeTax: prices (and shipping) contain the tax.
	PricesIncludeTax bool
}

// Price applies rules to the priced lines and returns them with their
// discount and tax, and the order's totals:
//
//  1. A percent code's discount is the percentage of the eligible lines'
//     total, rounded; a fixed code's is its value, at most that total. The
//     discount is spread over the eligible lines in proportion to their
//     totals (rounded down); the cents left over go to the largest line, as
//     far as it can take them, then to the next largest.
//  2. Shipping is the rule's price, free when the subtotal after discount
//     reaches its free_over amount or with a free_shipping code.
//  3. Tax is computed on each line after its discount, rounded per line;
//     on the shipping too when the rate applies to shipping. With prices
//     that include tax it is the tax those amounts contain
//     (amount × rate / (1 + rate)) and is not added to the total.
//
// The order's discount and tax are the sums of the lines' (and the
// shipping's tax); total = subtotal − discount + shipping (+ tax when
// prices exclude it).
func Price(lines []OrderLine, r Rules) ([]OrderLine, Totals) {
	out := slices.Clone(lines)
	var t Totals
	for i := range out {
		out[i].DiscountCents, out[i].TaxCents = 0, 0
		t.SubtotalCents += out[i].LineTotalCents
	}

	if c := r.Code; c != nil && c.Kind != DiscountFreeShipping {
		var eligible []int
		var base int64
		for i, l := range out {
			if c.Eligible(l) {
				eligible = append(eligible, i)
				base += l.LineTotalCents
			}
		}
		var discount int64
		switch c.Kind {
		case DiscountPercent:
			discount = mulDivRound(base, min(max(c.Value, 0), 100), 100)
		case DiscountFixed:
			discount = min(max(c.Value, 0), base)
		}
		allocate(out, eligible, base, discount)
	}
	for _, l := range out {
		t.DiscountCents += l.DiscountCents
	}

	t.ShippingCents = r.Shipping.FlatCents
	if r.Shipping.FreeOverCents > 0 && t.SubtotalCents-t.DiscountCents >= r.Shipping.FreeOverCents ||
		r.Code != nil && r.Code.Kind == DiscountFreeShipping {
		t.ShippingCents = 0
	}

	if tax := r.Tax; tax != nil {
		bp := min(max(tax.RateBP, 0), MaxRateBP)
		taxOf := func(amount int64) int64 {
			if r.PricesIncludeTax {
				return mulDivRound(amount, bp, MaxRateBP+bp)
			}
			return mulDivRound(amount, bp, MaxRateBP)
		}
		for i := range out {
			out[i].TaxCents = taxOf(out[i].LineTotalCents - out[i].DiscountCents)
			t.TaxCents += out[i].TaxCents
		}
		if tax.AppliesToShipping {
			t.TaxCents += taxOf(t.ShippingCents)
		}
		t.TaxLines = []TaxLine{{Name: tax.Name, RateBP: bp, AmountCents: t.TaxCents}}
	}

	t.TotalCents = t.SubtotalCents - t.DiscountCents + t.ShippingCents
	if !r.PricesIncludeTax {
		t.TotalCents += t.TaxCents
	}
	return out, t
}

// allocate spreads discount (at most base, the total of lines idx) over
// lines idx in proportion to their totals.
func allocate(lines []OrderLine, idx []int, base, discount int64) {
	if discount <= 0 || base <= 0 {
		return
	}
	left := discount
	for _, i := range idx {
		share := mulDiv(discount, lines[i].LineTotalCents, base)
		lines[i].DiscountCents = share
		left -= share
	}
	// Fewer cents than lines are left: largest line first (the first of
	// equals), each up to its own total.
	order := slices.Clone(idx)
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case lines[a].LineTotalCents > lines[b].LineTotalCents:
			return -1
		case lines[a].LineTotalCents < lines[b].LineTotalCents:
			return 1
		}
		return 0
	})
	for _, i := range order {
		if left == 0 {
			break
		}
		take := min(left, lines[i].LineTotalCents-lines[i].DiscountCents)
		lines[i].DiscountCents += take
		left -= take
	}
}

// mulDiv returns floor(a×b/c) for non-negative a, b and positive c whose
// result fits in an int64; the product may not.
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// mulDivRound returns a×b/c rounded half away from zero, for non-negative
// a, b and positive c whose result fits in an int64.
func mulDivRound(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(c)/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}
