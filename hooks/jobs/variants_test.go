package jobs_test

import (
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/jobs"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestLowStockDigestPerVariant: the digest lists each low variant under
// its product's name with its own stock, threshold and sales; neither a
// product sold by variant (it keeps no stock of its own) nor an inactive
// variant is listed.
func TestLowStockDigestPerVariant(t *testing.T) {
	t.Parallel()
	clk := shoptest.NewClock(time.Now())
	deps := hooks.Deps{Now: clk.Now}
	app := shoptest.NewApp(t, deps)
	updateSettings(t, app, map[string]any{"owner_email": "owner@shop.test"})
	col, _ := app.FindCachedCollectionByNameOrId("products")
	shirt := core.NewRecord(col)
	shirt.Load(map[string]any{"name": "T-shirt", "slug": "t-shirt", "sku": "TS", "price_cents": 2000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"S", "M", "L"}}}})
	if err := app.Save(shirt); err != nil {
		t.Fatal(err)
	}
	m := shoptest.CreateVariant(t, app, shirt.Id, map[string]string{"Size": "M"}, 0, 3) // threshold 2
	shoptest.CreateVariant(t, app, shirt.Id, map[string]string{"Size": "L"}, 0, 9)
	s := shoptest.CreateVariant(t, app, shirt.Id, map[string]string{"Size": "S"}, 0, 0)
	s.Set("active", false)
	s.Set("sku", "TS-S")
	if err := app.Save(s); err != nil {
		t.Fatal(err)
	}
	srv := shoptest.Serve(t, app)
	shoptest.PlaceOrder(t, srv, "", map[string]any{"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": shirt.Id, "variant": m.Id, "quantity": 2}}})

	clk.Set(time.Now())
	run := runJob(t, app, deps, jobs.LowStockDigest)
	if !run.OK || run.Processed != 1 {
		t.Fatalf("run = %+v, want 1 low unit", run)
	}
	emails := findEmails(t, app, "low_stock_digest")
	if len(emails) != 1 {
		t.Fatalf("%d digests, want 1", len(emails))
	}
	text := emails[0].GetString("text")
	if !strings.Contains(text, "- T-shirt (M) (TS): 1 in stock (threshold 2), 0.3 sold per day over the last 7 days, about 4 days left") {
		t.Errorf("digest text:\n%s", text)
	}
	if strings.Contains(text, "(S)") || strings.Count(text, "T-shirt") != 1 {
		t.Errorf("digest lists the inactive variant or the product itself:\n%s", text)
	}
}
