package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// size is a data set: a catalog and the orders already placed.
type size struct {
	Products int `json:"products"`
	Orders   int `json:"orders"`
}

func (s size) String() string {
	if s.Orders == 0 {
		return strconv.Itoa(s.Products)
	}
	return fmt.Sprintf("%d/%d", s.Products, s.Orders)
}

// parseSizes reads "100,10000,100/100000" (products, or products/orders).
func parseSizes(spec string) ([]size, error) {
	var out []size
	for _, f := range strings.Split(spec, ",") {
		p, o, _ := strings.Cut(strings.TrimSpace(f), "/")
		var s size
		var err error
		if s.Products, err = strconv.Atoi(p); err != nil || s.Products < 1 {
			return nil, fmt.Errorf("bad size %q: want products or products/orders", f)
		}
		if o != "" {
			if s.Orders, err = strconv.Atoi(o); err != nil || s.Orders < 0 {
				return nil, fmt.Errorf("bad size %q: want products or products/orders", f)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func parseInts(spec string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runConfig is what `bench run` measures.
type runConfig struct {
	Concurrency []int `json:"concurrency"`
	// Rates are the offered rates (ops/s) of the open-loop rows.
	Rates     []int         `json:"rates,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	Scenarios []string      `json:"scenarios"`
	Sizes     []size        `json:"sizes"`
	// Syncs are the synchronous modes the first size is measured with;
	// other sizes use the first one.
	Syncs []string `json:"syncs"`
	// ProfileAt takes a CPU profile of pocketshop's checkout at this
	// concurrency (0: none).
	ProfileAt int `json:"profile_at"`
	// Repo is the repository, where the flow scenario finds stripe-mock.
	Repo string `json:"-"`
	// Before, when set, is pocketshop built from an earlier commit
	// (-before REF), measured beside the current one in every round.
	Before *target `json:"before,omitempty"`
	// Rounds repeats every measurement, the targets interleaved in each
	// round, so that a drift of the machine's speed hits them alike.
	Rounds int `json:"rounds"`
}

// row is one measured run: one server, scenario, size, sync mode and
// concurrency.
type row struct {
	Scenario    string `json:"scenario"`
	Target      string `json:"target"`
	Size        size   `json:"size"`
	Sync        string `json:"sync"`
	Concurrency int    `json:"concurrency"`
	Round       int    `json:"round"`
	loadResult
	PeakRSS  int64   `json:"peak_rss_bytes"`
	DataDir  int64   `json:"data_dir_bytes"`
	Note     string  `json:"note,omitempty"`
	RatioOps float64 `json:"ratio_ops_vs_bare,omitempty"`
	RatioP99 float64 `json:"ratio_p99_vs_bare,omitempty"`
}

// invariantRun is the invariants checked after one server's runs.
type invariantRun struct {
	Target   string  `json:"target"`
	Scenario string  `json:"scenario"`
	Size     size    `json:"size"`
	Sync     string  `json:"sync"`
	Checks   []check `json:"checks"`
}

// report is everything one `bench run` measured.
type report struct {
	Started    time.Time          `json:"started"`
	Host       string             `json:"host"`
	Config     runConfig          `json:"config"`
	RawTPS     map[string]float64 `json:"raw_sqlite_write_tx_per_sec"`
	Rows       []row              `json:"rows"`
	Invariants []invariantRun     `json:"invariants"`
	Profile    string             `json:"cpu_profile_top,omitempty"`
}

// benchRun measures every size, sync mode, scenario and target.
func benchRun(ctx context.Context, cfg runConfig, shop, bare target, workDir string, w io.Writer) (*report, error) {
	rep := &report{Started: time.Now().UTC(), Config: cfg, RawTPS: map[string]float64{}}
	rep.Host, _ = os.Hostname()

	for _, sync := range cfg.Syncs {
		tps, err := rawWriteTPS(workDir, sync, min(cfg.Duration, 5*time.Second))
		if err != nil {
			return nil, err
		}
		rep.RawTPS[sync] = tps
		fmt.Fprintf(w, "raw SQLite write transactions/s (synchronous=%s, one row each): %.0f\n", sync, tps)
	}

	targets := []target{bare}
	if cfg.Before != nil {
		targets = append(targets, *cfg.Before)
	}
	targets = append(targets, shop)

	fmt.Fprintln(w)
	fmt.Fprintln(w, tableHeader())
	for round := 1; round <= max(1, cfg.Rounds); round++ {
		for i, sz := range cfg.Sizes {
			syncs := cfg.Syncs
			if i > 0 {
				syncs = syncs[:1]
			}
			for _, sync := range syncs {
				for _, scenario := range cfg.Scenarios {
					var bareRows []row
					for _, t := range targets {
						if !t.Shop && scenario == "flow" {
							continue // bare PocketBase has no pay route or webhook
						}
						profile := 0
						if t.Shop && profiled(scenario) && i == 0 && sync == cfg.Syncs[0] && round == 1 {
							profile = cfg.ProfileAt
						}
						rows, inv, prof, err := measure(ctx, t, scenario, sz, sync, cfg, profile, workDir, round)
						if err != nil {
							return rep, err
						}
						for j := range rows {
							rows[j].Round = round
							if t.Shop && j < len(bareRows) {
								rows[j].RatioOps = ratio(rows[j].OpsPerSec, bareRows[j].OpsPerSec)
								rows[j].RatioP99 = ratio(rows[j].P99ms, bareRows[j].P99ms)
							}
							fmt.Fprintln(w, tableRow(rows[j]))
						}
						if !t.Shop {
							bareRows = rows
						}
						rep.Rows = append(rep.Rows, rows...)
						rep.Invariants = append(rep.Invariants, inv)
						if prof != "" {
							rep.Profile += t.Name + " " + scenario + " " + prof
						}
						for _, c := range inv.Checks {
							if c.Status != pass {
								fmt.Fprintf(w, "      invariant %s/%s/%s: %s\n", t.Name, scenario, sz, strings.TrimSpace(c.String()))
							}
						}
					}
				}
			}
		}
	}
	return rep, nil
}

// profiled says which scenarios get a CPU profile: the ones that write.
func profiled(scenario string) bool {
	return scenario == "checkout" || scenario == "checkout-priced" || scenario == "order" || scenario == "flow"
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// measure starts t on a fresh data dir seeded with sz, runs scenario at each
// concurrency, stops it and checks the invariants.
func measure(ctx context.Context, t target, scenario string, sz size, sync string, cfg runConfig, profileAt int, workDir string, round int) ([]row, invariantRun, string, error) {
	inv := invariantRun{Target: t.Name, Scenario: scenario, Size: sz, Sync: sync}
	dir := filepath.Join(workDir, fmt.Sprintf("%s-%s-%s-%s-r%d", t.Name, scenario, strings.ReplaceAll(sz.String(), "/", "o"), sync, round))
	srv, err := newServer(t, dir, sync)
	if err != nil {
		return nil, inv, "", err
	}
	defer srv.close()
	rng := rand.New(rand.NewPCG(uint64(sz.Products), uint64(sz.Orders)))
	products, err := seedProducts(srv.dbPath(), sz.Products, 1_000_000, rng)
	if err != nil {
		return nil, inv, "", fmt.Errorf("seed products: %w", err)
	}
	if err := seedOrders(srv.dbPath(), sz.Orders, products, rng); err != nil {
		return nil, inv, "", fmt.Errorf("seed orders: %w", err)
	}
	if scenario == "checkout-priced" && t.Shop {
		if err := seedPricing(srv.dbPath(), rng); err != nil {
			return nil, inv, "", fmt.Errorf("seed pricing: %w", err)
		}
	}
	var env []string
	if scenario == "flow" && t.Shop {
		mock, err := startStripeMock(cfg.Repo)
		if err != nil {
			return nil, inv, "", err
		}
		defer mock.stop()
		// stripe-mock refuses a key with more than one underscore
		env = append(env, "STRIPE_API_BASE="+mock.url, "STRIPE_SECRET_KEY=sk_test_pocketshopbench")
	}
	var pprofAddr string
	if profileAt > 0 {
		port, err := freePort()
		if err != nil {
			return nil, inv, "", err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", port)
		env = append(env, "POCKETSHOP_PPROF_ADDR="+pprofAddr)
	}
	if err := srv.start(env...); err != nil {
		return nil, inv, "", err
	}

	maxConc := 1
	for _, c := range cfg.Concurrency {
		maxConc = max(maxConc, c)
	}
	if len(cfg.Rates) > 0 {
		maxConc = max(maxConc, 256)
	}
	wd := newWorld(srv, products, maxConc)
	wd.probeWebhook(ctx)
	fn := map[string]op{"browse": wd.browse, "browse-total": wd.browseTotal, "checkout": wd.checkoutBare, "checkout-priced": wd.checkoutBare}[scenario]
	if scenario == "order" || scenario == "flow" {
		fn = wd.checkoutBare // bare PocketBase's baseline: the same write, without the shop's work
	}
	if t.Shop {
		switch scenario {
		case "checkout":
			fn = wd.checkoutShop
		case "checkout-priced":
			fn = wd.checkoutPricedShop
		case "order":
			fn = wd.orderShop
		case "flow":
			fn = wd.flowShop
		}
	}
	if fn == nil {
		return nil, inv, "", fmt.Errorf("unknown scenario %q", scenario)
	}

	var rows []row
	var profile string
	// closed-loop rows are listed by their clients, open-loop ones by a
	// negative offered rate
	loads := slices.Clone(cfg.Concurrency)
	for _, r := range cfg.Rates {
		loads = append(loads, -r)
	}
	for _, conc := range loads {
		srv.resetPeakRSS()
		var profDone chan string
		if conc == profileAt && pprofAddr != "" {
			profDone = make(chan string, 1)
			go func() { profDone <- takeProfile(pprofAddr, t.Bin, cfg.Duration, workDir) }()
		}
		cpu0 := srv.cpuTime()
		var res loadResult
		if conc > 0 {
			res = runLoad(ctx, conc, cfg.Duration, uint64(conc), fn)
		} else {
			res = runOpenLoop(ctx, -conc, cfg.Duration, uint64(-conc), fn)
			conc = 0
		}
		if res.Ops > 0 {
			res.CPUmsPerOp = float64((srv.cpuTime() - cpu0).Microseconds()) / 1000 / float64(res.Ops)
		}
		r := row{Scenario: scenario, Target: t.Name, Size: sz, Sync: sync, Concurrency: conc, loadResult: res,
			PeakRSS: srv.peakRSS(), DataDir: dirSize(dir)}
		if (scenario == "checkout" || scenario == "checkout-priced" || scenario == "flow") && t.Shop && !wd.webhook {
			r.Note = "webhook: not available"
		}
		if profDone != nil {
			profile = <-profDone
		}
		rows = append(rows, r)
	}
	if err := srv.stop(); err != nil {
		return rows, inv, profile, err
	}
	inv.Checks = checkInvariants(srv.dbPath(), wd.seen, wd.webhook)
	return rows, inv, profile, nil
}

// takeProfile records a CPU profile of the server over most of a run and
// returns pprof's top functions (cumulative), or why it could not.
func takeProfile(addr, bin string, d time.Duration, workDir string) string {
	secs := max(1, int((d-d/5)/time.Second))
	res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
	if err != nil {
		return "profile failed: " + err.Error()
	}
	defer res.Body.Close()
	path := filepath.Join(workDir, fmt.Sprintf("cpu-%d.pprof", time.Now().UnixNano()))
	f, err := os.Create(path)
	if err != nil {
		return "profile failed: " + err.Error()
	}
	_, err = io.Copy(f, res.Body)
	f.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return fmt.Sprintf("profile failed: %d %v (is POCKETSHOP_PPROF_ADDR wired in main.go?)", res.StatusCode, err)
	}
	var top strings.Builder
	for _, args := range [][]string{{"-top", "-nodecount=25"}, {"-top", "-cum", "-nodecount=40"}} {
		out, err := exec.Command("go", append(append([]string{"tool", "pprof"}, args...), bin, path)...).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("profile saved to %s; go tool pprof failed: %v", path, err)
		}
		top.Write(out)
		top.WriteString("\n")
	}
	return "profile: " + path + "\n" + top.String()
}

func tableHeader() string {
	return fmt.Sprintf("%-12s %-11s %-6s %-6s %4s  %9s %8s %8s %8s %7s  %8s %8s  %-13s  %s",
		"scenario", "size", "sync", "target", "conc", "ops/s", "p50 ms", "p95 ms", "p99 ms", "cpu/op", "RSS MB", "data MB", "vs bare ops/p99", "errors")
}

func tableRow(r row) string {
	vs := ""
	if r.RatioOps > 0 {
		vs = fmt.Sprintf("%.2f / %.2f", r.RatioOps, r.RatioP99)
	}
	var errs []string
	for _, k := range errorKinds(r.Errors) {
		errs = append(errs, fmt.Sprintf("%s×%d", k, r.Errors[k]))
	}
	e := strings.Join(errs, ", ")
	if e == "" {
		e = "0"
	}
	if r.Note != "" {
		e += " (" + r.Note + ")"
	}
	load := strconv.Itoa(r.Concurrency)
	if r.OfferedRate > 0 {
		load = "r" + strconv.Itoa(r.OfferedRate)
	}
	return fmt.Sprintf("%-12s %-11s %-6s %-6s %4s  %9.1f %8.1f %8.1f %8.1f %7.2f  %8.1f %8.1f  %-13s  %s",
		r.Scenario, r.Size, r.Sync, shortName(r.Target), load, r.OpsPerSec, r.P50ms, r.P95ms, r.P99ms, r.CPUmsPerOp,
		float64(r.PeakRSS)/(1<<20), float64(r.DataDir)/(1<<20), vs, e)
}

func shortName(t string) string {
	if t == "pocketshop" {
		return "shop"
	}
	return t
}
