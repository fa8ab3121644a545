package main

import (
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// op is one unit of work of a scenario (a whole checkout, a browse). It
// returns "" on success or the kind of error, e.g. "order: 400 out of stock".
type op func(ctx context.Context, rng *rand.Rand) string

// loadResult is what one fixed-time run at one concurrency measured.
type loadResult struct {
	Ops       int            `json:"ops"`
	Errors    map[string]int `json:"errors"`
	OpsPerSec float64        `json:"ops_per_sec"`
	P50ms     float64        `json:"p50_ms"`
	P95ms     float64        `json:"p95_ms"`
	P99ms     float64        `json:"p99_ms"`
	Seconds   float64        `json:"seconds"`
	// OfferedRate is the fixed arrival rate (ops/s) of an open-loop run;
	// 0 for a closed loop of clients. OpsPerSec is then the achieved rate.
	OfferedRate int `json:"offered_rate,omitempty"`
	// CPUmsPerOp is the server's CPU time (user + system) per op, in ms.
	CPUmsPerOp float64 `json:"server_cpu_ms_per_op"`
}

// runLoad runs op from conc workers until d has passed and measures each
// op's latency. Errors are counted by kind; their latency counts too.
func runLoad(ctx context.Context, conc int, d time.Duration, seed uint64, fn op) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   = map[string]int{}
		wg     sync.WaitGroup
		start  = time.Now()
		finish time.Time
	)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var mine []time.Duration
			mineErrs := map[string]int{}
			for ctx.Err() == nil {
				t0 := time.Now()
				kind := fn(ctx, rng)
				if ctx.Err() != nil && kind != "" {
					break // cut off by the end of the run, not a failure
				}
				mine = append(mine, time.Since(t0))
				if kind != "" {
					mineErrs[kind]++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range mineErrs {
				errs[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	finish = time.Now()

	r := loadResult{Ops: len(lat), Errors: errs, Seconds: finish.Sub(start).Seconds()}
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
	}
	slices.Sort(lat)
	r.P50ms, r.P95ms, r.P99ms = pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99)
	return r
}

// pct is the q-quantile of sorted durations, in milliseconds.
func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// errorKinds lists the error counts as "kind×n", most frequent first.
func errorKinds(errs map[string]int) []string {
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return errs[kinds[i]] > errs[kinds[j]] })
	return kinds
}

// maxInFlight bounds the requests an open-loop run keeps waiting at once;
// an arrival that finds them all busy is counted as an error ("client:
// backlog full") rather than queued, so a server that falls behind shows.
const maxInFlight = 2048

// runOpenLoop offers fn at a fixed rate (ops per second) for d, whatever the
// server's answers, and measures each op from the moment it was due: a slow
// server cannot slow the offered load down (no coordinated omission). The
// achieved rate counts the ops that succeeded, over the offered window
// stretched to the last answer.
func runOpenLoop(ctx context.Context, rate int, d time.Duration, seed uint64, fn op) loadResult {
	interval := time.Second / time.Duration(rate)
	n := int(d / interval)
	var (
		mu    sync.Mutex
		lat   []time.Duration
		errs  = map[string]int{}
		good  int
		last  time.Time
		wg    sync.WaitGroup
		sem   = make(chan struct{}, maxInFlight)
		start = time.Now()
	)
	// The answers get a grace period past the window; later ones time out.
	opCtx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			mu.Lock()
			errs["client: backlog full"]++
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			kind := fn(opCtx, rand.New(rand.NewPCG(seed, uint64(i))))
			took := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, took)
			if kind != "" {
				errs[kind]++
				return
			}
			good++
			last = time.Now()
		}()
	}
	wg.Wait()

	window := max(d, last.Sub(start))
	r := loadResult{Ops: len(lat), Errors: errs, Seconds: window.Seconds(), OfferedRate: rate}
	r.OpsPerSec = float64(good) / r.Seconds
	slices.Sort(lat)
	r.P50ms, r.P95ms, r.P99ms = pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99)
	return r
}
