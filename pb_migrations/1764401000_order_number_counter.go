package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The last order number given is kept apart from the orders, so that
// deleting the newest order does not hand its number out again. It is a
// plain table, not a collection: only the order hook reads or writes it.
func init() {
	m.Register(func(app core.App) error {
		_, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS {{_shop_counters}} (
			[[name]]  TEXT PRIMARY KEY NOT NULL,
			[[value]] INTEGER NOT NULL
		)`).Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery(`DROP TABLE IF EXISTS {{_shop_counters}}`).Execute()
		return err
	})
}
