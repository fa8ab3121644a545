package shop_test

import (
	"encoding/json"
	"testing"

	"pocketshop/internal/shop"
)

// FuzzParseOrderInput feeds arbitrary JSON bodies to the order parser: it
// must never panic, and whatever it accepts must respect the order limits.
func FuzzParseOrderInput(f *testing.F) {
	seeds := []string{
		`{"email":"ann@example.com","items":[{"product":"abc","quantity":2}],"payment_method":"stripe"}`,
		`{"items":[{"product":"abc","quantity":1.5}]}`,
		`{"items":"[{\"product\":\"p\",\"quantity\":1}]","payment_method":"manual"}`,
		`{"items":[{"product":"a","quantity":1},{"product":"a","quantity":1}]}`,
		`{"shipping_address":{"name":"A","line1":"1 St","city":"X","postal_code":"1","country":"US"}}`,
		`{"status":"paid","total_cents":1}`,
		`{"items":[{"product":"a","quantity":1e300}]}`,
		`[]`, `null`, `{"note":5}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var body map[string]any
		if json.Unmarshal(data, &body) != nil {
			return
		}
		in, errs := shop.ParseOrderInput(body)
		if len(errs) > 0 {
			return
		}
		if len(in.Lines) < 1 || len(in.Lines) > shop.MaxLines {
			t.Fatalf("accepted %d lines", len(in.Lines))
		}
		seen := map[string]bool{}
		for _, l := range in.Lines {
			if l.Quantity < 1 || l.Quantity > shop.MaxQuantity {
				t.Fatalf("accepted quantity %d", l.Quantity)
			}
			if seen[l.Product] {
				t.Fatalf("accepted product %q twice", l.Product)
			}
			seen[l.Product] = true
		}
		if in.PaymentMethod != shop.PaymentStripe && in.PaymentMethod != shop.PaymentManual {
			t.Fatalf("accepted payment method %q", in.PaymentMethod)
		}
		if in.Email != "" && !shop.ValidEmail(in.Email) {
			t.Fatalf("accepted email %q", in.Email)
		}
	})
}
