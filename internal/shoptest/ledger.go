package shoptest

import (
	"fmt"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Count returns how many records collection holds.
func Count(tb testing.TB, app core.App, collection string) int {
	tb.Helper()
	n, err := app.CountRecords(collection)
	if err != nil {
		tb.Fatalf("count %s: %v", collection, err)
	}
	return int(n)
}

// Stock returns a product's stock as stored now.
func Stock(tb testing.TB, app core.App, productID string) int {
	tb.Helper()
	p, err := app.FindRecordById("products", productID)
	if err != nil {
		tb.Fatalf("find product %s: %v", productID, err)
	}
	return p.GetInt("stock")
}

// CheckLedger fails the test unless every stock-keeping unit (a variant, a
// simple product) has a stock that is not negative and equals the sum of
// its stock_movements, and each unit's latest movement records the stock it
// left. A product's own stock is booked by the movements without a variant.
func CheckLedger(tb testing.TB, app core.App) {
	tb.Helper()
	var rows []struct {
		ID    string `db:"id"`
		Name  string `db:"name"`
		Stock int    `db:"stock"`
		Sum   int    `db:"sum"`
		Last  int    `db:"last"`
	}
	err := app.DB().NewQuery(`
		SELECT p.id, p.name, p.stock,
			COALESCE((SELECT SUM(m.delta) FROM stock_movements m WHERE m.product = p.id AND m.variant = ''), 0) AS sum,
			COALESCE((SELECT m.stock_after FROM stock_movements m WHERE m.product = p.id AND m.variant = ''
				ORDER BY m.rowid DESC LIMIT 1), 0) AS last
		FROM products p
		UNION ALL
		SELECT v.id, v.title, v.stock,
			COALESCE((SELECT SUM(m.delta) FROM stock_movements m WHERE m.variant = v.id), 0),
			COALESCE((SELECT m.stock_after FROM stock_movements m WHERE m.variant = v.id
				ORDER BY m.rowid DESC LIMIT 1), 0)
		FROM variants v`).All(&rows)
	if err != nil {
		tb.Fatalf("read ledger: %v", err)
	}
	for _, r := range rows {
		if r.Stock < 0 || r.Stock != r.Sum || r.Stock != r.Last {
			tb.Errorf("%s (%s): stock %d, ledger sum %d, last stock_after %d", r.Name, r.ID, r.Stock, r.Sum, r.Last)
		}
	}
}

// VariantStock returns a variant's stock as stored now.
func VariantStock(tb testing.TB, app core.App, variantID string) int {
	tb.Helper()
	v, err := app.FindRecordById("variants", variantID)
	if err != nil {
		tb.Fatalf("find variant %s: %v", variantID, err)
	}
	return v.GetInt("stock")
}

// Movements returns a product's stock movements in the order they were
// written, as "reason:delta" strings.
func Movements(tb testing.TB, app core.App, productID string) []string {
	tb.Helper()
	var rows []struct {
		Reason string `db:"reason"`
		Delta  int    `db:"delta"`
	}
	err := app.DB().Select("reason", "delta").From("stock_movements").
		Where(dbx.HashExp{"product": productID}).OrderBy("rowid").All(&rows)
	if err != nil {
		tb.Fatalf("stock movements of %s: %v", productID, err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%s:%d", r.Reason, r.Delta)
	}
	return out
}
