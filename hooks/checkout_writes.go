package hooks

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

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

// numberPlaceholder stands for the order number in the emails rendered
// before the writer gives the order its number; the writer puts the number
// in (rendering is the costliest part of an order's writes, and the writer
// runs one order at a time).
const numberPlaceholder = 9876543210123

// placedOrder is an order prepared for the writer: the record with every
// field but its number, its lines as priced, its order_events row and its
// emails rendered with numberPlaceholder.
type placedOrder struct {
	order  *core.Record
	lines  []shop.OrderLine
	event  *core.Record
	emails []Email
}

// preparePlacedOrder prices order r (client fields, status, token, currency
// and reservation set) with lines and renders what it sends, for actor.
func (s *shopHooks) preparePlacedOrder(app core.App, r *core.Record, lines []shop.OrderLine, settings Settings, actor string) (*placedOrder, error) {
	if r.Id == "" {
		r.Id = core.GenerateDefaultRandomId()
	}
	setPriced(r, lines, shop.Quote(lines, settings.ShippingRule()), numberPlaceholder)
	ev, err := newOrderEvent(app, r.Id, "", shop.StatusPending, actor, "Order placed.", 0)
	if err != nil {
		return nil, err
	}
	emails, err := orderEmails(app, ev, r, settings)
	if err != nil {
		return nil, err
	}
	return &placedOrder{order: r, lines: lines, event: ev, emails: emails}, nil
}

func setPriced(r *core.Record, lines []shop.OrderLine, totals shop.Totals, number int) {
	r.Set("number", number)
	r.Set("items", lines)
	r.Set("subtotal_cents", totals.SubtotalCents)
	r.Set("shipping_cents", totals.ShippingCents)
	r.Set("total_cents", totals.TotalCents)
}

// placeOrderOp writes the prepared order p: it re-reads and prices its
// requested lines req, checks their stock, takes the next order number and
// writes the order, each line's reservation with its ledger row, the
// order_events row and the emails. clientID says the client chose the
// order's id, which may be taken.
func (s *shopHooks) placeOrderOp(p *placedOrder, clientID bool, req []shop.Line, settings Settings) groupcommit.Op {
	r := p.order
	return func(tx *groupcommit.Tx) error {
		app := tx.App
		if clientID {
			var taken int
			err := tx.Query("SELECT COUNT(*) FROM {{orders}} WHERE [[id]] = {:id} COLLATE NOCASE",
				dbx.Params{"id": r.Id}).Row(&taken)
			if err != nil {
				return fmt.Errorf("check order id %s: %w", r.Id, err)
			}
			if taken > 0 {
				return groupcommit.Refuse(&orderRefusal{"id", "The record primary key is invalid or already exists."})
			}
		}
		products, err := loadStock(tx, req)
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
		number, err := nextOrderNumber(tx.Query)
		if err != nil {
			return err
		}
		emails := p.emails
		if slices.Equal(lines, p.lines) {
			emails = withNumber(emails, number)
			r.Set("number", number)
		} else {
			// The catalog changed since the request priced the order.
			setPriced(r, lines, shop.Quote(lines, settings.ShippingRule()), number)
			if emails, err = orderEmails(app, p.event, r, settings); err != nil {
				return err
			}
		}
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

		if _, err := tx.Insert(p.event, false); err != nil {
			return err
		}
		return insertEmails(tx, emails)
	}
}

// withNumber puts the order number into emails rendered with
// numberPlaceholder.
func withNumber(emails []Email, number int) []Email {
	ph, n := strconv.Itoa(numberPlaceholder), strconv.Itoa(number)
	out := make([]Email, len(emails))
	for i, m := range emails {
		m.Subject = strings.ReplaceAll(m.Subject, ph, n)
		m.HTML = strings.ReplaceAll(m.HTML, ph, n)
		m.Text = strings.ReplaceAll(m.Text, ph, n)
		out[i] = m
	}
	return out
}

// markPaidOp moves the pending order read as `read` (with its paid fields
// set: status, paid_at, the Stripe ids) to paid, writing order event ev and
// the emails it sends, unless Stripe's event eventID was recorded already (then
// *duplicate is set and nothing is written) or the order is no longer
// pending for the amount Stripe took (errOrderChanged: the caller decides
// again). It writes the order, its order_events row, the paid emails and the
// payment_events row. The emails show the order as the webhook read it: an
// owner's edit of its address in the few milliseconds between is not in
// them (the dashboard shows it).
func (s *shopHooks) markPaidOp(read *core.Record, eventID, eventType, sessionID, paymentIntent string, ev *core.Record, emails []Email, duplicate *bool) groupcommit.Op {
	return func(tx *groupcommit.Tx) error {
		app := tx.App
		*duplicate = false
		var seen struct {
			N int `db:"n"`
		}
		err := tx.Query("SELECT COUNT(*) AS n FROM {{payment_events}} WHERE [[event_id]] = {:id}",
			dbx.Params{"id": eventID}).One(&seen)
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
		// Still pending, for the amount Stripe took, or no write at all.
		order, err := tx.UpdateReturning(orders,
			`UPDATE {{orders}} SET [[status]] = {:paid}, [[paid_at]] = {:paidAt}, [[stripe_payment_intent]] = {:pi},
				[[stripe_session_id]] = {:session}, [[updated]] = {:now}
			WHERE [[id]] = {:id} AND [[status]] = {:pending} AND [[total_cents]] = {:total} AND [[currency]] = {:currency}`,
			dbx.Params{
				"paid": shop.StatusPaid, "paidAt": read.GetDateTime("paid_at").String(), "pi": paymentIntent, "session": sessionID,
				"now": groupcommit.Now(), "id": read.Id, "pending": shop.StatusPending,
				"total": read.GetInt("total_cents"), "currency": read.GetString("currency"),
			})
		if err != nil {
			return err
		}
		if order == nil {
			return groupcommit.Refuse(errOrderChanged)
		}

		if _, err := tx.Insert(ev, false); err != nil {
			return err
		}
		if err := insertEmails(tx, emails); err != nil {
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

// errOrderChanged refuses a paid transition whose order moved (or had its
// total changed) after the webhook read it.
var errOrderChanged = errors.New("the order changed since it was read")

// insertEmails queues emails, once per dedupe key.
func insertEmails(tx *groupcommit.Tx, emails []Email) error {
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

// loadStock reads, in the writer's transaction, what pricing and the stock
// check need of the products req asks for, with one plain SELECT.
func loadStock(tx *groupcommit.Tx, req []shop.Line) (map[string]shop.Product, error) {
	params := make(dbx.Params, len(req))
	holders := make([]string, len(req))
	for i, l := range req {
		name := "p" + strconv.Itoa(i)
		params[name] = l.Product
		holders[i] = "{:" + name + "}"
	}
	var rows []struct {
		ID     string `db:"id"`
		Name   string `db:"name"`
		SKU    string `db:"sku"`
		Price  int64  `db:"price_cents"`
		Stock  int64  `db:"stock"`
		Active bool   `db:"active"`
	}
	err := tx.Query("SELECT [[id]], [[name]], [[sku]], [[price_cents]], [[stock]], [[active]] FROM {{products}} WHERE [[id]] IN ("+
		strings.Join(holders, ", ")+")", params).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	products := make(map[string]shop.Product, len(rows))
	for _, r := range rows {
		products[r.ID] = shop.Product{ID: r.ID, Name: r.Name, SKU: r.SKU, UnitPriceCents: r.Price, Stock: r.Stock, Active: r.Active}
	}
	return products, nil
}
