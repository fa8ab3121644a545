package payments

import (
	"context"
	"fmt"

	"pocketshop/hooks/orders"
	"pocketshop/hooks/settings"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// applyEvent applies one event inside txApp's transaction.
func (m *Manager) applyEvent(txApp core.App, ev pay.Event) (eventOutcome, error) {
	switch ev.Type {
	case pay.EventSessionCompleted, pay.EventSessionAsyncSucceeded:
		order, out := findSessionOrder(txApp, ev.Session)
		if order == nil {
			return out, nil
		}
		if !ev.Session.Paid() {
			return eventOutcome{order: order.Id, result: resultIgnored, err: "The payment is not complete yet (an asynchronous method)."}, nil
		}
		return m.markPaid(txApp, order, *ev.Session)

	case pay.EventSessionAsyncFailed:
		order, out := findSessionOrder(txApp, ev.Session)
		if order == nil {
			return out, nil
		}
		if order.GetString("status") != shop.StatusPending || order.GetString("stripe_session_id") != ev.Session.ID {
			return ignored(order, "The order is %s; nothing to do.", order.GetString("status")), nil
		}
		// The customer may try again while the reservation lasts.
		order.Set("stripe_session_id", "")
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("save order %s: %w", order.Id, err)
		}
		err := orders.WriteEvent(txApp, order.Id, shop.StatusPending, shop.StatusPending, shop.ActorStripe,
			"The payment failed. You can try again while the order is reserved.", 0)
		return eventOutcome{order: order.Id, result: resultApplied}, err

	case pay.EventSessionExpired:
		order, out := findSessionOrder(txApp, ev.Session)
		if order == nil {
			return out, nil
		}
		if order.GetString("status") != shop.StatusPending || order.GetString("stripe_session_id") != ev.Session.ID {
			return ignored(order, "The order is %s and its session is %q; nothing to do.",
				order.GetString("status"), order.GetString("stripe_session_id")), nil
		}
		_, err := orders.Move(txApp, order.Id, shop.StatusExpired, shop.ActorStripe, "The checkout session expired.", nil)
		return eventOutcome{order: order.Id, result: resultApplied}, err

	case pay.EventChargeRefunded:
		order := findChargeOrder(txApp, ev.Charge)
		if order == nil {
			return eventOutcome{result: resultIgnored, err: "No order has this payment."}, nil
		}
		return m.applyRefund(txApp, order, ev.Charge.AmountRefunded)
	}
	return eventOutcome{result: resultIgnored, err: "The shop does not act on this event type."}, nil
}

// markPaid records a paid Checkout Session on its order, as shop.OnPaid
// decides.
func (m *Manager) markPaid(txApp core.App, order *core.Record, sess pay.Session) (eventOutcome, error) {
	total, currency := int64(order.GetInt("total_cents")), order.GetString("currency")
	status, known := order.GetString("status"), order.GetString("stripe_payment_intent")
	action := shop.OnPaid(
		shop.PaidOrder{Status: status, TotalCents: total, Currency: currency, KnownIntent: known},
		shop.Payment{AmountCents: sess.AmountTotal, Currency: sess.Currency, Intent: sess.PaymentIntent})

	switch action {
	case shop.PaidWrongAmount:
		// Flag an unpaid order for the owner; a paid one keeps its payment.
		if known == "" {
			order.Set("payment_issue", shop.IssueAmountMismatch)
			order.Set("stripe_payment_intent", sess.PaymentIntent)
			if err := txApp.Save(order); err != nil {
				return eventOutcome{}, fmt.Errorf("flag order %s: %w", order.Id, err)
			}
		}
		return eventOutcome{order: order.Id, result: resultFailed, err: fmt.Sprintf(
			"Amount mismatch: Stripe took %s, the order totals %s. The order was not marked paid.",
			shop.FormatCents(sess.AmountTotal, sess.Currency), shop.FormatCents(total, currency))}, nil

	case shop.PaidMarkPaid:
		// Only the writer moves a pending order to paid (payPending): this
		// order kept changing under it. Stripe delivers the event again.
		return eventOutcome{}, &retryLaterError{reason: "order " + order.Id + " keeps changing"}

	case shop.PaidLate:
		return m.latePayment(txApp, order, sess)

	case shop.PaidAlready:
		return ignored(order, "The order is already %s.", status), nil
	}
	return eventOutcome{order: order.Id, result: resultFailed, err: fmt.Sprintf(
		"The order was already paid with %s; refund this second payment (%s) in Stripe.", known, sess.PaymentIntent)}, nil
}

