package orders

import (
	"fmt"

	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// UnitCrossing is what a stock movement's unit (a simple product or a
// variant) crossed going down, with what an alert shows of the unit.
type UnitCrossing struct {
	shop.StockCrossing
	ProductID    string
	VariantID    string // empty for a simple product
	Name         string // the product's name
	VariantTitle string // empty for a simple product
	SKU          string // the variant's when it has one, else the product's
	Stock        int    // after the movement
	Threshold    int
}

// MovementCrossing says whether stock movement mv took its unit's stock
// below the unit's low-stock threshold or to zero (shop.CrossedStockLevels,
// the one rule for both). Every alert asks it with the movement it reacts
// to: the owner's low-stock email (package outbox) and the
// product.low_stock / product.out_of_stock webhooks. A movement that added
// stock costs no query; any other reads the threshold alone, and the
// unit's names only for a crossing. Call it with the app of the
// transaction that wrote mv, or after its commit.
func MovementCrossing(app core.App, mv *core.Record) (UnitCrossing, error) {
	after := mv.GetInt("stock_after")
	before := after - mv.GetInt("delta")
	out := UnitCrossing{ProductID: mv.GetString("product"), VariantID: mv.GetString("variant"), Stock: after}
	if before <= after {
		return out, nil
	}
	table, id := "products", out.ProductID
	if out.VariantID != "" {
		table, id = "variants", out.VariantID
	}
	var unit struct {
		Threshold int `db:"low_stock_threshold"`
	}
	if err := app.DB().Select("low_stock_threshold").From(table).Where(dbx.HashExp{"id": id}).One(&unit); err != nil {
		return out, fmt.Errorf("read threshold of %s %s (stock movement %s): %w", table, id, mv.Id, err)
	}
	out.Threshold = unit.Threshold
	out.StockCrossing = shop.CrossedStockLevels(before, after, unit.Threshold)
	if !out.Any() {
		return out, nil
	}
	var names struct {
		Name   string `db:"name"`
		SKU    string `db:"sku"`
		Title  string `db:"title"`
		VarSKU string `db:"variant_sku"`
	}
	err := app.DB().NewQuery(`SELECT p.[[name]], p.[[sku]], COALESCE(v.[[title]], '') AS [[title]], COALESCE(v.[[sku]], '') AS [[variant_sku]]
		FROM {{products}} p LEFT JOIN {{variants}} v ON v.[[id]] = {:variant} AND v.[[product]] = p.[[id]]
		WHERE p.[[id]] = {:product}`).
		Bind(dbx.Params{"product": out.ProductID, "variant": out.VariantID}).One(&names)
	if err != nil {
		return out, fmt.Errorf("read names of the unit of stock movement %s: %w", mv.Id, err)
	}
	out.Name, out.VariantTitle, out.SKU = names.Name, names.Title, names.SKU
	if names.VarSKU != "" {
		out.SKU = names.VarSKU
	}
	return out, nil
}
