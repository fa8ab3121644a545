package outbox_test

import (
	"strings"
	"testing"

	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestLowStockEmailPerVariant: a variant's stock crossing its own threshold
// tells the owner once, naming the product and the variant; the order
// emails name the variant bought.
func TestLowStockEmailPerVariant(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	col, _ := s.app.FindCachedCollectionByNameOrId("products")
	shirt := core.NewRecord(col)
	shirt.Load(map[string]any{"name": "T-shirt", "slug": "t-shirt", "price_cents": 2000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"M", "L"}}}})
	if err := s.app.Save(shirt); err != nil {
		t.Fatal(err)
	}
	m := shoptest.CreateVariant(t, s.app, shirt.Id, map[string]string{"Size": "M"}, 0, 4) // threshold 2
	m.Set("sku", "TS-M")
	if err := s.app.Save(m); err != nil {
		t.Fatal(err)
	}
	l := shoptest.CreateVariant(t, s.app, shirt.Id, map[string]string{"Size": "L"}, 0, 9)
	line := func(v *core.Record, qty int) map[string]any {
		return map[string]any{"product": shirt.Id, "variant": v.Id, "quantity": qty}
	}

	s.placeOrder(t, "a@example.com", "manual", line(m, 1), line(l, 1)) // M 4 -> 3, L 9 -> 8
	s.placeOrder(t, "b@example.com", "manual", line(m, 1))             // M 3 -> 2: crosses
	s.placeOrder(t, "c@example.com", "manual", line(m, 1))             // M 2 -> 1: still low

	if got := s.outbox(t, "kind = 'low_stock'"); len(got) != 1 {
		t.Fatalf("%d low stock emails, want 1", len(got))
	}
	s.send(t)
	var found bool
	for _, msg := range s.mp.Messages(t) {
		switch {
		case strings.HasPrefix(msg.Subject, "Low stock"):
			found = true
			if msg.Subject != "Low stock: T-shirt (M) (2 left)" || !strings.Contains(msg.Text, "T-shirt (M) (TS-M) is running low: 2 left") ||
				!strings.Contains(msg.HTML, "<strong>T-shirt (M)</strong>") {
				t.Errorf("low stock message: subject %q, text:\n%s", msg.Subject, msg.Text)
			}
		case strings.Join(msg.To, ",") == "a@example.com":
			if !strings.Contains(msg.Text, "1 x T-shirt (M) (TS-M)") || !strings.Contains(msg.Text, "1 x T-shirt (L) at") {
				t.Errorf("order email does not name the variants:\n%s", msg.Text)
			}
		}
	}
	if !found {
		t.Fatal("no low stock message delivered")
	}
}
