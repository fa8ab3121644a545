package payments

import (
	"context"
	"errors"
	"fmt"

	"pocketshop/hooks/orders"
	"pocketshop/internal/groupcommit"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The Stripe paid transition of a pending order, the hot one, is written by
// the group-commit writer only (internal/groupcommit); every other event
// goes through processEvent's record-save transaction.

// errOrderChanged refuses a paid transition whose order moved (or had its
// total changed) after the webhook read it.
var errOrderChanged = errors.New("the order changed since it was read")

// payPending marks paid, through the writer, the pending order a paid
// Checkout Session event is for. handled is false when the event is
// something else, or when shop.OnPaid decides anything but marking the
// order paid (late, wrong amount, already paid): processEvent's
// transaction handles those. It returns errOrderChanged when the order
// moved between the read and the write.
func (m *Manager) payPending(ctx context.Context, ev pay.Event) (result string, handled bool, err error) {
	if ev.Type != pay.EventSessionCompleted && ev.Type != pay.EventSessionAsyncSucceeded ||
		ev.Session == nil || !ev.Session.Paid() {
		return "", false, nil
	}
	order, _ := findSessionOrder(m.app, ev.Session)
	if order == nil {
		return "", false, nil
	}
	action := shop.OnPaid(
		shop.PaidOrder{Status: order.GetString("status"), TotalCents: int64(order.GetInt("total_cents")),
			Currency: order.GetString("currency"), KnownIntent: order.GetString("stripe_payment_intent")},
		shop.Payment{AmountCents: ev.Session.AmountTotal, Currency: ev.Session.Currency, Intent: ev.Session.PaymentIntent})
	if action != shop.PaidMarkPaid {
		return "", false, nil
	}

	// Rendered here, from the order as it will be once paid; the writer
	// writes it only if the order is still pending for this amount.
	paid := order.Fresh()
	paid.Set("status", shop.StatusPaid)
	paid.Set("paid_at", m.now().UTC())
	paid.Set("stripe_payment_intent", ev.Session.PaymentIntent)
	paid.Set("stripe_session_id", ev.Session.ID)
	orderEv, err := orders.NewEvent(m.app, order.Id, shop.StatusPending, shop.StatusPaid, shop.ActorStripe, "Paid with Stripe.", 0)
	if err != nil {
		return "", false, err
	}
	emails, err := m.orders.RenderEventEmails(m.app, orderEv, paid)
	if err != nil {
		return "", false, err
	}
	var duplicate bool
	err = m.writer.Do(ctx, m.markPaidOp(paid, ev, orderEv, emails, &duplicate))
	switch {
	case errors.Is(err, errOrderChanged):
		return "", false, err
	case err != nil:
		return "", false, fmt.Errorf("process stripe event %s (%s): %w", ev.ID, ev.Type, err)
	case duplicate:
		return resultDuplicate, true, nil
	}
	return resultApplied, true, nil
}

// markPaidOp moves order `paid` (read pending, its paid fields set: status,
// paid_at, the Stripe ids) to paid for Stripe event ev, writing order event
// orderEv and the emails it sends, and the payment_events row, unless ev
// was recorded already (then *duplicate is set and nothing is written) or
// the order is no longer pending for the amount Stripe took
// (errOrderChanged: the caller decides again). The emails show the order as
// the webhook read it: an owner's edit of its address in the milliseconds
// between is not in them (the dashboard shows it).
func (m *Manager) markPaidOp(paid *core.Record, ev pay.Event, orderEv *core.Record, emails []*core.Record, duplicate *bool) groupcommit.Op {
	return func(tx *groupcommit.Tx) error {
		app := tx.App
		*duplicate = false
		var seen struct {
			N int `db:"n"`
		}
		err := tx.Query("SELECT COUNT(*) AS n FROM {{payment_events}} WHERE [[event_id]] = {:id}",
			dbx.Params{"id": ev.ID}).One(&seen)
		if err != nil {
			return fmt.Errorf("look up event %s: %w", ev.ID, err)
		}
		if seen.N > 0 {
			*duplicate = true
			return nil
		}

		ordersCol, err := app.FindCachedCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		// Still pending, for the amount Stripe took, or no write at all.
		order, err := tx.UpdateReturning(ordersCol,
			`UPDATE {{orders}} SET [[status]] = {:paid}, [[paid_at]] = {:paidAt}, [[stripe_payment_intent]] = {:pi},
				[[stripe_session_id]] = {:session}, [[updated]] = {:now}
			WHERE [[id]] = {:id} AND [[status]] = {:pending} AND [[total_cents]] = {:total} AND [[currency]] = {:currency}`,
			dbx.Params{
				"paid": shop.StatusPaid, "paidAt": paid.GetDateTime("paid_at").String(),
				"pi": paid.GetString("stripe_payment_intent"), "session": paid.GetString("stripe_session_id"),
				"now": groupcommit.Now(), "id": paid.Id, "pending": shop.StatusPending,
				"total": paid.GetInt("total_cents"), "currency": paid.GetString("currency"),
			})
		if err != nil {
			return err
		}
		if order == nil {
			return groupcommit.Refuse(errOrderChanged)
		}
		if _, err := tx.Insert(orderEv, false); err != nil {
			return err
		}
		if err := m.orders.InsertEventDeliveries(tx, orderEv, order); err != nil {
			return err
		}
		if err := orders.InsertEmails(tx, emails); err != nil {
			return err
		}
		col, err := app.FindCachedCollectionByNameOrId("payment_events")
		if err != nil {
			return err
		}
		pe := core.NewRecord(col)
		pe.Set("event_id", ev.ID)
		pe.Set("type", ev.Type)
		pe.Set("order", order.Id)
		pe.Set("result", resultApplied)
		pe.Set("error", "")
		_, err = tx.Insert(pe, false)
		return err
	}
}
