// Command bench measures pocketshop against bare PocketBase with the same
// collections, and breaks it on purpose.
//
//	go run ./bench run     # load: checkout and browse, at several sizes and concurrencies
//	go run ./bench faults  # kill -9, duplicate webhooks, the last units race, an SMTP outage
//	go run ./bench search  # the product search at 100 and 100,000 products, beside a page listing
//
// Both build ./pocketshop and bench/barepb, start each on loopback with a
// fresh data dir under -work, and write their results as JSON under
// bench/results/ (not committed). Run with -h for the flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "reports" {
		return runReports(args) // bench/reports.go: flags of its own
	}
	if cmd == "search" {
		return runSearch(args) // bench/search.go: flags of its own
	}
	fs := flag.NewFlagSet("bench "+cmd, flag.ContinueOnError)
	results := fs.String("results", "bench/results", "folder for the JSON results (relative to the repository)")
	work := fs.String("work", "", "folder for data dirs, binaries and profiles (default: a new temporary folder, removed afterwards)")
	sync := fs.String("sync", "full,normal", "SQLite synchronous modes to measure (the first is used for every size, the others for the first size)")
	duration := fs.Duration("duration", 5*time.Second, "how long each row (or each fault's load) runs")

	conc := fs.String("c", "1,8,32,128", "run: concurrency levels (clients) of the closed loop; empty for none")
	rates := fs.String("rate", "", "run: offered rates (ops/s) of an open loop, after the closed loop's rows, e.g. 400")
	scenarios := fs.String("scenarios", "checkout,browse", "run: scenarios: checkout (order + webhook), checkout-priced (the same with a discount code and a tax rate), order (create only), "+
		"flow (order + pay route at stripe-mock + webhook), browse (no total count), browse-total (with it)")
	sizes := fs.String("sizes", "100,10000,100000,100/100000", "run: data sets, as products or products/existing orders")
	before := fs.String("before", "", "run: also measure pocketshop built from this git ref (e.g. main) as target \"before\", interleaved with the current one")
	rounds := fs.Int("rounds", 1, "run: repeat every row this many times, the targets interleaved in each round")
	profileAt := fs.Int("profile", 32, "run: take a CPU profile of pocketshop's checkout at this concurrency (0: none)")

	products := fs.Int("products", 100, "faults: catalog size")
	faultConc := fs.Int("fault-c", 8, "faults: clients of the checkout load")
	webhooks := fs.Int("webhooks", 50, "faults: orders whose webhook is delivered 3 times")
	racers := fs.Int("racers", 100, "faults: clients racing for the last units")
	units := fs.Int("units", 10, "faults: units left")
	if err := fs.Parse(args); err != nil {
		return err
	}
	syncs := strings.Split(*sync, ",")
	for _, s := range syncs {
		if s != "full" && s != "normal" {
			return fmt.Errorf("-sync: %q is not full or normal", s)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	repo, err := repoRoot()
	if err != nil {
		return err
	}
	workDir := *work
	if workDir == "" {
		if workDir, err = os.MkdirTemp("", "pocketshop-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(workDir)
	}
	fmt.Println("building pocketshop and bare PocketBase ...")
	shop, bare, err := buildBinaries(repo, filepath.Join(workDir, "bin"))
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	resultsDir := *results
	if !filepath.IsAbs(resultsDir) {
		resultsDir = filepath.Join(repo, resultsDir)
	}

	switch cmd {
	case "run":
		cfg := runConfig{Duration: *duration, Scenarios: strings.Split(*scenarios, ","), Syncs: syncs, ProfileAt: *profileAt,
			Repo: repo, Rounds: *rounds}
		if *before != "" {
			fmt.Printf("building pocketshop at %s ...\n", *before)
			t, err := buildAt(repo, *before, filepath.Join(workDir, "before"))
			if err != nil {
				return err
			}
			cfg.Before = &t
		}
		if *conc != "" {
			if cfg.Concurrency, err = parseInts(*conc); err != nil {
				return fmt.Errorf("-c: %w", err)
			}
		}
		if *rates != "" {
			if cfg.Rates, err = parseInts(*rates); err != nil {
				return fmt.Errorf("-rate: %w", err)
			}
		}
		if len(cfg.Concurrency)+len(cfg.Rates) == 0 {
			return fmt.Errorf("-c and -rate are both empty: nothing to measure")
		}
		if cfg.Sizes, err = parseSizes(*sizes); err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		rep, err := benchRun(ctx, cfg, shop, bare, workDir, os.Stdout)
		if rep != nil {
			summarizeRun(rep)
			summarizeRounds(rep)
			if werr := writeJSON(resultsDir, "run-"+stamp, rep); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			return err
		}
		for _, inv := range rep.Invariants {
			if failed(inv.Checks) {
				return fmt.Errorf("an invariant failed after %s/%s/%s", inv.Target, inv.Scenario, inv.Size)
			}
		}
		return nil

	case "faults":
		cfg := faultConfig{Products: *products, Duration: *duration, Concurrency: *faultConc, Webhooks: *webhooks,
			Racers: *racers, Units: *units, Sync: syncs[0]}
		res, err := runFaults(ctx, cfg, shop, repo, workDir, os.Stdout)
		if err != nil {
			return err
		}
		if err := writeJSON(resultsDir, "faults-"+stamp, res); err != nil {
			return err
		}
		for _, f := range res {
			if failed(f.Checks) {
				return fmt.Errorf("fault %q: a check failed", f.Name)
			}
		}
		fmt.Println("faults: every check passed or was skipped with its reason")
		return nil
	}
	return fmt.Errorf("unknown command %q (run or faults)", cmd)
}

// summarizeRun prints the figures the README's targets are about.
func summarizeRun(rep *report) {
	fmt.Println()
	for _, r := range rep.Rows {
		if r.Target != "pocketshop" || r.Scenario != "checkout" || r.OfferedRate > 0 {
			continue
		}
		if raw := rep.RawTPS[r.Sync]; raw > 0 && r.Size == rep.Config.Sizes[0] {
			fmt.Printf("checkout c=%-3d sync=%-6s: %.0f checkouts/s = %.1f%% of raw SQLite write transactions/s (%.0f)\n",
				r.Concurrency, r.Sync, r.OpsPerSec, 100*r.OpsPerSec/raw, raw)
		}
	}
	// The scale curve: each size's latency beside the first size's.
	first := map[string]row{}
	for _, r := range rep.Rows {
		if r.Target != "pocketshop" || r.Sync != rep.Config.Syncs[0] {
			continue
		}
		key := fmt.Sprintf("%s c=%d", r.Scenario, r.Concurrency)
		base, ok := first[key]
		if !ok {
			first[key] = r
			continue
		}
		fmt.Printf("scale %-20s size %-11s vs %-6s: p50 %.2fx, p99 %.2fx, ops/s %.2fx, peak RSS %.0f MB vs %.0f MB\n",
			key, r.Size, base.Size, ratio(r.P50ms, base.P50ms), ratio(r.P99ms, base.P99ms), ratio(r.OpsPerSec, base.OpsPerSec),
			float64(r.PeakRSS)/(1<<20), float64(base.PeakRSS)/(1<<20))
	}
	if rep.Profile != "" {
		fmt.Println()
		lines := strings.Split(rep.Profile, "\n")
		fmt.Println(strings.Join(lines[:min(len(lines), 40)], "\n"))
	}
}

func writeJSON(dir, name string, v any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	fmt.Println("results:", path)
	return nil
}
