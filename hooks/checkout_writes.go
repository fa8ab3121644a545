package hooks

import (
	"errors"
	"fmt"

	"pocketshop/internal/groupcommit"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// The writes of the two hot operations, order create and the Stripe paid
// transition, as group-commit Ops (internal/groupcommit). Their requests
// prepare everything first; an Op only checks what may have changed since
// (stock, price, status) and writes with plain SQL. Every check comes
// before the Op's first write, so a refused order leaves nothing to roll
// back. The rows they write fire PocketBase's after-success hooks (and
// realtime), not its before-save ones: hooks/README.md says which.

// bindWriter closes the writer when the app terminates, after the graceful
// shutdown (hooks/shutdown.go) has let the requests waiting on it finish.
func bindWriter(app core.App, w *groupcommit.Writer) {
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: "shopWriterClose",
		Func: func(te *core.TerminateEvent) error {
			if !te.IsRestart {
				w.Close()
			}
			return te.Next()
		},
	})
}

// orderRefusal is why an order create was refused, with the field it is on.
type orderRefusal struct {
	field, message string
}

func (r *orderRefusal) Error() string { return r.message }

// placeOrderOp writes the prepared order r (every client field, status,
// token, currency and reservation set): it re-reads and prices its
// products, checks their stock, takes the next order number and writes the
// order, each line's reservation with its ledger row, the order_events row
// and the customer's email. With requested lines req, for actor. clientID
// says the client chose r's id, which may be taken.
func (s *shopHooks) placeOrderOp(r *core.Record, clientID bool, req []shop.Line, settings Settings, actor string) groupcommit.Op {
	return func(tx *groupcommit.Tx) error {
		app := tx.App
		if clientID {
			var taken int
			err := app.DB().NewQuery("SELECT COUNT(*) FROM {{orders}} WHERE [[id]] = {:id} COLLATE NOCASE").
				Bind(dbx.Params{"id": r.Id}).Row(&taken)
			if err != nil {
				return fmt.Errorf("check order id %s: %w", r.Id, err)
			}
			if taken > 0 {
				return groupcommit.Refuse(&orderRefusal{"id", "The record primary key is invalid or already exists."})
			}
		}
		products, err := loadProducts(app, req)
		if err != nil {
			return err
		}
		lines, err := shop.PriceLines(req, products)
		if err != nil {
			return groupcommit.Refuse(&orderRefusal{"items", err.Error()})
		}
		for _, l := range lines {
			if p := products[l.Product]; p.Stock < int64(l.Quantity) {
				return groupcommit.Refuse(&orderRefusal{"items", (&NotEnoughStockError{Product: p.Name, Left: int(p.Stock)}).Error()})
			}
		}
		// Checked: from here on every write must succeed.
		totals := shop.Quote(lines, settings.ShippingRule())
		number, err := nextOrderNumber(app)
		if err != nil {
			return err
		}
		r.Set("number", number)
		r.Set("items", lines)
		r.Set("subtotal_cents", totals.SubtotalCents)
		r.Set("shipping_cents", totals.ShippingCents)
		r.Set("total_cents", totals.TotalCents)
		if _, err := tx.Insert(r, false); err != nil {
			return err
		}

		productsCol, err := app.FindCachedCollectionByNameOrId("products")
		if err != nil {
			return err
		}
		movements, err := app.FindCachedCollectionByNameOrId("stock_movements")
		if err != nil {
			return err
		}
		now := groupcommit.Now()
		for _, l := range lines {
			p, err := tx.UpdateReturning(productsCol,
				"UPDATE {{products}} SET [[stock]] = [[stock]] - {:q}, [[updated]] = {:now} WHERE [[id]] = {:id} AND [[stock]] >= {:q}",
				dbx.Params{"q": l.Quantity, "now": now, "id": l.Product})
			if err != nil {
				return err
			}
			if p == nil {
				return fmt.Errorf("reserve %d of product %s: the stock checked is gone", l.Quantity, l.Product)
			}
			mv := core.NewRecord(movements)
			mv.Set("product", l.Product)
			mv.Set("delta", -l.Quantity)
			mv.Set("reason", reasonReserve)
			mv.Set("order", r.Id)
			mv.Set("stock_after", p.GetInt("stock"))
			if _, err := tx.Insert(mv, false); err != nil {
				return err
			}
		}

		ev, err := newOrderEvent(app, r.Id, "", shop.StatusPending, actor, "Order placed.", 0)
		if err != nil {
			return err
		}
		if _, err := tx.Insert(ev, false); err != nil {
			return err
		}
		return insertOrderEmails(tx, ev, r, settings)
	}
}

