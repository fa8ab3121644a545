package webhooks_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/webhooks"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/stripe/stripe-go/v76/webhook"
)

const stripeSecret = "whsec_pocketshop_test"

// newStripeHookShop is newHookShop with Stripe payments in memory, so that
// a signed checkout.session.completed takes the group-commit paid path.
func newStripeHookShop(t *testing.T) *hookShop {
	t.Helper()
	clock := shoptest.NewClock(time.Now().UTC())
	opts := webhooks.Options{AllowPrivate: true, Interval: -1, Now: clock.Now}
	app := shoptest.NewApp(t, hooks.Deps{Now: clock.Now, Webhooks: opts, Provider: pay.NewMemory(stripeSecret)})
	return &hookShop{app: app, srv: shoptest.Serve(t, app), clock: clock, opts: opts, token: shoptest.SuperuserToken(t, app)}
}

// payWithStripe posts a signed checkout.session.completed for order o.
func (s *hookShop) payWithStripe(t *testing.T, o *core.Record) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"id": "evt_stripe_" + o.Id, "object": "event", "type": "checkout.session.completed", "api_version": pay.APIVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{
			"id": "cs_test_" + o.Id, "object": "checkout.session", "status": "complete", "payment_status": "paid",
			"amount_total": o.GetInt("total_cents"), "currency": o.GetString("currency"),
			"client_reference_id": o.Id, "payment_intent": "pi_" + o.Id, "metadata": map[string]string{"order_id": o.Id},
		}},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: stripeSecret})
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/api/shop/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	res, err := s.srv.Client().Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("stripe webhook: %v %v", err, res)
	}
	res.Body.Close()
}

func (s *hookShop) move(t *testing.T, id, to, actor string, mutate func(*core.Record)) {
	t.Helper()
	if _, err := orders.Move(s.app, id, to, actor, "", mutate); err != nil {
		t.Fatalf("move %s to %s: %v", id, to, err)
	}
}

