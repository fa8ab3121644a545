package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The owner's sales report (hooks/reports.go) adds up the orders paid in
// each day of a range. Without an index that is a scan of every order; with
// this one it is a range scan per day that never reads the order rows, as
// the index holds every column the daily sums use. Partial: unpaid orders,
// most of them in a busy shop, are left out.
func init() {
	m.Register(func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.AddIndex("idx_orders_paid_report", false,
			"paid_at, status, subtotal_cents, shipping_cents, total_cents, refunded_cents", "paid_at != ''")
		return app.Save(orders)
	}, func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.RemoveIndex("idx_orders_paid_report")
		return app.Save(orders)
	})
}
