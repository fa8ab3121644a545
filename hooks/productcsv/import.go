package productcsv

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"pocketshop/hooks/orders"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// BatchRows is how many rows one transaction of an import writes at most
// (a product's rows are never split). Between two batches the shop's own
// writes (orders) get the database: an import never holds it for long.
const BatchRows = 1000

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// Progress shows how far an import or export is.
type Progress interface {
	Start(total int, what string)
	Add(n int)
	Finish()
}

// Summary counts what an import wrote (or, in a dry run, would write).
type Summary struct {
	Rows                             int
	ProductsCreated, ProductsUpdated int
	VariantsCreated, VariantsUpdated int
	DryRun                           bool
	Batches                          int
}

func (s Summary) String() string {
	verb := "imported"
	if s.DryRun {
		verb = "dry run: nothing written; would import"
	}
	out := fmt.Sprintf("%s %d rows: %d products created, %d updated; %d variants created, %d updated",
		verb, s.Rows, s.ProductsCreated, s.ProductsUpdated, s.VariantsCreated, s.VariantsUpdated)
	if !s.DryRun {
		out += fmt.Sprintf(" (%d transactions)", s.Batches)
	}
	return out
}

// productIn is a product as its rows give it.
type productIn struct {
	line       int      // of its first row
	raw        []string // its columns as written, to compare its rows
	slug       string
	name       string
	sku        string
	desc       string
	price      int64
	stock      int64
	lowStock   int64
	active     bool
	categories []string // ids
	options    []shop.ProductOption
	simple     bool // a row without a variant
	variants   []*variantIn
	rows       int

	id string // the stored product it updates; "" for a new one
}

// variantIn is a variant as its row gives it.
type variantIn struct {
	line     int
	title    string
	sku      string
	options  map[string]string
	optKey   string // canonical options JSON
	price    int64
	stock    int64
	lowStock int64
	active   bool
	position int64

	id string // the stored variant it updates; "" for a new one
}

