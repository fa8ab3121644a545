package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// go run ./bench reports: how fast the owner's sales report and CSV export
// answer over a big shop. It seeds -orders orders spread over the last
// -spread days (every third one unpaid: pending, cancelled or expired; the
// rest paid, fulfilled or refunded, with 1 to 3 lines each), then asks for
// the -days-day report -n times and the CSV export of the same range
// -csv-n times, one request at a time.

// reportsConfig are the flags of `bench reports`.
type reportsConfig struct {
	Orders, Products, Days, Spread, N, CSVN int
	Timezone                                string
}

// reportTiming is one measured endpoint.
type reportTiming struct {
	Endpoint string  `json:"endpoint"`
	N        int     `json:"n"`
	P50ms    float64 `json:"p50_ms"`
	P95ms    float64 `json:"p95_ms"`
	MaxMs    float64 `json:"max_ms"`
	// CPUms is the server's CPU time (user + system) per request: unlike
	// the latency, it does not grow when other processes share the cores.
	CPUms float64 `json:"cpu_ms_per_request"`
	Bytes int     `json:"bytes"`
}

// reportsResult is what bench reports writes to bench/results.
type reportsResult struct {
	Config  reportsConfig  `json:"config"`
	Paid    int            `json:"paid_orders_in_range"`
	Timings []reportTiming `json:"timings"`
	LoadAvg string         `json:"loadavg"`
}

