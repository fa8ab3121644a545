package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver PocketBase uses
)

// seedNote marks the orders the seeder wrote, so that the invariants about
// payments and receipts look only at orders the run placed.
const seedNote = "bench-seed"

// openDB opens a data.db (of a stopped server) with PocketBase's pragmas.
func openDB(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// newID returns a PocketBase-style record id: 15 characters of [a-z0-9].
func newID(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 15)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

func pbTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

// seedProducts inserts n active products with the given stock straight into
// SQLite while the server is stopped, each with the restock movement the
// shop's hook would write, in one transaction. It returns their ids.
func seedProducts(dbPath string, n, stock int, rng *rand.Rand) ([]string, error) {
	db, err := openDB(dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	insP, err := tx.Prepare(`INSERT INTO products (id, name, slug, sku, description, price_cents, stock, low_stock_threshold, active, images, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, 2, 1, '[]', ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("prepare product insert: %w", err)
	}
	insM, err := tx.Prepare(`INSERT INTO stock_movements (id, product, delta, reason, "order", stock_after, created)
		VALUES (?, ?, ?, 'restock', '', ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("prepare movement insert: %w", err)
	}
	now := pbTime(time.Now())
	desc := "<p>" + strings.Repeat("A fine product for the benchmark. ", 8) + "</p>"
	ids := make([]string, n)
	for i := range n {
		id := newID(rng)
		ids[i] = id
		name := fmt.Sprintf("Bench product %06d", i)
		if _, err := insP.Exec(id, name, fmt.Sprintf("bench-product-%06d", i), fmt.Sprintf("BENCH-%06d", i),
			desc, 500+rng.IntN(9500), stock, now, now); err != nil {
			return nil, fmt.Errorf("insert product %d: %w", i, err)
		}
		if _, err := insM.Exec(newID(rng), id, stock, stock, now); err != nil {
			return nil, fmt.Errorf("insert restock of product %d: %w", i, err)
		}
	}
	return ids, tx.Commit()
}

// seedOrders inserts n paid orders of one unit each (with their reserve
// movement, stock taken and "placed"/"paid" events) straight into SQLite,
// keeping stock equal to its ledger.
func seedOrders(dbPath string, n int, products []string, rng *rand.Rand) error {
	if n == 0 {
		return nil
	}
	db, err := openDB(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var first int
	if err := tx.QueryRow(`SELECT COALESCE(MAX(number), 1000) FROM orders`).Scan(&first); err != nil {
		return fmt.Errorf("last order number: %w", err)
	}
	insO, err := tx.Prepare(`INSERT INTO orders (id, number, status, email, items, payment_method, shipping_address, note,
		subtotal_cents, shipping_cents, total_cents, refunded_cents, currency, token, expires_at, paid_at,
		stripe_session_id, stripe_payment_intent, created, updated)
		VALUES (?, ?, 'paid', ?, ?, 'stripe', ?, ?, ?, 500, ?, 0, 'usd', ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare order insert: %w", err)
	}
	insM, err := tx.Prepare(`INSERT INTO stock_movements (id, product, delta, reason, "order", stock_after, created)
		VALUES (?, ?, -1, 'reserve', ?, 0, ?)`)
	if err != nil {
		return err
	}
	insE, err := tx.Prepare(`INSERT INTO order_events (id, "order", from_status, to_status, actor, message, created)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	taken := map[string]int{}
	addr, _ := json.Marshal(map[string]string{"name": "Ann Example", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"})
	start := time.Now().Add(-90 * 24 * time.Hour)
	for i := range n {
		id, p := newID(rng), products[rng.IntN(len(products))]
		price := 500 + rng.IntN(9500)
		items, _ := json.Marshal([]map[string]any{{"product": p, "name": "Bench product", "sku": "",
			"unit_price_cents": price, "quantity": 1, "line_total_cents": price}})
		at := start.Add(time.Duration(i) * time.Minute)
		created := pbTime(at)
		if _, err := insO.Exec(id, first+1+i, fmt.Sprintf("seed%d@example.com", i), string(items), string(addr), seedNote,
			price, price+500, newID(rng)+newID(rng), pbTime(at.Add(30*time.Minute)), pbTime(at.Add(time.Minute)),
			"cs_seed_"+id, "pi_seed_"+id, created, created); err != nil {
			return fmt.Errorf("insert order %d: %w", i, err)
		}
		if _, err := insM.Exec(newID(rng), p, id, created); err != nil {
			return err
		}
		if _, err := insE.Exec(newID(rng), id, "", "pending", "customer", "Order placed.", created); err != nil {
			return err
		}
		if _, err := insE.Exec(newID(rng), id, "pending", "paid", "stripe", "Paid with Stripe.", created); err != nil {
			return err
		}
		taken[p]++
	}
	for p, q := range taken {
		if _, err := tx.Exec(`UPDATE products SET stock = stock - ? WHERE id = ?`, q, p); err != nil {
			return fmt.Errorf("take seeded stock: %w", err)
		}
	}
	return tx.Commit()
}

// benchCode is the discount code of the checkout-priced scenario.
const benchCode = "BENCH10"

// seedPricing gives the shop (stopped) the pricing rules of the
// checkout-priced scenario: a 10% code with a use limit and a per-email
// limit (so that both counts run in the writer, neither reached) and a 20%
// tax rate for every country, applied to shipping too.
func seedPricing(dbPath string, rng *rand.Rand) error {
	db, err := openDB(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	now := pbTime(time.Now())
	if _, err := db.Exec(`INSERT INTO discount_codes (id, code, kind, value, min_subtotal_cents, starts_at, ends_at,
			max_uses, max_uses_per_email, used_count, active, products, created, updated)
		VALUES (?, ?, 'percent', 10, 0, '', '', 1000000000, 5, 0, 1, '[]', ?, ?)`, newID(rng), benchCode, now, now); err != nil {
		return fmt.Errorf("insert discount code: %w", err)
	}
	if _, err := db.Exec(`INSERT INTO tax_rates (id, name, country, region, rate_bp, applies_to_shipping, created, updated)
		VALUES (?, 'VAT', '*', '', 2000, 1, ?, ?)`, newID(rng), now, now); err != nil {
		return fmt.Errorf("insert tax rate: %w", err)
	}
	return nil
}
