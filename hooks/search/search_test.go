package search_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// save stores a new record of collection and returns it.
func save(tb testing.TB, app core.App, collection string, data map[string]any) *core.Record {
	tb.Helper()
	c, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		tb.Fatal(err)
	}
	r := core.NewRecord(c)
	r.Load(data)
	if err := app.Save(r); err != nil {
		tb.Fatalf("save %s %v: %v", collection, data, err)
	}
	return r
}

// catalog is a small shop: apparel > shirts, and mugs; a shirt, a tee
// with variants (one inactive), a mug, a hanger whose description
// mentions a shirt, and an inactive shirt.
func catalog(tb testing.TB, app *tests.TestApp) {
	apparel := save(tb, app, "categories", map[string]any{"name": "Apparel", "slug": "apparel"})
	shirts := save(tb, app, "categories", map[string]any{"name": "Shirts", "slug": "shirts", "parent": apparel.Id})
	mugs := save(tb, app, "categories", map[string]any{"name": "Mugs", "slug": "mugs"})
	product := func(name, sku, desc string, active bool, cats ...string) *core.Record {
		slug := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
		return save(tb, app, "products", map[string]any{"name": name, "slug": slug, "sku": sku, "description": desc,
			"price_cents": 1000, "stock": 5, "active": active, "categories": cats})
	}
	product("Red Linen Shirt", "LS-RED", "<p>A breezy <strong>summer</strong> shirt.</p>", true, shirts.Id)
	tee := product("Blue Cotton Tee", "", "A soft tee.", true, apparel.Id)
	tee.Set("options", []map[string]any{{"name": "Size", "values": []string{"M", "L"}}})
	if err := app.Save(tee); err != nil {
		tb.Fatal(err)
	}
	save(tb, app, "variants", map[string]any{"product": tee.Id, "title": "M / Navy", "sku": "TEE-BLU-M",
		"options": map[string]string{"Size": "M"}, "stock": 3, "active": true})
	save(tb, app, "variants", map[string]any{"product": tee.Id, "title": "L / Crimson", "sku": "TEE-SECRET",
		"options": map[string]string{"Size": "L"}, "stock": 3, "active": false})
	product("Stoneware Mug", "MUG-1", "Holds tea: 350 ml (NEAR the brim) AND more -- \"really\" *", true, mugs.Id)
	product("Wooden Hanger", "HANG-1", "Keeps a shirt in shape.", true)
	product("Hidden Shirt", "HIDE-1", "Not for sale.", false, shirts.Id)
}

// names decodes a search answer into its page fields and the names of its items.
func names(tb testing.TB, body []byte) (page, perPage, total, pages int, got []string) {
	tb.Helper()
	var res struct {
		Page       int              `json:"page"`
		PerPage    int              `json:"perPage"`
		TotalItems int              `json:"totalItems"`
		TotalPages int              `json:"totalPages"`
		Items      []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		tb.Fatalf("decode %s: %v", body, err)
	}
	if res.Items == nil {
		tb.Fatalf("items is not a list: %s", body)
	}
	got = []string{}
	for _, it := range res.Items {
		got = append(got, it["name"].(string))
	}
	return res.Page, res.PerPage, res.TotalItems, res.TotalPages, got
}

// expectNames checks the names of the items, in order, and the total.
func expectNames(total int, want ...string) func(testing.TB, *tests.TestApp, *http.Response) {
	return func(tb testing.TB, app *tests.TestApp, res *http.Response) {
		tb.Helper()
		var body json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			tb.Fatal(err)
		}
		_, _, gotTotal, _, got := names(tb, body)
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got, want) || gotTotal != total {
			tb.Errorf("got %q (total %d), want %q (total %d)", got, gotTotal, want, total)
		}
	}
}

func searchURL(query string) string {
	return "/api/shop/search?" + query
}

