package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// What the owner's sales report (hooks/reports.go) reads, kept fast enough
// for a 90-day report over 100,000 orders (bench reports, README).
//
// idx_orders_paid_report: the daily sums are a range scan of paid_at per
// day that never reads the order rows, as the index holds every column they
// use. Partial: unpaid orders, most of them in a busy shop, are left out.
//
// _report_lines: the best sellers need the order lines, which are JSON in
// orders.items; parsing them for every report took seconds. This plain table
// (not a collection: nothing but the report reads it) holds one row per line
// of every counted order (paid, fulfilled or refunded), keyed by paid_at, and
// SQLite triggers keep it in step with orders in the same transaction as
// every write, whoever makes it (the hooks, the dashboard, raw SQL).
// Reading 130,000 lines for 90 days still took a few hundred milliseconds,
// so further triggers keep _report_product_days: units and revenue per UTC
// day and product. A report (whose days are local) reads those for the
// whole UTC days of its range and the lines for the hours at either end.
// The triggers read orders.paid_at, status and items: SQLite refuses to drop
// those columns while the triggers exist (they are the contract's anyway).
func init() {
	m.Register(func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.AddIndex("idx_orders_paid_report", false,
			"paid_at, status, subtotal_cents, shipping_cents, total_cents, refunded_cents", "paid_at != ''")
		if err := app.Save(orders); err != nil {
			return err
		}
		for _, sql := range reportLinesUp {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, sql := range reportLinesDown {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.RemoveIndex("idx_orders_paid_report")
		return app.Save(orders)
	})
}

// reportLinesOf inserts the report lines of the order o (NEW in a trigger,
// or each row of tables): nothing unless it is counted. A line's revenue is after its own discount
// once lines carry one. Malformed items give no lines rather than failing
// the order's write.
func reportLinesOf(o, tables string) string {
	return `INSERT INTO _report_lines (paid_at, order_id, line, product, name, sku, quantity, revenue_cents)
		SELECT ` + o + `.paid_at, ` + o + `.id, l.key,
			COALESCE(l.value ->> '$.product', ''), COALESCE(l.value ->> '$.name', ''), COALESCE(l.value ->> '$.sku', ''),
			CAST(COALESCE(l.value ->> '$.quantity', 0) AS INTEGER),
			CAST(COALESCE(l.value ->> '$.line_total_cents', 0) AS INTEGER) - CAST(COALESCE(l.value ->> '$.discount_cents', 0) AS INTEGER)
		FROM ` + tables + `json_each(CASE WHEN json_valid(` + o + `.items) AND json_type(` + o + `.items) = 'array' THEN ` + o + `.items ELSE '[]' END) l
		WHERE ` + o + `.paid_at != '' AND ` + o + `.status IN ('paid', 'fulfilled', 'refunded')
			AND json_type(l.value) = 'object'`
}

var reportLinesDown = []string{
	`DROP TRIGGER IF EXISTS _report_lines_add`,
	`DROP TRIGGER IF EXISTS _report_lines_remove`,
	`DROP TABLE IF EXISTS _report_product_days`,
	`DROP TRIGGER IF EXISTS _report_lines_insert`,
	`DROP TRIGGER IF EXISTS _report_lines_update`,
	`DROP TRIGGER IF EXISTS _report_lines_delete`,
	`DROP TABLE IF EXISTS _report_lines`,
}

var reportLinesUp = []string{
	`CREATE TABLE _report_lines (
		paid_at       TEXT NOT NULL,
		order_id      TEXT NOT NULL,
		line          INTEGER NOT NULL,
		product       TEXT NOT NULL,
		name          TEXT NOT NULL,
		sku           TEXT NOT NULL,
		quantity      INTEGER NOT NULL,
		revenue_cents INTEGER NOT NULL,
		PRIMARY KEY (paid_at, order_id, line)
	) WITHOUT ROWID`,
	`CREATE INDEX _report_lines_order ON _report_lines (order_id)`,
	`CREATE TABLE _report_product_days (
		day           TEXT NOT NULL,
		product       TEXT NOT NULL,
		name          TEXT NOT NULL,
		sku           TEXT NOT NULL,
		units         INTEGER NOT NULL,
		revenue_cents INTEGER NOT NULL,
		PRIMARY KEY (day, product)
	) WITHOUT ROWID`,
	`CREATE TRIGGER _report_lines_add AFTER INSERT ON _report_lines BEGIN
		INSERT INTO _report_product_days (day, product, name, sku, units, revenue_cents)
			VALUES (substr(NEW.paid_at, 1, 10), NEW.product, NEW.name, NEW.sku, NEW.quantity, NEW.revenue_cents)
			ON CONFLICT (day, product) DO UPDATE SET units = units + excluded.units,
				revenue_cents = revenue_cents + excluded.revenue_cents, name = excluded.name, sku = excluded.sku;
	END`,
	`CREATE TRIGGER _report_lines_remove AFTER DELETE ON _report_lines BEGIN
		UPDATE _report_product_days SET units = units - OLD.quantity, revenue_cents = revenue_cents - OLD.revenue_cents
			WHERE day = substr(OLD.paid_at, 1, 10) AND product = OLD.product;
	END`,
	`CREATE TRIGGER _report_lines_insert AFTER INSERT ON orders BEGIN ` + reportLinesOf("NEW", "") + `; END`,
	`CREATE TRIGGER _report_lines_update AFTER UPDATE OF paid_at, status, items ON orders
		WHEN OLD.paid_at IS NOT NEW.paid_at OR OLD.status IS NOT NEW.status OR OLD.items IS NOT NEW.items
		BEGIN
			DELETE FROM _report_lines WHERE order_id = OLD.id;
			` + reportLinesOf("NEW", "") + `;
		END`,
	`CREATE TRIGGER _report_lines_delete AFTER DELETE ON orders BEGIN
		DELETE FROM _report_lines WHERE order_id = OLD.id;
	END`,
	// The orders placed before this migration.
	reportLinesOf("o", "orders o, "),
}
