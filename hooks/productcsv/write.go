package productcsv

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"pocketshop/internal/shop"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// storedVariant is a variant as the shop holds it before the import.
type storedVariant struct {
	ID      string `db:"id"`
	Product string `db:"product"`
	SKU     string `db:"sku"`
	Title   string `db:"title"`
	Options string `db:"options"`
}

// match finds the stored product and variant each row updates (products
// by SKU, then slug; variants by SKU, then by options within their
// product) and reports what the import could not write: a SKU or slug that
// is another record's, two rows that update one record, stored variants
// that the new options would no longer fit.
func match(app core.App, products []*productIn) (Errors, error) {
	var stored []struct {
		ID   string `db:"id"`
		Slug string `db:"slug"`
		SKU  string `db:"sku"`
	}
	if err := app.DB().NewQuery(`SELECT id, slug, sku FROM products`).All(&stored); err != nil {
		return nil, fmt.Errorf("read the products: %w", err)
	}
	bySlug, bySKU, slugOf := map[string]string{}, map[string]string{}, map[string]string{}
	for _, p := range stored {
		bySlug[p.Slug], slugOf[p.ID] = p.ID, p.Slug
		if p.SKU != "" {
			bySKU[p.SKU] = p.ID
		}
	}
	var variants []storedVariant
	if err := app.DB().NewQuery(`SELECT id, product, sku, title, options FROM variants`).All(&variants); err != nil {
		return nil, fmt.Errorf("read the variants: %w", err)
	}
	variantBySKU, variantsOf := map[string]*storedVariant{}, map[string][]*storedVariant{}
	for i := range variants {
		v := &variants[i]
		if v.SKU != "" {
			variantBySKU[v.SKU] = v
		}
		variantsOf[v.Product] = append(variantsOf[v.Product], v)
	}

	var errs Errors
	claimed := map[string]int{} // stored record id -> the line that updates it
	claim := func(id string, line int, field string) {
		if first, dup := claimed[id]; dup {
			errs = append(errs, LineError{line, field, fmt.Sprintf("updates the same record as line %d", first)})
			return
		}
		claimed[id] = line
	}
	for _, p := range products {
		if id, ok := bySKU[p.sku]; ok && p.sku != "" {
			p.id = id
			if other, taken := bySlug[p.slug]; taken && other != id {
				errs = append(errs, LineError{p.line, "slug", fmt.Sprintf(
					"%q is another product's slug than the one with SKU %q (%q)", p.slug, p.sku, slugOf[id])})
			}
		} else if id, ok := bySlug[p.slug]; ok {
			p.id = id
		}
		if p.id != "" {
			claim(p.id, p.line, "slug")
		}
		if v, ok := variantBySKU[p.sku]; ok && p.sku != "" {
			errs = append(errs, LineError{p.line, "sku", fmt.Sprintf("SKU %q is a variant's, of product %q", p.sku, slugOf[v.Product])})
		}

		inFile := map[string]*variantIn{}
		for _, v := range p.variants {
			inFile[v.optKey] = v
			if _, ok := bySKU[v.sku]; ok && v.sku != "" {
				errs = append(errs, LineError{v.line, "variant_sku", fmt.Sprintf("SKU %q is a product's", v.sku)})
			}
			if s, ok := variantBySKU[v.sku]; ok && v.sku != "" {
				if s.Product != p.id {
					errs = append(errs, LineError{v.line, "variant_sku", fmt.Sprintf(
						"SKU %q is a variant of another product, %q", v.sku, slugOf[s.Product])})
					continue
				}
				v.id = s.ID
			}
			if v.id == "" {
				for _, s := range variantsOf[p.id] {
					if storedKey(s.Options) == v.optKey {
						v.id = s.ID
					}
				}
			}
			if v.id != "" {
				claim(v.id, v.line, "variant_sku")
			}
		}
		// The product's stored variants that no row updates stay: they must
		// fit the product's new options and keep options of their own.
		for _, s := range variantsOf[p.id] {
			if _, updated := claimed[s.ID]; updated {
				continue
			}
			chosen, err := shop.ParseVariantOptions([]byte(s.Options))
			if err == nil {
				err = shop.CheckVariantOptions(p.options, chosen)
			}
			if err != nil {
				errs = append(errs, LineError{p.line, "options", fmt.Sprintf(
					"variant %q of product %q (not in the file) would no longer fit: %s", s.Title, p.slug, err)})
			}
			if v, ok := inFile[storedKey(s.Options)]; ok {
				errs = append(errs, LineError{v.line, "variant_options", fmt.Sprintf(
					"variant %q of product %q already has these options", s.Title, p.slug)})
			}
		}
	}
	return errs, nil
}

// storedKey is the canonical form (compactJSON) of stored variant options.
func storedKey(raw string) string {
	chosen, err := shop.ParseVariantOptions([]byte(raw))
	if err != nil {
		return raw
	}
	return compactJSON(chosen)
}

// write saves product p and its variants in txApp's transaction, through
// the records' hooks (validation, the stock ledger, the search index).
func write(ctx context.Context, txApp core.App, p *productIn) error {
	rec, err := recordFor(txApp, "products", p.id)
	if err != nil {
		return err
	}
	categories := p.categories
	if categories == nil {
		categories = []string{}
	}
	var options any
	if len(p.options) > 0 {
		options = p.options
	}
	rec.Load(map[string]any{
		"slug": p.slug, "name": p.name, "sku": p.sku, "description": p.desc, "price_cents": p.price,
		"stock": p.stock, "low_stock_threshold": p.lowStock, "active": p.active, "categories": categories, "options": options,
	})
	if err := txApp.SaveWithContext(ctx, rec); err != nil {
		return lineErrors(p.line, "", err)
	}
	p.id = rec.Id
	for _, v := range p.variants {
		vrec, err := recordFor(txApp, "variants", v.id)
		if err != nil {
			return err
		}
		vrec.Load(map[string]any{
			"product": p.id, "title": v.title, "sku": v.sku, "options": v.options, "price_cents": v.price,
			"stock": v.stock, "low_stock_threshold": v.lowStock, "active": v.active, "position": v.position,
		})
		if err := txApp.SaveWithContext(ctx, vrec); err != nil {
			return lineErrors(v.line, "variant_", err)
		}
		v.id = vrec.Id
	}
	return nil
}

// recordFor returns the stored record id of collection, or a new one.
func recordFor(txApp core.App, collection, id string) (*core.Record, error) {
	if id != "" {
		r, err := txApp.FindRecordById(collection, id)
		if err != nil {
			return nil, fmt.Errorf("find %s %s: %w", collection, id, err)
		}
		return r, nil
	}
	col, err := txApp.FindCachedCollectionByNameOrId(collection)
	if err != nil {
		return nil, err
	}
	return core.NewRecord(col), nil
}

// lineErrors reports a refused save as the line's errors, one per field
// (prefix turns a variant's field into its column: "variant_sku").
func lineErrors(line int, prefix string, err error) error {
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("line %d: %w", line, err)
	}
	fields := make([]string, 0, len(verrs))
	for f := range verrs {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	errs := make(Errors, 0, len(fields))
	for _, f := range fields {
		errs = append(errs, LineError{line, prefix + f, verrs[f].Error()})
	}
	return errs
}
