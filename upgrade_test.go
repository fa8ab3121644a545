package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"
	"pocketshop/pb_migrations"

	"github.com/pocketbase/pocketbase/core"
)

// upgradeFixture is the data dir of a shop run by the last PocketBase
// v0.36.9 build (its data.db and auxiliary.db, gzipped: 23 KB instead of
// 436 KB), written by scripts/upgrade-fixture.sh.
const upgradeFixture = "testdata/upgrade-v0.36.9.tar.gz"

// TestUpgradeInPlaceFromV0369 starts the current binary on a copy of a shop
// made by the v0.36.9 build: the first start runs PocketBase's system
// migrations (v0.38.1 re-saves every collection with indexes), and every
// order, ledger row, payment event, email and setting must come out as it
// went in, with the stock ledger still adding up, and the shop must still
// take and cancel orders.
func TestUpgradeInPlaceFromV0369(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "pb_data")
	if err := untar(dataDir, upgradeFixture); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dataDir)

	// What the fixture holds, so that a fixture regenerated wrong fails here
	// rather than comparing nothing with nothing.
	var statuses []string
	for _, o := range before["orders"] {
		statuses = append(statuses, o["status"].(string))
	}
	slices.Sort(statuses)
	if want := []string{"cancelled", "fulfilled", "paid", "paid", "pending", "refunded"}; !slices.Equal(statuses, want) {
		t.Fatalf("fixture orders have statuses %v, want %v", statuses, want)
	}
	if len(before["stock_movements"]) < 10 || len(before["payment_events"]) != 4 || len(before["emails"]) < 10 ||
		len(before["shop_settings"]) != 1 || before["shop_settings"][0]["shop_name"] != "Upgrade Fixture Shop" {
		t.Fatalf("the fixture's data is not all there: %d movements, %d payment events, %d emails, settings %v",
			len(before["stock_movements"]), len(before["payment_events"]), len(before["emails"]), before["shop_settings"])
	}

	srv := startServer(t, dataDir)
	token := srv.ownerToken()
	var settings struct {
		Meta       struct{ AppURL string }
		Backups    struct{ Cron string }
		RateLimits struct{ Enabled bool }
	}
	if st := srv.call("GET", "/api/settings", token, nil, &settings); st != 200 {
		t.Fatalf("settings: %d", st)
	}
	if settings.Meta.AppURL != "https://shop.example.com" || settings.Backups.Cron != pb_migrations.BackupCron || !settings.RateLimits.Enabled {
		t.Fatalf("settings after the upgrade = %+v", settings)
	}
	srv.stop()

	sameSnapshot(t, "after the upgrade", before, withoutNewFields(t, before, snapshot(t, dataDir)))
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dataDir})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	shoptest.CheckLedger(t, app)
	var applied []string
	if err := app.DB().NewQuery("SELECT file FROM _migrations").Column(&applied); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(applied, "1778828400_normalize_indexes.go") {
		t.Errorf("the v0.38.1 system migration did not run; applied: %v", applied)
	}
	// The lookup indexes the shop's migrations made are still there.
	orders, err := app.FindCollectionByNameOrId("orders")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"idx_orders_stripe_session_id", "idx_orders_stripe_payment_intent"} {
		if orders.GetIndex(name) == "" {
			t.Errorf("orders lost index %s: %v", name, orders.Indexes)
		}
	}
	productID := before["products"][0]["id"].(string)
	_ = app.ResetBootstrapState()

	// The upgraded shop takes and cancels an order.
	srv = startServer(t, dataDir)
	var o struct{ ID, Token string }
	if st := srv.call("POST", "/api/collections/orders/records", "", map[string]any{
		"email": "after-upgrade@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": productID, "quantity": 1}},
	}, &o); st != 200 {
		t.Fatalf("order after the upgrade: %d", st)
	}
	if st := srv.call("POST", "/api/shop/orders/"+o.ID+"/cancel?token="+o.Token, "", nil, &map[string]any{}); st != 200 {
		t.Fatalf("cancel after the upgrade: %d", st)
	}
	srv.stop()
	app = core.NewBaseApp(core.BaseAppConfig{DataDir: dataDir})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	shoptest.CheckLedger(t, app)
}

// withoutNewFields drops from after the fields that the shop's migrations
// added since the fixture was made (e.g. products.max_per_order), after
// checking that they hold their empty value: a new field must not change
// what an existing record means.
func withoutNewFields(t *testing.T, before, after map[string][]map[string]any) map[string][]map[string]any {
	t.Helper()
	for name, records := range after {
		if len(before[name]) == 0 {
			continue
		}
		for _, r := range records {
			for k, v := range r {
				if _, old := before[name][0][k]; old {
					continue
				}
				if !shop.IsEmptyValue(v) { // nil, "", 0, false, [] (an empty multi-relation)
					t.Errorf("%s.%s, a field new since the fixture, is %v on an existing record", name, k, v)
				}
				delete(r, k)
			}
		}
	}
	return after
}

// untar writes the regular files of the gzipped tar archive into dir.
func untar(dir, archive string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		if h.Typeflag != tar.TypeReg || !filepath.IsLocal(h.Name) {
			continue
		}
		out, err := os.Create(filepath.Join(dir, h.Name))
		if err != nil {
			return err
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", archive, h.Name, err)
		}
	}
}
