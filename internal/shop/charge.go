package shop

import (
	"fmt"
	"strconv"
)

// ChargeLine is one line of what a payment provider charges: the checkout
// page shows it, and the provider's total is the sum of UnitAmountCents ×
// Quantity over the lines.
type ChargeLine struct {
	Name            string
	UnitAmountCents int64
	Quantity        int64
}

// ChargeLines turns a stored order (its priced lines and totals, the name
// of its shipping rate) into the lines a provider charges, so that they
// add up to exactly totals.TotalCents:
//
//   - a line without discount is its unit price × quantity;
//   - a discounted line is one line of its amount after the discount
//     ("Mug × 3"), since its discount need not divide by its quantity;
//   - shipping is a line of its own;
//   - tax that the prices exclude is one line per tax line ("VAT 20%");
//     tax the prices include is already in the other lines.
//
// It refuses an order whose figures do not add up (a stored order changed
// by hand): charging it would charge a total nobody priced.
func ChargeLines(lines []OrderLine, t Totals, shippingName string) ([]ChargeLine, error) {
	out := make([]ChargeLine, 0, len(lines)+2)
	var sum int64
	for _, l := range lines {
		name := SKUName(l.Name, l.VariantTitle) // "T-shirt (M / Red)", as the emails name it
		c := ChargeLine{Name: name, UnitAmountCents: l.UnitPriceCents, Quantity: int64(l.Quantity)}
		if l.DiscountCents != 0 || l.UnitPriceCents*int64(l.Quantity) != l.LineTotalCents {
			c = ChargeLine{Name: name, UnitAmountCents: l.LineTotalCents - l.DiscountCents, Quantity: 1}
			if l.Quantity != 1 {
				c.Name += " × " + strconv.Itoa(l.Quantity)
			}
		}
		out = append(out, c)
		sum += c.UnitAmountCents * c.Quantity
	}
	if t.ShippingCents > 0 {
		if shippingName == "" {
			shippingName = "Shipping"
		}
		out = append(out, ChargeLine{Name: shippingName, UnitAmountCents: t.ShippingCents, Quantity: 1})
		sum += t.ShippingCents
	}
	// Tax is added when the total holds it on top of the goods and shipping.
	if t.TaxCents > 0 && t.TotalCents-sum == t.TaxCents {
		for _, tl := range t.TaxLines {
			if tl.AmountCents > 0 {
				out = append(out, ChargeLine{Name: tl.Name + " " + FormatRateBP(tl.RateBP), UnitAmountCents: tl.AmountCents, Quantity: 1})
				sum += tl.AmountCents
			}
		}
	}
	if sum != t.TotalCents {
		return nil, fmt.Errorf("the order's lines, shipping and tax add up to %d, its total is %d", sum, t.TotalCents)
	}
	return out, nil
}

// FormatRateBP formats a rate in basis points as a percentage: 2000 is
// "20%", 725 "7.25%".
func FormatRateBP(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		f := strconv.FormatInt(frac+100, 10)[1:]
		if f[1] == '0' {
			f = f[:1]
		}
		s += "." + f
	}
	return s + "%"
}
