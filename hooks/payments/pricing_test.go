package payments_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// fakeStripe answers POST /v1/checkout/sessions with a session in Stripe's
// JSON shape whose amount_total it computes from the line items as Stripe
// does (Σ unit_amount × quantity), and keeps the last request's form.
type fakeStripe struct {
	mu    sync.Mutex
	lines []string // "name|unit_amount|quantity"
	total int64
}

func (f *fakeStripe) serve(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/checkout/sessions" {
			http.Error(w, `{"error":{"message":"not faked"}}`, http.StatusNotFound)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lines, f.total = nil, 0
		for i := 0; ; i++ {
			p := fmt.Sprintf("line_items[%d]", i)
			q := r.PostForm.Get(p + "[quantity]")
			if q == "" {
				break
			}
			unit, _ := strconv.ParseInt(r.PostForm.Get(p+"[price_data][unit_amount]"), 10, 64)
			qty, _ := strconv.ParseInt(q, 10, 64)
			f.total += unit * qty
			f.lines = append(f.lines, fmt.Sprintf("%s|%d|%d", r.PostForm.Get(p+"[price_data][product_data][name]"), unit, qty))
		}
		id := "cs_test_" + r.PostForm.Get("client_reference_id")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "checkout.session", "url": "https://checkout.stripe.com/c/pay/" + id,
			"status": "open", "payment_status": "unpaid", "amount_total": f.total,
			"currency":            r.PostForm.Get("line_items[0][price_data][currency]"),
			"client_reference_id": r.PostForm.Get("client_reference_id"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// pricedOrder sets up a 10% code, 20% VAT on goods and shipping and one
// shipping rate, and places the README's example order (2 mugs at 15.00,
// one tote at 24.00) with the code.
func pricedOrder(t *testing.T, s *payShop) *core.Record {
	t.Helper()
	tote := shoptest.CreateProduct(t, s.app, "tote", 2400, 10)
	for collection, data := range map[string]map[string]any{
		"discount_codes": {"code": "SAVE10", "kind": "percent", "value": 10, "active": true},
		"tax_rates":      {"name": "VAT", "country": "GB", "rate_bp": 2000, "applies_to_shipping": true},
		"shipping_rates": {"name": "Royal Mail", "countries": []string{"GB"}, "price_cents": 495, "active": true},
	} {
		col, err := s.app.FindCollectionByNameOrId(collection)
		if err != nil {
			t.Fatal(err)
		}
		r := core.NewRecord(col)
		r.Load(data)
		if err := s.app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	o := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe", "discount_code": "save10",
		"items":            []map[string]any{{"product": s.product.Id, "quantity": 2}, {"product": tote.Id, "quantity": 1}},
		"shipping_address": map[string]any{"name": "Ann", "line1": "1 High St", "city": "London", "postal_code": "N1", "country": "GB"},
	})
	return s.reload(t, o["id"].(string))
}

// TestCheckoutChargesTheOrderTotal: the Checkout Session of an order with
// a discount, tax and a shipping rate charges exactly its total_cents, and
// its webhook marks it paid; a session for any other amount does not.
func TestCheckoutChargesTheOrderTotal(t *testing.T) {
	t.Parallel()
	stripe := &fakeStripe{}
	s := newPayShop(t, stripe.serve(t), 10)
	o := pricedOrder(t, s)
	if o.GetInt("total_cents") != 6426 {
		t.Fatalf("total %d, want 6426", o.GetInt("total_cents"))
	}
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+o.Id+"/pay?token="+o.GetString("token"), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("pay: %d %s", res.Status, res.Raw)
	}
	stripe.mu.Lock()
	lines, total := strings.Join(stripe.lines, "; "), stripe.total
	stripe.mu.Unlock()
	if want := "Mug × 2|2700|1; Canvas Tote|2160|1; Royal Mail|495|1; VAT 20%|1071|1"; !strings.Contains(lines, "VAT 20%|1071|1") ||
		!strings.Contains(lines, "Royal Mail|495|1") || total != 6426 {
		t.Fatalf("session lines %q (total %d), want like %q and 6426", lines, total, want)
	}

	// Stripe reports the session paid for what it charged: the order is paid.
	sess := with(paidSession(o), "amount_total", total)
	mustDeliver(t, s.srv, event("evt_priced_paid", pay.EventSessionCompleted, sess))
	if got := s.reload(t, o.Id); got.GetString("status") != shop.StatusPaid || got.GetString("payment_issue") != "" {
		t.Fatalf("order after the webhook: %v", got.PublicExport())
	}

	// A session for the amount before the discount is refused and flagged.
	other := pricedOrderAgain(t, s)
	mustDeliver(t, s.srv, event("evt_priced_wrong", pay.EventSessionCompleted,
		with(paidSession(other), "amount_total", other.GetInt("subtotal_cents"))))
	got := s.reload(t, other.Id)
	if got.GetString("status") != shop.StatusPending || got.GetString("payment_issue") != shop.IssueAmountMismatch {
		t.Fatalf("order paid the subtotal: %v", got.PublicExport())
	}
	if pe := s.paymentEvent(t, "evt_priced_wrong"); pe.GetString("result") != "failed" || !strings.Contains(pe.GetString("error"), "Amount mismatch") {
		t.Fatalf("payment event %v", pe.PublicExport())
	}
}

