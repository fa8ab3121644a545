package shop_test

import (
	"errors"
	"strings"
	"testing"

	"pocketshop/internal/shop"
)

// allowedMoves is the contract's state diagram, written out independently of
// the package's table: each allowed move and the actors that may make it.
var allowedMoves = map[[2]string][]string{
	{shop.StatusPending, shop.StatusPaid}:       {shop.ActorStripe, shop.ActorAdmin},
	{shop.StatusPending, shop.StatusCancelled}:  {shop.ActorCustomer, shop.ActorAdmin},
	{shop.StatusPending, shop.StatusExpired}:    {shop.ActorSystem, shop.ActorStripe},
	{shop.StatusPaid, shop.StatusFulfilled}:     {shop.ActorAdmin},
	{shop.StatusPaid, shop.StatusRefunded}:      {shop.ActorAdmin, shop.ActorStripe},
	{shop.StatusFulfilled, shop.StatusRefunded}: {shop.ActorAdmin, shop.ActorStripe},
	// A Stripe payment that completes after the reservation ended.
	{shop.StatusExpired, shop.StatusPaid}:   {shop.ActorStripe},
	{shop.StatusCancelled, shop.StatusPaid}: {shop.ActorStripe},
}

func TestCheckMoveEveryPair(t *testing.T) {
	t.Parallel()
	statuses := append([]string{"", "bogus"}, shop.Statuses...)
	actors := append([]string{"", "stranger"}, shop.Actors...)
	for _, from := range statuses {
		for _, to := range statuses {
			for _, actor := range actors {
				allowed := false
				for _, a := range allowedMoves[[2]string{from, to}] {
					allowed = allowed || a == actor
				}
				err := shop.CheckMove(from, to, actor)
				if allowed {
					if err != nil {
						t.Errorf("CheckMove(%q, %q, %q) = %v, want allowed", from, to, actor, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("CheckMove(%q, %q, %q) allowed, want refused", from, to, actor)
					continue
				}
				var me *shop.MoveError
				if !errors.As(err, &me) {
					t.Fatalf("CheckMove(%q, %q, %q) = %T, want *shop.MoveError", from, to, actor, err)
				}
				msg := err.Error()
				if !strings.Contains(msg, `"`+from+`"`) || !strings.Contains(msg, `"`+to+`"`) {
					t.Errorf("CheckMove(%q, %q, %q) message %q does not name both statuses", from, to, actor, msg)
				}
				_, movable := allowedMoves[[2]string{from, to}]
				if me.Allowed != movable {
					t.Errorf("CheckMove(%q, %q, %q).Allowed = %v, want %v", from, to, actor, me.Allowed, movable)
				}
				if movable && !strings.Contains(msg, actor) {
					t.Errorf("CheckMove(%q, %q, %q) message %q does not name the actor", from, to, actor, msg)
				}
			}
		}
	}
}

func TestHoldsStock(t *testing.T) {
	t.Parallel()
	want := map[string]bool{
		shop.StatusPending: true, shop.StatusPaid: true, shop.StatusFulfilled: true,
		shop.StatusRefunded: true, shop.StatusCancelled: false, shop.StatusExpired: false,
	}
	for _, s := range shop.Statuses {
		if got := shop.HoldsStock(s); got != want[s] {
			t.Errorf("HoldsStock(%q) = %v, want %v", s, got, want[s])
		}
	}
}

func TestValidStatus(t *testing.T) {
	t.Parallel()
	for _, s := range shop.Statuses {
		if !shop.ValidStatus(s) {
			t.Errorf("ValidStatus(%q) = false", s)
		}
	}
	for _, s := range []string{"", "Paid", "shipped", " pending"} {
		if shop.ValidStatus(s) {
			t.Errorf("ValidStatus(%q) = true", s)
		}
	}
}