func TestSearch(t *testing.T) {
	t.Parallel()
	factory := shoptest.Factory(hooks.Deps{}, catalog)
	noWrites := func(enriched int) map[string]int {
		if enriched == 0 {
			return map[string]int{"*": 0}
		}
		return map[string]int{"*": 0, "OnRecordEnrich": enriched}
	}
	scenarios := []tests.ApiScenario{
		{
			Name: "a word: name matches first, description last, inactive never", Method: http.MethodGet, URL: searchURL("q=shirt"),
			ExpectedStatus: 200, ExpectedContent: []string{`"page":1`, `"perPage":30`, `"totalItems":2`, `"totalPages":1`},
			ExpectedEvents: noWrites(2), AfterTestFunc: expectNames(2, "Red Linen Shirt", "Wooden Hanger"),
		},
		{
			Name: "the last word is a prefix", Method: http.MethodGet, URL: searchURL("q=red+lin"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Red Linen Shirt"),
		},
		{
			Name: "only the last word is a prefix", Method: http.MethodGet, URL: searchURL("q=lin+shirt"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(0),
		},
		{
			Name: "every word must match", Method: http.MethodGet, URL: searchURL("q=shirt+mug"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(0),
		},
		{
			Name: "diacritics and case do not matter", Method: http.MethodGet, URL: searchURL("q=STÖNEWARE"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Stoneware Mug"),
		},
		{
			Name: "the product's SKU", Method: http.MethodGet, URL: searchURL("q=ls-red"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Red Linen Shirt"),
		},
		{
			Name: "an active variant's SKU", Method: http.MethodGet, URL: searchURL("q=TEE-BLU-M"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Blue Cotton Tee"),
		},
		{
			Name: "an active variant's title", Method: http.MethodGet, URL: searchURL("q=navy"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Blue Cotton Tee"),
		},
		{
			Name: "an inactive variant is not searched", Method: http.MethodGet, URL: searchURL("q=crimson"),
			ExpectedStatus: 200, ExpectedEvents: noWrites(0), AfterTestFunc: expectNames(0),
		},
		{
			Name: "words of the description, not its HTML tags", Method: http.MethodGet, URL: searchURL("q=breezy+summer"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Red Linen Shirt"),
		},
		{
			Name: "an HTML tag is not a word", Method: http.MethodGet, URL: searchURL("q=strong"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(0),
		},
		{
			Name: "a blank query lists every active product by name", Method: http.MethodGet, URL: searchURL("q=++"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(4, "Blue Cotton Tee", "Red Linen Shirt", "Stoneware Mug", "Wooden Hanger"),
		},
		{
			Name: "a category includes its sub-categories", Method: http.MethodGet, URL: searchURL("category=apparel"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(2, "Blue Cotton Tee", "Red Linen Shirt"),
		},
		{
			Name: "words within a category", Method: http.MethodGet, URL: searchURL("q=shirt&category=shirts"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(1, "Red Linen Shirt"),
		},
		{
			Name: "a category without the word", Method: http.MethodGet, URL: searchURL("q=shirt&category=mugs"),
			ExpectedStatus: 200, AfterTestFunc: expectNames(0),
		},
		{
			Name: "an unknown category", Method: http.MethodGet, URL: searchURL("q=shirt&category=shoes"),
			ExpectedStatus: 400, ExpectedContent: []string{`"category":{"code":"validation_invalid_category"`, "There is no category with this slug."},
			ExpectedEvents: noWrites(0),
		},
		{
			Name: "a second page of one", Method: http.MethodGet, URL: searchURL("q=shirt&perPage=1&page=2"),
			ExpectedStatus: 200, ExpectedContent: []string{`"page":2`, `"perPage":1`, `"totalItems":2`, `"totalPages":2`},
			AfterTestFunc: expectNames(2, "Wooden Hanger"),
		},
		{
			Name: "a page past the end", Method: http.MethodGet, URL: searchURL("q=shirt&page=9223372036854775807"),
			ExpectedStatus: 200, ExpectedContent: []string{`"page":9223372036854775807`}, AfterTestFunc: expectNames(2),
		},
		{
			Name: "page and perPage out of range are clamped as in the records API", Method: http.MethodGet,
			URL: searchURL("q=shirt&page=-4&perPage=100000"), ExpectedStatus: 200,
			ExpectedContent: []string{`"page":1`, `"perPage":1000`}, AfterTestFunc: expectNames(2, "Red Linen Shirt", "Wooden Hanger"),
		},
		{
			Name: "page and perPage that are not numbers", Method: http.MethodGet, URL: searchURL("q=shirt&page=two&perPage=1.5"),
			ExpectedStatus: 400, ExpectedContent: []string{`"page":{"code":"validation_invalid_page"`, `"perPage":{"code":"validation_invalid_perPage"`},
		},
		{
			Name: "a query of 200 characters", Method: http.MethodGet, URL: searchURL("q=" + strings.Repeat("é", 200)),
			ExpectedStatus: 200, AfterTestFunc: expectNames(0),
		},
		{
			Name: "a query of 201 characters", Method: http.MethodGet, URL: searchURL("q=" + strings.Repeat("é", 201)),
			ExpectedStatus: 400, ExpectedContent: []string{`"q":{"code":"validation_invalid_q"`, "201 characters"},
			ExpectedEvents: noWrites(0),
		},
		{
			Name: "fields and expand work as in the records API", Method: http.MethodGet,
			URL: searchURL("q=linen&expand=categories&fields=name,expand.categories.slug"), ExpectedStatus: 200,
			ExpectedContent: []string{`"items":[{"expand":{"categories":[{"slug":"shirts"}]},"name":"Red Linen Shirt"}]`},
		},
	}
	// FTS5 syntax is only ever words: never a 400 or a 500.
	for _, q := range []string{`"`, `*`, `-`, `shirt"`, `"shirt`, `NEAR(tea brim)`, `NEAR`, `AND`, `OR shirt`, `shirt OR`,
		`NOT mug`, `(mug`, `mug)`, `tea:`, `name:shirt`, `{name sku}:shirt`, `^shirt`, `shirt*`, `*shirt`, `+`, `a:b:c`,
		`"" ""`, "\x00", "shirt\x00mug", `\`, `'`, `;--`, `%`, "\xff\xfe", `NEAR/2`, `really" *`} {
		scenarios = append(scenarios, tests.ApiScenario{
			Name: "FTS syntax as words: " + q, Method: http.MethodGet, URL: searchURL("q=" + url.QueryEscape(q)),
			ExpectedStatus: 200, ExpectedContent: []string{`"items":[`},
		})
	}
	for _, s := range scenarios {
		s.TestAppFactory = factory
		if s.ExpectedContent == nil {
			s.ExpectedContent = []string{`"items":[`}
		}
		s.Test(t)
	}
}
