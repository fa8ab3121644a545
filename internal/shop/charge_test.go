package shop_test

import (
	"reflect"
	"testing"

	"pocketshop/internal/shop"
)

func TestChargeLines(t *testing.T) {
	t.Parallel()
	mug := shop.OrderLine{Name: "Mug", UnitPriceCents: 1500, Quantity: 2, LineTotalCents: 3000}
	tote := shop.OrderLine{Name: "Tote", UnitPriceCents: 2400, Quantity: 1, LineTotalCents: 2400}
	vat := &shop.TaxRate{Name: "VAT", RateBP: 2000, AppliesToShipping: true}
	code := &shop.DiscountCode{Kind: shop.DiscountPercent, Value: 10, Active: true}
	for _, tt := range []struct {
		name  string
		rules shop.Rules
		want  []shop.ChargeLine
	}{
		{"no rules: unit prices and quantities", shop.Rules{Shipping: shop.ShippingRule{FlatCents: 500}}, []shop.ChargeLine{
			{"Mug", 1500, 2}, {"Tote", 2400, 1}, {"Shipping", 500, 1}}},
		{"a discount and tax on top", shop.Rules{Code: code, Shipping: shop.ShippingRule{FlatCents: 495}, Tax: vat}, []shop.ChargeLine{
			{"Mug × 2", 2700, 1}, {"Tote", 2160, 1}, {"Shipping", 495, 1}, {"VAT 20%", 1071, 1}}},
		{"tax included: no tax line", shop.Rules{Code: code, Shipping: shop.ShippingRule{FlatCents: 495}, Tax: vat, PricesIncludeTax: true}, []shop.ChargeLine{
			{"Mug × 2", 2700, 1}, {"Tote", 2160, 1}, {"Shipping", 495, 1}}},
	} {
		lines, totals := shop.Price([]shop.OrderLine{mug, tote}, tt.rules)
		got, err := shop.ChargeLines(lines, totals, "")
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v %v, want %+v", tt.name, got, err, tt.want)
		}
		var sum int64
		for _, c := range got {
			sum += c.UnitAmountCents * c.Quantity
		}
		if sum != totals.TotalCents {
			t.Errorf("%s: charged %d, total %d", tt.name, sum, totals.TotalCents)
		}
	}
	if _, err := shop.ChargeLines([]shop.OrderLine{mug}, shop.Totals{SubtotalCents: 3000, TotalCents: 2999}, ""); err == nil {
		t.Error("an order that does not add up was charged")
	}
	for bp, want := range map[int64]string{2000: "20%", 725: "7.25%", 550: "5.5%", 5: "0.05%", 0: "0%"} {
		if got := shop.FormatRateBP(bp); got != want {
			t.Errorf("FormatRateBP(%d) = %q, want %q", bp, got, want)
		}
	}
}