// Import reads the CSV from r, checks every row, and unless dryRun writes
// the catalog it describes: products upserted by SKU, then slug; variants by
// SKU, then by their options within the product. Nothing is deleted. When
// a row is bad it writes nothing and returns Errors, every bad row's.
// Stock set by the import is booked as "adjust" movements; a product or
// variant created with stock as "restock" (package orders' inventory).
func Import(ctx context.Context, app core.App, r io.Reader, dryRun bool, progress Progress) (Summary, error) {
	products, rows, errs, err := parse(app, r)
	if err != nil {
		return Summary{}, err
	}
	if len(errs) == 0 {
		more, err := match(app, products)
		if err != nil {
			return Summary{}, err
		}
		errs = append(errs, more...)
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b LineError) int { return a.Line - b.Line })
		return Summary{}, errs
	}
	sum := Summary{Rows: rows, DryRun: dryRun}
	for _, p := range products {
		if p.id == "" {
			sum.ProductsCreated++
		} else {
			sum.ProductsUpdated++
		}
		for _, v := range p.variants {
			if v.id == "" {
				sum.VariantsCreated++
			} else {
				sum.VariantsUpdated++
			}
		}
	}
	if dryRun {
		return sum, nil
	}
	if progress != nil {
		progress.Start(rows, "import")
		defer progress.Finish()
	}
	saveCtx := orders.WithStockAdjust(ctx)
	for start := 0; start < len(products); {
		end, n := start, 0
		for end < len(products) && (n == 0 || n+products[end].rows <= BatchRows) {
			n += products[end].rows
			end++
		}
		err := app.RunInTransaction(func(txApp core.App) error {
			for _, p := range products[start:end] {
				if err := write(saveCtx, txApp, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sum, fmt.Errorf("%w (the rows before line %d were imported; import the file again to finish: it updates what is there)",
				err, products[start].line)
		}
		sum.Batches++
		if progress != nil {
			progress.Add(n)
		}
		start = end
	}
	return sum, nil
}

// parse reads every row and checks each on its own and against the rest of
// the file. It returns the products in the file's order and the number of
// rows; an error only when the file cannot be read as CSV.
func parse(app core.App, r io.Reader) ([]*productIn, int, Errors, error) {
	in := csv.NewReader(r)
	in.FieldsPerRecord = -1 // a short row is reported, not fatal
	header, err := in.Read()
	if errors.Is(err, io.EOF) {
		return nil, 0, Errors{{1, "header", "the file is empty"}}, nil
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read the CSV header: %w", err)
	}
	col := map[string]int{}
	var errs Errors
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")) // a spreadsheet's byte-order mark
		if !slices.Contains(Columns, name) {
			errs = append(errs, LineError{1, name, "unknown column (the columns are " + strings.Join(Columns, ", ") + ")"})
			continue
		}
		if _, dup := col[name]; dup {
			errs = append(errs, LineError{1, name, "the column is there twice"})
		}
		col[name] = i
	}
	var missing []string
	for _, name := range Columns {
		if _, ok := col[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, LineError{1, "header", "missing column(s): " + strings.Join(missing, ", ")})
	}
	if len(errs) > 0 {
		return nil, 0, errs, nil
	}

	cats, err := categoryIDs(app)
	if err != nil {
		return nil, 0, nil, err
	}
	var products []*productIn
	bySlug := map[string]*productIn{}
	skuLine := map[string]int{}
	rows := 0
	for {
		record, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := in.FieldPos(0)
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return nil, 0, append(errs, LineError{perr.Line, "csv", perr.Err.Error()}), nil
			}
			return nil, 0, nil, fmt.Errorf("read the CSV: %w", err)
		}
		rows++
		if len(record) != len(header) {
			errs = append(errs, LineError{line, "csv", fmt.Sprintf("%d fields, the header has %d", len(record), len(header))})
			continue
		}
		get := func(name string) string { return record[col[name]] }
		bad := func(field, msg string) { errs = append(errs, LineError{line, field, msg}) }

		raw := make([]string, productColumns)
		for i, name := range Columns[:productColumns] {
			raw[i] = get(name)
		}
		slug := strings.TrimSpace(get("slug"))
		p := bySlug[slug]
		if p == nil {
			p = parseProduct(line, raw, cats, bad)
			if slug != "" {
				bySlug[slug] = p
			}
			products = append(products, p)
			if p.sku != "" {
				if first, dup := skuLine[p.sku]; dup {
					bad("sku", fmt.Sprintf("SKU %q is also on line %d", p.sku, first))
				} else {
					skuLine[p.sku] = line
				}
			}
		} else if i := firstDifference(p.raw, raw); i >= 0 {
			bad(Columns[i], fmt.Sprintf("differs from line %d, the first row of product %q (a product's columns must be the same on all its rows)", p.line, slug))
		}
		p.rows++

		isVariant := slices.ContainsFunc(Columns[productColumns:], func(name string) bool { return strings.TrimSpace(get(name)) != "" })
		if !isVariant {
			if p.simple || len(p.variants) > 0 {
				bad("slug", fmt.Sprintf("product %q has a row without a variant and other rows (line %d): give each of its rows a variant", slug, p.line))
			}
			p.simple = true
			continue
		}
		if p.simple {
			bad("slug", fmt.Sprintf("product %q has a row without a variant (line %d) and variant rows: give each of its rows a variant", slug, p.line))
		}
		v := parseVariant(line, get, p, bad)
		if v.sku != "" {
			if first, dup := skuLine[v.sku]; dup {
				bad("variant_sku", fmt.Sprintf("SKU %q is also on line %d", v.sku, first))
			} else {
				skuLine[v.sku] = line
			}
		}
		p.variants = append(p.variants, v)
	}
	return products, rows, errs, nil
}

