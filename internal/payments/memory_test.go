package payments_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"pocketshop/internal/payments"
)

func TestMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := payments.NewMemory("whsec_x")

	req := payments.CheckoutRequest{OrderID: "o1", Currency: "usd", IdempotencyKey: "k1",
		Lines: []payments.LineItem{{Name: "Mug", UnitAmount: 1500, Quantity: 2}, {Name: "Shipping", UnitAmount: 500, Quantity: 1}}}
	a, err := m.CreateCheckoutSession(ctx, req)
	if err != nil || a.Status != payments.SessionOpen || a.AmountTotal != 3500 || a.OrderID != "o1" {
		t.Fatalf("create = %+v, %v", a, err)
	}
	if b, _ := m.CreateCheckoutSession(ctx, req); b.ID != a.ID {
		t.Errorf("same idempotency key gave %s, then %s", a.ID, b.ID)
	}

	var refused *payments.Error
	if _, err := m.GetSession(ctx, "cs_unknown"); !errors.As(err, &refused) || refused.HTTPStatus != http.StatusNotFound {
		t.Errorf("unknown session: %v", err)
	}
	if err := m.ExpireSession(ctx, a.ID); err != nil || <-m.Expired() != a.ID {
		t.Errorf("expire: %v", err)
	}
	if s, _ := m.GetSession(ctx, a.ID); s.Status != payments.SessionExpired {
		t.Errorf("expired session is %s", s.Status)
	}

	if _, err := m.Refund(ctx, payments.RefundRequest{PaymentIntent: "pi_1", AmountCents: 100}); err != nil || len(m.Refunds()) != 1 {
		t.Errorf("refund: %v, %d refunds", err, len(m.Refunds()))
	}
	m.RefuseRefunds("Charge ch_1 has already been refunded.")
	if _, err := m.Refund(ctx, payments.RefundRequest{PaymentIntent: "pi_1", AmountCents: 100}); !errors.As(err, &refused) || refused.HTTPStatus != http.StatusBadRequest {
		t.Errorf("refused refund: %v", err)
	}

	if !m.VerifiesWebhooks() {
		t.Error("a memory provider with a secret verifies webhooks")
	}
	if _, err := m.ParseEvent([]byte(`{"id":"evt_1"}`), "t=1,v1=bad"); !errors.Is(err, payments.ErrInvalidSignature) {
		t.Errorf("unsigned event: %v", err)
	}
}
