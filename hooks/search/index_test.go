package search_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
)

// TestIndexFollowsWrites changes products and variants every way the shop
// does (the records API's saves, plain SQL as the order writer and the CSV
// import write, deletes) and searches after each change.
func TestIndexFollowsWrites(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	srv := shoptest.Serve(t, app)
	find := func(q string) []string {
		t.Helper()
		res := shoptest.Do(t, srv, http.MethodGet, "/api/shop/search?q="+url.QueryEscape(q), "", nil)
		if res.Status != http.StatusOK {
			t.Fatalf("search %q: %d %s", q, res.Status, res.Raw)
		}
		_, _, _, _, got := names(t, res.Raw)
		return got
	}
	expect := func(q string, want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		if got := find(q); !slices.Equal(got, want) {
			t.Errorf("search %q: got %q, want %q", q, got, want)
		}
	}
	exec := func(sql string, params dbx.Params) {
		t.Helper()
		if _, err := app.DB().NewQuery(sql).Bind(params).Execute(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	tee := save(t, app, "products", map[string]any{"name": "Plain Tee", "slug": "plain-tee", "price_cents": 900,
		"active": true, "options": []map[string]any{{"name": "Size", "values": []string{"S", "M"}}}})
	expect("plain", "Plain Tee")

	tee.Set("name", "Organic Tee")
	tee.Set("description", "<p>Grown <em>slowly</em></p>")
	if err := app.Save(tee); err != nil {
		t.Fatal(err)
	}
	expect("plain")
	expect("organic slowly", "Organic Tee")
	expect("em")

	small := save(t, app, "variants", map[string]any{"product": tee.Id, "title": "S", "sku": "ORG-S",
		"options": map[string]string{"Size": "S"}, "active": true})
	medium := save(t, app, "variants", map[string]any{"product": tee.Id, "title": "M", "sku": "ORG-M",
		"options": map[string]string{"Size": "M"}, "active": true})
	expect("org-s", "Organic Tee")
	expect("org-m", "Organic Tee")

	// The order writer's stock updates do not touch the index; the index
	// still answers the same afterwards.
	exec(`UPDATE variants SET stock = stock + 1 WHERE id = {:id}`, dbx.Params{"id": small.Id})
	exec(`UPDATE products SET stock = 7 WHERE id = {:id}`, dbx.Params{"id": tee.Id})
	expect("org-s", "Organic Tee")

	// Plain SQL, as a CSV import or the sqlite3 shell would write.
	exec(`UPDATE variants SET active = 0 WHERE id = {:id}`, dbx.Params{"id": small.Id})
	expect("org-s")
	expect("org-m", "Organic Tee")
	exec(`UPDATE variants SET sku = 'ORG-MEDIUM', title = 'Medium' WHERE id = {:id}`, dbx.Params{"id": medium.Id})
	expect("org-m", "Organic Tee") // a prefix of ORG-MEDIUM
	expect("medium", "Organic Tee")
	exec(`UPDATE products SET sku = 'TEE-1', name = 'Hemp Tee' WHERE id = {:id}`, dbx.Params{"id": tee.Id})
	expect("organic")
	expect("hemp tee-1", "Hemp Tee")

	// A variant moved to another product takes its words along.
	mug := save(t, app, "products", map[string]any{"name": "Mug", "slug": "mug", "price_cents": 500, "active": true})
	exec(`UPDATE variants SET product = {:mug} WHERE id = {:id}`, dbx.Params{"mug": mug.Id, "id": medium.Id})
	expect("medium", "Mug")

	// Deletes.
	if err := app.Delete(medium); err != nil {
		t.Fatal(err)
	}
	expect("medium")
	if err := app.Delete(small); err != nil {
		t.Fatal(err)
	}
	if err := app.Delete(tee); err != nil {
		t.Fatal(err)
	}
	expect("hemp")
	var docs, ids int
	if err := app.DB().NewQuery(`SELECT (SELECT COUNT(*) FROM _product_search), (SELECT COUNT(*) FROM _product_search_ids)`).Row(&docs, &ids); err != nil {
		t.Fatal(err)
	}
	if docs != 1 || ids != 1 {
		t.Errorf("index rows after the deletes: %d documents, %d ids; want 1 and 1 (the mug)", docs, ids)
	}

	// Inactive products are not found, and found again once active.
	exec(`UPDATE products SET active = 0 WHERE id = {:id}`, dbx.Params{"id": mug.Id})
	expect("mug")
	exec(`UPDATE products SET active = 1 WHERE id = {:id}`, dbx.Params{"id": mug.Id})
	expect("mug", "Mug")
}

// TestItemsAreTheRecordsAPIs checks that a search item is exactly what the
// records API shows a guest of the same product.
func TestItemsAreTheRecordsAPIs(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	srv := shoptest.Serve(t, app)
	cat := save(t, app, "categories", map[string]any{"name": "Tea", "slug": "tea"})
	p := save(t, app, "products", map[string]any{"name": "Sencha", "slug": "sencha", "sku": "TEA-1", "price_cents": 1200,
		"stock": 4, "active": true, "description": "<p>Green</p>", "categories": []string{cat.Id},
		"options": []map[string]any{{"name": "Bag", "values": []string{"250 g"}}}})

	for _, query := range []string{"", "?expand=categories"} {
		sep := "&"
		if query == "" {
			sep = "?"
		}
		view := shoptest.Do(t, srv, http.MethodGet, "/api/collections/products/records/"+p.Id+query, "", nil)
		found := shoptest.Do(t, srv, http.MethodGet, "/api/shop/search"+query+sep+"q=sencha", "", nil)
		var list struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(found.Raw, &list); err != nil || len(list.Items) != 1 {
			t.Fatalf("search: %s %v", found.Raw, err)
		}
		if !reflect.DeepEqual(list.Items[0], view.Body) {
			t.Errorf("%s: search item\n%v\nrecords API\n%v", query, list.Items[0], view.Body)
		}
	}
}
