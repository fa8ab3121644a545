package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The catalog of the second round (CONTRACT.md, "Catalog: variants,
// categories, search"):
//   - variants: a product sold in versions (a size, a colour), each with its
//     own SKU, price, stock and low-stock threshold. A product with active
//     variants is ordered by variant and its stock is held on the variants
//     (hooks/orders). Anyone reads the active variants of active products.
//     Deleting a product deletes its variants (a product with stock
//     movements cannot be deleted: the ledger needs it);
//   - categories: nested by parent, read by anyone;
//   - products.options: the option names and values its variants pick from
//     ([{name, values}], at most 3, checked by hooks/catalog);
//     products.categories: the categories a product is listed in;
//   - stock_movements.variant: the variant a movement changed (empty for a
//     simple product), so the ledger adds up per stock-keeping unit.
//
// Uniqueness: a variant's SKU when set (like a product's), a category's slug,
// and a product's variants' options (hooks/catalog stores options in one
// canonical JSON form, so the index sees two equal option sets as equal).
func init() {
	m.Register(upCatalog, downCatalog)
}

func upCatalog(app core.App) error {
	products, err := app.FindCollectionByNameOrId("products")
	if err != nil {
		return err
	}

	categories := core.NewBaseCollection("categories")
	categories.ListRule = types.Pointer("")
	categories.ViewRule = types.Pointer("")
	categories.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
		&core.TextField{Name: "slug", Required: true, Max: 100, Pattern: `^[a-z0-9]+(?:-[a-z0-9]+)*$`},
		&core.NumberField{Name: "position", OnlyInt: true},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	categories.AddIndex("idx_categories_slug", true, "slug", "")
	if err := app.Save(categories); err != nil {
		return err
	}
	// The self-relation needs the collection's id, given by the first save.
	categories.Fields.Add(&core.RelationField{Name: "parent", CollectionId: categories.Id, MaxSelect: 1})
	categories.AddIndex("idx_categories_parent", false, "parent, position", "")
	if err := app.Save(categories); err != nil {
		return err
	}

	variants := core.NewBaseCollection("variants")
	variants.ListRule = types.Pointer("active = true && product.active = true")
	variants.ViewRule = types.Pointer("active = true && product.active = true")
	variants.Fields.Add(
		&core.RelationField{Name: "product", CollectionId: products.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		&core.TextField{Name: "title", Max: 200, Presentable: true},
		&core.TextField{Name: "sku", Max: 64},
		&core.JSONField{Name: "options", MaxSize: 2_000},
		&core.NumberField{Name: "price_cents", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(10_000_000_000))},
		&core.NumberField{Name: "stock", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(1_000_000_000))},
		&core.NumberField{Name: "low_stock_threshold", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.BoolField{Name: "active"},
		&core.NumberField{Name: "position", OnlyInt: true},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	variants.AddIndex("idx_variants_sku", true, "sku", "sku != ''")
	variants.AddIndex("idx_variants_product_options", true, "product, options", "")
	variants.AddIndex("idx_variants_product_position", false, "product, active, position", "")
	if err := app.Save(variants); err != nil {
		return err
	}

	products.Fields.Add(
		&core.JSONField{Name: "options", MaxSize: 5_000},
		&core.RelationField{Name: "categories", CollectionId: categories.Id, MaxSelect: 100},
	)
	if err := app.Save(products); err != nil {
		return err
	}

	movements, err := app.FindCollectionByNameOrId("stock_movements")
	if err != nil {
		return err
	}
	movements.Fields.Add(&core.RelationField{Name: "variant", CollectionId: variants.Id, MaxSelect: 1})
	movements.AddIndex("idx_stock_movements_variant", false, "variant, created", "variant != ''")
	return app.Save(movements)
}

func downCatalog(app core.App) error {
	movements, err := app.FindCollectionByNameOrId("stock_movements")
	if err != nil {
		return err
	}
	movements.RemoveIndex("idx_stock_movements_variant")
	movements.Fields.RemoveByName("variant")
	if err := app.Save(movements); err != nil {
		return err
	}
	products, err := app.FindCollectionByNameOrId("products")
	if err != nil {
		return err
	}
	products.Fields.RemoveByName("options")
	products.Fields.RemoveByName("categories")
	if err := app.Save(products); err != nil {
		return err
	}
	for _, name := range []string{"variants", "categories"} {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			continue // already gone
		}
		if err := app.Delete(c); err != nil {
			return err
		}
	}
	return nil
}
