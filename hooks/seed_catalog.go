package hooks

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// The demo catalog's categories (Clothing, and T-shirts inside it) and a
// product sold by variant: a T-shirt in three sizes and two colours, one
// combination sold out, one low, one dearer.
var (
	demoCategories = []map[string]any{
		{"name": "Clothing", "slug": "clothing", "position": 1},
		{"name": "T-shirts", "slug": "t-shirts", "position": 1, "parent": "clothing"},
	}
	// demoCategoryOf lists demo products in categories, by slug.
	demoCategoryOf = map[string]string{"wool-beanie": "clothing", "organic-t-shirt": "t-shirts"}

	demoTee = map[string]any{
		"name": "Organic T-shirt", "slug": "organic-t-shirt", "sku": "TEE", "price_cents": 2500,
		"description": "<p>Heavy organic cotton, cut roomy. Pick a size and a colour.</p>",
		"options": []map[string]any{
			{"name": "Size", "values": []string{"S", "M", "L"}},
			{"name": "Color", "values": []string{"Black", "White"}},
		},
	}
	demoTeeVariants = []map[string]any{
		{"options": map[string]string{"Size": "S", "Color": "Black"}, "sku": "TEE-S-BLK", "stock": 8},
		{"options": map[string]string{"Size": "M", "Color": "Black"}, "sku": "TEE-M-BLK", "stock": 12},
		{"options": map[string]string{"Size": "L", "Color": "Black"}, "sku": "TEE-L-BLK", "stock": 0},
		{"options": map[string]string{"Size": "S", "Color": "White"}, "sku": "TEE-S-WHT", "stock": 5},
		{"options": map[string]string{"Size": "M", "Color": "White"}, "sku": "TEE-M-WHT", "stock": 2},
		{"options": map[string]string{"Size": "L", "Color": "White"}, "sku": "TEE-L-WHT", "stock": 6, "price_cents": 2700},
	}
)

// seedDemoCategories adds the demo categories not there yet (by slug) and
// the demo T-shirt with its variants if it is not there; it puts the demo
// products that have no category yet in theirs. It returns how many
// products it added (0 or 1). txApp is the seed's transaction.
func seedDemoCategories(txApp core.App) (int, error) {
	categories, err := txApp.FindCollectionByNameOrId("categories")
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	ids := map[string]string{}
	for _, data := range demoCategories {
		slug := data["slug"].(string)
		c, err := txApp.FindFirstRecordByData(categories, "slug", slug)
		if err != nil {
			c = core.NewRecord(categories)
			c.Load(data)
			c.Set("parent", ids[fmt.Sprint(data["parent"])])
			if err := txApp.Save(c); err != nil {
				return 0, fmt.Errorf("seed category %s: %w", slug, err)
			}
		}
		ids[slug] = c.Id
	}

	added := 0
	products, err := txApp.FindCollectionByNameOrId("products")
	if err != nil {
		return 0, fmt.Errorf("seed: %w", err)
	}
	if n, err := txApp.CountRecords(products, dbx.HashExp{"slug": demoTee["slug"]}); err != nil {
		return 0, err
	} else if n == 0 {
		if err := seedDemoTee(txApp, products); err != nil {
			return 0, err
		}
		added++
	}

	for productSlug, categorySlug := range demoCategoryOf {
		p, err := txApp.FindFirstRecordByData(products, "slug", productSlug)
		if err != nil || len(p.GetStringSlice("categories")) > 0 {
			continue // removed by the owner, or already listed
		}
		p.Set("categories", []string{ids[categorySlug]})
		if err := txApp.Save(p); err != nil {
			return 0, fmt.Errorf("seed: list %s in %s: %w", productSlug, categorySlug, err)
		}
	}
	return added, nil
}

func seedDemoTee(txApp core.App, products *core.Collection) error {
	tee := core.NewRecord(products)
	tee.Load(demoTee)
	tee.Set("active", true)
	if err := txApp.Save(tee); err != nil {
		return fmt.Errorf("seed product %s: %w", demoTee["slug"], err)
	}
	variants, err := txApp.FindCollectionByNameOrId("variants")
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	for i, data := range demoTeeVariants {
		v := core.NewRecord(variants)
		v.Load(data)
		v.Set("product", tee.Id)
		v.Set("active", true)
		v.Set("position", i+1)
		v.Set("low_stock_threshold", 3)
		if err := txApp.Save(v); err != nil {
			return fmt.Errorf("seed variant %s: %w", data["sku"], err)
		}
	}
	return nil
}
