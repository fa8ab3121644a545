package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Stripe's webhooks find an order by its Checkout Session (when an event
// carries no order id) and by its PaymentIntent (refunds). With 100,000
// orders both lookups scanned the whole table (bench/, README Performance):
// SQLite cannot use the partial index idx_orders_stripe_session (of the
// non-empty ids only) for stripe_session_id = ?, and the payment intent had
// no index. Full indexes replace it.
func init() {
	m.Register(func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.RemoveIndex("idx_orders_stripe_session")
		orders.AddIndex("idx_orders_stripe_session_id", false, "stripe_session_id", "")
		orders.AddIndex("idx_orders_stripe_payment_intent", false, "stripe_payment_intent", "")
		return app.Save(orders)
	}, func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.RemoveIndex("idx_orders_stripe_session_id")
		orders.RemoveIndex("idx_orders_stripe_payment_intent")
		orders.AddIndex("idx_orders_stripe_session", false, "stripe_session_id", "stripe_session_id != ''")
		return app.Save(orders)
	})
}
