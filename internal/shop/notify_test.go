package shop_test

import (
	"slices"
	"testing"

	"pocketshop/internal/mail"
	"pocketshop/internal/shop"
)

func TestOrderEmailFor(t *testing.T) {
	t.Parallel()
	ev := func(from, to, actor string, amount int64) shop.OrderEvent {
		return shop.OrderEvent{ID: "ev1", From: from, To: to, Actor: actor, AmountCents: amount}
	}
	none := shop.OrderEmail{}
	tests := []struct {
		name string
		ev   shop.OrderEvent
		want shop.OrderEmail
	}{
		{"placed", ev("", shop.StatusPending, shop.ActorCustomer, 0), shop.OrderEmail{Kind: shop.EmailOrderPlaced, Key: "placed"}},
		{"paid tells the owner too", ev(shop.StatusPending, shop.StatusPaid, shop.ActorStripe, 0),
			shop.OrderEmail{Kind: shop.EmailOrderPaid, Key: "paid", NotifyOwner: true}},
		{"paid late", ev(shop.StatusExpired, shop.StatusPaid, shop.ActorStripe, 0),
			shop.OrderEmail{Kind: shop.EmailOrderPaid, Key: "paid", NotifyOwner: true}},
		{"fulfilled", ev(shop.StatusPaid, shop.StatusFulfilled, shop.ActorAdmin, 0), shop.OrderEmail{Kind: shop.EmailOrderFulfilled, Key: "fulfilled"}},
		{"cancelled", ev(shop.StatusPending, shop.StatusCancelled, shop.ActorCustomer, 0), shop.OrderEmail{Kind: shop.EmailOrderCancelled, Key: "cancelled"}},
		{"expired", ev(shop.StatusPending, shop.StatusExpired, shop.ActorSystem, 0), shop.OrderEmail{Kind: shop.EmailOrderExpired, Key: "expired"}},
		{"refunded", ev(shop.StatusPaid, shop.StatusRefunded, shop.ActorStripe, 1000), shop.OrderEmail{Kind: shop.EmailOrderRefunded, Key: "refunded"}},
		{"payment failed", ev(shop.StatusPending, shop.StatusPending, shop.ActorStripe, 0),
			shop.OrderEmail{Kind: shop.EmailOrderPaymentUpdate, Key: "payment:ev1"}},
		{"late payment flagged", ev(shop.StatusExpired, shop.StatusExpired, shop.ActorStripe, 0),
			shop.OrderEmail{Kind: shop.EmailOrderPaymentUpdate, Key: "payment:ev1"}},
		{"late payment refunded", ev(shop.StatusCancelled, shop.StatusCancelled, shop.ActorStripe, 1000),
			shop.OrderEmail{Kind: shop.EmailOrderPaymentUpdate, Key: "payment:ev1"}},
		{"partial refund", ev(shop.StatusPaid, shop.StatusPaid, shop.ActorStripe, 300),
			shop.OrderEmail{Kind: shop.EmailOrderPartiallyRefunded, Key: "refund:ev1"}},
		{"owner's edit", ev(shop.StatusPaid, shop.StatusPaid, shop.ActorAdmin, 0), none},
		{"refunded again", ev(shop.StatusRefunded, shop.StatusRefunded, shop.ActorStripe, 0), none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := shop.OrderEmailFor(tt.ev)
			if got != tt.want || ok != (tt.want != none) {
				t.Errorf("OrderEmailFor = %+v, %v; want %+v", got, ok, tt.want)
			}
			if ok && !slices.Contains(mail.Kinds, got.Kind) {
				t.Errorf("kind %q has no template in internal/mail", got.Kind)
			}
		})
	}
}
