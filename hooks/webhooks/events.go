package webhooks

import (
	"encoding/json"
	"fmt"
	"strings"

	"pocketshop/hooks/queue"
	"pocketshop/hooks/txn"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// orderEvents names the event of an order's move to each status.
var orderEvents = map[string]string{
	shop.StatusPending:   OrderPlaced,
	shop.StatusPaid:      OrderPaid,
	shop.StatusFulfilled: OrderFulfilled,
	shop.StatusCancelled: OrderCancelled,
	shop.StatusExpired:   OrderExpired,
	shop.StatusRefunded:  OrderRefunded,
}

// body is a delivery's JSON body. id is the event's id, the same for every
// endpoint and every retry; created is in Unix seconds.
type body struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    any    `json:"data"`
}

// deliveries returns the delivery rows (not saved) of event eventID to
// every active endpoint subscribed to event, or none. data (the order or
// product, as the API shows it to the owner) is built only when an
// endpoint wants the event: with no endpoint, an event costs a look at
// the cache.
func (m *Manager) deliveries(app core.App, event, eventID string, data func() (any, error)) ([]*core.Record, error) {
	eps, err := m.active(app, event)
	if err != nil || len(eps) == 0 {
		return nil, err
	}
	d, err := data()
	if err != nil {
		return nil, err
	}
	now := m.opts.Now().UTC()
	payload, err := json.Marshal(body{ID: eventID, Type: event, Created: now.Unix(), Data: d})
	if err != nil {
		return nil, fmt.Errorf("encode webhook event %s: %w", eventID, err)
	}
	col, err := app.FindCachedCollectionByNameOrId("webhook_deliveries")
	if err != nil {
		return nil, err
	}
	retryUntil, _ := types.ParseDateTime(now.Add(m.opts.RetryFor))
	rows := make([]*core.Record, len(eps))
	for i, ep := range eps {
		r := core.NewRecord(col)
		r.Load(map[string]any{
			"endpoint": ep.id, "event": event, "event_id": eventID,
			"payload": types.JSONRaw(payload), "status": queue.Queued, "attempts": 0,
			"retry_until": retryUntil,
		})
		rows[i] = r
	}
	return rows, nil
}

// OrderEventDeliveries returns the deliveries (not saved) of order event ev
// (an order_events row) of order, as stored after the move: none when the
// event is not a status move or no endpoint wants it. The group-commit
// writer writes them with the event (orders.Webhooks).
func (m *Manager) OrderEventDeliveries(app core.App, ev, order *core.Record) ([]*core.Record, error) {
	return m.orderEventDeliveries(app, ev, func() (any, error) { return order, nil })
}

// orderEventDeliveries is OrderEventDeliveries with the order loaded by
// order only when an endpoint wants the event.
func (m *Manager) orderEventDeliveries(app core.App, ev *core.Record, order func() (any, error)) ([]*core.Record, error) {
	from, to := ev.GetString("from_status"), ev.GetString("to_status")
	event, ok := orderEvents[to]
	if !ok || from == to || (event == OrderPlaced && from != "") {
		return nil, nil
	}
	return m.deliveries(app, event, eventID(ev.Id), order)
}

