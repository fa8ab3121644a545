package pb_migrations_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestSearchIndexOfExistingData reverts the search migration (and any
// later one), writes a catalog the index does not see, applies the
// migrations again and finds the products by their words, SKUs and
// variants: the migration indexes what was there before it.
func TestSearchIndexOfExistingData(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	files := migrationFiles(t)
	at := slices.Index(files, "1764421000_search.go")
	if at < 0 {
		t.Fatal("no search migration")
	}
	runner := core.NewMigrationsRunner(app, core.AppMigrations)
	if _, err := runner.Down(len(files) - at); err != nil {
		t.Fatalf("down: %v", err)
	}
	var n int
	if err := app.DB().NewQuery(`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '_product_search%'`).Row(&n); err != nil || n != 0 {
		t.Fatalf("%d search tables and triggers left after down (%v)", n, err)
	}

	tee := save(t, app, "products", map[string]any{"name": "Linen Tee", "slug": "linen-tee", "sku": "LT", "active": true,
		"description": "<p>Cool in <b>July</b></p>", "options": []map[string]any{{"name": "Size", "values": []string{"S", "M"}}}})
	save(t, app, "variants", map[string]any{"product": tee.Id, "title": "S", "sku": "LT-SMALL", "options": map[string]string{"Size": "S"}, "active": true})
	save(t, app, "variants", map[string]any{"product": tee.Id, "title": "M", "sku": "LT-HIDDEN", "options": map[string]string{"Size": "M"}, "active": false})
	save(t, app, "products", map[string]any{"name": "Mug", "slug": "mug", "active": true})

	if _, err := runner.Up(); err != nil {
		t.Fatalf("up: %v", err)
	}
	srv := shoptest.Serve(t, app)
	for q, want := range map[string]int{"linen": 1, "july": 1, "lt-small": 1, "lt-hidden": 0, "b": 0, "mug": 1, "tee mug": 0} {
		res := shoptest.Do(t, srv, http.MethodGet, "/api/shop/search?q="+url.QueryEscape(q), "", nil)
		if res.Status != http.StatusOK || res.Body["totalItems"] != float64(want) {
			t.Errorf("search %q: %d %s, want %d items", q, res.Status, res.Raw, want)
		}
	}
}