// pricedOrderAgain places the example order once more (the code has no
// limit).
func pricedOrderAgain(t *testing.T, s *payShop) *core.Record {
	t.Helper()
	tote, err := s.app.FindFirstRecordByFilter("products", "slug = 'tote'")
	if err != nil {
		t.Fatal(err)
	}
	o := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "bob@example.com", "payment_method": "stripe", "discount_code": "SAVE10",
		"items":            []map[string]any{{"product": s.product.Id, "quantity": 2}, {"product": tote.Id, "quantity": 1}},
		"shipping_address": map[string]any{"name": "Bob", "line1": "2 High St", "city": "London", "postal_code": "N1", "country": "GB"},
	})
	return s.reload(t, o["id"].(string))
}

// TestCheckoutWithPricingAgainstStripeMock: stripe-mock, which checks
// requests against Stripe's API specification, accepts the session of a
// discounted, taxed order.
func TestCheckoutWithPricingAgainstStripeMock(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, shoptest.StripeMock(t), 10)
	o := pricedOrder(t, s)
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+o.Id+"/pay?token="+o.GetString("token"), "", nil)
	if url, _ := res.Body["url"].(string); res.Status != http.StatusOK || !strings.HasPrefix(url, "https://") {
		t.Fatalf("pay: %d %s", res.Status, res.Raw)
	}
}

// TestPayRefusesAZeroTotal: Stripe Checkout cannot take a payment of
// nothing (a 100% code, no shipping fee): the pay route says so, and calls
// no one.
func TestPayRefusesAZeroTotal(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10)
	col, err := s.app.FindCollectionByNameOrId("discount_codes")
	if err != nil {
		t.Fatal(err)
	}
	code := core.NewRecord(col)
	code.Load(map[string]any{"code": "FREE", "kind": "percent", "value": 100, "active": true})
	if err := s.app.Save(code); err != nil {
		t.Fatal(err)
	}
	s.setSetting(t, "shipping_flat_cents", 0)
	o := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe", "discount_code": "FREE",
		"items": []map[string]any{{"product": s.product.Id, "quantity": 4}},
	})
	if o["total_cents"] != 0.0 {
		t.Fatalf("total %v, want 0", o["total_cents"])
	}
	res := shoptest.Do(t, s.srv, http.MethodPost, fmt.Sprintf("/api/shop/orders/%s/pay?token=%s", o["id"], o["token"]), "", nil)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "nothing to pay") {
		t.Fatalf("pay: %d %s, want 400", res.Status, res.Raw)
	}
}
