package shop

import "fmt"

// MaxUnitPriceCents bounds a product price so that no order total can
// overflow: 100 units x 50 lines x this stays far below 2^53, the largest
// integer a PocketBase number field (a float64) holds exactly.
const MaxUnitPriceCents = 100_000_000_00

// Product is what pricing needs to know about a catalog product.
type Product struct {
	ID             string
	Name           string
	SKU            string
	UnitPriceCents int64
	Stock          int64
	// MaxPerOrder caps the quantity of one order line; 0 means MaxQuantity.
	MaxPerOrder int
	Active      bool
}

// OrderLine is a priced line as stored in orders.items.
type OrderLine struct {
	Product        string `json:"product"`
	Name           string `json:"name"`
	SKU            string `json:"sku"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	Quantity       int    `json:"quantity"`
	LineTotalCents int64  `json:"line_total_cents"`
	// DiscountCents is this line's share of the order's discount and
	// TaxCents the tax on what is left of it (see Price).
	DiscountCents int64 `json:"discount_cents"`
	TaxCents      int64 `json:"tax_cents"`
}

// ShippingRule is the shop's shipping price: a flat fee, free from a
// subtotal (0 means never free).
type ShippingRule struct {
	FlatCents     int64
	FreeOverCents int64
}

// Totals are an order's computed amounts. DiscountCents and TaxCents are
// the sums of the lines' (plus the shipping's tax), and TaxLines sum to
// TaxCents.
type Totals struct {
	SubtotalCents int64
	DiscountCents int64
	ShippingCents int64
	TaxCents      int64
	TotalCents    int64
	TaxLines      []TaxLine
}

// PriceLines snapshots each product into an order line. products must hold
// every requested product; a missing or inactive one is an error naming it.
// Stock is not checked here: reservation does that atomically.
func PriceLines(lines []Line, products map[string]Product) ([]OrderLine, error) {
	out := make([]OrderLine, 0, len(lines))
	for i, l := range lines {
		p, ok := products[l.Product]
		if !ok || !p.Active {
			return nil, fmt.Errorf("Line %d: product %q does not exist or is not for sale.", i+1, l.Product)
		}
		if p.MaxPerOrder > 0 && l.Quantity > p.MaxPerOrder {
			return nil, fmt.Errorf("Line %d: at most %d of %q per order.", i+1, p.MaxPerOrder, p.Name)
		}
		if p.UnitPriceCents < 0 || p.UnitPriceCents > MaxUnitPriceCents {
			return nil, fmt.Errorf("Line %d: product %q has an invalid price.", i+1, p.Name)
		}
		out = append(out, OrderLine{
			Product:        p.ID,
			Name:           p.Name,
			SKU:            p.SKU,
			UnitPriceCents: p.UnitPriceCents,
			Quantity:       l.Quantity,
			LineTotalCents: p.UnitPriceCents * int64(l.Quantity),
		})
	}
	return out, nil
}

// Quote adds up the lines and applies the shipping rule, with no pricing
// rules (no code, no tax).
func Quote(lines []OrderLine, rule ShippingRule) Totals {
	_, t := Price(lines, Rules{Shipping: rule})
	return t
}
