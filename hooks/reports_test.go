package hooks_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/jobs"
	shoporders "pocketshop/hooks/orders"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/types"
)

// reportOrder is an order as the reports see it, saved straight into the
// orders collection with its payment time.
type reportOrder struct {
	number   int
	status   string
	paidAt   string // RFC 3339, empty for an unpaid order
	lines    []map[string]any
	shipping int
	refunded int
	extra    map[string]any
}

func reportLine(product, name, sku string, unitCents, qty int) map[string]any {
	return map[string]any{"product": product, "name": name, "sku": sku,
		"unit_price_cents": unitCents, "quantity": qty, "line_total_cents": unitCents * qty}
}

var (
	mugLine  = func(qty int) map[string]any { return reportLine("prodmug00000001", "Mug", "MUG-1", 1500, qty) }
	toteLine = func(qty int) map[string]any { return reportLine("prodtote0000001", "Tote", "+TOTE", 2400, qty) }
)

// nyOrders straddle the two clock changes of 2026 in New York: on 8 March
// local midnight is 05:00 UTC and the next one 04:00 UTC (a 23-hour day);
// on 1 November they are 04:00 and 05:00 UTC (25 hours).
var nyOrders = []reportOrder{
	{number: 1001, status: "paid", paidAt: "2026-03-08T04:30:00Z", lines: []map[string]any{mugLine(1)}, shipping: 500},              // 7 Mar 23:30 EST
	{number: 1002, status: "paid", paidAt: "2026-03-08T05:00:00Z", lines: []map[string]any{mugLine(2)}, shipping: 500},              // 8 Mar 00:00 EST
	{number: 1003, status: "refunded", paidAt: "2026-03-09T03:59:00Z", lines: []map[string]any{toteLine(1)}, refunded: 2400},        // 8 Mar 23:59 EDT
	{number: 1004, status: "fulfilled", paidAt: "2026-03-09T04:00:00Z", lines: []map[string]any{toteLine(3)}, refunded: 1000},       // 9 Mar 00:00 EDT
	{number: 1005, status: "pending", lines: []map[string]any{toteLine(9)}},                                                         // never paid
	{number: 1006, status: "cancelled", lines: []map[string]any{mugLine(9)}},                                                        // never paid
	{number: 1007, status: "expired", paidAt: "2026-03-08T12:00:00Z", lines: []map[string]any{mugLine(5)}},                          // a late payment: not a sale
	{number: 1008, status: "paid", paidAt: "2026-11-01T03:59:00Z", lines: []map[string]any{mugLine(1)}},                             // 31 Oct 23:59 EDT
	{number: 1009, status: "paid", paidAt: "2026-11-02T04:30:00Z", lines: []map[string]any{mugLine(1), toteLine(1)}, shipping: 500}, // 1 Nov 23:30 EST
	{number: 1010, status: "paid", paidAt: "2026-11-02T05:00:00Z", lines: []map[string]any{toteLine(2)}},                            // 2 Nov 00:00 EST
}

func saveReportOrders(tb testing.TB, app core.App, orders []reportOrder) {
	tb.Helper()
	col, err := app.FindCachedCollectionByNameOrId("orders")
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range orders {
		subtotal := 0
		for _, l := range o.lines {
			subtotal += l["line_total_cents"].(int)
		}
		r := core.NewRecord(col)
		r.Load(map[string]any{
			"number": o.number, "status": o.status, "email": "ann@example.com", "payment_method": "manual",
			"items": o.lines, "subtotal_cents": subtotal, "shipping_cents": o.shipping,
			"total_cents": subtotal + o.shipping, "refunded_cents": o.refunded, "currency": "usd",
		})
		if o.paidAt != "" {
			at, err := types.ParseDateTime(o.paidAt)
			if err != nil {
				tb.Fatal(err)
			}
			r.Set("paid_at", at)
		}
		r.Load(o.extra)
		if err := app.Save(r); err != nil {
			tb.Fatalf("save order %d: %v", o.number, err)
		}
	}
}

