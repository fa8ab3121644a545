package pb_migrations_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

var rebuiltCollections = []string{
	"products", "orders", "order_events", "stock_movements",
	"payment_events", "emails", "job_runs", "shop_settings",
}

// migrationFiles lists the migration files of this package, oldest first.
func migrationFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^\d+_\w+\.go$`)
	var files []string
	for _, e := range entries {
		if name.MatchString(e.Name()) && !regexp.MustCompile(`_test\.go$`).MatchString(e.Name()) {
			files = append(files, e.Name())
		}
	}
	slices.Sort(files)
	return files
}

// TestRebuiltSchema reverts every shop migration on a test app, applies them
// again, and checks what the rebuild must keep: the migrations' order, the
// users collection, the settings record, unique indexes, API rules and the
// stock ledger.
func TestRebuiltSchema(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	files := migrationFiles(t)
	runner := core.NewMigrationsRunner(app, core.AppMigrations)

	// a second start applies nothing
	if applied, err := runner.Up(); err != nil || len(applied) != 0 {
		t.Fatalf("second up: %v %v", applied, err)
	}

	reverted, err := runner.Down(len(files))
	if err != nil {
		t.Fatalf("down: %v", err)
	}
	want := slices.Clone(files)
	slices.Reverse(want)
	if !slices.Equal(reverted, want) {
		t.Fatalf("reverted %v, want %v", reverted, want)
	}
	for _, c := range rebuiltCollections {
		if _, err := app.FindCollectionByNameOrId(c); err == nil {
			t.Errorf("collection %s is still there after down", c)
		}
	}
	if _, err := app.FindCollectionByNameOrId("users"); err != nil {
		t.Fatalf("down removed PocketBase's users: %v", err)
	}

	applied, err := runner.Up()
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if !slices.Equal(applied, files) {
		t.Fatalf("applied %v, want %v", applied, files)
	}

	// the rebuilt schema: indexes, rules, settings, and a working shop
	for _, c := range rebuiltCollections {
		if _, err := app.FindCollectionByNameOrId(c); err != nil {
			t.Fatalf("collection %s missing after up: %v", c, err)
		}
	}
	if n := shoptest.Count(t, app, "shop_settings"); n != 1 {
		t.Fatalf("%d settings records, want 1", n)
	}
	p := shoptest.CreateProduct(t, app, "mug", 1500, 5)
	dup := core.NewRecord(p.Collection())
	dup.Load(map[string]any{"name": "Mug 2", "slug": "mug", "price_cents": 1})
	if err := app.Save(dup); err == nil {
		t.Fatal("a second product with slug mug was saved: unique index missing")
	}
	srv := shoptest.Serve(t, app)
	order := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": p.Id, "quantity": 2}},
	})
	if order["number"] != 1001.0 || order["total_cents"] != 3500.0 {
		t.Fatalf("order on the rebuilt schema: %v", order)
	}
	if res := shoptest.Do(t, srv, http.MethodGet, "/api/collections/orders/records/"+order["id"].(string), "", nil); res.Status != http.StatusNotFound {
		t.Fatalf("orders' view rule after up: a guest without token got %d", res.Status)
	}
	res := shoptest.Do(t, srv, http.MethodPost, "/api/shop/orders/"+order["id"].(string)+"/cancel?token="+order["token"].(string), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	shoptest.CheckLedger(t, app)
}
