package orders

import (
	"pocketshop/internal/groupcommit"

	"github.com/pocketbase/pocketbase/core"
)

// Webhooks renders the webhook deliveries (webhook_deliveries records, not
// saved) of the rows the group-commit writer writes: an order event and a
// stock movement, each with its order or stock unit (product or variant) as
// stored after it. The webhooks component provides it (SetWebhooks); the
// writer inserts the deliveries in the transaction of the change. A record
// save of those rows gets its deliveries from the webhooks component's own
// hooks.
type Webhooks interface {
	OrderEventDeliveries(app core.App, ev, order *core.Record) ([]*core.Record, error)
	StockDeliveries(app core.App, mv, unit *core.Record) ([]*core.Record, error)
}

// SetWebhooks gives the component the webhook deliveries of the writer's rows.
func (m *Manager) SetWebhooks(w Webhooks) { m.webhooks = w }

// InsertEventDeliveries writes, in the writer's transaction tx, the webhook
// deliveries of order event ev of order (none until SetWebhooks is called).
func (m *Manager) InsertEventDeliveries(tx *groupcommit.Tx, ev, order *core.Record) error {
	if m.webhooks == nil {
		return nil
	}
	rows, err := m.webhooks.OrderEventDeliveries(tx.App, ev, order)
	if err != nil {
		return err
	}
	return insertAll(tx, rows)
}

// insertStockDeliveries writes, in the writer's transaction tx, the webhook
// deliveries of stock movement mv of product.
func (m *Manager) insertStockDeliveries(tx *groupcommit.Tx, mv, product *core.Record) error {
	if m.webhooks == nil {
		return nil
	}
	rows, err := m.webhooks.StockDeliveries(tx.App, mv, product)
	if err != nil {
		return err
	}
	return insertAll(tx, rows)
}

// insertAll inserts rows once each: a re-run of the writer's batch finds
// them there (same event ids) and skips them.
func insertAll(tx *groupcommit.Tx, rows []*core.Record) error {
	for _, r := range rows {
		if _, err := tx.Insert(r, true); err != nil {
			return err
		}
	}
	return nil
}
