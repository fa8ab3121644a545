package shop

import "fmt"

// Order statuses, as stored in orders.status.
const (
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusFulfilled = "fulfilled"
	StatusCancelled = "cancelled"
	StatusRefunded  = "refunded"
	StatusExpired   = "expired"
)

// Statuses lists every order status in lifecycle order.
var Statuses = []string{StatusPending, StatusPaid, StatusFulfilled, StatusCancelled, StatusRefunded, StatusExpired}

// Actors: who asks for a status move, as stored in order_events.actor.
const (
	ActorCustomer = "customer"
	ActorSystem   = "system"
	ActorStripe   = "stripe"
	ActorAdmin    = "admin"
)

// Actors lists every actor.
var Actors = []string{ActorCustomer, ActorSystem, ActorStripe, ActorAdmin}

type move struct{ from, to string }

// moves maps each allowed status move to the actors that may make it.
//
// expired/cancelled -> paid exists for a Stripe payment that completes after
// the reservation ended: the caller must be able to reserve the stock again
// (StockIsReleased says which statuses hold no stock).
var moves = map[move][]string{
	{StatusPending, StatusPaid}:       {ActorStripe, ActorAdmin},
	{StatusPending, StatusCancelled}:  {ActorCustomer, ActorAdmin},
	{StatusPending, StatusExpired}:    {ActorSystem, ActorStripe},
	{StatusPaid, StatusFulfilled}:     {ActorAdmin},
	{StatusPaid, StatusRefunded}:      {ActorAdmin, ActorStripe},
	{StatusFulfilled, StatusRefunded}: {ActorAdmin, ActorStripe},
	{StatusExpired, StatusPaid}:       {ActorStripe},
	{StatusCancelled, StatusPaid}:     {ActorStripe},
}

// MoveError explains why a status move was refused.
type MoveError struct {
	From, To, Actor string
	// Allowed is false when no actor may make the move at all.
	Allowed bool
}

func (e *MoveError) Error() string {
	if !e.Allowed {
		return fmt.Sprintf("An order cannot move from %q to %q.", e.From, e.To)
	}
	return fmt.Sprintf("The %s cannot move an order from %q to %q.", e.Actor, e.From, e.To)
}

// CheckMove reports whether actor may move an order from one status to
// another. Staying in the same status is not a move and is refused too.
func CheckMove(from, to, actor string) error {
	actors, ok := moves[move{from, to}]
	if !ok {
		return &MoveError{From: from, To: to, Actor: actor}
	}
	for _, a := range actors {
		if a == actor {
			return nil
		}
	}
	return &MoveError{From: from, To: to, Actor: actor, Allowed: true}
}

// ValidStatus reports whether s is a known order status.
func ValidStatus(s string) bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// HoldsStock reports whether an order in this status keeps its stock
// reserved (or sold). Moving from a status that holds stock to one that does
// not releases it; the reverse reserves it again.
func HoldsStock(status string) bool {
	switch status {
	case StatusCancelled, StatusExpired:
		return false
	}
	return true
}
