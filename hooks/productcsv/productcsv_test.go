package productcsv_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/hooks/productcsv"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

const header = "slug,name,sku,description,price_cents,stock,low_stock_threshold,active,categories,options," +
	"variant_title,variant_sku,variant_options,variant_price_cents,variant_stock,variant_low_stock_threshold,variant_active,variant_position\n"

func save(tb testing.TB, app core.App, collection string, data map[string]any) *core.Record {
	tb.Helper()
	c, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		tb.Fatal(err)
	}
	r := core.NewRecord(c)
	r.Load(data)
	if err := app.Save(r); err != nil {
		tb.Fatalf("save %s %v: %v", collection, data, err)
	}
	return r
}

// categories creates clothing > t-shirts, and mugs.
func categories(tb testing.TB, app core.App) map[string]string {
	clothing := save(tb, app, "categories", map[string]any{"name": "Clothing", "slug": "clothing"})
	tees := save(tb, app, "categories", map[string]any{"name": "T-shirts", "slug": "t-shirts", "parent": clothing.Id})
	mugs := save(tb, app, "categories", map[string]any{"name": "Mugs", "slug": "mugs"})
	return map[string]string{"clothing": clothing.Id, "t-shirts": tees.Id, "mugs": mugs.Id}
}

func export(tb testing.TB, app core.App) string {
	tb.Helper()
	var b bytes.Buffer
	if _, err := productcsv.Export(app, &b, nil); err != nil {
		tb.Fatalf("export: %v", err)
	}
	return b.String()
}

func importCSV(tb testing.TB, app core.App, csv string, dryRun bool) (productcsv.Summary, error) {
	tb.Helper()
	return productcsv.Import(context.Background(), app, strings.NewReader(csv), dryRun, nil)
}

// TestRoundTrip exports a catalog with every kind of row, imports it into
// an empty shop and exports that: the two files are byte-identical, and
// importing the file again changes nothing.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	src := shoptest.NewApp(t, hooks.Deps{})
	cats := categories(t, src)
	save(t, src, "products", map[string]any{"name": "Enamel Mug", "slug": "enamel-mug", "sku": "MUG-1", "price_cents": 1800,
		"stock": 25, "low_stock_threshold": 5, "active": true, "categories": []string{cats["mugs"]},
		"description": "<p>Survives the \"dishwasher\", the campfire,\nand a fall; 100% enamel &amp; steel. Ünïcode ☕</p>"})
	save(t, src, "products", map[string]any{"name": "Draft, not for sale", "slug": "draft", "price_cents": 0, "active": false})
	tee := save(t, src, "products", map[string]any{"name": "Organic Tee", "slug": "organic-tee", "sku": "TEE", "price_cents": 2500,
		"active": true, "categories": []string{cats["t-shirts"], cats["clothing"]},
		"options": []map[string]any{{"name": "Size", "values": []string{"S", "M", "L"}}, {"name": "Color", "values": []string{"Black", "Off-white, \"natural\""}}}})
	save(t, src, "variants", map[string]any{"product": tee.Id, "sku": "TEE-S-B", "options": map[string]string{"Size": "S", "Color": "Black"},
		"stock": 8, "low_stock_threshold": 3, "active": true, "position": 1})
	save(t, src, "variants", map[string]any{"product": tee.Id, "options": map[string]string{"Size": "L", "Color": "Off-white, \"natural\""},
		"title": "Large natural", "price_cents": 2700, "stock": 0, "active": true, "position": 2})
	save(t, src, "variants", map[string]any{"product": tee.Id, "sku": "TEE-M-B", "options": map[string]string{"Size": "M", "Color": "Black"},
		"stock": 2, "active": false, "position": 3})
	first := export(t, src)
	if n := strings.Count(first, "\norganic-tee,"); n != 3 {
		t.Fatalf("want 3 rows of the tee, one per variant:\n%s", first)
	}

	dst := shoptest.NewApp(t, hooks.Deps{})
	categories(t, dst) // same slugs, other ids
	sum, err := importCSV(t, dst, first, false)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if sum.ProductsCreated != 3 || sum.VariantsCreated != 3 || sum.Rows != 5 {
		t.Errorf("summary: %+v", sum)
	}
	if second := export(t, dst); second != first {
		t.Fatalf("export after import differs:\n--- first\n%s\n--- second\n%s", first, second)
	}
	shoptest.CheckLedger(t, dst)
	movements := shoptest.Count(t, dst, "stock_movements")
	if movements != 3 { // the mug, the two variants with stock: one restock each
		t.Errorf("%d stock movements after the import, want 3 restocks", movements)
	}

	sum, err = importCSV(t, dst, first, false)
	if err != nil {
		t.Fatalf("import again: %v", err)
	}
	if sum.ProductsUpdated != 3 || sum.VariantsUpdated != 3 || sum.ProductsCreated+sum.VariantsCreated != 0 {
		t.Errorf("summary of the second import: %+v", sum)
	}
	if third := export(t, dst); third != first {
		t.Fatalf("export after a second import differs:\n%s", third)
	}
	if n := shoptest.Count(t, dst, "stock_movements"); n != movements {
		t.Errorf("a second import of the same file wrote %d movements", n-movements)
	}
}

