package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The search index behind GET /api/shop/search (hooks/search).
//
// _product_search is an FTS5 table with one document per product: its name,
// SKU, description (HTML tags left out) and the titles and SKUs of its
// active variants. Its rowids come from _product_search_ids, which gives
// each product a stable integer (a products rowid would do, but VACUUM may
// renumber the rowids of a table without an INTEGER PRIMARY KEY) and holds
// a copy of products.active: a search counts and ranks its matches without
// reading the products table, whose wide rows made that ten times slower
// at 100,000 products (README, "Search").
//
// SQLite triggers keep the index in step with products and variants in the
// same transaction as every write, whoever makes it: the records API, the
// order path's plain SQL, a CSV import, the sqlite3 shell. They use only
// built-in SQL (no function registered by the Go program), so a write from
// any SQLite client keeps working. Stock-only updates (the order path) do
// not fire them: each update trigger names its columns and checks a change.
//
// The triggers read products.name, sku, description, active and
// variants.product, title, sku, active: SQLite refuses to drop those
// columns while they exist (they are the contract's anyway). PocketBase
// changes a collection's table with ALTER TABLE (add, rename, drop a
// column) and never rebuilds it, and SQLite carries a renamed table or
// column into the triggers, so a schema change in the dashboard keeps them.
func init() {
	m.Register(func(app core.App) error {
		for _, sql := range productSearchUp {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, sql := range productSearchDown {
			if _, err := app.DB().NewQuery(sql).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}

// searchText is the indexable text of the HTML in column: the description
// split at every '<' and '>' (as a JSON array, so that no function beyond
// SQLite's own is needed), without the pieces that are tags, and without
// the common entities.
func searchText(column string) string {
	split := `'[' || replace(replace(json_quote(` + column + `), '<', '","<'), '>', '","') || ']'`
	text := `(SELECT COALESCE(group_concat(value, ' '), '') FROM json_each(` + split + `) WHERE value NOT LIKE '<%')`
	for _, entity := range []string{"&nbsp;", "&amp;", "&lt;", "&gt;", "&quot;", "&#39;"} {
		text = `replace(` + text + `, '` + entity + `', ' ')`
	}
	return text
}

// searchDoc is the document id of the product whose id is the expression product.
func searchDoc(product string) string {
	return `(SELECT doc FROM _product_search_ids WHERE product = ` + product + `)`
}

// searchVariants is the text of the active variants of the product whose id
// is the expression product.
func searchVariants(product string) string {
	return `(SELECT COALESCE(group_concat(v.title || ' ' || v.sku, ' '), '') FROM variants v
		WHERE v.product = ` + product + ` AND v.active = 1)`
}

// refreshSearchVariants rewrites the variants column of a product's document.
func refreshSearchVariants(product string) string {
	return `UPDATE _product_search SET variants = ` + searchVariants(product) + ` WHERE rowid = ` + searchDoc(product)
}

var productSearchUp = []string{
	`CREATE TABLE _product_search_ids (doc INTEGER PRIMARY KEY, product TEXT NOT NULL UNIQUE, active INTEGER NOT NULL)`,
	// Weights (hooks/search) favour the name, then the SKUs, then the
	// description. prefix: the last word of a query is a prefix; these
	// indexes keep a short one fast at 100,000 products.
	`CREATE VIRTUAL TABLE _product_search USING fts5(name, sku, variants, description,
		tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')`,
	`CREATE TRIGGER _product_search_insert AFTER INSERT ON products BEGIN
		INSERT INTO _product_search_ids (product, active) VALUES (NEW.id, NEW.active);
		INSERT INTO _product_search (rowid, name, sku, variants, description)
			VALUES (` + searchDoc("NEW.id") + `, NEW.name, NEW.sku, ` + searchVariants("NEW.id") + `, ` + searchText("NEW.description") + `);
	END`,
	`CREATE TRIGGER _product_search_update AFTER UPDATE OF name, sku, description ON products
		WHEN OLD.name IS NOT NEW.name OR OLD.sku IS NOT NEW.sku OR OLD.description IS NOT NEW.description
		BEGIN
			UPDATE _product_search SET name = NEW.name, sku = NEW.sku, description = ` + searchText("NEW.description") + `
				WHERE rowid = ` + searchDoc("NEW.id") + `;
		END`,
	`CREATE TRIGGER _product_search_active AFTER UPDATE OF active ON products WHEN OLD.active IS NOT NEW.active BEGIN
		UPDATE _product_search_ids SET active = NEW.active WHERE product = NEW.id;
	END`,
	`CREATE TRIGGER _product_search_delete AFTER DELETE ON products BEGIN
		DELETE FROM _product_search WHERE rowid = ` + searchDoc("OLD.id") + `;
		DELETE FROM _product_search_ids WHERE product = OLD.id;
	END`,
	`CREATE TRIGGER _product_search_variant_insert AFTER INSERT ON variants BEGIN
		` + refreshSearchVariants("NEW.product") + `;
	END`,
	`CREATE TRIGGER _product_search_variant_update AFTER UPDATE OF product, title, sku, active ON variants
		WHEN OLD.product IS NOT NEW.product OR OLD.title IS NOT NEW.title OR OLD.sku IS NOT NEW.sku OR OLD.active IS NOT NEW.active
		BEGIN
			` + refreshSearchVariants("OLD.product") + `;
			` + refreshSearchVariants("NEW.product") + `;
		END`,
	`CREATE TRIGGER _product_search_variant_delete AFTER DELETE ON variants BEGIN
		` + refreshSearchVariants("OLD.product") + `;
	END`,
	// The products and variants written before this migration.
	`INSERT INTO _product_search_ids (product, active) SELECT id, active FROM products ORDER BY rowid`,
	`INSERT INTO _product_search (rowid, name, sku, variants, description)
		SELECT i.doc, p.name, p.sku, ` + searchVariants("p.id") + `, ` + searchText("p.description") + `
		FROM products p JOIN _product_search_ids i ON i.product = p.id`,
}

var productSearchDown = []string{
	`DROP TRIGGER IF EXISTS _product_search_insert`,
	`DROP TRIGGER IF EXISTS _product_search_update`,
	`DROP TRIGGER IF EXISTS _product_search_active`,
	`DROP TRIGGER IF EXISTS _product_search_delete`,
	`DROP TRIGGER IF EXISTS _product_search_variant_insert`,
	`DROP TRIGGER IF EXISTS _product_search_variant_update`,
	`DROP TRIGGER IF EXISTS _product_search_variant_delete`,
	`DROP TABLE IF EXISTS _product_search`,
	`DROP TABLE IF EXISTS _product_search_ids`,
}
