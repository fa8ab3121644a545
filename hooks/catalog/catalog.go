// Package catalog keeps the catalog consistent for every writer (the
// dashboard, an import, Go code): a product's options, its variants'
// options (values the product allows, no two variants alike), SKUs unique
// across products and variants, and categories that never contain
// themselves. The stock of products and variants, and its ledger, are
// package orders' (inventory.go).
package catalog

import (
	"database/sql"
	"errors"
	"fmt"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// maxCategoryDepth bounds the walk up a category's parents; deeper trees
// are refused (a shop's navigation never needs them).
const maxCategoryDepth = 20

// Manager binds the catalog's record hooks. It needs only the app.
type Manager struct {
	app core.App
}

// New returns the catalog component of app.
func New(app core.App) *Manager {
	return &Manager{app: app}
}

// Bind binds the catalog's hooks to the app. They run as the record's
// validation, so they hold for every save that validates.
func (m *Manager) Bind() {
	m.app.OnRecordValidate("products").BindFunc(m.onProductValidate)
	m.app.OnRecordValidate("variants").BindFunc(m.onVariantValidate)
	m.app.OnRecordValidate("categories").BindFunc(m.onCategoryValidate)
	m.app.OnRecordDelete("variants").BindFunc(m.onVariantDelete)
}

// jsonField returns a JSON field's raw value.
func jsonField(r *core.Record, name string) []byte {
	raw, _ := r.Get(name).(types.JSONRaw)
	return raw
}

// onProductValidate checks a product's options and keeps them in the
// trimmed form the variants are checked against; a change of options that
// would leave a variant with a value the product no longer allows is
// refused, naming the variant.
func (m *Manager) onProductValidate(e *core.RecordEvent) error {
	errs := validation.Errors{}
	opts, err := shop.ParseProductOptions(jsonField(e.Record, "options"))
	if err != nil {
		errs["options"] = validation.NewError("invalid_options", err.Error())
	} else {
		if opts != nil {
			e.Record.Set("options", opts)
		}
		if !e.Record.IsNew() {
			if msg, err := misfitVariant(e.App, e.Record.Id, opts); err != nil {
				return err
			} else if msg != "" {
				errs["options"] = validation.NewError("variant_options_misfit", msg)
			}
		}
	}
	if msg, err := skuTaken(e.App, e.Record.GetString("sku"), "variants"); err != nil {
		return err
	} else if msg != "" {
		errs["sku"] = validation.NewError("sku_taken", msg)
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}

// misfitVariant returns a message naming the first variant of product
// productID whose options opts would not allow, or "".
func misfitVariant(app core.App, productID string, opts []shop.ProductOption) (string, error) {
	var rows []struct {
		Title   string `db:"title"`
		Options string `db:"options"`
	}
	err := app.DB().Select("title", "options").From("variants").
		Where(dbx.HashExp{"product": productID}).OrderBy("position", "rowid").All(&rows)
	if err != nil {
		return "", fmt.Errorf("read variants of product %s: %w", productID, err)
	}
	for _, v := range rows {
		chosen, err := shop.ParseVariantOptions([]byte(v.Options))
		if err == nil {
			err = shop.CheckVariantOptions(opts, chosen)
		}
		if err != nil {
			return fmt.Sprintf("Variant %q would no longer fit the options: %s Change or delete the variant first.", v.Title, err), nil
		}
	}
	return "", nil
}

// onVariantValidate checks a variant against its product: options that the
// product's options allow (stored in one canonical JSON form, so that equal
// options compare equal), no other variant of the product with the same
// options, a SKU no product uses, and a product that stays the same. A
// variant without a title is named by its options ("M / Red").
func (m *Manager) onVariantValidate(e *core.RecordEvent) error {
	r := e.Record
	productID := r.GetString("product")
	errs := validation.Errors{}
	if !r.IsNew() {
		// The stored product, not Original(): a record saved twice in Go
		// keeps the blank original of its creation.
		var stored struct {
			Product string `db:"product"`
		}
		err := e.App.DB().Select("product").From("variants").Where(dbx.HashExp{"id": r.Id}).One(&stored)
		if err != nil {
			return fmt.Errorf("read product of variant %s: %w", r.Id, err)
		}
		if productID != stored.Product {
			errs["product"] = validation.NewError("variant_product_fixed",
				"A variant cannot move to another product: create it there instead.")
		}
	}
	product, err := e.App.FindRecordById("products", productID)
	if errors.Is(err, sql.ErrNoRows) {
		return e.Next() // the relation's own validation says what is wrong
	}
	if err != nil {
		return fmt.Errorf("find product %s of variant %s: %w", productID, r.Id, err)
	}

	chosen, err := shop.ParseVariantOptions(jsonField(r, "options"))
	if err == nil {
		var opts []shop.ProductOption
		opts, err = shop.ParseProductOptions(jsonField(product, "options"))
		if err == nil {
			err = shop.CheckVariantOptions(opts, chosen)
		}
		if err == nil && r.GetString("title") == "" {
			r.Set("title", shop.VariantTitle(opts, chosen))
		}
	}
	if err != nil {
		errs["options"] = validation.NewError("invalid_variant_options", err.Error())
	} else {
		r.Set("options", chosen)
		if title, err := sameOptions(e.App, r); err != nil {
			return err
		} else if title != "" {
			errs["options"] = validation.NewError("variant_options_taken",
				fmt.Sprintf("Variant %q of this product already has these options.", title))
		}
		if r.GetString("title") == "" {
			errs["title"] = validation.NewError("variant_title_required",
				"Give the variant a title: it has no options to name it by.")
		}
	}
	if msg, err := skuTaken(e.App, r.GetString("sku"), "products"); err != nil {
		return err
	} else if msg != "" {
		errs["sku"] = validation.NewError("sku_taken", msg)
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}

// sameOptions returns the title of another variant of r's product with r's
// options, or "".
func sameOptions(app core.App, r *core.Record) (string, error) {
	var other struct {
		Title string `db:"title"`
	}
	err := app.DB().NewQuery("SELECT [[title]] FROM {{variants}} WHERE [[product]] = {:p} AND [[id]] != {:id} AND [[options]] = {:o} LIMIT 1").
		Bind(dbx.Params{"p": r.GetString("product"), "id": r.Id, "o": string(jsonField(r, "options"))}).One(&other)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check options of variant %s: %w", r.Id, err)
	}
	if other.Title == "" {
		other.Title = "(untitled)"
	}
	return other.Title, nil
}

// skuTaken returns a message when sku (not empty) is already the SKU of a
// record of the other collection (products or variants): an order line, a
// CSV import and the search find a unit by its SKU, so one SKU names one
// unit. Each collection's own unique index covers its own records.
func skuTaken(app core.App, sku, other string) (string, error) {
	if sku == "" {
		return "", nil
	}
	var rows []struct {
		Name string `db:"name"`
	}
	q := "SELECT [[name]] FROM {{products}} WHERE [[sku]] = {:sku} LIMIT 1"
	if other == "variants" {
		q = "SELECT p.[[name]] || ' (' || v.[[title]] || ')' AS [[name]] FROM {{variants}} v JOIN {{products}} p ON p.[[id]] = v.[[product]] WHERE v.[[sku]] = {:sku} LIMIT 1"
	}
	if err := app.DB().NewQuery(q).Bind(dbx.Params{"sku": sku}).All(&rows); err != nil {
		return "", fmt.Errorf("check sku %q: %w", sku, err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return fmt.Sprintf("SKU %q is already used by %q.", sku, rows[0].Name), nil
}

// onCategoryValidate refuses a parent that is the category itself or one of
// its sub-categories (a loop would hide them from every listing).
func (m *Manager) onCategoryValidate(e *core.RecordEvent) error {
	id := e.Record.Id
	parent := e.Record.GetString("parent")
	for depth := 0; parent != ""; depth++ {
		if parent == id {
			return validation.Errors{"parent": validation.NewError("category_own_ancestor",
				"A category cannot be inside itself or one of its sub-categories.")}
		}
		if depth == maxCategoryDepth {
			return validation.Errors{"parent": validation.NewError("category_too_deep",
				fmt.Sprintf("Categories can be nested at most %d deep.", maxCategoryDepth))}
		}
		var up struct {
			Parent string `db:"parent"`
		}
		err := e.App.DB().Select("parent").From("categories").Where(dbx.HashExp{"id": parent}).One(&up)
		if errors.Is(err, sql.ErrNoRows) {
			break // the relation's own validation refuses a missing parent
		}
		if err != nil {
			return fmt.Errorf("read parent of category %s: %w", parent, err)
		}
		parent = up.Parent
	}
	return e.Next()
}

// onVariantDelete refuses to delete a variant whose stock has moved: its
// ledger rows would lose their variant and count as the product's. The
// owner deactivates it instead (active off hides it from the storefront).
func (m *Manager) onVariantDelete(e *core.RecordEvent) error {
	var n int
	err := e.App.DB().NewQuery("SELECT COUNT(*) FROM {{stock_movements}} WHERE [[variant]] = {:v}").
		Bind(dbx.Params{"v": e.Record.Id}).Row(&n)
	if err != nil {
		return fmt.Errorf("count stock movements of variant %s: %w", e.Record.Id, err)
	}
	if n > 0 {
		return httperr.Response(shop.Errorf(shop.EINVALID,
			"This variant's stock has moved (%d stock movements): deactivate it instead of deleting it.", n))
	}
	return e.Next()
}