// markPaidOp moves the pending order read as `read` to paid for Stripe
// session sess, unless Stripe's event eventID was recorded already (then
// *duplicate is set and nothing is written) or the order changed since it
// was read (errOrderChanged: the caller decides again). It writes the order,
// its order_events row, the paid emails and the payment_events row.
func (s *shopHooks) markPaidOp(read *core.Record, eventID, eventType, sessionID, paymentIntent string, settings Settings, duplicate *bool) groupcommit.Op {
	return func(tx *groupcommit.Tx) error {
		app := tx.App
		*duplicate = false
		var seen struct {
			N int `db:"n"`
		}
		err := app.DB().NewQuery("SELECT COUNT(*) AS n FROM {{payment_events}} WHERE [[event_id]] = {:id}").
			Bind(dbx.Params{"id": eventID}).One(&seen)
		if err != nil {
			return fmt.Errorf("look up event %s: %w", eventID, err)
		}
		if seen.N > 0 {
			*duplicate = true
			return nil
		}

		orders, err := app.FindCachedCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		// The order as read and checked (pending, the amount Stripe took),
		// or no write at all.
		order, err := tx.UpdateReturning(orders,
			`UPDATE {{orders}} SET [[status]] = {:paid}, [[paid_at]] = {:paidAt}, [[stripe_payment_intent]] = {:pi},
				[[stripe_session_id]] = {:session}, [[updated]] = {:now}
			WHERE [[id]] = {:id} AND [[status]] = {:pending} AND [[updated]] = {:readUpdated}`,
			dbx.Params{
				"paid": shop.StatusPaid, "paidAt": s.nowDateTime().String(), "pi": paymentIntent, "session": sessionID,
				"now": groupcommit.Now(), "id": read.Id, "pending": shop.StatusPending,
				"readUpdated": read.GetDateTime("updated").String(),
			})
		if err != nil {
			return err
		}
		if order == nil {
			return groupcommit.Refuse(errOrderChanged)
		}

		ev, err := newOrderEvent(app, order.Id, shop.StatusPending, shop.StatusPaid, shop.ActorStripe, "Paid with Stripe.", 0)
		if err != nil {
			return err
		}
		if _, err := tx.Insert(ev, false); err != nil {
			return err
		}
		if err := insertOrderEmails(tx, ev, order, settings); err != nil {
			return err
		}
		pe, err := newPaymentEvent(app, eventID, eventType, order.Id, resultApplied, "")
		if err != nil {
			return err
		}
		_, err = tx.Insert(pe, false)
		return err
	}
}

// errOrderChanged refuses a paid transition whose order moved (or was
// edited) after the webhook read it.
var errOrderChanged = errors.New("the order changed since it was read")

// insertOrderEmails queues the emails order event ev sends, once per dedupe
// key.
func insertOrderEmails(tx *groupcommit.Tx, ev, order *core.Record, settings Settings) error {
	emails, err := orderEmails(tx.App, ev, order, settings)
	if err != nil {
		return err
	}
	col, err := tx.App.FindCachedCollectionByNameOrId("emails")
	if err != nil {
		return err
	}
	for _, m := range emails {
		if _, err := tx.Insert(emailRecord(col, m), true); err != nil {
			return err
		}
	}
	return nil
}

func newOrderEvent(app core.App, orderID, from, to, actor, message string, amountCents int) (*core.Record, error) {
	col, err := app.FindCachedCollectionByNameOrId("order_events")
	if err != nil {
		return nil, err
	}
	ev := core.NewRecord(col)
	ev.Id = core.GenerateDefaultRandomId()
	ev.Set("order", orderID)
	ev.Set("from_status", from)
	ev.Set("to_status", to)
	ev.Set("actor", actor)
	ev.Set("message", message)
	ev.Set("amount_cents", amountCents)
	return ev, nil
}

func newPaymentEvent(app core.App, eventID, eventType, orderID, result, errMsg string) (*core.Record, error) {
	col, err := app.FindCachedCollectionByNameOrId("payment_events")
	if err != nil {
		return nil, err
	}
	r := core.NewRecord(col)
	r.Set("event_id", eventID)
	r.Set("type", eventType)
	r.Set("order", orderID)
	r.Set("result", result)
	r.Set("error", errMsg)
	return r, nil
}

// isRefusal reports whether err refuses an order create and how.
func isRefusal(err error) (*orderRefusal, bool) {
	var r *orderRefusal
	ok := errors.As(err, &r)
	return r, ok
}