func (s *hookShop) order(t *testing.T, id string) *core.Record {
	t.Helper()
	o, err := s.app.FindRecordById("orders", id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// events lists the deliveries' "event event_id-subject" per endpoint.
func (s *hookShop) eventsOf(t *testing.T, endpointID string) []string {
	t.Helper()
	var out []string
	for _, d := range s.deliveries(t, "endpoint = '"+endpointID+"'") {
		var body struct {
			ID   string         `json:"id"`
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(d.GetString("payload")), &body); err != nil {
			t.Fatalf("payload of %s: %v", d.Id, err)
		}
		if body.ID != d.GetString("event_id") || body.Type != d.GetString("event") || d.GetString("status") != "queued" {
			t.Errorf("delivery %s: payload id/type %s/%s, row %s/%s, status %s", d.Id, body.ID, body.Type,
				d.GetString("event_id"), d.GetString("event"), d.GetString("status"))
		}
		subject, _ := body.Data["slug"].(string)
		if subject == "" {
			subject, _ = body.Data["status"].(string)
		}
		if body.Type == webhooks.CustomerCreated {
			subject, _ = body.Data["email"].(string)
			if _, leaked := body.Data["password"]; leaked {
				t.Error("customer.created carries the password hash")
			}
		}
		out = append(out, body.Type+" "+subject)
	}
	sort.Strings(out)
	return out
}

// TestEveryChangeWritesItsEvent walks orders through every status, by every
// writer (the group-commit writer's placed and Stripe paid, record saves
// for the rest), and stock across its threshold and zero: each writes its
// event, once, to the endpoints that want it, as stored after the change.
func TestEveryChangeWritesItsEvent(t *testing.T) {
	t.Parallel()
	s := newStripeHookShop(t)
	rcv := newReceiver(t)
	all := s.addEndpoint(t, rcv.URL, "*")
	paidOnly := s.addEndpoint(t, rcv.URL+"/paid", webhooks.OrderPaid)
	off := s.addEndpoint(t, rcv.URL+"/off", "*")
	off.Set("active", false)
	if err := s.app.Save(off); err != nil {
		t.Fatal(err)
	}

	shoptest.CreateUser(t, s.app, "cleo@example.com")
	mug := shoptest.CreateProduct(t, s.app, "mug", 1200, 3) // low-stock threshold 2
	cup := shoptest.CreateProduct(t, s.app, "cup", 900, 10)

	// mug 3 → 2: low; paid with Stripe (the writer), fulfilled, refunded by the owner.
	a := shoptest.PlaceOrder(t, s.srv, "", map[string]any{"email": "ann@example.com", "payment_method": "stripe",
		"items": []map[string]any{{"product": mug.Id, "quantity": 1}}})["id"].(string)
	s.payWithStripe(t, s.order(t, a))
	s.move(t, a, shop.StatusFulfilled, shop.ActorAdmin, func(o *core.Record) { o.Set("tracking_number", "TRACK1") })
	s.move(t, a, shop.StatusRefunded, shop.ActorAdmin, nil)
	// mug 2 → 0: out (already low); cancelled by the customer: back to 2, nothing crossed.
	b := s.placeOrder(t, mug, 2)
	s.move(t, b, shop.StatusCancelled, shop.ActorCustomer, nil)
	// cup: expired by the system.
	c := s.placeOrder(t, cup, 1)
	s.move(t, c, shop.StatusExpired, shop.ActorSystem, nil)
	// The owner sets the mug's stock from 2 to 0 in the dashboard: out.
	res := shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/products/records/"+mug.Id, s.token, map[string]any{"stock": 0})
	if res.Status != http.StatusOK {
		t.Fatalf("set stock: %d %s", res.Status, res.Raw)
	}

	want := []string{
		"customer.created cleo@example.com",
		"order.cancelled cancelled",
		"order.expired expired",
		"order.fulfilled fulfilled",
		"order.paid paid",
		"order.placed pending", "order.placed pending", "order.placed pending",
		"order.refunded refunded",
		"product.low_stock mug",
		"product.out_of_stock mug", "product.out_of_stock mug",
	}
	if got := s.eventsOf(t, all.Id); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("endpoint \"*\" got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := s.eventsOf(t, paidOnly.Id); strings.Join(got, ",") != "order.paid paid" {
		t.Errorf("order.paid endpoint got %v", got)
	}
	if got := s.eventsOf(t, off.Id); len(got) != 0 {
		t.Errorf("inactive endpoint got %v", got)
	}
	// One event, one id, on both endpoints.
	paid := s.deliveries(t, "event = 'order.paid'")
	if len(paid) != 2 || paid[0].GetString("event_id") != paid[1].GetString("event_id") {
		t.Errorf("order.paid rows: %v", paid)
	}
	// The paid order's data is the order after the move, with its Stripe ids.
	var body struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal([]byte(paid[0].GetString("payload")), &body)
	if body.Data["id"] != a || body.Data["stripe_payment_intent"] != "pi_"+a || body.Data["paid_at"] == "" {
		t.Errorf("order.paid data: %v", body.Data)
	}
}

// TestNoDeliveryWithoutEndpointOrChange: with no endpoint nothing is
// written; a refused order or move writes no delivery.
func TestNoDeliveryWithoutEndpointOrChange(t *testing.T) {
	t.Parallel()
	s := newHookShop(t)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1200, 3)
	id := s.placeOrder(t, mug, 3) // placed, low and out: no endpoint
	if n := shoptest.Count(t, s.app, "webhook_deliveries"); n != 0 {
		t.Fatalf("%d deliveries with no endpoint", n)
	}

	rcv := newReceiver(t)
	s.addEndpoint(t, rcv.URL, "*")
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual", "items": []map[string]any{{"product": mug.Id, "quantity": 1}}})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("order for a sold-out mug: %d %s", res.Status, res.Raw)
	}
	// Fulfilled without a tracking number, then paid → refunded is fine
	// but pending → fulfilled is not a move.
	if _, err := orders.Move(s.app, id, shop.StatusFulfilled, shop.ActorAdmin, "", nil); err == nil {
		t.Fatal("pending → fulfilled was accepted")
	}
	if n := shoptest.Count(t, s.app, "webhook_deliveries"); n != 0 {
		t.Fatalf("%d deliveries after refused changes", n)
	}
}
