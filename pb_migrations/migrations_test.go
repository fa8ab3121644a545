package pb_migrations_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/internal/shoptest"
	"pocketshop/pb_migrations"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// shopMigrations are pocketshop's migrations in the order they run.
func shopMigrations(t *testing.T) []*core.Migration {
	t.Helper()
	items := core.AppMigrations.Items()
	if len(items) < 2 {
		t.Fatalf("want at least 2 app migrations, have %d", len(items))
	}
	return items
}

// newBareApp opens a fresh data dir with only PocketBase's own system
// migrations applied, as a first `pocketshop serve` finds it.
func newBareApp(t *testing.T) *core.BaseApp {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	if err := app.Bootstrap(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	// Terminate as a server does, so that what hooks.Register started (the
	// outbox's background sender) stops before the database closes under it.
	t.Cleanup(func() {
		_ = app.OnTerminate().Trigger(&core.TerminateEvent{App: app}, func(*core.TerminateEvent) error {
			return app.ResetBootstrapState()
		})
	})
	return app
}

func save(t *testing.T, app core.App, collection string, data map[string]any) *core.Record {
	t.Helper()
	c, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(c)
	r.Load(data)
	if err := app.Save(r); err != nil {
		t.Fatalf("save %s: %v", collection, err)
	}
	return r
}

// checkLedger fails unless the product's stock is the sum of its movements.
func checkLedger(t *testing.T, app core.App, productID string, wantStock int) {
	t.Helper()
	p, err := app.FindRecordById("products", productID)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Total int }
	err = app.DB().Select("COALESCE(SUM(delta), 0) AS total").From("stock_movements").
		Where(dbx.HashExp{"product": productID}).One(&sum)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetInt("stock") != wantStock || sum.Total != wantStock {
		t.Fatalf("stock %d, ledger sum %d, want both %d", p.GetInt("stock"), sum.Total, wantStock)
	}
}

// TestUpgradeFromEveryEarlierStep stops the schema at each earlier migration,
// stores a shop's data the way that version did, upgrades to the latest, and
// uses the old data with today's hooks.
func TestUpgradeFromEveryEarlierStep(t *testing.T) {
	t.Parallel()
	all := shopMigrations(t)
	for step := 1; step < len(all); step++ {
		t.Run("from "+all[step-1].File, func(t *testing.T) {
			t.Parallel()
			app := newBareApp(t)
			var early core.MigrationsList
			for _, m := range all[:step] {
				early.Add(m)
			}
			if _, err := core.NewMigrationsRunner(app, early).Up(); err != nil {
				t.Fatalf("migrate to step %d: %v", step, err)
			}

			// A pending order holding 2 of 10 mugs, with its ledger, event
			// and email, written with the first schema's fields only.
			product := save(t, app, "products", map[string]any{
				"name": "Mug", "slug": "mug", "price_cents": 1500, "stock": 8, "active": true,
			})
			order := save(t, app, "orders", map[string]any{
				"number": 1001, "status": "pending", "email": "ann@example.com", "payment_method": "manual",
				"items": []map[string]any{{"product": product.Id, "name": "Mug", "sku": "", "unit_price_cents": 1500,
					"quantity": 2, "line_total_cents": 3000}},
				"subtotal_cents": 3000, "shipping_cents": 500, "total_cents": 3500, "currency": "usd",
				"token": "old-token-123",
			})
			save(t, app, "stock_movements", map[string]any{"product": product.Id, "delta": 10, "reason": "restock", "stock_after": 10})
			save(t, app, "stock_movements", map[string]any{"product": product.Id, "delta": -2, "reason": "reserve", "order": order.Id, "stock_after": 8})
			save(t, app, "order_events", map[string]any{"order": order.Id, "to_status": "pending", "actor": "customer", "message": "Order placed."})
			email := save(t, app, "emails", map[string]any{
				"to": "ann@example.com", "subject": "Order #1001", "kind": "order_placed", "order": order.Id,
				"dedupe_key": "placed-" + order.Id, "status": "queued",
			})

			if err := app.RunAllMigrations(); err != nil {
				t.Fatalf("migrate to the latest: %v", err)
			}
			hooks.Register(app, hooks.Deps{})

			// Intact.
			for _, r := range []*core.Record{product, order, email} {
				now, err := app.FindRecordById(r.Collection().Name, r.Id)
				if err != nil {
					t.Fatalf("%s %s gone after the upgrade: %v", r.Collection().Name, r.Id, err)
				}
				for key, was := range r.FieldsData() {
					if got := now.Get(key); !jsonEqual(t, got, was) {
						t.Errorf("%s.%s = %v after the upgrade, was %v", r.Collection().Name, key, got, was)
					}
				}
			}
			checkLedger(t, app, product.Id, 8)

			// Usable: the customer cancels the old order and its stock comes
			// back; a new order is placed over HTTP and reserves stock.
			if _, err := orders.Move(app, order.Id, "cancelled", "customer", "Changed my mind.", nil); err != nil {
				t.Fatalf("cancel the old order: %v", err)
			}
			checkLedger(t, app, product.Id, 10)
			srv := shoptest.Serve(t, app)
			res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
				"email": "bo@example.com", "payment_method": "manual",
				"items": []map[string]any{{"product": product.Id, "quantity": 3}},
			})
			if res.Status != http.StatusOK || res.Body["number"].(float64) <= 1001 {
				t.Fatalf("new order after the upgrade: %d %s", res.Status, res.Raw)
			}
			checkLedger(t, app, product.Id, 7)
		})
	}
}

