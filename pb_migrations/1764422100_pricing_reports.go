package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The sales report reads orders.discount_cents and tax_cents since the
// pricing rules (1764422000_pricing.go) added them: idx_orders_paid_report
// (1764409500_reports.go) gets them too, so that the daily sums stay a scan
// of the index that never reads the order rows.
func init() {
	m.Register(func(app core.App) error {
		return replacePaidReportIndex(app,
			"paid_at, status, subtotal_cents, discount_cents, shipping_cents, tax_cents, total_cents, refunded_cents")
	}, func(app core.App) error {
		return replacePaidReportIndex(app,
			"paid_at, status, subtotal_cents, shipping_cents, total_cents, refunded_cents")
	})
}

func replacePaidReportIndex(app core.App, columns string) error {
	orders, err := app.FindCollectionByNameOrId("orders")
	if err != nil {
		return err
	}
	orders.RemoveIndex("idx_orders_paid_report")
	orders.AddIndex("idx_orders_paid_report", false, columns, "paid_at != ''")
	return app.Save(orders)
}
