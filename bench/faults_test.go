package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFaultsSmall runs the fault suite at a small size (as `make test`
// does; `make faults` runs it at full size) and a short load through the
// benchmark itself, checking only outcomes, never timings.
func TestFaultsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the real binaries")
	}
	repo, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	shop, bare, err := testBinaries(repo, filepath.Join(work, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The two parts share nothing but the binaries; side by side they take
	// as long as the longer one. Only outcomes are checked, so sharing the
	// CPU changes nothing that is asserted.
	t.Run("faults", func(t *testing.T) {
		t.Parallel()
		cfg := faultConfig{Products: 20, Duration: 3 * time.Second, Concurrency: 4, Webhooks: 10, Racers: 40, Units: 10, Sync: "full"}
		res, err := runFaults(ctx, cfg, shop, repo, filepath.Join(work, "faults"), testWriter{t})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res {
			for _, c := range f.Checks {
				if c.Status == fail {
					t.Errorf("%s: %s", f.Name, strings.TrimSpace(c.String()))
				}
			}
		}
	})

	t.Run("load", func(t *testing.T) {
		t.Parallel()
		cfg := runConfig{Concurrency: []int{1, 4}, Duration: time.Second, Scenarios: []string{"checkout", "browse"},
			Sizes: []size{{Products: 30, Orders: 50}}, Syncs: []string{"normal"}}
		dir := filepath.Join(work, "load")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		rep, err := benchRun(ctx, cfg, shop, bare, dir, testWriter{t})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rows) != 8 {
			t.Fatalf("got %d rows, want 8", len(rep.Rows))
		}
		for _, r := range rep.Rows {
			if r.Ops == 0 || len(r.Errors) > 0 || r.PeakRSS == 0 || r.DataDir == 0 {
				t.Errorf("%s %s c=%d: %d ops, errors %v, RSS %d, data dir %d", r.Target, r.Scenario, r.Concurrency, r.Ops, r.Errors, r.PeakRSS, r.DataDir)
			}
		}
		for _, inv := range rep.Invariants {
			for _, c := range inv.Checks {
				if c.Status == fail {
					t.Errorf("%s %s: %s", inv.Target, inv.Scenario, strings.TrimSpace(c.String()))
				}
			}
		}
	})
}

// testBinaries are the binaries `make test` built once for every package
// ($POCKETSHOP_BIN and $BAREPB_BIN), or else built into dir.
func testBinaries(repo, dir string) (shop, bare target, err error) {
	shopBin, bareBin := os.Getenv("POCKETSHOP_BIN"), os.Getenv("BAREPB_BIN")
	if shopBin == "" || bareBin == "" {
		return buildBinaries(repo, dir)
	}
	if shopBin, err = filepath.Abs(shopBin); err != nil {
		return shop, bare, err
	}
	if bareBin, err = filepath.Abs(bareBin); err != nil {
		return shop, bare, err
	}
	return target{Name: "pocketshop", Bin: shopBin, Shop: true}, target{Name: "bare", Bin: bareBin}, nil
}

// testWriter sends the suite's report lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