// StockDeliveries returns the deliveries (not saved) of stock movement mv
// of unit, the product or variant whose stock it changed, as stored after
// it: product.low_stock when it crossed the unit's low-stock threshold
// going down, product.out_of_stock when it took the last units (both when
// it did both), none otherwise or when no endpoint wants them. The
// group-commit writer writes them with the movement (orders.Webhooks).
func (m *Manager) StockDeliveries(app core.App, mv, unit *core.Record) ([]*core.Record, error) {
	after := mv.GetInt("stock_after")
	crossed := shop.CrossedStockLevels(after-mv.GetInt("delta"), after, unit.GetInt("low_stock_threshold"))
	if !crossed.Any() {
		return nil, nil
	}
	data := func() (any, error) { return stockData(app, unit) }
	var rows []*core.Record
	for _, c := range []struct {
		crossed bool
		event   string
	}{{crossed.Low, ProductLowStock}, {crossed.Out, ProductOutOfStock}} {
		if !c.crossed {
			continue
		}
		r, err := m.deliveries(app, c.event, eventID(mv.Id)+"_"+strings.TrimPrefix(c.event, "product."), data)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

// stockData is a stock event's data: the product as the API shows it to
// the owner, and for a variant's stock, the variant in its "variant" key.
func stockData(app core.App, unit *core.Record) (any, error) {
	if unit.Collection().Name != "variants" {
		return unit, nil
	}
	product, err := app.FindRecordById("products", unit.GetString("product"))
	if err != nil {
		return nil, fmt.Errorf("find product of variant %s: %w", unit.Id, err)
	}
	out := product.PublicExport()
	out["variant"] = unit
	return out, nil
}

// eventID is the id of the event a row (an order event, a stock movement, a
// customer) reports: the same on every endpoint and every retry, and on a
// re-run of the writer's batch.
func eventID(rowID string) string { return "evt_" + rowID }

// onOrderEvent writes the deliveries of an order's status move saved as a
// record (every move but the writer's placed and paid), in the
// transaction that saves it.
func (m *Manager) onOrderEvent(e *core.RecordEvent) error {
	if err := e.Next(); err != nil {
		return err
	}
	rows, err := m.orderEventDeliveries(e.App, e.Record, func() (any, error) {
		order, err := e.App.FindRecordById("orders", e.Record.GetString("order"))
		if err != nil {
			return nil, fmt.Errorf("find order of event %s: %w", e.Record.Id, err)
		}
		return order, nil
	})
	if err != nil {
		return err
	}
	return saveAll(e.App, rows)
}

// onStockMovement writes the deliveries of a stock crossing saved as a
// record (a cancel, an expiry, the owner's edit), in its transaction.
func (m *Manager) onStockMovement(e *core.RecordEvent) error {
	if err := e.Next(); err != nil {
		return err
	}
	if e.Record.GetInt("delta") >= 0 || !m.wantsStockEvents(e.App) {
		return nil
	}
	collection, id := "products", e.Record.GetString("product")
	if v := e.Record.GetString("variant"); v != "" {
		collection, id = "variants", v
	}
	unit, err := e.App.FindRecordById(collection, id)
	if err != nil {
		return fmt.Errorf("find stock unit of movement %s: %w", e.Record.Id, err)
	}
	rows, err := m.StockDeliveries(e.App, e.Record, unit)
	if err != nil {
		return err
	}
	return saveAll(e.App, rows)
}

// wantsStockEvents reports whether an active endpoint wants a stock event.
func (m *Manager) wantsStockEvents(app core.App) bool {
	low, err1 := m.active(app, ProductLowStock)
	out, err2 := m.active(app, ProductOutOfStock)
	return len(low) > 0 || len(out) > 0 || err1 != nil || err2 != nil
}

// onCustomerCreate writes the customer.created deliveries of a new user in
// the transaction that creates it. data is the user as the owner sees it
// (email included; never the password hash or token key).
func (m *Manager) onCustomerCreate(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		if err := e.Next(); err != nil {
			return err
		}
		user := e.Record
		rows, err := m.deliveries(txApp, CustomerCreated, eventID(user.Id), func() (any, error) {
			owner := user.Fresh()
			owner.IgnoreEmailVisibility(true)
			return owner, nil
		})
		if err != nil {
			return err
		}
		return saveAll(txApp, rows)
	})
}

func saveAll(app core.App, rows []*core.Record) error {
	for _, r := range rows {
		if err := app.Save(r); err != nil {
			return fmt.Errorf("queue webhook %s for endpoint %s: %w", r.GetString("event"), r.GetString("endpoint"), err)
		}
	}
	return nil
}
