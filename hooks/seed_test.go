package hooks_test

import (
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
)

// TestSeedIsIdempotent loads the demo catalog twice: the second run adds
// nothing.
func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	first, err := hooks.SeedDemoCatalog(app)
	if err != nil || first == 0 {
		t.Fatalf("first seed: %d %v", first, err)
	}
	second, err := hooks.SeedDemoCatalog(app)
	if err != nil || second != 0 {
		t.Fatalf("second seed: %d %v", second, err)
	}
	if n := shoptest.Count(t, app, "products"); n != first {
		t.Fatalf("%d products after two seeds, want %d", n, first)
	}
	active, err := app.CountRecords("products", dbx.HashExp{"active": true})
	if err != nil || int(active) != first {
		t.Fatalf("active products: %d %v", active, err)
	}
	shoptest.CheckLedger(t, app)

	if n, err := hooks.SeedDemoPricing(app); err != nil || n != 4 {
		t.Fatalf("first pricing seed: %d %v", n, err)
	}
	if n, err := hooks.SeedDemoPricing(app); err != nil || n != 0 {
		t.Fatalf("second pricing seed: %d %v", n, err)
	}
}
