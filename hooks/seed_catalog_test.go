package hooks_test

import (
	"net/http"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
)

// TestSeedHasVariantsAndCategories: the demo catalog has a T-shirt sold by
// variant (one combination sold out) in a nested category, orderable by
// variant, and a second seed adds nothing.
func TestSeedHasVariantsAndCategories(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	if _, err := hooks.SeedDemoCatalog(app); err != nil {
		t.Fatal(err)
	}
	if _, err := hooks.SeedDemoCatalog(app); err != nil {
		t.Fatal(err)
	}
	if n := shoptest.Count(t, app, "variants"); n != 6 {
		t.Fatalf("%d variants, want 6", n)
	}
	tee, err := app.FindFirstRecordByData("products", "slug", "organic-t-shirt")
	if err != nil {
		t.Fatal(err)
	}
	tees, err := app.FindFirstRecordByData("categories", "slug", "t-shirts")
	if err != nil {
		t.Fatal(err)
	}
	clothing, err := app.FindFirstRecordByData("categories", "slug", "clothing")
	if err != nil || tees.GetString("parent") != clothing.Id {
		t.Fatalf("t-shirts' parent %q, clothing %v %v", tees.GetString("parent"), clothing, err)
	}
	if got := tee.GetStringSlice("categories"); len(got) != 1 || got[0] != tees.Id {
		t.Errorf("T-shirt's categories %v, want [%s]", got, tees.Id)
	}
	soldOut, err := app.FindFirstRecordByFilter("variants", "stock = 0")
	if err != nil || soldOut.GetString("title") != "L / Black" {
		t.Fatalf("sold-out variant %v %v", soldOut, err)
	}
	m, err := app.FindFirstRecordByData("variants", "sku", "TEE-M-BLK")
	if err != nil {
		t.Fatal(err)
	}

	srv := shoptest.Serve(t, app)
	order := shoptest.PlaceOrder(t, srv, "", map[string]any{"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": tee.Id, "variant": m.Id, "quantity": 1}}})
	if order["subtotal_cents"] != 2500.0 {
		t.Errorf("subtotal %v, want 2500", order["subtotal_cents"])
	}
	res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
		"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": tee.Id, "variant": soldOut.Id, "quantity": 1}}})
	if res.Status != http.StatusBadRequest {
		t.Errorf("ordering the sold-out variant: %d %s", res.Status, res.Raw)
	}
	if n, _ := app.CountRecords("stock_movements", dbx.HashExp{"variant": m.Id}); n != 2 {
		t.Errorf("M / Black has %d movements, want its restock and the reserve", n)
	}
	shoptest.CheckLedger(t, app)
}