func setTimezone(tb testing.TB, app core.App, tz string) {
	tb.Helper()
	s, err := app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		tb.Fatal(err)
	}
	s.Set("timezone", tz)
	if err := app.Save(s); err != nil {
		tb.Fatal(err)
	}
}

// reportShop is a test app in New York time with nyOrders, whose requests
// carry the token of who ("superuser", "customer" or "" for a guest).
// tests.ApiScenario reads Headers after it made the app, so the factory
// can put the new app's token in.
func reportShop(headers map[string]string, who string, setup ...func(testing.TB, *tests.TestApp)) func(testing.TB) *tests.TestApp {
	return shoptest.Factory(hooks.Deps{}, func(tb testing.TB, app *tests.TestApp) {
		setTimezone(tb, app, "America/New_York")
		for _, s := range setup {
			s(tb, app)
		}
		saveReportOrders(tb, app, nyOrders)
		switch who {
		case "superuser":
			headers["Authorization"] = shoptest.SuperuserToken(tb, app)
		case "customer":
			_, headers["Authorization"] = shoptest.CreateUser(tb, app, "ann@example.com")
		}
	})
}

// withPricingFields stores an order with the discount and tax amounts of
// the pricing rules (1764422000_pricing.go).
func withPricingFields(tb testing.TB, app *tests.TestApp) {
	saveReportOrders(tb, app, []reportOrder{{number: 2001, status: "paid", paidAt: "2026-03-10T15:00:00Z",
		lines:    []map[string]any{mugLine(2)},
		shipping: 500, extra: map[string]any{"discount_cents": 300, "tax_cents": 270, "total_cents": 3470}}})
}

