package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// go run ./bench search: how fast GET /api/shop/search answers over a small
// and a big catalog, next to listing one page of products through the
// records API in the same run. For each size it seeds a catalog straight
// into SQLite (the search triggers index it as it goes), starts the server
// and sends, one at a time and as a guest, -n requests of each kind, the
// kinds interleaved so that they share the machine's load alike.

// searchConfig are the flags of `bench search`.
type searchConfig struct {
	Sizes   []int `json:"sizes"`
	N       int   `json:"n"`
	PerPage int   `json:"per_page"`
}

// searchTiming is one kind of request at one size.
type searchTiming struct {
	Size  int     `json:"size"`
	Kind  string  `json:"kind"`
	Path  string  `json:"path"`
	N     int     `json:"n"`
	Hits  int     `json:"total_items"` // of the last answer
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// searchResult is what bench search writes to bench/results.
type searchResult struct {
	Config  searchConfig      `json:"config"`
	Seed    map[int]float64   `json:"seed_seconds"`
	Timings []searchTiming    `json:"timings"`
	Summary []searchSummary   `json:"summary"`
	LoadAvg map[string]string `json:"loadavg"`
}

// searchSummary compares the searches shoppers type with the page listing.
type searchSummary struct {
	Size       int     `json:"size"`
	SearchP50  float64 `json:"search_p50_ms"`
	SearchP99  float64 `json:"search_p99_ms"`
	ListP50    float64 `json:"list_p50_ms"`
	ListP99    float64 `json:"list_p99_ms"`
	P99VsList  float64 `json:"p99_vs_list"`
	WorstKind  string  `json:"worst_kind"`
	WorstP99ms float64 `json:"worst_p99_ms"`
}

// Words of the seeded catalog: a name is an adjective, a material and a
// noun ("Soft Linen Shirt"); a description is 20 words drawn, Zipf-like,
// from descriptionWords generated words, so that a few are in most
// descriptions and most are rare, as in a real catalog.
var (
	searchAdjectives = strings.Fields(`soft classic rustic modern vintage cozy bold slim light heavy bright dark
		organic premium handmade sturdy elegant simple compact deluxe urban coastal alpine golden silver`)
	searchMaterials = strings.Fields(`linen cotton wool leather denim silk oak walnut bamboo ceramic stoneware
		glass copper brass steel hemp cashmere canvas marble velvet`)
	searchNouns = strings.Fields(`shirt tee sweater jacket scarf hat bag wallet belt mug bowl plate vase lamp
		candle chair table shelf rug pillow blanket towel apron notebook pen backpack bottle teapot kettle board
		basket clock mirror frame planter socks gloves boots sandals dress`)
)

const descriptionWords = 3000

// searchKinds are the requests measured: what shoppers type (one word of
// the names, two and three words, a prefix being typed, a SKU, a rare word
// of the descriptions), the worst case (a word in most descriptions, so
// that most of the catalog is ranked), and the records API's page listing
// sorted by name, with the total count the JS SDK's getList asks for and
// without it.
var searchKinds = []struct {
	kind  string
	typed bool // a search shoppers type: counted in the summary
	path  func(rng *rand.Rand, size int, words []string) string
}{
	{"search: one name word", true, func(*rand.Rand, int, []string) string { return "q=shirt" }},
	{"search: two words", true, func(*rand.Rand, int, []string) string { return "q=linen+shirt" }},
	{"search: three words", true, func(*rand.Rand, int, []string) string { return "q=soft+linen+shirt" }},
	{"search: prefix being typed", true, func(*rand.Rand, int, []string) string { return "q=cash" }},
	{"search: a SKU", true, func(rng *rand.Rand, size int, _ []string) string {
		return "q=" + url.QueryEscape(fmt.Sprintf("BS-%06d", rng.IntN(size)))
	}},
	{"search: a rare description word", true, func(rng *rand.Rand, _ int, words []string) string {
		return "q=" + words[500+rng.IntN(500)]
	}},
	{"search: the commonest description word (worst case)", false, func(_ *rand.Rand, _ int, words []string) string {
		return "q=" + words[0]
	}},
	{"list: records API page, with total", false, func(rng *rand.Rand, size int, _ []string) string {
		return fmt.Sprintf("page=%d&sort=name", 1+rng.IntN(max(1, min(5, size/24))))
	}},
	{"list: records API page, skipTotal", false, func(rng *rand.Rand, size int, _ []string) string {
		return fmt.Sprintf("page=%d&sort=name&skipTotal=1", 1+rng.IntN(max(1, min(5, size/24))))
	}},
}

func runSearch(args []string) error {
	fs := flag.NewFlagSet("bench search", flag.ContinueOnError)
	sizes := fs.String("sizes", "100,100000", "catalog sizes (products; every tenth has three variants)")
	n := fs.Int("n", 200, "requests of each kind at each size")
	perPage := fs.Int("perPage", 24, "items per page, for the searches and the listing")
	results := fs.String("results", "bench/results", "folder for the JSON results (relative to the repository)")
	workFlag := fs.String("work", "", "folder for the data dirs and binary (default: a new temporary folder, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := searchConfig{N: *n, PerPage: *perPage}
	var err error
	if cfg.Sizes, err = parseInts(*sizes); err != nil {
		return fmt.Errorf("-sizes: %w", err)
	}
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	work := *workFlag
	if work == "" {
		if work, err = os.MkdirTemp("", "pocketshop-bench-search-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	fmt.Println("building pocketshop ...")
	shop, _, err := buildBinaries(repo, filepath.Join(work, "bin"))
	if err != nil {
		return err
	}

	words := descriptionVocabulary()
	res := searchResult{Config: cfg, Seed: map[int]float64{}, LoadAvg: map[string]string{}}
	for _, size := range cfg.Sizes {
		srv, err := newServer(shop, filepath.Join(work, fmt.Sprintf("shop-%d", size)), "normal")
		if err != nil {
			return err
		}
		fmt.Printf("seeding %d products ...\n", size)
		start := time.Now()
		if err := seedSearchCatalog(srv.dbPath(), size, words, rand.New(rand.NewPCG(3, 4))); err != nil {
			srv.close()
			return fmt.Errorf("seed: %w", err)
		}
		res.Seed[size] = time.Since(start).Seconds()
		if err := srv.start(); err != nil {
			srv.close()
			return err
		}
		timings, typed, err := timeSearches(srv, size, cfg, words)
		srv.close()
		if err != nil {
			return err
		}
		res.Timings = append(res.Timings, timings...)
		if load, err := os.ReadFile("/proc/loadavg"); err == nil {
			res.LoadAvg[fmt.Sprint(size)] = strings.TrimSpace(string(load))
		}
		res.Summary = append(res.Summary, summarizeSearch(size, timings, typed))
	}

	fmt.Println()
	for _, t := range res.Timings {
		fmt.Printf("%7d products  %-55s n=%d p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  (%d hits)\n",
			t.Size, t.Kind, t.N, t.P50ms, t.P99ms, t.MaxMs, t.Hits)
	}
	fmt.Println()
	for _, s := range res.Summary {
		fmt.Printf("%7d products: typed searches p50 %.2f ms, p99 %.2f ms; page listing (with total) p50 %.2f ms, p99 %.2f ms; "+
			"search p99 = %.2fx the listing's; worst case %q p99 %.2f ms; load %s\n",
			s.Size, s.SearchP50, s.SearchP99, s.ListP50, s.ListP99, s.P99VsList, s.WorstKind, s.WorstP99ms, res.LoadAvg[fmt.Sprint(s.Size)])
	}
	if !filepath.IsAbs(*results) {
		*results = filepath.Join(repo, *results)
	}
	return writeJSON(*results, "search-"+time.Now().UTC().Format("20060102-150405"), res)
}

// timeSearches sends cfg.N requests of every kind to srv, as a guest, one
// at a time: round after round, each round one request of every kind in a
// shuffled order. It also returns the latencies of all the typed searches.
func timeSearches(srv *server, size int, cfg searchConfig, words []string) ([]searchTiming, []time.Duration, error) {
	c := newClient(srv.url, 1)
	rng := rand.New(rand.NewPCG(5, 6))
	took := make([][]time.Duration, len(searchKinds))
	hits := make([]int, len(searchKinds))
	paths := make([]string, len(searchKinds))
	order := make([]int, len(searchKinds))
	var typed []time.Duration
	for i := range order {
		order[i] = i
	}
	for round := -1; round < cfg.N; round++ { // round -1 warms up
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			kind := searchKinds[k]
			path := "/api/shop/search?"
			if strings.HasPrefix(kind.kind, "list") {
				path = "/api/collections/products/records?"
			}
			path += kind.path(rng, size, words) + fmt.Sprintf("&perPage=%d", cfg.PerPage)
			start := time.Now()
			res, err := c.http.Get(srv.url + path)
			if err != nil {
				return nil, nil, fmt.Errorf("GET %s: %w", path, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			d := time.Since(start)
			if err != nil || res.StatusCode != http.StatusOK {
				return nil, nil, fmt.Errorf("GET %s: %d %s %v", path, res.StatusCode, body, err)
			}
			var list struct {
				TotalItems int `json:"totalItems"`
			}
			if err := json.Unmarshal(body, &list); err != nil {
				return nil, nil, fmt.Errorf("GET %s: %w", path, err)
			}
			if round >= 0 {
				took[k] = append(took[k], d)
				if kind.typed {
					typed = append(typed, d)
				}
			}
			hits[k], paths[k] = list.TotalItems, path
		}
	}
	var out []searchTiming
	for k, kind := range searchKinds {
		slices.Sort(took[k])
		out = append(out, searchTiming{Size: size, Kind: kind.kind, Path: paths[k], N: len(took[k]), Hits: hits[k],
			P50ms: pct(took[k], 0.50), P99ms: pct(took[k], 0.99), MaxMs: pct(took[k], 1)})
	}
	slices.Sort(typed)
	return out, typed, nil
}

// summarizeSearch sets the typed searches of one size (typed: their
// latencies, pooled and sorted) beside the page listing.
func summarizeSearch(size int, timings []searchTiming, typed []time.Duration) searchSummary {
	s := searchSummary{Size: size, SearchP50: pct(typed, 0.50), SearchP99: pct(typed, 0.99)}
	for i, t := range timings {
		switch {
		case searchKinds[i].typed:
		case t.Kind == "list: records API page, with total":
			s.ListP50, s.ListP99 = t.P50ms, t.P99ms
		case strings.HasPrefix(t.Kind, "search"):
			s.WorstKind, s.WorstP99ms = t.Kind, t.P99ms
		}
	}
	s.P99VsList = ratio(s.SearchP99, s.ListP99)
	return s
}

// descriptionVocabulary returns descriptionWords made-up words of two to
// four syllables, none of them a word of the names.
func descriptionVocabulary() []string {
	rng := rand.New(rand.NewPCG(7, 8))
	syllables := strings.Fields("ka lo mi ne su ta ri vo pe da zu mo fi ga le no ba tu ke ra si ho ve ju")
	seen := map[string]bool{}
	for _, w := range slices.Concat(searchAdjectives, searchMaterials, searchNouns) {
		seen[w] = true
	}
	var words []string
	for len(words) < descriptionWords {
		var b strings.Builder
		for range 2 + rng.IntN(3) {
			b.WriteString(syllables[rng.IntN(len(syllables))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

// seedSearchCatalog inserts n active products straight into SQLite while the
// server is stopped, in one transaction; every tenth has three variants.
func seedSearchCatalog(dbPath string, n int, words []string, rng *rand.Rand) error {
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
	insP, err := tx.Prepare(`INSERT INTO products (id, name, slug, sku, description, price_cents, stock, low_stock_threshold,
		active, images, options, categories, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, 0, 2, 1, '[]', ?, '[]', ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare product insert: %w", err)
	}
	insV, err := tx.Prepare(`INSERT INTO variants (id, product, title, sku, options, price_cents, stock, low_stock_threshold,
		active, position, created, updated)
		VALUES (?, ?, ?, ?, ?, 0, 0, 0, 1, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare variant insert: %w", err)
	}
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(words)-1))
	now := pbTime(time.Now())
	sizes := []string{"S", "M", "L"}
	for i := range n {
		id := newID(rng)
		name := strings.Join([]string{
			titleCase(searchAdjectives[rng.IntN(len(searchAdjectives))]),
			titleCase(searchMaterials[rng.IntN(len(searchMaterials))]),
			titleCase(searchNouns[rng.IntN(len(searchNouns))]),
		}, " ")
		desc := make([]string, 20)
		for j := range desc {
			desc[j] = words[zipf.Uint64()]
		}
		options := "[]"
		if i%10 == 0 {
			options = `[{"name":"Size","values":["S","M","L"]}]`
		}
		if _, err := insP.Exec(id, name, fmt.Sprintf("bs-%06d", i), fmt.Sprintf("BS-%06d", i),
			"<p>"+strings.Join(desc, " ")+".</p>", 500+rng.IntN(9500), options, now, now); err != nil {
			return fmt.Errorf("insert product %d: %w", i, err)
		}
		if i%10 != 0 {
			continue
		}
		for pos, s := range sizes {
			if _, err := insV.Exec(newID(rng), id, s, fmt.Sprintf("BS-%06d-%s", i, s), `{"Size":"`+s+`"}`, pos, now, now); err != nil {
				return fmt.Errorf("insert variant of product %d: %w", i, err)
			}
		}
	}
	return tx.Commit()
}

func titleCase(w string) string { return strings.ToUpper(w[:1]) + w[1:] }