// latePayment handles a payment that completed after its order expired or
// was cancelled: the order becomes paid if its stock can be reserved again;
// otherwise the payment is refunded (after commit) or flagged, as the
// settings say (shop.OnLatePayment). The customer hears about it through an order_events row.
func (m *Manager) latePayment(txApp core.App, order *core.Record, sess pay.Session) (eventOutcome, error) {
	status := order.GetString("status")
	if order.GetString("payment_issue") != "" && order.GetString("stripe_payment_intent") == sess.PaymentIntent {
		return ignored(order, "This late payment is handled already (%s).", order.GetString("payment_issue")), nil
	}
	lines, err := orders.Lines(order)
	if err != nil {
		return eventOutcome{}, err
	}
	available, err := orders.StockAvailable(txApp, lines)
	if err != nil {
		return eventOutcome{}, err
	}
	s, err := settings.Load(txApp)
	if err != nil {
		return eventOutcome{}, err
	}
	action := shop.OnLatePayment(available, s.LatePaymentAction)
	if action == shop.LateReserveAgain {
		// Checked first, in this transaction: a failed reservation would
		// leave earlier lines reserved in the transaction we go on with.
		_, err := orders.Move(txApp, order.Id, shop.StatusPaid, shop.ActorStripe,
			"Paid after the reservation ended; the items were reserved again.", func(r *core.Record) {
				r.Set("stripe_payment_intent", sess.PaymentIntent)
				r.Set("stripe_session_id", sess.ID)
				r.Set("payment_issue", "")
			})
		return eventOutcome{order: order.Id, result: resultApplied}, err
	}

	order.Set("stripe_payment_intent", sess.PaymentIntent)
	order.Set("stripe_session_id", sess.ID)
	if action == shop.LateFlag {
		order.Set("payment_issue", shop.IssueLateFlagged)
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("flag order %s: %w", order.Id, err)
		}
		err := orders.WriteEvent(txApp, order.Id, status, status, shop.ActorStripe,
			"Your payment arrived after the reservation ended and some items are sold out. "+
				"The shop will contact you about a refund or a later delivery.", 0)
		return eventOutcome{order: order.Id, result: resultApplied, err: "Late payment, stock gone: flagged for the owner."}, err
	}

	order.Set("payment_issue", shop.IssueLateRefundPending)
	if err := txApp.Save(order); err != nil {
		return eventOutcome{}, fmt.Errorf("flag order %s: %w", order.Id, err)
	}
	orderID := order.Id
	return eventOutcome{
		order: order.Id, result: resultApplied, err: "Late payment, stock gone: refunding.",
		afterCommit: func(ctx context.Context) error { return m.refundLatePayment(ctx, orderID) },
	}, nil
}

// refundLatePayment refunds an order flagged late_payment_refund_pending in
// full and records it. Never call it inside a transaction.
func (m *Manager) refundLatePayment(ctx context.Context, orderID string) error {
	order, err := m.app.FindRecordById("orders", orderID)
	if err != nil {
		return fmt.Errorf("find order %s: %w", orderID, err)
	}
	status := order.GetString("status")
	if order.GetString("payment_issue") != shop.IssueLateRefundPending || (status != shop.StatusExpired && status != shop.StatusCancelled) {
		return nil
	}
	amount := int64(order.GetInt("total_cents") - order.GetInt("refunded_cents"))
	if amount > 0 {
		ctx, cancel := context.WithTimeout(ctx, stripeTimeout)
		defer cancel()
		_, err := m.provider.Refund(ctx, pay.RefundRequest{
			PaymentIntent: order.GetString("stripe_payment_intent"), AmountCents: amount, OrderID: orderID,
			IdempotencyKey: "pocketshop-late-refund-" + orderID,
		})
		if err != nil {
			return err
		}
	}
	return m.app.RunInTransaction(func(txApp core.App) error {
		order, err := txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		if order.GetString("payment_issue") != shop.IssueLateRefundPending {
			return nil // charge.refunded got here first
		}
		before := order.GetInt("refunded_cents")
		order.Set("refunded_cents", order.GetInt("total_cents"))
		order.Set("payment_issue", shop.IssueLateRefunded)
		if err := txApp.Save(order); err != nil {
			return fmt.Errorf("save order %s: %w", orderID, err)
		}
		status := order.GetString("status")
		return orders.WriteEvent(txApp, orderID, status, status, shop.ActorStripe,
			"Your payment arrived after the reservation ended and the items were sold out, so it has been refunded in full.",
			order.GetInt("total_cents")-before)
	})
}

// applyRefund records a charge's refunded total on its order, as
// shop.OnRefund decides. Stripe sends the cumulative total, so refunds seen
// twice or out of order change nothing.
func (m *Manager) applyRefund(txApp core.App, order *core.Record, refundedTotal int64) (eventOutcome, error) {
	before := int64(order.GetInt("refunded_cents"))
	delta := int(refundedTotal - before)
	total := int64(order.GetInt("total_cents"))
	status := order.GetString("status")
	done := eventOutcome{order: order.Id, result: resultApplied}

	switch shop.OnRefund(status, order.GetString("payment_issue"), total, before, refundedTotal) {
	case shop.RefundNothing:
		return ignored(order, "The refund is recorded already."), nil

	case shop.RefundRetryLater:
		return eventOutcome{}, &retryLaterError{reason: "the order's payment is not recorded yet"}

	case shop.RefundFull:
		if _, err := orders.Move(txApp, order.Id, shop.StatusRefunded, shop.ActorStripe, "Refunded in full.",
			func(r *core.Record) { r.Set("refunded_cents", refundedTotal) }); err != nil {
			return eventOutcome{}, err
		}
		return done, m.restockIfWanted(txApp, order)

	case shop.RefundPartial:
		order.Set("refunded_cents", refundedTotal)
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("save order %s: %w", order.Id, err)
		}
		msg := fmt.Sprintf("Partially refunded: %s.", shop.FormatCents(int64(delta), order.GetString("currency")))
		return done, orders.WriteEvent(txApp, order.Id, status, status, shop.ActorStripe, msg, delta)

	default: // shop.RefundRecord: refunded, a late payment, or a payment of the wrong amount
		order.Set("refunded_cents", refundedTotal)
		msg := "Your payment has been refunded."
		switch order.GetString("payment_issue") {
		case shop.IssueLateRefundPending, shop.IssueLateFlagged:
			order.Set("payment_issue", shop.IssueLateRefunded)
			msg = "Your payment arrived after the reservation ended and the items were sold out, so it has been refunded."
		}
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("save order %s: %w", order.Id, err)
		}
		return done, orders.WriteEvent(txApp, order.Id, status, status, shop.ActorStripe, msg, delta)
	}
}
