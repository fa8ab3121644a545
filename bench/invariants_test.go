package main

import (
	"path/filepath"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestLedgerInvariantPerSKU runs the bench's stock checks on a shop with a
// product sold by variant and a simple product: they pass, and a variant
// whose stock no longer matches its ledger fails them, named.
func TestLedgerInvariantPerSKU(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	col, _ := app.FindCachedCollectionByNameOrId("products")
	shirt := core.NewRecord(col)
	shirt.Load(map[string]any{"name": "T-shirt", "slug": "t-shirt", "price_cents": 2000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"M", "L"}}}})
	if err := app.Save(shirt); err != nil {
		t.Fatal(err)
	}
	m := shoptest.CreateVariant(t, app, shirt.Id, map[string]string{"Size": "M"}, 0, 5)
	mug := shoptest.CreateProduct(t, app, "mug", 1200, 4)
	srv := shoptest.Serve(t, app)
	shoptest.PlaceOrder(t, srv, "", map[string]any{"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": shirt.Id, "variant": m.Id, "quantity": 2}, {"product": mug.Id, "quantity": 1}}})

	dbPath := filepath.Join(app.DataDir(), "data.db")
	ledger := func() check {
		for _, c := range checkInvariants(dbPath, newObserved(), false) {
			if c.Name == "stock == start + ledger, per SKU" {
				return c
			}
		}
		t.Fatal("no ledger check")
		return check{}
	}
	if c := ledger(); c.Status != pass || c.Detail != "2 products, 1 variants" {
		t.Fatalf("ledger check on a consistent shop: %+v", c)
	}
	if _, err := app.DB().NewQuery("UPDATE variants SET stock = 9 WHERE id = {:id}").Bind(map[string]any{"id": m.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if c := ledger(); c.Status != fail || c.Detail != "variant "+m.Id+": stock 9, ledger 3" {
		t.Fatalf("ledger check on a broken variant: %+v", c)
	}
}