// parseProduct reads a product's columns (raw, in Columns order).
func parseProduct(line int, raw []string, cats map[string]string, bad func(field, msg string)) *productIn {
	p := &productIn{line: line, raw: raw}
	p.slug = strings.TrimSpace(raw[0])
	switch {
	case p.slug == "":
		bad("slug", "is required")
	case len(p.slug) > maxSlug || !slugPattern.MatchString(p.slug):
		bad("slug", fmt.Sprintf("%q is not a slug (lower-case letters, digits and single dashes, at most %d characters)", raw[0], maxSlug))
	}
	p.name = strings.TrimSpace(raw[1])
	switch {
	case p.name == "":
		bad("name", "is required")
	case utf8.RuneCountInString(p.name) > maxName:
		bad("name", fmt.Sprintf("is longer than %d characters", maxName))
	}
	p.sku = strings.TrimSpace(raw[2])
	if utf8.RuneCountInString(p.sku) > maxSKU {
		bad("sku", fmt.Sprintf("is longer than %d characters", maxSKU))
	}
	p.desc = raw[3]
	if len(p.desc) > maxDescription {
		bad("description", fmt.Sprintf("is longer than %d bytes", maxDescription))
	}
	var msg string
	if p.price, msg = wholeNumber(raw[4], "cents", maxPriceCents); msg != "" {
		bad("price_cents", msg)
	}
	if p.stock, msg = wholeNumber(raw[5], "units", maxStock); msg != "" {
		bad("stock", msg)
	}
	if p.lowStock, msg = wholeNumber(raw[6], "units", maxStock); msg != "" {
		bad("low_stock_threshold", msg)
	}
	if strings.TrimSpace(raw[7]) == "" {
		bad("active", "is required: true or false")
	} else if p.active, msg = boolean(raw[7], false); msg != "" {
		bad("active", msg)
	}
	for _, slug := range strings.Split(raw[8], categorySeparator) {
		slug = strings.TrimSpace(slug)
		if slug == "" {
			continue
		}
		id, ok := cats[slug]
		if !ok {
			bad("categories", fmt.Sprintf("unknown category %q (create it first)", slug))
			continue
		}
		if !slices.Contains(p.categories, id) {
			p.categories = append(p.categories, id)
		}
	}
	opts, err := shop.ParseProductOptions([]byte(raw[9]))
	if err != nil {
		bad("options", err.Error())
	}
	p.options = opts
	return p
}

// parseVariant reads a row's variant columns, and checks its options
// against its product's and the product's other variants in the file.
func parseVariant(line int, get func(string) string, p *productIn, bad func(field, msg string)) *variantIn {
	v := &variantIn{line: line, title: strings.TrimSpace(get("variant_title")), sku: strings.TrimSpace(get("variant_sku"))}
	if utf8.RuneCountInString(v.title) > maxTitle {
		bad("variant_title", fmt.Sprintf("is longer than %d characters", maxTitle))
	}
	if utf8.RuneCountInString(v.sku) > maxSKU {
		bad("variant_sku", fmt.Sprintf("is longer than %d characters", maxSKU))
	}
	var msg string
	if v.price, msg = wholeNumber(get("variant_price_cents"), "cents", maxPriceCents); msg != "" {
		bad("variant_price_cents", msg)
	}
	if v.stock, msg = wholeNumber(get("variant_stock"), "units", maxStock); msg != "" {
		bad("variant_stock", msg)
	}
	if v.lowStock, msg = wholeNumber(get("variant_low_stock_threshold"), "units", maxStock); msg != "" {
		bad("variant_low_stock_threshold", msg)
	}
	if v.active, msg = boolean(get("variant_active"), true); msg != "" {
		bad("variant_active", msg)
	}
	if v.position, msg = wholeNumber(get("variant_position"), "places", maxStock); msg != "" {
		bad("variant_position", msg)
	}
	chosen, err := shop.ParseVariantOptions([]byte(get("variant_options")))
	if err == nil {
		err = shop.CheckVariantOptions(p.options, chosen)
	}
	if err != nil {
		bad("variant_options", err.Error())
		return v
	}
	v.options, v.optKey = chosen, compactJSON(chosen)
	if v.title == "" {
		v.title = shop.VariantTitle(p.options, chosen)
	}
	if v.title == "" {
		bad("variant_title", "is required for a variant without options")
	}
	for _, other := range p.variants {
		if other.optKey == v.optKey {
			bad("variant_options", fmt.Sprintf("line %d has a variant of product %q with the same options", other.line, p.slug))
			break
		}
	}
	return v
}

// firstDifference returns the index of the first column where a and b
// differ, or -1.
func firstDifference(a, b []string) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// categoryIDs maps every category's slug to its id.
func categoryIDs(app core.App) (map[string]string, error) {
	slugs, err := categorySlugs(app)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]string, len(slugs))
	for id, slug := range slugs {
		ids[slug] = id
	}
	return ids, nil
}