// TestImportStock checks the ledger: stock an import sets is an adjust
// movement either way; a product or variant created with stock, a restock.
func TestImportStock(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	mug := shoptest.CreateProduct(t, app, "mug", 1000, 5)
	reasons := func() []string {
		var got []string
		if err := app.DB().NewQuery(`SELECT reason || ':' || CAST(delta AS INTEGER) FROM stock_movements ORDER BY rowid`).Column(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	opts := `"[{""name"":""Size"",""values"":[""S"",""M""]}]"`
	steps := []struct {
		csv  string
		want []string
	}{
		{"mug,mug,,,1000,8,2,true,,,,,,,,,,\n", []string{"restock:5", "adjust:3"}},
		{"mug,mug,,,1000,2,2,true,,,,,,,,,,\n", []string{"restock:5", "adjust:3", "adjust:-6"}},
		{"tee,Tee,,,900,0,0,true,," + opts + ",,TEE-S,\"{\"\"Size\"\":\"\"S\"\"}\",0,4,0,true,1\n",
			[]string{"restock:5", "adjust:3", "adjust:-6", "restock:4"}},
		{"tee,Tee,,,900,0,0,true,," + opts + ",,TEE-S,\"{\"\"Size\"\":\"\"S\"\"}\",0,1,0,true,1\n" +
			"tee,Tee,,,900,0,0,true,," + opts + ",,,\"{\"\"Size\"\":\"\"M\"\"}\",0,0,0,true,2\n",
			[]string{"restock:5", "adjust:3", "adjust:-6", "restock:4", "adjust:-3"}},
	}
	for i, s := range steps {
		if _, err := importCSV(t, app, header+s.csv, false); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := reasons(); !slices.Equal(got, s.want) {
			t.Errorf("step %d: movements %q, want %q", i, got, s.want)
		}
		shoptest.CheckLedger(t, app)
	}
	if got := shoptest.Stock(t, app, mug.Id); got != 2 {
		t.Errorf("mug stock %d, want 2", got)
	}
}

// TestImportMatches checks the upsert: a product by its SKU (even with a
// new slug), then by its slug; a variant by its SKU, then by its options.
func TestImportMatches(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	bySKU := save(t, app, "products", map[string]any{"name": "Old", "slug": "old-slug", "sku": "A-1", "active": true})
	bySlug := save(t, app, "products", map[string]any{"name": "Plain", "slug": "plain", "active": true})
	tee := save(t, app, "products", map[string]any{"name": "Tee", "slug": "tee", "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"S", "M"}}}})
	small := save(t, app, "variants", map[string]any{"product": tee.Id, "sku": "T-S", "options": map[string]string{"Size": "S"}, "active": true})
	medium := save(t, app, "variants", map[string]any{"product": tee.Id, "options": map[string]string{"Size": "M"}, "active": true})
	opts := `"[{""name"":""Size"",""values"":[""S"",""M""]}]"`
	csv := header +
		"new-slug,Renamed,A-1,,100,0,0,true,,,,,,,,,,\n" +
		"plain,Plain now with SKU,P-1,,100,0,0,true,,,,,,,,,,\n" +
		"tee,Tee,,,100,0,0,true,," + opts + ",Small,T-S-NEW-NO,\"{\"\"Size\"\":\"\"S\"\"}\",0,0,0,true,1\n" +
		"tee,Tee,,,100,0,0,true,," + opts + ",Medium,T-M,\"{\"\"Size\"\":\"\"M\"\"}\",0,0,0,true,2\n"
	// A SKU the small variant does not have yet: matched by its options.
	sum, err := importCSV(t, app, csv, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ProductsCreated != 0 || sum.VariantsCreated != 0 || sum.ProductsUpdated != 3 || sum.VariantsUpdated != 2 {
		t.Errorf("summary %+v", sum)
	}
	for id, want := range map[string]string{bySKU.Id: "new-slug", bySlug.Id: "plain"} {
		if r, err := app.FindRecordById("products", id); err != nil || r.GetString("slug") != want {
			t.Errorf("product %s: %v %v, want slug %s", id, r, err, want)
		}
	}
	for id, want := range map[string]string{small.Id: "T-S-NEW-NO", medium.Id: "T-M"} {
		if r, err := app.FindRecordById("variants", id); err != nil || r.GetString("sku") != want {
			t.Errorf("variant %s: %v %v, want sku %s", id, r, err, want)
		}
	}
}

// TestImportBadRows: every bad row is reported as "line N: field: why",
// all of them, and nothing is written, dry run or not.
func TestImportBadRows(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	categories(t, app)
	other := save(t, app, "products", map[string]any{"name": "Other", "slug": "other", "sku": "OTHER", "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"S"}}}})
	save(t, app, "variants", map[string]any{"product": other.Id, "sku": "OTHER-S", "options": map[string]string{"Size": "S"}, "active": true})
	opts := `"[{""name"":""Size"",""values"":[""S"",""M""]}]"`
	variant := func(slug, sku, options string) string {
		return slug + ",Tee,,,100,0,0,true,," + opts + ",," + sku + "," + options + ",0,1,0,true,0\n"
	}
	cases := []struct {
		name string
		csv  string
		want []string
	}{
		{"missing name", header + "mug,,,,100,1,0,true,,,,,,,,,,\n", []string{"line 2: name: is required"}},
		{"a price with a comma", header + "mug,Mug,,,\"12,50\",1,0,true,,,,,,,,,,\n",
			[]string{`line 2: price_cents: "12,50" is not a whole number of cents`}},
		{"a price with a point", header + "mug,Mug,,,12.50,1,0,true,,,,,,,,,,\n",
			[]string{`line 2: price_cents: "12.50" is not a whole number of cents`}},
		{"negative stock", header + "mug,Mug,,,100,-3,0,true,,,,,,,,,,\n", []string{"line 2: stock: -3 cannot be negative"}},
		{"negative variant stock", header + "tee,Tee,,,100,0,0,true,," + opts + ",,,\"{\"\"Size\"\":\"\"S\"\"}\",0,-1,0,true,0\n",
			[]string{"line 2: variant_stock: -1 cannot be negative"}},
		{"unknown category", header + "mug,Mug,,,100,1,0,true,mugs|cups,,,,,,,,,\n",
			[]string{`line 2: categories: unknown category "cups" (create it first)`}},
		{"duplicate SKU in the file", header + "mug,Mug,M-1,,100,1,0,true,,,,,,,,,,\n" + "cup,Cup,M-1,,100,1,0,true,,,,,,,,,,\n" +
			variant("tee", "M-1", `"{""Size"":""S""}"`),
			[]string{`line 3: sku: SKU "M-1" is also on line 2`, `line 4: variant_sku: SKU "M-1" is also on line 2`}},
		{"options the product does not have", header + variant("tee", "", `"{""Size"":""XL""}"`) + variant("tee", "", `"{""Colour"":""Red""}"`),
			[]string{`line 2: variant_options: "XL" is not a value of "Size"`, `line 3: variant_options: Choose a value for "Size"`}},
		{"two variants alike", header + variant("tee", "", `"{""Size"":""S""}"`) + variant("tee", "", `"{""Size"":""S""}"`),
			[]string{`line 3: variant_options: line 2 has a variant of product "tee" with the same options`}},
		{"a product's rows differ", header + variant("tee", "", `"{""Size"":""S""}"`) +
			"tee,Tee v2,,,100,0,0,true,," + opts + ",,,\"{\"\"Size\"\":\"\"M\"\"}\",0,1,0,true,0\n",
			[]string{`line 3: name: differs from line 2`}},
		{"a SKU another product's variant has", header + variant("tee", "OTHER-S", `"{""Size"":""S""}"`),
			[]string{`line 2: variant_sku: SKU "OTHER-S" is a variant of another product, "other"`}},
		{"a product SKU that is a variant's", header + "mug,Mug,OTHER-S,,100,1,0,true,,,,,,,,,,\n",
			[]string{`line 2: sku: SKU "OTHER-S" is a variant's, of product "other"`}},
		{"bad slug, active and JSON", header + "Mug!,Mug,,,100,1,0,maybe,,[oops,,,,,,,,\n",
			[]string{`line 2: slug: "Mug!" is not a slug`, `line 2: active: "maybe" is not true or false`, "line 2: options: Must be a list of options"}},
		{"a short row", header + "mug,Mug\n", []string{"line 2: csv: 2 fields, the header has 18"}},
		{"a missing and an unknown column", "slug,name,colour\nmug,Mug,red\n",
			[]string{"line 1: colour: unknown column", "line 1: header: missing column(s): sku, description, "}},
		{"empty file", "", []string{"line 1: header: the file is empty"}},
		{"a description with a newline before the bad row", header +
			"mug,Mug,,\"two\nlines\",100,1,0,true,,,,,,,,,,\n" + "cup,,,,100,1,0,true,,,,,,,,,,\n",
			[]string{"line 4: name: is required"}},
		{"every bad row, not only the first", header + "a,,,,1,1,0,true,,,,,,,,,,\n" + "ok,Fine,,,1,1,0,true,,,,,,,,,,\n" +
			"b,B,,,x,1,0,true,,,,,,,,,,\n" + "c,C,,,1,-1,0,true,,,,,,,,,,\n",
			[]string{"line 2: name:", "line 4: price_cents:", "line 5: stock:"}},
	}
	before := func() [3]int {
		return [3]int{shoptest.Count(t, app, "products"), shoptest.Count(t, app, "variants"), shoptest.Count(t, app, "stock_movements")}
	}
	counts := before()
	for _, c := range cases {
		for _, dry := range []bool{true, false} {
			_, err := importCSV(t, app, c.csv, dry)
			var errs productcsv.Errors
			if !errors.As(err, &errs) {
				t.Errorf("%s (dry run %v): got %v, want line errors", c.name, dry, err)
				continue
			}
			msg := err.Error()
			for _, want := range c.want {
				if !strings.Contains(msg, want) {
					t.Errorf("%s (dry run %v): no %q in\n%s", c.name, dry, want, msg)
				}
			}
			if len(errs) != len(c.want) {
				t.Errorf("%s: %d errors, want %d:\n%s", c.name, len(errs), len(c.want), msg)
			}
		}
	}
	if got := before(); got != counts {
		t.Errorf("rejected imports wrote: products, variants, movements %v, before %v", got, counts)
	}
}

// TestDryRun says what an import would do and writes nothing.
func TestDryRun(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	shoptest.CreateProduct(t, app, "mug", 1000, 5)
	sum, err := importCSV(t, app, header+"mug,Mug,,,1200,9,0,true,,,,,,,,,,\n"+"cup,Cup,,,500,3,0,true,,,,,,,,,,\n", true)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.DryRun || sum.ProductsCreated != 1 || sum.ProductsUpdated != 1 || sum.Rows != 2 {
		t.Errorf("summary %+v", sum)
	}
	if n := shoptest.Count(t, app, "products"); n != 1 {
		t.Errorf("%d products after a dry run", n)
	}
	if shoptest.Stock(t, app, shoptest.CreateProduct(t, app, "other", 1, 1).Id) != 1 || shoptest.Count(t, app, "stock_movements") != 2 {
		t.Error("a dry run wrote movements")
	}
}
