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
	// HasVariants says the product has active variants: it is sold by
	// variant, and its own Stock is not used.
	HasVariants bool
	// Variants holds the variants an order asks for, of this product or not
	// (a line may name another product's variant), keyed by id.
	Variants map[string]Variant
}

// Variant is what pricing needs to know about a product's variant.
type Variant struct {
	ID      string
	Product string
	Title   string
	// SKU and UnitPriceCents are the variant's own; empty or 0 means the
	// product's.
	SKU            string
	UnitPriceCents int64
	Stock          int64
	Active         bool
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
	// Variant and VariantTitle name the variant sold. A simple product's
	// line leaves them out (omitempty): a reader gets "" either way.
	Variant      string `json:"variant,omitempty"`
	VariantTitle string `json:"variant_title,omitempty"`
}

// SKUName names a line's stock-keeping unit for people: the product's name,
// and the variant's title when it has one (`T-shirt (M / Red)`).
func SKUName(product, variantTitle string) string {
	if variantTitle == "" {
		return product
	}
	return product + " (" + variantTitle + ")"
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
		line := OrderLine{Product: p.ID, Name: p.Name, SKU: p.SKU, UnitPriceCents: p.UnitPriceCents, Quantity: l.Quantity}
		if err := sellVariant(&line, i+1, l.Variant, p); err != nil {
			return nil, err
		}
		if line.UnitPriceCents < 0 || line.UnitPriceCents > MaxUnitPriceCents {
			return nil, fmt.Errorf("Line %d: product %q has an invalid price.", i+1, p.Name)
		}
		line.LineTotalCents = line.UnitPriceCents * int64(l.Quantity)
		out = append(out, line)
	}
	return out, nil
}

// sellVariant checks line n's variant choice against product p and, for a
// variant, puts the variant's id, title, SKU and price on the line.
func sellVariant(line *OrderLine, n int, variantID string, p Product) error {
	if variantID == "" {
		if p.HasVariants {
			return fmt.Errorf("Line %d: %q comes in variants: the product needs a variant.", n, p.Name)
		}
		return nil
	}
	v, ok := p.Variants[variantID]
	switch {
	case ok && v.Product != p.ID:
		return fmt.Errorf("Line %d: variant %q is not a variant of %q.", n, variantID, p.Name)
	case !ok && !p.HasVariants:
		return fmt.Errorf("Line %d: %q has no variants: order it without one.", n, p.Name)
	case !ok:
		return fmt.Errorf("Line %d: variant %q of %q does not exist.", n, variantID, p.Name)
	case !v.Active:
		return fmt.Errorf("Line %d: variant %q of %q is not for sale.", n, v.Title, p.Name)
	}
	line.Variant = v.ID
	line.VariantTitle = v.Title
	if v.SKU != "" {
		line.SKU = v.SKU
	}
	if v.UnitPriceCents > 0 {
		line.UnitPriceCents = v.UnitPriceCents
	}
	return nil
}

// Available is how many units of line l's stock-keeping unit p has left:
// the variant's stock for a variant line, else the product's.
func Available(l OrderLine, p Product) int64 {
	if l.Variant != "" {
		return p.Variants[l.Variant].Stock
	}
	return p.Stock
}

// Quote adds up the lines and applies the shipping rule, with no pricing
// rules (no code, no tax).
func Quote(lines []OrderLine, rule ShippingRule) Totals {
	_, t := Price(lines, Rules{Shipping: rule})
	return t
}
