package catalog_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// shirt creates a T-shirt (Size x Color) with one variant, M / Red, and
// returns the product's and the variant's ids.
func shirt(t *testing.T, app core.App) (string, string) {
	t.Helper()
	col, _ := app.FindCachedCollectionByNameOrId("products")
	p := core.NewRecord(col)
	p.Load(map[string]any{"name": "T-shirt", "slug": "t-shirt", "sku": "TS", "price_cents": 2000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"S", "M", "L"}}, {"name": "Color", "values": []string{"Red", "Blue"}}}})
	if err := app.Save(p); err != nil {
		t.Fatal(err)
	}
	v := shoptest.CreateVariant(t, app, p.Id, map[string]string{"Size": "M", "Color": "Red"}, 0, 3)
	v.Set("sku", "TS-M-RED")
	if err := app.Save(v); err != nil {
		t.Fatal(err)
	}
	return p.Id, v.Id
}

// fieldMessage returns the message of field in a 400's data.
func fieldMessage(res shoptest.Response, field string) string {
	data, _ := res.Body["data"].(map[string]any)
	f, _ := data[field].(map[string]any)
	msg, _ := f["message"].(string)
	return msg
}

// TestCatalogRefusesBadWrites sends the owner's bad saves of products,
// variants and categories: each is a 400 with a message on the field, and
// nothing changes.
func TestCatalogRefusesBadWrites(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	productID, variantID := shirt(t, app)
	other := shoptest.CreateProduct(t, app, "mug", 1200, 4)
	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)

	cat := func(name, slug, parent string) string {
		t.Helper()
		res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/categories/records", su,
			map[string]any{"name": name, "slug": slug, "parent": parent})
		if res.Status != http.StatusOK {
			t.Fatalf("create category %s: %d %s", slug, res.Status, res.Raw)
		}
		return res.Body["id"].(string)
	}
	clothing := cat("Clothing", "clothing", "")
	shirts := cat("Shirts", "shirts", clothing)
	tees := cat("Tees", "tees", shirts)

	option := func(name string, values ...string) map[string]any {
		return map[string]any{"name": name, "values": values}
	}
	for _, tt := range []struct {
		name   string
		method string
		path   string
		body   map[string]any
		field  string
		want   string // part of the field's message
	}{
		{"variant options the product does not allow", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "options": map[string]string{"Size": "XL", "Color": "Red"}},
			"options", `"XL" is not a value of "Size"`},
		{"variant options missing an option", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "options": map[string]string{"Size": "S"}},
			"options", `Choose a value for "Color"`},
		{"variant options with an unknown option", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "options": map[string]string{"Size": "S", "Color": "Red", "Fit": "Slim"}},
			"options", `no option "Fit"`},
		{"variant options not an object", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "options": []string{"S", "Red"}},
			"options", "Must be an object of option values"},
		{"variant options on a product without options", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": other.Id, "options": map[string]string{"Size": "S"}},
			"options", "The product has no options"},
		{"two variants with the same options", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "options": map[string]string{"Color": "Red", "Size": " M "}},
			"options", `Variant "M / Red" of this product already has these options.`},
		{"a variant moved to another product", http.MethodPatch, "/api/collections/variants/records/" + variantID,
			map[string]any{"product": other.Id},
			"product", "cannot move to another product"},
		{"a variant SKU a product has", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "sku": "TS", "options": map[string]string{"Size": "S", "Color": "Red"}},
			"sku", `SKU "TS" is already used by "T-shirt".`},
		{"a variant SKU another variant has", http.MethodPost, "/api/collections/variants/records",
			map[string]any{"product": productID, "sku": "TS-M-RED", "options": map[string]string{"Size": "S", "Color": "Red"}},
			"sku", ""},
		{"a product SKU a variant has", http.MethodPatch, "/api/collections/products/records/" + other.Id,
			map[string]any{"sku": "TS-M-RED"},
			"sku", `SKU "TS-M-RED" is already used by "T-shirt (M / Red)".`},
		{"four options", http.MethodPatch, "/api/collections/products/records/" + other.Id,
			map[string]any{"options": []any{option("A", "1"), option("B", "1"), option("C", "1"), option("D", "1")}},
			"options", "at most 3 options"},
		{"an option without values", http.MethodPatch, "/api/collections/products/records/" + other.Id,
			map[string]any{"options": []any{option("Size")}},
			"options", `Option "Size" needs at least one value.`},
		{"an option twice", http.MethodPatch, "/api/collections/products/records/" + other.Id,
			map[string]any{"options": []any{option("Size", "S"), option("size", "M")}},
			"options", "listed twice"},
		{"options not a list", http.MethodPatch, "/api/collections/products/records/" + other.Id,
			map[string]any{"options": map[string]any{"Size": "S"}},
			"options", "Must be a list of options"},
		{"options that drop a variant's value", http.MethodPatch, "/api/collections/products/records/" + productID,
			map[string]any{"options": []any{option("Size", "S", "L"), option("Color", "Red", "Blue")}},
			"options", `Variant "M / Red" would no longer fit`},
		{"a category its own parent", http.MethodPatch, "/api/collections/categories/records/" + clothing,
			map[string]any{"parent": clothing},
			"parent", "cannot be inside itself"},
		{"a category inside its grandchild", http.MethodPatch, "/api/collections/categories/records/" + clothing,
			map[string]any{"parent": tees},
			"parent", "cannot be inside itself or one of its sub-categories"},
		{"a category slug taken", http.MethodPost, "/api/collections/categories/records",
			map[string]any{"name": "More", "slug": "shirts"},
			"slug", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, app)
			res := shoptest.Do(t, srv, tt.method, tt.path, su, tt.body)
			if res.Status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", res.Status, res.Raw)
			}
			if msg := fieldMessage(res, tt.field); msg == "" || !strings.Contains(msg, tt.want) {
				t.Errorf("data.%s message %q, want it to contain %q (%s)", tt.field, msg, tt.want, res.Raw)
			}
			if after := snapshot(t, app); after != before {
				t.Errorf("the refused save changed the catalog:\n%s\n%s", before, after)
			}
		})
	}

	// What is allowed: a variant with the other options, in any key order
	// and spacing, stored in one canonical form and titled by its options.
	res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/variants/records", su, map[string]any{
		"product": productID, "options": map[string]string{" Color ": "Blue", "Size": "L "}, "active": true})
	if res.Status != http.StatusOK {
		t.Fatalf("create L / Blue: %d %s", res.Status, res.Raw)
	}
	if got, _ := json.Marshal(res.Body["options"]); string(got) != `{"Color":"Blue","Size":"L"}` || res.Body["title"] != "L / Blue" {
		t.Errorf("stored options %s, title %v", got, res.Body["title"])
	}
	// Moving a category under another branch is fine.
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/categories/records/"+tees, su, map[string]any{"parent": clothing})
	if res.Status != http.StatusOK {
		t.Errorf("move tees: %d %s", res.Status, res.Raw)
	}
}

