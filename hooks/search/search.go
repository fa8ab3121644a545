// Package search answers GET /api/shop/search: the storefront's full-text
// search over the active products, optionally within a category and its
// sub-categories. The index is an FTS5 table that SQLite triggers keep in
// step with products and variants (pb_migrations/1764421000_search.go).
package search

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	pbsearch "github.com/pocketbase/pocketbase/tools/search"
)

// MaxQueryChars bounds q: a shopper's query, not a document.
const MaxQueryChars = 200

// weights are bm25's column weights, in the index's column order (name,
// sku, variants, description): a word in the name counts most, one in the
// description least.
const weights = "10.0, 5.0, 5.0, 1.0"

// Manager answers the search route.
type Manager struct {
	app core.App
}

// New returns the search component of app.
func New(app core.App) *Manager {
	return &Manager{app: app}
}

// Routes registers GET /search in the /api/shop group.
func (m *Manager) Routes(g *router.RouterGroup[*core.RequestEvent]) {
	g.GET("/search", m.search)
}

// Query is one parsed search request.
type Query struct {
	// Match is the FTS5 expression of q (MatchQuery); empty lists every
	// active product by name.
	Match    string
	Category string
	Page     int
	PerPage  int
}

// ParseQuery reads q, category, page and perPage. page and perPage behave
// as in the records API: defaults 1 and 30, perPage at most 1000; a value
// that is not a whole number is a 400 on its field.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Page: 1, PerPage: pbsearch.DefaultPerPage, Category: v.Get("category")}
	fields := shop.FieldErrors{}
	raw := v.Get("q")
	if n := utf8.RuneCountInString(raw); n > MaxQueryChars {
		fields["q"] = "The query is " + strconv.Itoa(n) + " characters long; at most " + strconv.Itoa(MaxQueryChars) + " are allowed."
	}
	q.Match = MatchQuery(raw)
	if len(q.Category) > 100 {
		fields["category"] = "A category slug has at most 100 characters."
	}
	for _, p := range []struct {
		name string
		dst  *int
	}{{pbsearch.PageQueryParam, &q.Page}, {pbsearch.PerPageQueryParam, &q.PerPage}} {
		s := v.Get(p.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			fields[p.name] = "Must be a whole number."
			continue
		}
		*p.dst = n
	}
	if len(fields) > 0 {
		return Query{}, shop.Invalid("", fields)
	}
	q.Page = max(q.Page, 1)
	if q.PerPage <= 0 {
		q.PerPage = pbsearch.DefaultPerPage
	}
	q.PerPage = min(q.PerPage, pbsearch.MaxPerPage)
	return q, nil
}

// search answers GET /api/shop/search for anyone.
func (m *Manager) search(e *core.RequestEvent) error {
	q, err := ParseQuery(e.Request.URL.Query())
	if err != nil {
		return httperr.Response(err)
	}
	ids, total, err := Find(e.App, q)
	if err != nil {
		return httperr.Response(err)
	}
	items := []*core.Record{}
	if len(ids) > 0 {
		if items, err = e.App.FindRecordsByIds("products", ids); err != nil {
			return httperr.Response(err)
		}
	}
	// FindRecordsByIds does not keep the order of ids.
	rank := make(map[string]int, len(ids))
	for i, id := range ids {
		rank[id] = i
	}
	slices.SortFunc(items, func(a, b *core.Record) int { return rank[a.Id] - rank[b.Id] })
	if err := apis.EnrichRecords(e, items); err != nil {
		return httperr.Response(err)
	}
	return e.JSON(http.StatusOK, pbsearch.Result{
		Items:      items,
		Page:       q.Page,
		PerPage:    q.PerPage,
		TotalItems: total,
		TotalPages: (total + q.PerPage - 1) / q.PerPage,
	})
}

// Find returns the ids of the page q asks for, best match first, and how
// many active products match in all. An unknown category is a 400 on
// data.category.
func Find(app core.App, q Query) ([]string, int, error) {
	params := dbx.Params{
		"match":    q.Match,
		"category": q.Category,
		"limit":    q.PerPage,
		"offset":   math.MaxInt64, // past any end, rather than overflow
	}
	if int64(q.Page-1) < math.MaxInt64/int64(q.PerPage) {
		params["offset"] = int64(q.Page-1) * int64(q.PerPage)
	}
	with, inCategory := "", ""
	if q.Category != "" {
		var found []string
		err := app.DB().NewQuery(`SELECT id FROM categories WHERE slug = {:category} LIMIT 1`).Bind(params).Column(&found)
		if err != nil {
			return nil, 0, fmt.Errorf("find the category: %w", err)
		}
		if len(found) == 0 {
			return nil, 0, shop.Invalid("", shop.FieldErrors{"category": "There is no category with this slug."})
		}
		// The category and its descendants; UNION (not UNION ALL) ends a
		// cycle of parents, should one ever be stored.
		with = `WITH RECURSIVE tree(id) AS (
			SELECT id FROM categories WHERE slug = {:category}
			UNION SELECT c.id FROM categories c JOIN tree ON c.parent = tree.id) `
		inCategory = ` AND EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(p.categories) THEN p.categories ELSE '[]' END) pc
			WHERE pc.value IN (SELECT id FROM tree))`
	}
	if q.Match == "" {
		return list(app, with, inCategory, params)
	}

	// One pass over the matches ranks them and counts them (the window
	// function); the products table is read only to filter by category.
	matches := `SELECT i.product, i.doc, bm25(_product_search, ` + weights + `) AS score
		FROM _product_search s JOIN _product_search_ids i ON i.doc = s.rowid`
	if inCategory != "" {
		matches += ` JOIN products p ON p.id = i.product`
	}
	matches += ` WHERE _product_search MATCH {:match} AND i.active = 1` + inCategory
	var rows []struct {
		Product string `db:"product"`
		Total   int    `db:"total"`
	}
	err := app.DB().NewQuery(with + `SELECT product, COUNT(*) OVER () AS total FROM (` + matches + `)
		ORDER BY score, doc LIMIT {:limit} OFFSET {:offset}`).Bind(params).All(&rows)
	if err != nil {
		return nil, 0, fmt.Errorf("search the products: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Product
	}
	if len(rows) > 0 {
		return ids, rows[0].Total, nil
	}
	if q.Page == 1 {
		return ids, 0, nil
	}
	var total int // a page past the last one: count alone
	err = app.DB().NewQuery(with + `SELECT COUNT(*) FROM (` + matches + `)`).Bind(params).Row(&total)
	if err != nil {
		return nil, 0, fmt.Errorf("count the matching products: %w", err)
	}
	return ids, total, nil
}

// list returns a page of the active products (within the category that
// with and inCategory select) by name, and how many there are: a blank
// query.
func list(app core.App, with, inCategory string, params dbx.Params) ([]string, int, error) {
	where := ` FROM products p WHERE p.active = 1` + inCategory
	var total int
	if err := app.DB().NewQuery(with + `SELECT COUNT(*)` + where).Bind(params).Row(&total); err != nil {
		return nil, 0, fmt.Errorf("count the products: %w", err)
	}
	ids := []string{}
	err := app.DB().NewQuery(with + `SELECT p.id` + where + ` ORDER BY p.name, p.id LIMIT {:limit} OFFSET {:offset}`).
		Bind(params).Column(&ids)
	if err != nil {
		return nil, 0, fmt.Errorf("list the products: %w", err)
	}
	return ids, total, nil
}
