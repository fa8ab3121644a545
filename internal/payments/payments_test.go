package payments_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"pocketshop/internal/payments"
	"pocketshop/internal/shoptest"

	"github.com/stripe/stripe-go/v76/webhook"
)

const secret = "whsec_payments_test"

func signed(t *testing.T, ev map[string]any, key string, at time.Time) ([]byte, string) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return payload, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: key, Timestamp: at}).Header
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	c := payments.New(payments.Config{SecretKey: "sk_test_x", WebhookSecret: secret})

	session := map[string]any{
		"id": "cs_1", "object": "checkout.session", "status": "complete", "payment_status": "paid",
		"amount_total": 2500, "currency": "USD", "metadata": map[string]string{"order_id": "ord1"},
		// expanded, as an event of a newer API version may send it
		"payment_intent": map[string]any{"id": "pi_1", "object": "payment_intent"},
	}
	ev := map[string]any{
		"id": "evt_1", "object": "event", "type": "checkout.session.completed",
		"api_version": "2025-01-27.acacia", "created": 1764400000, "data": map[string]any{"object": session},
	}
	payload, header := signed(t, ev, secret, time.Now())
	got, err := c.ParseEvent(payload, header)
	if err != nil {
		t.Fatalf("another API version is accepted by design: %v", err)
	}
	want := payments.Session{ID: "cs_1", Status: "complete", PaymentStatus: "paid", PaymentIntent: "pi_1",
		AmountTotal: 2500, Currency: "usd", OrderID: "ord1"}
	if got.ID != "evt_1" || got.Session == nil || *got.Session != want || !got.Session.Paid() {
		t.Fatalf("decoded %+v / %+v", got, got.Session)
	}

	charge := map[string]any{"id": "ch_1", "object": "charge", "payment_intent": "pi_1", "amount": 2500, "amount_refunded": 700, "currency": "usd"}
	payload, header = signed(t, map[string]any{"id": "evt_2", "object": "event", "type": "charge.refunded",
		"api_version": payments.APIVersion, "data": map[string]any{"object": charge}}, secret, time.Now())
	got, err = c.ParseEvent(payload, header)
	if err != nil || got.Charge == nil || got.Charge.AmountRefunded != 700 || got.Charge.PaymentIntent != "pi_1" {
		t.Fatalf("charge: %+v, %v", got.Charge, err)
	}

	bad := []struct {
		name, key string
		at        time.Time
	}{
		{"other secret", "whsec_other", time.Now()},
		{"older than 5 minutes", secret, time.Now().Add(-6 * time.Minute)},
	}
	for _, tt := range bad {
		payload, header := signed(t, ev, tt.key, tt.at)
		if _, err := c.ParseEvent(payload, header); !errors.Is(err, payments.ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature", tt.name, err)
		}
	}
}

// TestStripeMock runs each call against a real stripe-mock, which checks
// every parameter against Stripe's OpenAPI spec.
func TestStripeMock(t *testing.T) {
	t.Parallel()
	c := payments.New(payments.Config{SecretKey: "sk_test_x", APIBase: shoptest.StripeMock(t)})
	ctx := context.Background()

	sess, err := c.CreateCheckoutSession(ctx, payments.CheckoutRequest{
		OrderID: "ord1", Email: "ann@example.com", Currency: "usd",
		Lines:      []payments.LineItem{{Name: "Mug", UnitAmount: 1500, Quantity: 2}, {Name: "Shipping", UnitAmount: 500, Quantity: 1}},
		SuccessURL: "http://127.0.0.1:8090/?ok", CancelURL: "http://127.0.0.1:8090/?cancel",
		ExpiresAt: time.Now().Add(40 * time.Minute), IdempotencyKey: "test-checkout-ord1",
	})
	if err != nil || sess.ID == "" || sess.URL == "" || sess.OrderID != "ord1" {
		t.Fatalf("create: %+v, %v", sess, err)
	}
	if got, err := c.GetSession(ctx, sess.ID); err != nil || got.ID != sess.ID {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if err := c.ExpireSession(ctx, sess.ID); err != nil {
		t.Fatalf("expire: %v", err)
	}
	r, err := c.Refund(ctx, payments.RefundRequest{PaymentIntent: "pi_1", AmountCents: 700, OrderID: "ord1", IdempotencyKey: "test-refund-ord1"})
	if err != nil || r.AmountCents != 700 {
		t.Fatalf("refund: %+v, %v", r, err)
	}
	if _, err := c.FailedEvents(ctx, time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatalf("failed events: %v", err)
	}
}
