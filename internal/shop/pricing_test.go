package shop_test

import (
	"reflect"
	"strings"
	"testing"

	"pocketshop/internal/shop"
)

func TestPriceLines(t *testing.T) {
	t.Parallel()
	products := map[string]shop.Product{
		"mug":    {ID: "mug", Name: "Mug", SKU: "MUG-1", UnitPriceCents: 1250, Stock: 0, Active: true},
		"tote":   {ID: "tote", Name: "Tote", UnitPriceCents: 2400, Stock: 3, Active: true},
		"free":   {ID: "free", Name: "Sticker", UnitPriceCents: 0, Active: true},
		"gone":   {ID: "gone", Name: "Old", UnitPriceCents: 100, Stock: 9, Active: false},
		"bad":    {ID: "bad", Name: "Bad", UnitPriceCents: -1, Active: true},
		"lavish": {ID: "lavish", Name: "Lavish", UnitPriceCents: shop.MaxUnitPriceCents + 1, Active: true},
		"top":    {ID: "top", Name: "Top", UnitPriceCents: shop.MaxUnitPriceCents, Active: true},
	}

	got, err := shop.PriceLines([]shop.Line{{Product: "mug", Quantity: 3}, {Product: "tote", Quantity: 1}, {Product: "free", Quantity: 2}}, products)
	if err != nil {
		t.Fatal(err)
	}
	want := []shop.OrderLine{
		{Product: "mug", Name: "Mug", SKU: "MUG-1", UnitPriceCents: 1250, Quantity: 3, LineTotalCents: 3750},
		{Product: "tote", Name: "Tote", UnitPriceCents: 2400, Quantity: 1, LineTotalCents: 2400},
		{Product: "free", Name: "Sticker", UnitPriceCents: 0, Quantity: 2, LineTotalCents: 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PriceLines = %+v, want %+v", got, want)
	}

	// the largest possible order stays exact in a float64 (a PocketBase number)
	big := make([]shop.Line, shop.MaxLines)
	bigProducts := map[string]shop.Product{}
	for i := range big {
		id := strings.Repeat("x", i+1)
		big[i] = shop.Line{Product: id, Quantity: shop.MaxQuantity}
		bigProducts[id] = shop.Product{ID: id, Name: id, UnitPriceCents: shop.MaxUnitPriceCents, Active: true}
	}
	lines, err := shop.PriceLines(big, bigProducts)
	if err != nil {
		t.Fatal(err)
	}
	total := shop.Quote(lines, shop.ShippingRule{FlatCents: 500}).TotalCents
	if total >= 1<<53 {
		t.Fatalf("largest total %d is not exact as a float64", total)
	}

	for _, tt := range []struct {
		line shop.Line
		want string
	}{
		{shop.Line{Product: "nope", Quantity: 1}, `Line 2: product "nope" does not exist or is not for sale.`},
		{shop.Line{Product: "gone", Quantity: 1}, `Line 2: product "gone" does not exist or is not for sale.`},
		{shop.Line{Product: "bad", Quantity: 1}, `Line 2: product "Bad" has an invalid price.`},
		{shop.Line{Product: "lavish", Quantity: 1}, `Line 2: product "Lavish" has an invalid price.`},
	} {
		_, err := shop.PriceLines([]shop.Line{{Product: "top", Quantity: 1}, tt.line}, products)
		if err == nil || err.Error() != tt.want {
			t.Errorf("PriceLines(%v) error = %v, want %q", tt.line, err, tt.want)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	line := func(cents int64) shop.OrderLine { return shop.OrderLine{LineTotalCents: cents} }
	tests := []struct {
		name  string
		lines []shop.OrderLine
		rule  shop.ShippingRule
		want  shop.Totals
	}{
		{"flat", []shop.OrderLine{line(1000), line(250)}, shop.ShippingRule{FlatCents: 500}, shop.Totals{SubtotalCents: 1250, ShippingCents: 500, TotalCents: 1750}},
		{"no threshold means never free", []shop.OrderLine{line(1_000_000)}, shop.ShippingRule{FlatCents: 500}, shop.Totals{SubtotalCents: 1_000_000, ShippingCents: 500, TotalCents: 1_000_500}},
		{"one cent under the threshold", []shop.OrderLine{line(4999)}, shop.ShippingRule{FlatCents: 500, FreeOverCents: 5000}, shop.Totals{SubtotalCents: 4999, ShippingCents: 500, TotalCents: 5499}},
		{"at the threshold is free", []shop.OrderLine{line(2500), line(2500)}, shop.ShippingRule{FlatCents: 500, FreeOverCents: 5000}, shop.Totals{SubtotalCents: 5000, ShippingCents: 0, TotalCents: 5000}},
		{"over the threshold is free", []shop.OrderLine{line(5001)}, shop.ShippingRule{FlatCents: 500, FreeOverCents: 5000}, shop.Totals{SubtotalCents: 5001, ShippingCents: 0, TotalCents: 5001}},
		{"free shipping everywhere", []shop.OrderLine{line(100)}, shop.ShippingRule{}, shop.Totals{SubtotalCents: 100, ShippingCents: 0, TotalCents: 100}},
		{"free items still pay shipping", []shop.OrderLine{line(0)}, shop.ShippingRule{FlatCents: 500, FreeOverCents: 5000}, shop.Totals{SubtotalCents: 0, ShippingCents: 500, TotalCents: 500}},
		{"no lines", nil, shop.ShippingRule{FlatCents: 300}, shop.Totals{SubtotalCents: 0, ShippingCents: 300, TotalCents: 300}},
	}
	for _, tt := range tests {
		if got := shop.Quote(tt.lines, tt.rule); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Quote = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
