package shop_test

import (
	"reflect"
	"testing"

	"pocketshop/internal/shop"
)

func TestPriceLinesByVariant(t *testing.T) {
	t.Parallel()
	shirtVariants := map[string]shop.Variant{
		"m-red":  {ID: "m-red", Product: "shirt", Title: "M / Red", SKU: "TS-M-RED", UnitPriceCents: 2200, Stock: 4, Active: true},
		"l-red":  {ID: "l-red", Product: "shirt", Title: "L / Red", Stock: 1, Active: true},
		"s-blue": {ID: "s-blue", Product: "shirt", Title: "S / Blue", Stock: 9, Active: false},
		"bag-1":  {ID: "bag-1", Product: "bag", Title: "Large", Stock: 2, Active: true},
	}
	products := map[string]shop.Product{
		"shirt": {ID: "shirt", Name: "T-shirt", SKU: "TS", UnitPriceCents: 2000, Active: true, HasVariants: true, Variants: shirtVariants},
		"mug":   {ID: "mug", Name: "Mug", UnitPriceCents: 1200, Stock: 5, Active: true, Variants: shirtVariants},
	}

	got, err := shop.PriceLines([]shop.Line{
		{Product: "shirt", Variant: "m-red", Quantity: 2},
		{Product: "shirt", Variant: "l-red", Quantity: 1},
		{Product: "mug", Quantity: 1},
	}, products)
	if err != nil {
		t.Fatal(err)
	}
	want := []shop.OrderLine{
		{Product: "shirt", Name: "T-shirt", SKU: "TS-M-RED", UnitPriceCents: 2200, Quantity: 2, LineTotalCents: 4400, Variant: "m-red", VariantTitle: "M / Red"},
		{Product: "shirt", Name: "T-shirt", SKU: "TS", UnitPriceCents: 2000, Quantity: 1, LineTotalCents: 2000, Variant: "l-red", VariantTitle: "L / Red"},
		{Product: "mug", Name: "Mug", UnitPriceCents: 1200, Quantity: 1, LineTotalCents: 1200},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PriceLines = %+v\nwant %+v", got, want)
	}
	if n := shop.Available(got[0], products["shirt"]); n != 4 {
		t.Errorf("Available(variant line) = %d, want 4", n)
	}
	if n := shop.Available(got[2], products["mug"]); n != 5 {
		t.Errorf("Available(simple line) = %d, want 5", n)
	}

	for _, tt := range []struct {
		name string
		line shop.Line
		want string
	}{
		{"no variant", shop.Line{Product: "shirt", Quantity: 1}, `Line 1: "T-shirt" comes in variants: the product needs a variant.`},
		{"another product's variant", shop.Line{Product: "shirt", Variant: "bag-1", Quantity: 1}, `Line 1: variant "bag-1" is not a variant of "T-shirt".`},
		{"inactive variant", shop.Line{Product: "shirt", Variant: "s-blue", Quantity: 1}, `Line 1: variant "S / Blue" of "T-shirt" is not for sale.`},
		{"unknown variant", shop.Line{Product: "shirt", Variant: "nope", Quantity: 1}, `Line 1: variant "nope" of "T-shirt" does not exist.`},
		{"variant of a simple product", shop.Line{Product: "mug", Variant: "nope", Quantity: 1}, `Line 1: "Mug" has no variants: order it without one.`},
		{"simple product, another's variant", shop.Line{Product: "mug", Variant: "m-red", Quantity: 1}, `Line 1: variant "m-red" is not a variant of "Mug".`},
	} {
		_, err := shop.PriceLines([]shop.Line{tt.line}, products)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestCrossedStockLevels(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		before, after, threshold int
		want                     shop.StockCrossing
	}{
		{10, 8, 5, shop.StockCrossing{}},
		{6, 5, 5, shop.StockCrossing{Low: true}},
		{5, 4, 5, shop.StockCrossing{}}, // already low
		{3, 0, 5, shop.StockCrossing{Out: true}},
		{6, 0, 5, shop.StockCrossing{Low: true, Out: true}},
		{1, 0, 0, shop.StockCrossing{Low: true, Out: true}},
		{0, 4, 5, shop.StockCrossing{}}, // going up
		{0, 0, 5, shop.StockCrossing{}},
	} {
		if got := shop.CrossedStockLevels(tt.before, tt.after, tt.threshold); got != tt.want {
			t.Errorf("CrossedStockLevels(%d, %d, %d) = %+v, want %+v", tt.before, tt.after, tt.threshold, got, tt.want)
		}
	}
}

func TestParseOrderInputVariants(t *testing.T) {
	t.Parallel()
	base := func(items any) map[string]any {
		return map[string]any{"email": "a@b.co", "payment_method": "manual", "items": items}
	}
	in, errs := shop.ParseOrderInput(base([]any{
		map[string]any{"product": "shirt", "variant": "m-red", "quantity": 1.0},
		map[string]any{"product": "shirt", "variant": " l-red ", "quantity": 2.0},
		map[string]any{"product": "mug", "variant": nil, "quantity": 1.0},
		map[string]any{"product": "bag", "variant": "", "quantity": 1.0},
	}))
	want := []shop.Line{
		{Product: "shirt", Variant: "m-red", Quantity: 1},
		{Product: "shirt", Variant: "l-red", Quantity: 2},
		{Product: "mug", Quantity: 1},
		{Product: "bag", Quantity: 1},
	}
	if errs != nil || !reflect.DeepEqual(in.Lines, want) {
		t.Fatalf("lines %+v, errors %v; want %+v", in.Lines, errs, want)
	}
	for _, tt := range []struct {
		name  string
		items []any
		want  string
	}{
		{"same variant twice", []any{
			map[string]any{"product": "shirt", "variant": "m-red", "quantity": 1.0},
			map[string]any{"product": "shirt", "variant": "m-red", "quantity": 1.0},
		}, `Line 2: variant "m-red" is already in the order; change that line's quantity instead.`},
		{"variant not a string", []any{map[string]any{"product": "shirt", "variant": 5.0, "quantity": 1.0}}, "Line 1: variant must be a variant id."},
	} {
		_, errs := shop.ParseOrderInput(base(tt.items))
		if errs["items"] != tt.want {
			t.Errorf("%s: items error %q, want %q", tt.name, errs["items"], tt.want)
		}
	}
}
