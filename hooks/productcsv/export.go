package productcsv

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// exportRow is one product, with one of its variants when it has any, as
// stored. Numbers are read as floats: PocketBase's number columns are
// NUMERIC.
type exportRow struct {
	Slug        string  `db:"slug"`
	Name        string  `db:"name"`
	SKU         string  `db:"sku"`
	Description string  `db:"description"`
	Price       float64 `db:"price_cents"`
	Stock       float64 `db:"stock"`
	LowStock    float64 `db:"low_stock_threshold"`
	Active      bool    `db:"active"`
	Categories  string  `db:"categories"`
	Options     string  `db:"options"`

	HasVariant bool    `db:"has_variant"`
	VTitle     string  `db:"v_title"`
	VSKU       string  `db:"v_sku"`
	VOptions   string  `db:"v_options"`
	VPrice     float64 `db:"v_price_cents"`
	VStock     float64 `db:"v_stock"`
	VLowStock  float64 `db:"v_low_stock_threshold"`
	VActive    bool    `db:"v_active"`
	VPosition  float64 `db:"v_position"`
}

// exportQuery reads the catalog in one statement (one snapshot, however
// the shop is written meanwhile), in an order that does not depend on
// record ids: products by slug, a product's variants by position and
// options (unique within a product).
const exportQuery = `SELECT p.slug, p.name, p.sku, p.description, p.price_cents, p.stock, p.low_stock_threshold, p.active,
	p.categories, COALESCE(p.options, '') AS options,
	v.id IS NOT NULL AS has_variant, COALESCE(v.title, '') AS v_title, COALESCE(v.sku, '') AS v_sku,
	COALESCE(v.options, '') AS v_options, COALESCE(v.price_cents, 0) AS v_price_cents, COALESCE(v.stock, 0) AS v_stock,
	COALESCE(v.low_stock_threshold, 0) AS v_low_stock_threshold, COALESCE(v.active, 0) AS v_active,
	COALESCE(v.position, 0) AS v_position
	FROM products p LEFT JOIN variants v ON v.product = p.id
	ORDER BY p.slug, v.position, v.options`

// Export writes the whole catalog to w as CSV (Columns). progress, when
// not nil, is told the number of rows to come and then each row written.
func Export(app core.App, w io.Writer, progress Progress) (int, error) {
	slugs, err := categorySlugs(app)
	if err != nil {
		return 0, err
	}
	if progress != nil {
		var total int
		err := app.DB().NewQuery(`SELECT COUNT(*) FROM products p LEFT JOIN variants v ON v.product = p.id`).Row(&total)
		if err != nil {
			return 0, fmt.Errorf("count the rows to export: %w", err)
		}
		progress.Start(total, "export")
		defer progress.Finish()
	}
	var rows []exportRow
	if err := app.DB().NewQuery(exportQuery).All(&rows); err != nil {
		return 0, fmt.Errorf("read the catalog: %w", err)
	}
	out := csv.NewWriter(w)
	if err := out.Write(Columns); err != nil {
		return 0, err
	}
	for _, r := range rows {
		record := []string{
			r.Slug, r.Name, r.SKU, r.Description, formatInt(int64(r.Price)), formatInt(int64(r.Stock)),
			formatInt(int64(r.LowStock)), formatBool(r.Active), exportCategories(r.Categories, slugs), exportOptions(r.Options),
			"", "", "", "", "", "", "", "",
		}
		if r.HasVariant {
			copy(record[productColumns:], []string{
				r.VTitle, r.VSKU, exportVariantOptions(r.VOptions), formatInt(int64(r.VPrice)), formatInt(int64(r.VStock)),
				formatInt(int64(r.VLowStock)), formatBool(r.VActive), formatInt(int64(r.VPosition)),
			})
		}
		if err := out.Write(record); err != nil {
			return 0, err
		}
		if progress != nil {
			progress.Add(1)
		}
	}
	out.Flush()
	return len(rows), out.Error()
}

// categorySlugs maps every category's id to its slug.
func categorySlugs(app core.App) (map[string]string, error) {
	var cats []struct {
		ID   string `db:"id"`
		Slug string `db:"slug"`
	}
	if err := app.DB().NewQuery(`SELECT id, slug FROM categories`).All(&cats); err != nil {
		return nil, fmt.Errorf("read the categories: %w", err)
	}
	slugs := make(map[string]string, len(cats))
	for _, c := range cats {
		slugs[c.ID] = c.Slug
	}
	return slugs, nil
}

// exportCategories turns a product's category ids (JSON) into their slugs,
// in the product's order.
func exportCategories(raw string, slugs map[string]string) string {
	var ids []string
	_ = json.Unmarshal([]byte(raw), &ids) // empty or malformed: no categories
	var out []string
	for _, id := range ids {
		if s, ok := slugs[id]; ok {
			out = append(out, s)
		}
	}
	return strings.Join(out, categorySeparator)
}

// exportOptions writes a product's options as compact JSON, "" for none.
func exportOptions(raw string) string {
	opts, err := shop.ParseProductOptions([]byte(raw))
	if err != nil || len(opts) == 0 {
		return ""
	}
	return compactJSON(opts)
}

// exportVariantOptions writes a variant's options as a compact JSON object
// (keys sorted), "" for none.
func exportVariantOptions(raw string) string {
	chosen, err := shop.ParseVariantOptions([]byte(raw))
	if err != nil || len(chosen) == 0 {
		return ""
	}
	return compactJSON(chosen)
}
