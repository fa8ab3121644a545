package main

import (
	"database/sql"
	"fmt"
	"strings"
)

// Check outcomes.
const (
	pass = "pass"
	fail = "FAIL"
	skip = "skip"
)

// check is one invariant's outcome.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (c check) String() string {
	s := fmt.Sprintf("  %-4s  %s", c.Status, c.Name)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

func failed(checks []check) bool {
	for _, c := range checks {
		if c.Status == fail {
			return true
		}
	}
	return false
}

// checkInvariants reads the data.db of a stopped shop and checks it against
// what the clients saw.
func checkInvariants(dbPath string, seen *observed, webhookAvailable bool) []check {
	db, err := openDB(dbPath)
	if err != nil {
		return []check{{"open database", fail, err.Error()}}
	}
	defer db.Close()

	var out []check
	add := func(name string, bad []string, err error, ok string) {
		switch {
		case err != nil:
			out = append(out, check{name, fail, err.Error()})
		case len(bad) > 0:
			out = append(out, check{name, fail, summarize(bad)})
		default:
			out = append(out, check{name, pass, ok})
		}
	}

	// The ledger invariant holds per stock-keeping unit: every variant, and
	// every product for the movements without a variant (a product sold by
	// variant keeps its own stock aside). A shop from before variants
	// (an A/B run against an older build) has products only.
	perSKU := hasColumn(db, "stock_movements", "variant")
	negative := `SELECT id || ' has ' || stock FROM products WHERE stock < 0`
	ledger := `SELECT p.id || ': stock ' || p.stock || ', ledger ' || COALESCE(m.s, 0)
		FROM products p LEFT JOIN (SELECT product, SUM(delta) AS s FROM stock_movements GROUP BY product) m ON m.product = p.id
		WHERE p.stock != COALESCE(m.s, 0)`
	units := `SELECT COUNT(*) || ' products' FROM products`
	if perSKU {
		negative += ` UNION ALL SELECT 'variant ' || id || ' has ' || stock FROM variants WHERE stock < 0`
		ledger = `SELECT p.id || ': stock ' || p.stock || ', ledger ' || COALESCE(m.s, 0)
			FROM products p LEFT JOIN (SELECT product, SUM(delta) AS s FROM stock_movements WHERE variant = '' GROUP BY product) m ON m.product = p.id
			WHERE p.stock != COALESCE(m.s, 0)
			UNION ALL
			SELECT 'variant ' || v.id || ': stock ' || v.stock || ', ledger ' || COALESCE(m.s, 0)
			FROM variants v LEFT JOIN (SELECT variant, SUM(delta) AS s FROM stock_movements WHERE variant != '' GROUP BY variant) m ON m.variant = v.id
			WHERE v.stock != COALESCE(m.s, 0)`
		units = `SELECT (SELECT COUNT(*) FROM products) || ' products, ' || (SELECT COUNT(*) FROM variants) || ' variants'`
	}
	bad, err := column(db, negative)
	add("no negative stock", bad, err, "")

	bad, err = column(db, ledger)
	var counted string
	_ = db.QueryRow(units).Scan(&counted)
	add("stock == start + ledger, per SKU", bad, err, counted)

	seen.mu.Lock()
	defer seen.mu.Unlock()
	var missing []string
	for id := range seen.orders {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM orders WHERE id = ?`, id).Scan(&n); err != nil || n != 1 {
			missing = append(missing, id)
		}
	}
	add("every order answered 2xx is stored", missing, nil, fmt.Sprintf("%d orders", len(seen.orders)))

	if !webhookAvailable {
		out = append(out,
			check{"each delivered webhook: one payment_events row, order paid", skip, "webhook: not available"},
			check{"no order paid twice", skip, "webhook: not available"})
	} else {
		var wrong []string
		for ev, order := range seen.delivered {
			var rows int
			var status string
			err := db.QueryRow(`SELECT COUNT(*) FROM payment_events WHERE event_id = ? AND "order" = ?`, ev, order).Scan(&rows)
			if err == nil {
				err = db.QueryRow(`SELECT status FROM orders WHERE id = ?`, order).Scan(&status)
			}
			if err != nil || rows != 1 || (status != "paid" && status != "fulfilled" && status != "refunded") {
				wrong = append(wrong, fmt.Sprintf("%s: %d payment_events rows, order %s %q %v", ev, rows, order, status, err))
			}
		}
		add("each delivered webhook: one payment_events row, order paid", wrong, nil, fmt.Sprintf("%d webhooks", len(seen.delivered)))
		bad, err = column(db, `SELECT "order" || ' paid ' || COUNT(*) || ' times' FROM order_events
			WHERE to_status = 'paid' AND from_status != 'paid' GROUP BY "order" HAVING COUNT(*) > 1`)
		add("no order paid twice", bad, err, "")
	}

	out = append(out, checkReceipts(db))
	return out
}

// checkReceipts checks that every paid order the run placed has exactly one
// receipt (dedupe key order:<id>:paid) in the outbox. It is skipped while the
// outbox has no order emails at all (the email triggers are not there).
func checkReceipts(db *sql.DB) check {
	const name = "every paid order: exactly one receipt in the outbox"
	var paid, orderEmails int
	if err := db.QueryRow(`SELECT COUNT(*) FROM orders WHERE paid_at != '' AND note != ?`, seedNote).Scan(&paid); err != nil {
		return check{name, fail, err.Error()}
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM emails WHERE "order" != ''`).Scan(&orderEmails); err != nil {
		return check{name, fail, err.Error()}
	}
	if orderEmails == 0 {
		return check{name, skip, "outbox triggers not available (no order emails queued)"}
	}
	bad, err := column(db, `SELECT o.id || ': ' || COUNT(e.id) || ' receipts' FROM orders o
		LEFT JOIN emails e ON e.dedupe_key = 'order:' || o.id || ':paid'
		WHERE o.paid_at != '' AND o.note != ? GROUP BY o.id HAVING COUNT(e.id) != 1`, seedNote)
	if err != nil {
		return check{name, fail, err.Error()}
	}
	if len(bad) > 0 {
		return check{name, fail, summarize(bad)}
	}
	return check{name, pass, fmt.Sprintf("%d paid orders", paid)}
}

// hasColumn reports whether table has column.
func hasColumn(db *sql.DB, table, column string) bool {
	var n int
	err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n)
	return err == nil && n > 0
}

func column(db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// summarize shows the first few of many problems.
func summarize(items []string) string {
	const show = 5
	if len(items) <= show {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:show], "; "), len(items)-show)
}
