package payments

import (
	"context"
	"fmt"

	"pocketshop/hooks/httperr"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/settings"
	"pocketshop/hooks/txn"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// onOrderPaymentRequest guards the payment side of the owner's edits of an
// order. The owner may clear payment_issue once it is handled, not set it.
// Moving a Stripe order to refunded refunds the rest of its payment through
// Stripe before the order is saved; if Stripe refuses, the move fails with
// Stripe's message. Should the save fail after Stripe refunded, Stripe's
// charge.refunded event completes the move.
func (m *Manager) onOrderPaymentRequest(e *core.RecordRequestEvent) error {
	issue := e.Record.GetString("payment_issue")
	if issue != "" && issue != e.Record.Original().GetString("payment_issue") {
		err := shop.FieldErr(shop.EINVALID, "payment_issue", "payment_issue_clear_only", "The payment issue can only be cleared.")
		err.Message = "The order could not be saved."
		return httperr.Response(err)
	}

	from := e.Record.Original().GetString("status")
	to := e.Record.GetString("status")
	if to != shop.StatusRefunded || from == to || e.Record.GetString("payment_method") != "stripe" ||
		(from != shop.StatusPaid && from != shop.StatusFulfilled) {
		return e.Next()
	}
	pi := e.Record.GetString("stripe_payment_intent")
	if pi == "" {
		return httperr.Response(shop.Errorf(shop.EINVALID, "This order has no Stripe payment to refund."))
	}
	if m.provider == nil {
		return httperr.Response(shop.Errorf(shop.EUNAVAILABLE, "Payments are not configured: the refund cannot be made."))
	}

	refunded := e.Record.GetInt("refunded_cents")
	total := e.Record.GetInt("total_cents")
	if remaining := total - refunded; remaining > 0 {
		ctx, cancel := context.WithTimeout(e.Request.Context(), stripeTimeout)
		defer cancel()
		_, err := m.provider.Refund(ctx, pay.RefundRequest{
			PaymentIntent: pi, AmountCents: int64(remaining), OrderID: e.Record.Id,
			IdempotencyKey: fmt.Sprintf("pocketshop-refund-%s-%d", e.Record.Id, refunded),
		})
		if err != nil {
			return httperr.Response(providerError("Stripe could not refund the order.", err))
		}
		e.Record.Set("refunded_cents", total)
	}

	return txn.Run(&e.App, func(txApp core.App) error {
		// Stripe's charge.refunded may have moved the order (and restocked
		// it) while Stripe was answering: restock only if this save moves it.
		current, err := txApp.FindRecordById("orders", e.Record.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", e.Record.Id, err)
		}
		moves := current.GetString("status") != shop.StatusRefunded
		if err := e.Next(); err != nil || !moves {
			return err
		}
		return m.restockIfWanted(txApp, e.Record)
	})
}

// restockIfWanted puts a refunded order's items back into stock when the
// settings ask for it.
func (m *Manager) restockIfWanted(txApp core.App, order *core.Record) error {
	s, err := settings.Load(txApp)
	if err != nil || !s.RestockOnRefund {
		return err
	}
	lines, err := orders.Lines(order)
	if err != nil {
		return err
	}
	return orders.Restock(txApp, order.Id, lines)
}
