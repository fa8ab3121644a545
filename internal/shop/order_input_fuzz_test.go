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
		checkAccepted(t, body)

		// The records API hands JSON fields over as raw JSON text.
		raw := make(map[string]any, len(body))
		for k, v := range body {
			if k == "items" || k == "shipping_address" {
				v, _ = json.Marshal(v)
			}
			raw[k] = v
		}
		checkAccepted(t, raw)
	})
}

// checkAccepted parses body and, if the parser accepts it, checks that the
// result respects the order limits.
func checkAccepted(t *testing.T, body map[string]any) {
	t.Helper()
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
		if l.Product == "" || len(l.Product) > 64 {
			t.Fatalf("accepted product id %q", l.Product)
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
	if in.ShippingAddress != nil {
		for _, k := range []string{"name", "line1", "city", "postal_code", "country"} {
			if in.ShippingAddress[k] == "" {
				t.Fatalf("accepted an address without %s: %v", k, in.ShippingAddress)
			}
		}
	}
}