// TestEveryMigrationGoesDownAndUpAgain reverts every migration, checks the
// shop is gone, applies them all again and places an order.
func TestEveryMigrationGoesDownAndUpAgain(t *testing.T) {
	t.Parallel()
	all := shopMigrations(t)
	for _, m := range all {
		if m.Down == nil {
			t.Errorf("migration %s has no down", m.File)
		}
	}

	app := newBareApp(t)
	runner := core.NewMigrationsRunner(app, core.AppMigrations)
	if _, err := runner.Up(); err != nil {
		t.Fatalf("up: %v", err)
	}
	reverted, err := runner.Down(len(all))
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	if len(reverted) != len(all) {
		t.Fatalf("reverted %d of %d migrations", len(reverted), len(all))
	}
	for _, name := range []string{"products", "orders", "order_events", "stock_movements", "payment_events", "emails", "job_runs", "shop_settings"} {
		if _, err := app.FindCollectionByNameOrId(name); err == nil {
			t.Errorf("collection %s still there after all downs", name)
		}
	}
	if s := app.Settings(); s.Backups.Cron != "" || s.RateLimits.Enabled {
		t.Errorf("settings after all downs: backups %q, rate limits on %v", s.Backups.Cron, s.RateLimits.Enabled)
	}

	applied, err := runner.Up()
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(applied) != len(all) {
		t.Fatalf("applied %d of %d migrations again", len(applied), len(all))
	}
	if s := app.Settings(); s.Backups.Cron != pb_migrations.BackupCron || s.Backups.CronMaxKeep != pb_migrations.BackupKeep || !s.RateLimits.Enabled {
		t.Errorf("settings after up again: %+v %+v", s.Backups, s.RateLimits)
	}

	hooks.Register(app, hooks.Deps{})
	product := shoptest.CreateProduct(t, app, "mug", 1500, 5)
	srv := shoptest.Serve(t, app)
	shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": product.Id, "quantity": 2}},
	})
	checkLedger(t, app, product.Id, 3)
}

// TestSettingsMigrationKeepsTheOwnersChoice: an owner who set backups or
// rate limits before upgrading keeps them, up and down.
func TestSettingsMigrationKeepsTheOwnersChoice(t *testing.T) {
	t.Parallel()
	all := shopMigrations(t)
	var settingsStep int
	for i, m := range all {
		if m.File == "1764406000_backups_and_rate_limits.go" {
			settingsStep = i
		}
	}
	app := newBareApp(t)
	var early core.MigrationsList
	for _, m := range all[:settingsStep] {
		early.Add(m)
	}
	if _, err := core.NewMigrationsRunner(app, early).Up(); err != nil {
		t.Fatal(err)
	}
	s := app.Settings()
	s.Backups.Cron = "30 1 * * 0"
	s.Backups.CronMaxKeep = 4
	s.RateLimits.Enabled = true
	s.RateLimits.Rules = []core.RateLimitRule{{Label: "/api/", MaxRequests: 50, Duration: 1}}
	if err := app.Save(s); err != nil {
		t.Fatal(err)
	}

	runner := core.NewMigrationsRunner(app, core.AppMigrations)
	for round := 0; round < 2; round++ {
		if _, err := runner.Up(); err != nil {
			t.Fatal(err)
		}
		s = app.Settings()
		if s.Backups.Cron != "30 1 * * 0" || s.Backups.CronMaxKeep != 4 || len(s.RateLimits.Rules) != 1 || !s.RateLimits.Enabled {
			t.Fatalf("round %d: the owner's settings changed: %+v %+v", round, s.Backups, s.RateLimits)
		}
		if _, err := runner.Down(len(all) - settingsStep); err != nil {
			t.Fatal(err)
		}
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	ra, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ra) == string(rb)
}
