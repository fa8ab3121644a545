package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProductsCommand runs `products import` and `products export` as an
// owner does: a bad file prints every bad row and exits non-zero, writing
// nothing; a good one imports; export writes it back.
func TestProductsCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "pb_data")
	header := "slug,name,sku,description,price_cents,stock,low_stock_threshold,active,categories,options," +
		"variant_title,variant_sku,variant_options,variant_price_cents,variant_stock,variant_low_stock_threshold,variant_active,variant_position\n"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mug := "mug,Mug,MUG-1,\"<p>Big, blue</p>\",1200,5,1,true,,,,,,,,,,\n"
	good := header + mug
	bad := write("bad.csv", header+"cup,,,,\"12,50\",-1,0,true,,,,,,,,,,\n"+mug)

	out, err := run(t, nil, "products", "import", bad, "--dir", data)
	if err == nil {
		t.Fatalf("a bad file imported:\n%s", out)
	}
	for _, want := range []string{"line 2: name: is required", `line 2: price_cents: "12,50" is not a whole number of cents`,
		"line 2: stock: -1 cannot be negative", "bad.csv: 3 problem(s); nothing was imported"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if out, err := run(t, nil, "products", "export", "--dir", data); err != nil || out != strings.SplitAfter(header, "\n")[0] {
		t.Fatalf("export after a refused import: %v\n%q", err, out)
	}

	if out, err := run(t, nil, "products", "import", write("good.csv", good), "--dry-run", "--dir", data); err != nil ||
		!strings.Contains(out, "dry run: nothing written; would import 1 rows: 1 products created") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if out, err := run(t, nil, "products", "import", filepath.Join(dir, "good.csv"), "--dir", data); err != nil ||
		!strings.Contains(out, "imported 1 rows: 1 products created") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	exported := filepath.Join(dir, "out.csv")
	if out, err := run(t, nil, "products", "export", exported, "--dir", data); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(exported); err != nil || string(b) != good {
		t.Fatalf("exported %q (%v), want %q", b, err, good)
	}
}