func runReports(args []string) error {
	fs := flag.NewFlagSet("bench reports", flag.ContinueOnError)
	var cfg reportsConfig
	fs.IntVar(&cfg.Orders, "orders", 100_000, "orders in the shop")
	fs.IntVar(&cfg.Products, "products", 200, "products in the catalog")
	fs.IntVar(&cfg.Days, "days", 90, "days the report covers (up to today)")
	fs.IntVar(&cfg.Spread, "spread", 90, "days the orders are spread over (up to today)")
	fs.IntVar(&cfg.N, "n", 20, "sales report requests")
	fs.IntVar(&cfg.CSVN, "csv-n", 3, "CSV export requests (0: none)")
	fs.StringVar(&cfg.Timezone, "tz", "America/New_York", "the shop's time zone")
	results := fs.String("results", "bench/results", "folder for the JSON results (relative to the repository)")
	workFlag := fs.String("work", "", "folder for the data dir and binary (default: a new temporary folder, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	work := *workFlag
	if work == "" {
		if work, err = os.MkdirTemp("", "pocketshop-bench-reports-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}

	fmt.Println("building pocketshop ...")
	shop, _, err := buildBinaries(repo, filepath.Join(work, "bin"))
	if err != nil {
		return err
	}
	srv, err := newServer(shop, filepath.Join(work, "shop"), "normal")
	if err != nil {
		return err
	}
	defer srv.close()
	rng := rand.New(rand.NewPCG(1, 2))
	products, err := seedProducts(srv.dbPath(), cfg.Products, 1_000_000, rng)
	if err != nil {
		return fmt.Errorf("seed products: %w", err)
	}
	now := time.Now()
	fmt.Printf("seeding %d orders over %d days ...\n", cfg.Orders, cfg.Spread)
	if err := seedReportOrders(srv.dbPath(), cfg, products, now, rng); err != nil {
		return fmt.Errorf("seed orders: %w", err)
	}

	today := now.In(loc)
	to := today.Format(time.DateOnly)
	from := today.AddDate(0, 0, -(cfg.Days - 1)).Format(time.DateOnly)
	query := "?from=" + from + "&to=" + to
	res := reportsResult{Config: cfg}
	if err := srv.start(); err != nil {
		return err
	}
	if err := srv.patchSettingsRecord(cfg.Timezone); err != nil {
		return err
	}
	for _, ep := range []struct {
		path string
		n    int
	}{{"/api/shop/reports/sales", cfg.N}, {"/api/shop/reports/orders.csv", cfg.CSVN}} {
		if ep.n == 0 {
			continue
		}
		t, body, err := timeGets(srv, ep.path+query, ep.n)
		if err != nil {
			return err
		}
		if ep.path == "/api/shop/reports/sales" {
			var rep struct {
				Totals struct {
					Orders int `json:"orders"`
				} `json:"totals"`
			}
			if err := json.Unmarshal(body, &rep); err != nil {
				return fmt.Errorf("sales report: %w", err)
			}
			res.Paid = rep.Totals.Orders
		}
		fmt.Printf("%-30s %d-day range (%d paid orders of %d): n=%d p50 %.1f ms, p95 %.1f ms, max %.1f ms, server CPU %.1f ms/request, %d bytes\n",
			ep.path, cfg.Days, res.Paid, cfg.Orders, ep.n, t.P50ms, t.P95ms, t.MaxMs, t.CPUms, t.Bytes)
		res.Timings = append(res.Timings, t)
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.LoadAvg = strings.TrimSpace(string(load))
		fmt.Println("load average:", res.LoadAvg)
	}
	if !filepath.IsAbs(*results) {
		*results = filepath.Join(repo, *results)
	}
	return writeJSON(*results, "reports-"+time.Now().UTC().Format("20060102-150405"), res)
}

// patchSettingsRecord sets the shop's time zone in shop_settings.
func (s *server) patchSettingsRecord(tz string) error {
	c := newClient(s.url, 1)
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	st, raw, err := c.do(context.Background(), http.MethodGet, "/api/collections/shop_settings/records", s.token, nil, &list)
	if err != nil || st != http.StatusOK || len(list.Items) == 0 {
		return fmt.Errorf("shop settings: %d %s %v", st, raw, err)
	}
	st, raw, err = c.do(context.Background(), http.MethodPatch, "/api/collections/shop_settings/records/"+list.Items[0].ID,
		s.token, map[string]any{"timezone": tz}, nil)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("set timezone: %d %s %v", st, raw, err)
	}
	return nil
}

// timeGets sends n GETs of path one after the other (after one warm-up)
// and returns their latencies and the last body.
func timeGets(s *server, path string, n int) (reportTiming, []byte, error) {
	c := newClient(s.url, 1)
	get := func() ([]byte, time.Duration, error) {
		req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Authorization", s.token)
		start := time.Now()
		res, err := c.http.Do(req)
		if err != nil {
			return nil, 0, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %d %s", path, res.StatusCode, body)
		}
		return body, took, err
	}
	if _, _, err := get(); err != nil {
		return reportTiming{}, nil, err
	}
	cpuBefore := s.cpuTime()
	var body []byte
	took := make([]time.Duration, n)
	for i := range n {
		b, d, err := get()
		if err != nil {
			return reportTiming{}, nil, err
		}
		body, took[i] = b, d
	}
	cpu := s.cpuTime() - cpuBefore
	slices.Sort(took)
	return reportTiming{Endpoint: path, N: n, P50ms: pct(took, 0.50), P95ms: pct(took, 0.95),
		MaxMs: float64(took[n-1].Microseconds()) / 1000, CPUms: float64(cpu.Microseconds()) / 1000 / float64(n),
		Bytes: len(body)}, body, nil
}

// seedReportOrders inserts cfg.Orders orders placed evenly over the last
// cfg.Spread days, straight into SQLite while the server is stopped. Stock
// is not touched: the report does not read it.
func seedReportOrders(dbPath string, cfg reportsConfig, products []string, now time.Time, rng *rand.Rand) error {
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
	ins, err := tx.Prepare(`INSERT INTO orders (id, number, status, email, items, payment_method, shipping_address, note,
		subtotal_cents, shipping_cents, total_cents, refunded_cents, currency, token, expires_at, paid_at,
		fulfilled_at, stripe_session_id, stripe_payment_intent, created, updated)
		VALUES (?, ?, ?, ?, ?, 'stripe', ?, ?, ?, ?, ?, ?, 'usd', ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare order insert: %w", err)
	}
	addr, _ := json.Marshal(map[string]string{"name": "Ann Example", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"})
	start := now.Add(-time.Duration(cfg.Spread) * 24 * time.Hour)
	step := time.Duration(cfg.Spread) * 24 * time.Hour / time.Duration(cfg.Orders)
	unpaid := []string{"pending", "cancelled", "expired"}
	paid := []string{"paid", "fulfilled", "fulfilled", "fulfilled", "refunded"}
	for i := range cfg.Orders {
		at := start.Add(time.Duration(i) * step)
		var lines []map[string]any
		subtotal := 0
		for range 1 + rng.IntN(3) {
			price, qty := 500+rng.IntN(9500), 1+rng.IntN(3)
			p := rng.IntN(len(products))
			lines = append(lines, map[string]any{"product": products[p], "name": fmt.Sprintf("Bench product %06d", p),
				"sku": fmt.Sprintf("BENCH-%06d", p), "unit_price_cents": price, "quantity": qty, "line_total_cents": price * qty})
			subtotal += price * qty
		}
		items, _ := json.Marshal(lines)
		shipping := 500
		if subtotal >= 5000 {
			shipping = 0
		}
		status, paidAt, fulfilledAt, refunded := unpaid[i%3], "", "", 0
		if i%3 != 0 {
			status = paid[rng.IntN(len(paid))]
			paidAt = pbTime(at.Add(2 * time.Minute))
			if status == "fulfilled" {
				fulfilledAt = pbTime(at.Add(24 * time.Hour))
			}
			if status == "refunded" {
				refunded = subtotal + shipping
			}
		}
		// A pending order's reservation runs until tomorrow: expiring tens of
		// thousands of them would keep the server busy during the measurement.
		expires := pbTime(at.Add(30 * time.Minute))
		if status == "pending" {
			expires = pbTime(now.Add(24 * time.Hour))
		}
		id := newID(rng)
		if _, err := ins.Exec(id, 1001+i, status, fmt.Sprintf("buyer%d@example.com", i%5000), string(items), string(addr),
			seedNote, subtotal, shipping, subtotal+shipping, refunded, newID(rng)+newID(rng), expires,
			paidAt, fulfilledAt, "cs_seed_"+id, "pi_seed_"+id, pbTime(at), pbTime(at)); err != nil {
			return fmt.Errorf("insert order %d: %w", i, err)
		}
	}
	return tx.Commit()
}
