package shop

// The emails an order's moves send (emails.kind); internal/mail has a
// template for each.
const (
	EmailOrderPlaced            = "order_placed"
	EmailOrderPaid              = "order_paid"
	EmailOwnerOrderPaid         = "owner_order_paid"
	EmailOrderFulfilled         = "order_fulfilled"
	EmailOrderCancelled         = "order_cancelled"
	EmailOrderExpired           = "order_expired"
	EmailOrderRefunded          = "order_refunded"
	EmailOrderPartiallyRefunded = "order_partially_refunded"
	EmailOrderPaymentUpdate     = "order_payment_update"
)

// OrderEvent is one move on an order's timeline (an order_events row).
type OrderEvent struct {
	ID          string
	From, To    string
	Actor       string
	AmountCents int64 // the money the event moved (a refund), or 0
}

// OrderEmail is the email an order event sends its customer. Key tells it
// apart from the order's other emails: one email per key.
type OrderEmail struct {
	Kind string
	Key  string
	// NotifyOwner sends the owner a copy of kind EmailOwnerOrderPaid.
	NotifyOwner bool
}

// OrderEmailFor decides which email an order event sends, if any.
func OrderEmailFor(ev OrderEvent) (OrderEmail, bool) {
	from, to := ev.From, ev.To
	switch {
	case from == "" && to == StatusPending:
		return OrderEmail{Kind: EmailOrderPlaced, Key: "placed"}, true
	case from == to && ev.Actor == ActorStripe &&
		(to == StatusPending || to == StatusExpired || to == StatusCancelled):
		// A payment that failed, or arrived after the order expired: the
		// event's message says what became of it.
		return OrderEmail{Kind: EmailOrderPaymentUpdate, Key: "payment:" + ev.ID}, true
	case from == to && ev.AmountCents > 0:
		// A partial refund; each one is its own event and its own email.
		return OrderEmail{Kind: EmailOrderPartiallyRefunded, Key: "refund:" + ev.ID}, true
	case from == to:
		return OrderEmail{}, false
	case to == StatusPaid:
		return OrderEmail{Kind: EmailOrderPaid, Key: "paid", NotifyOwner: true}, true
	case to == StatusFulfilled:
		return OrderEmail{Kind: EmailOrderFulfilled, Key: "fulfilled"}, true
	case to == StatusCancelled:
		return OrderEmail{Kind: EmailOrderCancelled, Key: "cancelled"}, true
	case to == StatusExpired:
		return OrderEmail{Kind: EmailOrderExpired, Key: "expired"}, true
	case to == StatusRefunded:
		return OrderEmail{Kind: EmailOrderRefunded, Key: "refunded"}, true
	}
	return OrderEmail{}, false
}
