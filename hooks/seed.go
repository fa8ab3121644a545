package hooks

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// demoProducts is a small catalog to try the shop with.
var demoProducts = []map[string]any{
	{"name": "Enamel Mug", "slug": "enamel-mug", "sku": "MUG-001", "price_cents": 1800, "stock": 25, "low_stock_threshold": 5,
		"description": "<p>A camp mug that survives the dishwasher and the campfire.</p>"},
	{"name": "Canvas Tote", "slug": "canvas-tote", "sku": "TOTE-001", "price_cents": 2400, "stock": 12, "low_stock_threshold": 3,
		"description": "<p>Heavy cotton canvas, long handles, one inside pocket.</p>"},
	{"name": "Sticker Pack", "slug": "sticker-pack", "sku": "STK-010", "price_cents": 600, "stock": 200, "low_stock_threshold": 20,
		"description": "<p>Ten weatherproof vinyl stickers.</p>"},
	{"name": "Wool Beanie", "slug": "wool-beanie", "sku": "HAT-002", "price_cents": 3200, "stock": 3, "low_stock_threshold": 2,
		"description": "<p>Merino wool, one size. Almost gone.</p>"},
	{"name": "Field Notebook", "slug": "field-notebook", "sku": "NB-003", "price_cents": 1200, "stock": 0, "low_stock_threshold": 5,
		"description": "<p>Waterproof paper, 48 pages. Sold out for now.</p>"},
}

// SeedDemoCatalog adds the demo products that are not there yet (matched by
// slug), with a T-shirt sold by variant and two categories
// (seed_catalog.go), and returns how many products it added.
func SeedDemoCatalog(app core.App) (int, error) {
	col, err := app.FindCollectionByNameOrId("products")
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	added := 0
	err = app.RunInTransaction(func(txApp core.App) error {
		for _, data := range demoProducts {
			exists, err := txApp.CountRecords(col, dbx.HashExp{"slug": data["slug"]})
			if err != nil {
				return err
			}
			if exists > 0 {
				continue
			}
			p := core.NewRecord(col)
			p.Load(data)
			p.Set("active", true)
			if err := txApp.Save(p); err != nil {
				return fmt.Errorf("seed product %s: %w", data["slug"], err)
			}
			added++
		}
		n, err := seedDemoCategories(txApp)
		added += n
		return err
	})
	return added, err
}

// demoPricing are the demo pricing rules, keyed by collection, each matched
// by its first field when seeding again: a 10% code, a VAT rate and two
// shipping rates that never cover the same country (an address needs no
// choice of rate).
var demoPricing = []struct {
	collection, key string
	data            map[string]any
}{
	{"discount_codes", "code", map[string]any{"code": "WELCOME10", "kind": "percent", "value": 10, "active": true}},
	{"tax_rates", "name", map[string]any{"name": "VAT", "country": "GB", "rate_bp": 2000, "applies_to_shipping": true}},
	{"shipping_rates", "name", map[string]any{"name": "Domestic", "countries": []string{"US"}, "price_cents": 500,
		"free_over_cents": 5000, "active": true, "position": 1}},
	{"shipping_rates", "name", map[string]any{"name": "International", "countries": []string{"CA", "GB", "IE", "DE", "FR", "NL", "ES", "IT", "AU"},
		"price_cents": 1500, "active": true, "position": 2}},
}

// SeedDemoPricing adds the demo pricing rules that are not there yet and
// returns how many it added.
func SeedDemoPricing(app core.App) (int, error) {
	added := 0
	err := app.RunInTransaction(func(txApp core.App) error {
		for _, d := range demoPricing {
			col, err := txApp.FindCollectionByNameOrId(d.collection)
			if err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			exists, err := txApp.CountRecords(col, dbx.HashExp{d.key: d.data[d.key]})
			if err != nil {
				return err
			}
			if exists > 0 {
				continue
			}
			r := core.NewRecord(col)
			r.Load(d.data)
			if err := txApp.Save(r); err != nil {
				return fmt.Errorf("seed %s %v: %w", d.collection, d.data[d.key], err)
			}
			added++
		}
		return nil
	})
	return added, err
}