// snapshot returns the catalog's rows as text.
func snapshot(t *testing.T, app core.App) string {
	t.Helper()
	var out strings.Builder
	for _, c := range []string{"products", "variants", "categories", "stock_movements"} {
		records, err := app.FindAllRecords(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			b, _ := json.Marshal(r)
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// TestVariantDelete: a variant whose stock never moved can be deleted; one
// with a ledger cannot (its rows would count as the product's), and the
// answer says to deactivate it.
func TestVariantDelete(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	productID, withStock := shirt(t, app)
	noStock := shoptest.CreateVariant(t, app, productID, map[string]string{"Size": "S", "Color": "Blue"}, 0, 0)
	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)

	res := shoptest.Do(t, srv, http.MethodDelete, "/api/collections/variants/records/"+withStock, su, nil)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "deactivate it instead") {
		t.Fatalf("delete a variant with movements: %d %s", res.Status, res.Raw)
	}
	if n := shoptest.Count(t, app, "variants"); n != 2 {
		t.Fatalf("%d variants, want 2", n)
	}
	res = shoptest.Do(t, srv, http.MethodDelete, "/api/collections/variants/records/"+noStock.Id, su, nil)
	if res.Status != http.StatusNoContent {
		t.Fatalf("delete a variant without movements: %d %s", res.Status, res.Raw)
	}
	shoptest.CheckLedger(t, app)
}

// TestCatalogReadRules: anyone reads categories and the active variants of
// active products; nobody but superusers writes them.
func TestCatalogReadRules(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	productID, active := shirt(t, app)
	inactive := shoptest.CreateVariant(t, app, productID, map[string]string{"Size": "S", "Color": "Blue"}, 0, 1)
	inactive.Set("active", false)
	if err := app.Save(inactive); err != nil {
		t.Fatal(err)
	}
	hidden := shoptest.CreateProduct(t, app, "hidden", 100, 0)
	hidden.Set("active", false)
	hidden.Set("options", []map[string]any{{"name": "Size", "values": []string{"One"}}})
	if err := app.Save(hidden); err != nil {
		t.Fatal(err)
	}
	ofHidden := shoptest.CreateVariant(t, app, hidden.Id, map[string]string{"Size": "One"}, 0, 1)
	srv := shoptest.Serve(t, app)
	_, customer := shoptest.CreateUser(t, app, "ann@example.com")
	su := shoptest.SuperuserToken(t, app)
	res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/categories/records", su, map[string]any{"name": "Tops", "slug": "tops"})
	if res.Status != http.StatusOK {
		t.Fatalf("create category: %d %s", res.Status, res.Raw)
	}

	for _, who := range []struct{ name, token string }{{"guest", ""}, {"customer", customer}} {
		res := shoptest.Do(t, srv, http.MethodGet, "/api/collections/variants/records", who.token, nil)
		items, _ := res.Body["items"].([]any)
		if res.Status != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["id"] != active {
			t.Errorf("%s lists variants: %d %s, want only %s", who.name, res.Status, res.Raw, active)
		}
		for _, id := range []string{inactive.Id, ofHidden.Id} {
			if res := shoptest.Do(t, srv, http.MethodGet, "/api/collections/variants/records/"+id, who.token, nil); res.Status != http.StatusNotFound {
				t.Errorf("%s views hidden variant %s: %d", who.name, id, res.Status)
			}
		}
		res = shoptest.Do(t, srv, http.MethodGet, "/api/collections/categories/records", who.token, nil)
		if items, _ := res.Body["items"].([]any); res.Status != http.StatusOK || len(items) != 1 {
			t.Errorf("%s lists categories: %d %s", who.name, res.Status, res.Raw)
		}
		for _, w := range []struct{ method, path string }{
			{http.MethodPost, "/api/collections/categories/records"},
			{http.MethodPatch, "/api/collections/variants/records/" + active},
			{http.MethodPost, "/api/collections/variants/records"},
		} {
			res := shoptest.Do(t, srv, w.method, w.path, who.token, map[string]any{"name": "x", "slug": "x", "stock": 99, "product": productID})
			if res.Status != http.StatusForbidden && res.Status != http.StatusNotFound && res.Status != http.StatusBadRequest {
				t.Errorf("%s %s %s: %d %s", who.name, w.method, w.path, res.Status, res.Raw)
			}
		}
	}
	if got := shoptest.VariantStock(t, app, active); got != 3 {
		t.Errorf("stock of %s is %d after the refused writes, want 3", active, got)
	}
	if n := shoptest.Count(t, app, "categories"); n != 1 {
		t.Errorf("%d categories after the refused writes, want 1", n)
	}
}