func TestSalesReport(t *testing.T) {
	t.Parallel()
	const sales = "/api/shop/reports/sales"
	scenario := func(name, url, who string, status int, content []string, setup ...func(testing.TB, *tests.TestApp)) tests.ApiScenario {
		headers := map[string]string{}
		return tests.ApiScenario{
			Name: name, Method: http.MethodGet, URL: url, Headers: headers,
			ExpectedStatus: status, ExpectedContent: content,
			TestAppFactory: reportShop(headers, who, setup...),
		}
	}
	scenarios := []tests.ApiScenario{
		scenario("a guest", sales, "", 401, []string{`"status":401`}),
		scenario("a guest, csv", "/api/shop/reports/orders.csv", "", 401, []string{`"status":401`}),
		scenario("a customer", sales, "customer", 403, []string{`"status":403`}),
		scenario("a customer, csv", "/api/shop/reports/orders.csv", "customer", 403, []string{`"status":403`}),

		scenario("from is not a date", sales+"?from=2026-13-01&to=2026-12-31", "superuser", 400,
			[]string{`"from":{"code":"invalid_date","message":"\"2026-13-01\" is not a date: use YYYY-MM-DD, e.g. 2026-03-08."}`}),
		scenario("to is not a date", sales+"?from=2026-01-01&to=yesterday", "superuser", 400,
			[]string{`"to":{"code":"invalid_date"`}),
		scenario("to before from", sales+"?from=2026-03-09&to=2026-03-08", "superuser", 400,
			[]string{`"to":{"code":"invalid_range","message":"Must not be before from (2026-03-09)."}`}),
		scenario("367 days", sales+"?from=2025-01-01&to=2026-01-02", "superuser", 400,
			[]string{`"to":{"code":"range_too_long","message":"A report covers at most 366 days; from 2025-01-01 to 2026-01-02 is longer."}`}),
		scenario("csv: from is not a date", "/api/shop/reports/orders.csv?from=8.3.2026", "superuser", 400,
			[]string{`"from":{"code":"invalid_date"`}),
		scenario("366 days of a leap year", sales+"?from=2024-01-01&to=2024-12-31", "superuser", 200,
			[]string{`"from":"2024-01-01","to":"2024-12-31"`, `{"date":"2024-12-31","orders":0,`}),

		scenario("spring forward: a 23-hour day", sales+"?from=2026-03-07&to=2026-03-09", "superuser", 200, []string{
			`"from":"2026-03-07","to":"2026-03-09","timezone":"America/New_York","currency":"usd"`,
			`{"date":"2026-03-07","orders":1,"gross_cents":1500,"discount_cents":0,"tax_cents":0,"shipping_cents":500,"refunded_cents":0,"net_cents":2000}`,
			`{"date":"2026-03-08","orders":2,"gross_cents":5400,"discount_cents":0,"tax_cents":0,"shipping_cents":500,"refunded_cents":2400,"net_cents":3500}`,
			`{"date":"2026-03-09","orders":1,"gross_cents":7200,"discount_cents":0,"tax_cents":0,"shipping_cents":0,"refunded_cents":1000,"net_cents":6200}`,
			`"totals":{"orders":4,"gross_cents":14100,"discount_cents":0,"tax_cents":0,"shipping_cents":1000,"refunded_cents":3400,"net_cents":11700}`,
			`"top_by_units":[{"product":"prodtote0000001","name":"Tote","sku":"+TOTE","units":4,"revenue_cents":9600},{"product":"prodmug00000001","name":"Mug","sku":"MUG-1","units":3,"revenue_cents":4500}]`,
			`"top_by_revenue":[{"product":"prodtote0000001",`,
		}),
		scenario("fall back: a 25-hour day", sales+"?from=2026-10-31&to=2026-11-02", "superuser", 200, []string{
			`{"date":"2026-10-31","orders":1,"gross_cents":1500,`,
			`{"date":"2026-11-01","orders":1,"gross_cents":3900,"discount_cents":0,"tax_cents":0,"shipping_cents":500,"refunded_cents":0,"net_cents":4400}`,
			`{"date":"2026-11-02","orders":1,"gross_cents":4800,`,
		}),
		scenario("mug outsells tote on revenue in one day", sales+"?from=2026-03-08&to=2026-03-08", "superuser", 200, []string{
			`"top_by_units":[{"product":"prodmug00000001","name":"Mug","sku":"MUG-1","units":2,"revenue_cents":3000},{"product":"prodtote0000001"`,
			`"top_by_revenue":[{"product":"prodmug00000001"`,
		}),
		scenario("no sales", sales+"?from=2026-06-01&to=2026-06-02", "superuser", 200, []string{
			`"days":[{"date":"2026-06-01","orders":0,"gross_cents":0,"discount_cents":0,"tax_cents":0,"shipping_cents":0,"refunded_cents":0,"net_cents":0},{"date":"2026-06-02",`,
			`"top_by_units":[],"top_by_revenue":[]`,
		}),
		scenario("discount and tax, once orders have them", sales+"?from=2026-03-10&to=2026-03-10", "superuser", 200, []string{
			`{"date":"2026-03-10","orders":1,"gross_cents":3000,"discount_cents":300,"tax_cents":270,"shipping_cents":500,"refunded_cents":0,"net_cents":3470}`,
		}, withPricingFields),

		scenario("csv: one row per line, days in the shop's zone", "/api/shop/reports/orders.csv?from=2026-03-08&to=2026-03-09", "superuser", 200, []string{
			"order_number,order_id,status,paid_at,paid_date,email,currency,line,product,sku,name,variant_title,quantity,unit_price_cents,line_total_cents,line_discount_cents,line_tax_cents,order_subtotal_cents,order_discount_cents,order_shipping_cents,order_tax_cents,order_total_cents,order_refunded_cents\n1002,",
			",paid,2026-03-08T00:00:00-05:00,2026-03-08,ann@example.com,usd,1,prodmug00000001,MUG-1,Mug,,2,1500,3000,0,0,3000,0,500,0,3500,0\n1003,",
			",refunded,2026-03-08T23:59:00-04:00,2026-03-08,ann@example.com,usd,1,prodtote0000001,'+TOTE,Tote,,1,2400,2400,0,0,2400,0,0,0,2400,2400\n1004,",
			",fulfilled,2026-03-09T00:00:00-04:00,2026-03-09,",
		}),
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

// TestOrdersCSVOrderAmountsOnFirstLine checks that only an order's first
// line carries its totals, so that a column sums to the range's total.
func TestOrdersCSVOrderAmountsOnFirstLine(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	setTimezone(t, app, "America/New_York")
	saveReportOrders(t, app, nyOrders)
	srv := shoptest.Serve(t, app)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/shop/reports/orders.csv?from=2026-11-01&to=2026-11-01", nil)
	req.Header.Set("Authorization", shoptest.SuperuserToken(t, app))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="orders-2026-11-01-to-2026-11-01.csv"` {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	rows := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(rows) != 3 {
		t.Fatalf("want the header and 2 lines of order 1009:\n%s", b.String())
	}
	if !strings.HasSuffix(rows[1], ",1,prodmug00000001,MUG-1,Mug,,1,1500,1500,0,0,3900,0,500,0,4400,0") ||
		!strings.HasSuffix(rows[2], ",2,prodtote0000001,'+TOTE,Tote,,1,2400,2400,0,0,,,,,,") {
		t.Fatalf("rows:\n%s", b.String())
	}
}

// TestReportRangeDefaultsToTheLast30Days checks the range without from/to:
// the 30 days up to today in the shop's zone (the owner's page uses it).
func TestReportRangeDefaultsToTheLast30Days(t *testing.T) {
	t.Parallel()
	// 03:00 UTC on 9 March is still 8 March in New York.
	now := time.Date(2026, 3, 9, 3, 0, 0, 0, time.UTC)
	app := shoptest.NewApp(t, hooks.Deps{Now: func() time.Time { return now }})
	setTimezone(t, app, "America/New_York")
	saveReportOrders(t, app, nyOrders)
	srv := shoptest.Serve(t, app)
	res := shoptest.Do(t, srv, http.MethodGet, "/api/shop/reports/sales", shoptest.SuperuserToken(t, app), nil)
	if res.Status != 200 || res.Body["from"] != "2026-02-07" || res.Body["to"] != "2026-03-08" {
		t.Fatalf("%d %s", res.Status, res.Raw)
	}
	if days := res.Body["days"].([]any); len(days) != 30 || days[29].(map[string]any)["orders"] != float64(2) {
		t.Fatalf("days: %v", days)
	}
}

func TestDailySummaryLinksToOwnerPage(t *testing.T) {
	t.Parallel()
	deps := hooks.Deps{}
	app := shoptest.NewApp(t, deps)
	s, err := app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("owner_email", "owner@shop.test")
	if err := app.Save(s); err != nil {
		t.Fatal(err)
	}
	settings := app.Settings()
	settings.Meta.AppURL = "https://shop.example.com/"
	if err := app.Save(settings); err != nil {
		t.Fatal(err)
	}
	sched, err := hooks.NewScheduler(app, deps)
	if err != nil {
		t.Fatal(err)
	}
	if run, err := sched.RunNow(context.Background(), jobs.DailySummary); err != nil || !run.OK {
		t.Fatalf("run: %+v %v", run, err)
	}
	m, err := app.FindFirstRecordByFilter("emails", "kind = 'daily_summary'")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.GetString("text"), "https://shop.example.com/owner/") ||
		!strings.Contains(m.GetString("html"), `<a href="https://shop.example.com/owner/">`) {
		t.Fatalf("no link to the owner's page:\n%s\n%s", m.GetString("text"), m.GetString("html"))
	}
}

// TestSalesReportFollowsOrderChanges checks that the best sellers (kept by
// triggers) follow an order that is paid, refunded or deleted.
func TestSalesReportFollowsOrderChanges(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 8, 15, 0, 0, 0, time.UTC)
	app := shoptest.NewApp(t, hooks.Deps{Now: func() time.Time { return now }})
	setTimezone(t, app, "America/New_York")
	saveReportOrders(t, app, nyOrders)
	srv := shoptest.Serve(t, app)
	token := shoptest.SuperuserToken(t, app)
	top := func() string {
		t.Helper()
		res := shoptest.Do(t, srv, http.MethodGet, "/api/shop/reports/sales?from=2026-03-07&to=2026-03-09", token, nil)
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Raw)
		}
		var b strings.Builder
		for _, p := range res.Body["top_by_units"].([]any) {
			p := p.(map[string]any)
			fmt.Fprintf(&b, "%s %v %v; ", p["name"], p["units"], p["revenue_cents"])
		}
		return fmt.Sprintf("%v orders: %s", res.Body["totals"].(map[string]any)["orders"], b.String())
	}
	byNumber := func(n int) string {
		t.Helper()
		o, err := app.FindFirstRecordByFilter("orders", "number = {:n}", dbx.Params{"n": n})
		if err != nil {
			t.Fatal(err)
		}
		return o.Id
	}
	steps := []struct {
		name   string
		change func() error
		want   string
	}{
		{"as seeded", func() error { return nil }, "4 orders: Tote 4 9600; Mug 3 4500; "},
		{"the pending order of 9 totes is paid", func() error {
			_, err := shoporders.Move(app, byNumber(1005), shop.StatusPaid, shop.ActorAdmin, "", nil)
			return err
		}, "5 orders: Tote 13 31200; Mug 3 4500; "},
		{"a paid order is refunded: still a sale of its day", func() error {
			_, err := shoporders.Move(app, byNumber(1002), shop.StatusRefunded, shop.ActorAdmin, "", nil)
			return err
		}, "5 orders: Tote 13 31200; Mug 3 4500; "},
		{"an order is deleted", func() error {
			o, err := app.FindRecordById("orders", byNumber(1004))
			if err != nil {
				return err
			}
			return app.Delete(o)
		}, "4 orders: Tote 10 24000; Mug 3 4500; "},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := top(); got != s.want {
			t.Fatalf("%s: top = %q, want %q", s.name, got, s.want)
		}
	}
}

// TestSeedDemoSales checks `pocketshop seed --sales`: paid orders over the
// last days up to now, that the report counts, added once.
func TestSeedDemoSales(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 8, 15, 0, 0, 0, time.UTC) // 10:00 in New York, on a 23-hour day
	app := shoptest.NewApp(t, hooks.Deps{Now: func() time.Time { return now }})
	setTimezone(t, app, "America/New_York")
	n, err := hooks.SeedDemoSales(app, now, 7)
	if err != nil || n < 7 {
		t.Fatalf("seeded %d: %v", n, err)
	}
	if again, err := hooks.SeedDemoSales(app, now, 7); err != nil || again != 0 {
		t.Fatalf("second seed added %d: %v", again, err)
	}
	if late, err := app.CountRecords("orders", dbx.NewExp("paid_at > {:now} OR paid_at < {:from}",
		dbx.Params{"now": "2026-03-08 15:00:00.000Z", "from": "2026-03-02 05:00:00.000Z"})); err != nil || late != 0 {
		t.Fatalf("%d orders paid outside the 7 days up to now: %v", late, err)
	}
	srv := shoptest.Serve(t, app)
	res := shoptest.Do(t, srv, http.MethodGet, "/api/shop/reports/sales?from=2026-03-02&to=2026-03-08", shoptest.SuperuserToken(t, app), nil)
	if got := res.Body["totals"].(map[string]any)["orders"]; got != float64(n) {
		t.Fatalf("the report counts %v orders, want %d: %s", got, n, res.Raw)
	}
	if events := shoptest.Count(t, app, "order_events"); events != 0 {
		t.Fatalf("%d order events: demo sales must send no email", events)
	}
}
