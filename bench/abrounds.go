package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
)

// buildAt builds pocketshop as it was at git ref (e.g. main) into dir, as
// the target "before": the same harness then measures both in one run.
func buildAt(repo, ref, dir string) (target, error) {
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return target{}, err
	}
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repo, ref, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return target{}, fmt.Errorf("export %s: %w\n%s", ref, err, out)
	}
	t := target{Name: "before", Bin: filepath.Join(dir, "pocketshop"), Shop: true}
	build := exec.Command("go", "build", "-trimpath", "-o", t.Bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return target{}, fmt.Errorf("build pocketshop at %s: %w\n%s", ref, err, out)
	}
	return t, nil
}

// summarizeRounds prints, per scenario and load, each target's median over
// the rounds: ops/s, p99, and the median of the per-round ratios to bare
// PocketBase (and of the current shop to "before").
func summarizeRounds(rep *report) {
	if rep.Config.Rounds <= 1 && rep.Config.Before == nil {
		return
	}
	type key struct {
		scenario, size, sync, load string
	}
	type cell struct{ ops, p99, cpu, vsBare, vsBefore []float64 }
	cells := map[key]map[string]*cell{}
	var keys []key
	find := func(k key, target string, round int) *row {
		for i := range rep.Rows {
			r := &rep.Rows[i]
			if r.Target == target && r.Round == round && r.Scenario == k.scenario && r.Size.String() == k.size &&
				r.Sync == k.sync && loadName(*r) == k.load {
				return r
			}
		}
		return nil
	}
	for _, r := range rep.Rows {
		k := key{r.Scenario, r.Size.String(), r.Sync, loadName(r)}
		if cells[k] == nil {
			cells[k] = map[string]*cell{}
			keys = append(keys, k)
		}
		c := cells[k][r.Target]
		if c == nil {
			c = &cell{}
			cells[k][r.Target] = c
		}
		c.ops = append(c.ops, r.OpsPerSec)
		c.p99 = append(c.p99, r.P99ms)
		c.cpu = append(c.cpu, r.CPUmsPerOp)
		if b := find(k, "bare", r.Round); b != nil && r.Target != "bare" {
			c.vsBare = append(c.vsBare, r.OpsPerSec/b.OpsPerSec)
		}
		if b := find(k, "before", r.Round); b != nil && r.Target == "pocketshop" {
			c.vsBefore = append(c.vsBefore, r.OpsPerSec/b.OpsPerSec)
		}
	}
	fmt.Println()
	fmt.Printf("medians over %d round(s):\n", max(1, rep.Config.Rounds))
	fmt.Printf("%-10s %-6s %-6s %-6s %-7s %9s %9s %9s %9s %9s\n", "scenario", "size", "sync", "load", "target", "ops/s", "p99 ms", "cpu ms/op", "vs bare", "vs before")
	for _, k := range keys {
		for _, t := range []string{"bare", "before", "pocketshop"} {
			c := cells[k][t]
			if c == nil {
				continue
			}
			fmt.Printf("%-10s %-6s %-6s %-6s %-7s %9.1f %9.1f %9.2f %9s %9s\n", k.scenario, k.size, k.sync, k.load, shortName(t),
				median(c.ops), median(c.p99), median(c.cpu), ratioText(c.vsBare), ratioText(c.vsBefore))
		}
	}
}

func loadName(r row) string {
	if r.OfferedRate > 0 {
		return "r" + strconv.Itoa(r.OfferedRate)
	}
	return "c" + strconv.Itoa(r.Concurrency)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratioText(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", median(xs))
}
