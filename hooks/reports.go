package hooks

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	shopsettings "pocketshop/hooks/settings"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// The owner's reports: GET /api/shop/reports/sales and
// GET /api/shop/reports/orders.csv (superusers only).
//
// A report covers whole days in the shop's time zone (shop_settings.timezone):
// a day runs from one local midnight to the next, so a daylight-saving day is
// 23 or 25 hours long. The counted orders of a day are those paid in it
// (paid_at), in the statuses a paid order can reach (paid, fulfilled,
// refunded); their refunds count on the day they were paid, so a day's net
// is what the shop kept of that day's sales.

const (
	// maxReportDays is the longest range a report covers.
	maxReportDays = 366
	// defaultReportDays is the range when from is not given: the last 30
	// days up to to (default today).
	defaultReportDays = 30
	// reportTopProducts is the length of each of a report's top lists.
	reportTopProducts = 10
)

// paidStatusesSQL are the statuses of the orders a report counts.
const paidStatusesSQL = `('paid', 'fulfilled', 'refunded')`

// reportDay is one local day of a report and its bounds in UTC, as stored.
type reportDay struct {
	Date       string // YYYY-MM-DD, local
	Start, End string // [Start, End) in PocketBase's stored date format
}

// reportRange is a validated from/to range.
type reportRange struct {
	From, To string
	Loc      *time.Location
	Days     []reportDay
}

// dbDate formats t as PocketBase stores dates, so that stored dates compare
// with it as strings.
func dbDate(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// localMidnight is the first instant of the local date y-m-d in loc (d may
// be past the month's end, as for time.Date). Where a clock change skips
// midnight (America/Santiago in September), time.Date answers an instant of
// the day before; that day starts at the change, a few minutes later.
func localMidnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	for i := 0; i < 24*60 && t.Format(time.DateOnly) < want; i++ {
		t = t.Add(time.Minute)
	}
	return t
}

// parseReportRange reads from and to (YYYY-MM-DD, both days included) in loc.
// to defaults to today, from to the 30 days up to to. A bad value is a
// validation error on its field.
func parseReportRange(q url.Values, loc *time.Location, now time.Time) (reportRange, error) {
	errs := validation.Errors{}
	parse := func(field string) (time.Time, bool) {
		v := strings.TrimSpace(q.Get(field))
		if v == "" {
			return time.Time{}, false
		}
		d, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			if len(v) > 40 {
				v = v[:40] + "…"
			}
			errs[field] = validation.NewError("invalid_date", fmt.Sprintf("%q is not a date: use YYYY-MM-DD, e.g. 2026-03-08.", v))
			return time.Time{}, false
		}
		return d, true
	}
	to, hasTo := parse("to")
	from, hasFrom := parse("from")
	if len(errs) > 0 {
		return reportRange{}, errs
	}
	if !hasTo {
		n := now.In(loc)
		to = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	}
	if !hasFrom {
		from = to.AddDate(0, 0, -(defaultReportDays - 1))
	}
	if to.Before(from) {
		return reportRange{}, validation.Errors{"to": validation.NewError("invalid_range",
			fmt.Sprintf("Must not be before from (%s).", from.Format(time.DateOnly)))}
	}

	r := reportRange{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Loc: loc}
	midnight := func(i int) time.Time { return localMidnight(from.Year(), from.Month(), from.Day()+i, loc) }
	for i := 0; ; i++ {
		d := midnight(i)
		if d.Format(time.DateOnly) > r.To {
			break
		}
		if i == maxReportDays {
			return reportRange{}, validation.Errors{"to": validation.NewError("range_too_long",
				fmt.Sprintf("A report covers at most %d days; from %s to %s is longer.", maxReportDays, r.From, r.To))}
		}
		r.Days = append(r.Days, reportDay{Date: d.Format(time.DateOnly), Start: dbDate(d), End: dbDate(midnight(i + 1))})
	}
	return r, nil
}

// Start and End are the range's bounds in UTC, as stored.
func (r reportRange) Start() string { return r.Days[0].Start }
func (r reportRange) End() string   { return r.Days[len(r.Days)-1].End }

// productParams splits the range into whole UTC days ([fullFrom, fullTo),
// as dates) and the hours before and after them, as stored dates.
func (r reportRange) productParams() dbx.Params {
	start, _ := time.Parse("2006-01-02 15:04:05.000Z", r.Start())
	end, _ := time.Parse("2006-01-02 15:04:05.000Z", r.End())
	fullFrom := start.Truncate(24 * time.Hour)
	if fullFrom.Before(start) {
		fullFrom = fullFrom.Add(24 * time.Hour)
	}
	fullTo := end.Truncate(24 * time.Hour)
	if !fullFrom.Before(fullTo) {
		// No whole UTC day: every line comes from the lines.
		fullFrom, fullTo = end, end
	}
	return dbx.Params{
		"fullFrom": fullFrom.Format(time.DateOnly), "fullTo": fullTo.Format(time.DateOnly),
		"start": r.Start(), "headEnd": dbDate(fullFrom), "tailStart": dbDate(fullTo), "end": r.End(),
	}
}

// SalesFigures are the sums over the orders paid in a day (or a range).
type SalesFigures struct {
	Orders        int64 `db:"orders" json:"orders"`
	GrossCents    int64 `db:"gross_cents" json:"gross_cents"`
	DiscountCents int64 `db:"discount_cents" json:"discount_cents"`
	TaxCents      int64 `db:"tax_cents" json:"tax_cents"`
	ShippingCents int64 `db:"shipping_cents" json:"shipping_cents"`
	RefundedCents int64 `db:"refunded_cents" json:"refunded_cents"`
	NetCents      int64 `db:"net_cents" json:"net_cents"`
}

func (f *SalesFigures) add(o SalesFigures) {
	f.Orders += o.Orders
	f.GrossCents += o.GrossCents
	f.DiscountCents += o.DiscountCents
	f.TaxCents += o.TaxCents
	f.ShippingCents += o.ShippingCents
	f.RefundedCents += o.RefundedCents
	f.NetCents += o.NetCents
}

// SalesDay is one day of a sales report.
type SalesDay struct {
	Date string `db:"day" json:"date"`
	SalesFigures
}

// ProductSales is what one product sold in a report's range.
type ProductSales struct {
	Product      string `db:"product" json:"product"`
	Name         string `db:"name" json:"name"`
	SKU          string `db:"sku" json:"sku"`
	Units        int64  `db:"units" json:"units"`
	RevenueCents int64  `db:"revenue_cents" json:"revenue_cents"`
}

// SalesReport is the answer of GET /api/shop/reports/sales.
type SalesReport struct {
	From         string         `json:"from"`
	To           string         `json:"to"`
	Timezone     string         `json:"timezone"`
	Currency     string         `json:"currency"`
	Days         []SalesDay     `json:"days"`
	Totals       SalesFigures   `json:"totals"`
	TopByUnits   []ProductSales `json:"top_by_units"`
	TopByRevenue []ProductSales `json:"top_by_revenue"`
}

// reports serves the owner's reports.
type reports struct {
	now func() time.Time
}

// bindReports registers the report routes; only superusers may call them
// (401 without a token, 403 with a customer's).
func bindReports(app core.App, now func() time.Time) {
	r := &reports{now: now}
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/shop/reports")
		g.Bind(apis.RequireSuperuserAuth())
		g.GET("/sales", r.getSales)
		g.GET("/orders.csv", r.getOrdersCSV)
		return se.Next()
	})
}

// reportSettings loads the shop's settings and time zone.
func reportSettings(app core.App) (shopsettings.Settings, *time.Location, error) {
	settings, err := shopsettings.Load(app)
	if err != nil {
		return settings, nil, err
	}
	loc, err := time.LoadLocation(settings.Timezone)
	if err != nil {
		app.Logger().Warn("Unknown shop timezone, reporting in UTC.", "timezone", settings.Timezone, "error", err)
		loc = time.UTC
	}
	return settings, loc, nil
}

func (r *reports) readRange(e *core.RequestEvent) (shopsettings.Settings, reportRange, error) {
	settings, loc, err := reportSettings(e.App)
	if err != nil {
		return settings, reportRange{}, e.InternalServerError("", err)
	}
	rng, err := parseReportRange(e.Request.URL.Query(), loc, r.now())
	if err != nil {
		return settings, rng, e.BadRequestError("Invalid report range.", err)
	}
	return settings, rng, nil
}

func (r *reports) getSales(e *core.RequestEvent) error {
	settings, rng, err := r.readRange(e)
	if err != nil {
		return err
	}
	report, err := salesReportFor(e.App, rng)
	if err != nil {
		return e.InternalServerError("", err)
	}
	report.Currency = settings.Currency
	return e.JSON(http.StatusOK, report)
}

// orderAmountColumns returns the SQL of the discount and tax amounts of an
// order (alias o): the pricing rules' orders.discount_cents and tax_cents
// (1764422000_pricing.go), which idx_orders_paid_report covers
// (1764422100_pricing_reports.go).
func orderAmountColumns(core.App) (discount, tax string) {
	return "o.[[discount_cents]]", "o.[[tax_cents]]"
}

// paidInRange is the WHERE clause of the orders (alias o) paid in
// [{:start}, {:end}). Its test of paid_at against the empty string lets
// SQLite use the partial index idx_orders_paid_report; the + before status
// keeps it from choosing the index on status instead, which it does on a
// database without statistics, and which reads every paid order there is.
const paidInRange = `o.[[paid_at]] != '' AND o.[[paid_at]] >= {:start} AND o.[[paid_at]] < {:end}
	AND +o.[[status]] IN ` + paidStatusesSQL

// salesReportFor adds up the orders paid in each day of rng and the best
// sellers over the whole range. Currency is left to the caller.
func salesReportFor(app core.App, rng reportRange) (SalesReport, error) {
	report := SalesReport{From: rng.From, To: rng.To, Timezone: rng.Loc.String(),
		Days: make([]SalesDay, 0, len(rng.Days))}
	discount, tax := orderAmountColumns(app)

	// One aggregate per local day, each a range scan of the covering index
	// idx_orders_paid_report (see paidInRange for the +), so that the plan
	// does not depend on statistics. COUNT(paid_at), not COUNT(id): the
	// index covers the query.
	params := dbx.Params{}
	selects := make([]string, len(rng.Days))
	for i, d := range rng.Days {
		n := strconv.Itoa(i)
		selects[i] = `SELECT {:d` + n + `} AS day,
			COUNT(o.[[paid_at]]) AS orders,
			COALESCE(SUM(o.[[subtotal_cents]]), 0) AS gross_cents,
			COALESCE(SUM(` + discount + `), 0) AS discount_cents,
			COALESCE(SUM(` + tax + `), 0) AS tax_cents,
			COALESCE(SUM(o.[[shipping_cents]]), 0) AS shipping_cents,
			COALESCE(SUM(o.[[refunded_cents]]), 0) AS refunded_cents,
			COALESCE(SUM(o.[[total_cents]] - o.[[refunded_cents]]), 0) AS net_cents
			FROM {{orders}} o WHERE ` + strings.NewReplacer("{:start}", "{:s"+n+"}", "{:end}", "{:e"+n+"}").Replace(paidInRange)
		params["d"+n], params["s"+n], params["e"+n] = d.Date, d.Start, d.End
	}
	if err := app.DB().NewQuery(strings.Join(selects, " UNION ALL ")).Bind(params).All(&report.Days); err != nil {
		return report, fmt.Errorf("sales per day: %w", err)
	}
	sort.Slice(report.Days, func(i, j int) bool { return report.Days[i].Date < report.Days[j].Date })
	for _, d := range report.Days {
		report.Totals.add(d.SalesFigures)
	}

	// Every product sold in the range, from what the triggers of
	// pb_migrations/1764409500_reports.go keep: the sums per UTC day and
	// product for the whole UTC days in the range, the order lines for the
	// hours at either end (the range is in local time).
	var products []ProductSales
	err := app.DB().NewQuery(`SELECT product, MAX(name) AS name, MAX(sku) AS sku,
			SUM(units) AS units, SUM(revenue_cents) AS revenue_cents
		FROM (
			SELECT product, name, sku, units, revenue_cents FROM _report_product_days
				WHERE day >= {:fullFrom} AND day < {:fullTo}
			UNION ALL
			SELECT product, name, sku, quantity, revenue_cents FROM _report_lines
				WHERE (paid_at >= {:start} AND paid_at < {:headEnd}) OR (paid_at >= {:tailStart} AND paid_at < {:end})
		)
		GROUP BY product`).
		Bind(rng.productParams()).All(&products)
	if err != nil {
		return report, fmt.Errorf("sales per product: %w", err)
	}
	report.TopByUnits = topProducts(products, func(a, b ProductSales) bool {
		if a.Units != b.Units {
			return a.Units > b.Units
		}
		return a.RevenueCents > b.RevenueCents
	})
	report.TopByRevenue = topProducts(products, func(a, b ProductSales) bool {
		if a.RevenueCents != b.RevenueCents {
			return a.RevenueCents > b.RevenueCents
		}
		return a.Units > b.Units
	})
	return report, nil
}

// topProducts returns the first reportTopProducts of products ordered by
// better (ties by name, then id, so that the order is stable).
func topProducts(products []ProductSales, better func(a, b ProductSales) bool) []ProductSales {
	sorted := append([]ProductSales{}, products...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if better(a, b) || better(b, a) {
			return better(a, b)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Product < b.Product
	})
	if len(sorted) > reportTopProducts {
		sorted = sorted[:reportTopProducts]
	}
	return sorted
}

// ordersCSVHeader are the columns of orders.csv. The order_* amounts are on
// each order's first line only, so that summing a column gives the range's
// total.
var ordersCSVHeader = []string{
	"order_number", "order_id", "status", "paid_at", "paid_date", "email", "currency",
	"line", "product", "sku", "name", "variant_title", "quantity", "unit_price_cents",
	"line_total_cents", "line_discount_cents", "line_tax_cents",
	"order_subtotal_cents", "order_discount_cents", "order_shipping_cents", "order_tax_cents",
	"order_total_cents", "order_refunded_cents",
}

// csvLine is an order line as stored in orders.items.
type csvLine struct {
	Product        string `json:"product"`
	SKU            string `json:"sku"`
	Name           string `json:"name"`
	VariantTitle   string `json:"variant_title"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
	LineTotalCents int64  `json:"line_total_cents"`
	DiscountCents  int64  `json:"discount_cents"`
	TaxCents       int64  `json:"tax_cents"`
}

type csvRow struct {
	Number        int64  `db:"number"`
	ID            string `db:"id"`
	Status        string `db:"status"`
	PaidAt        string `db:"paid_at"`
	Email         string `db:"email"`
	Currency      string `db:"currency"`
	SubtotalCents int64  `db:"subtotal_cents"`
	DiscountCents int64  `db:"discount_cents"`
	ShippingCents int64  `db:"shipping_cents"`
	TaxCents      int64  `db:"tax_cents"`
	TotalCents    int64  `db:"total_cents"`
	RefundedCents int64  `db:"refunded_cents"`
	Line          int64  `db:"line"`
	Item          string `db:"item"`
}

// getOrdersCSV streams one row per order line of the orders paid in the
// range, oldest payment first, for the accountant.
func (r *reports) getOrdersCSV(e *core.RequestEvent) error {
	_, rng, err := r.readRange(e)
	if err != nil {
		return err
	}
	discount, tax := orderAmountColumns(e.App)
	rows, err := e.App.DB().NewQuery(`SELECT o.[[number]] AS number, o.[[id]] AS id, o.[[status]] AS status,
			o.[[paid_at]] AS paid_at, o.[[email]] AS email, o.[[currency]] AS currency,
			o.[[subtotal_cents]] AS subtotal_cents, ` + discount + ` AS discount_cents,
			o.[[shipping_cents]] AS shipping_cents, ` + tax + ` AS tax_cents,
			o.[[total_cents]] AS total_cents, o.[[refunded_cents]] AS refunded_cents,
			l.key AS line, l.value AS item
		FROM {{orders}} o, json_each(o.[[items]]) l
		WHERE ` + paidInRange + `
		ORDER BY o.[[paid_at]], o.[[number]], l.key`).
		Bind(dbx.Params{"start": rng.Start(), "end": rng.End()}).Rows()
	if err != nil {
		return e.InternalServerError("", fmt.Errorf("orders csv: %w", err))
	}
	defer rows.Close()

	h := e.Response.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="orders-%s-to-%s.csv"`, rng.From, rng.To))
	e.Response.WriteHeader(http.StatusOK)
	w := csv.NewWriter(e.Response)
	if err := w.Write(ordersCSVHeader); err != nil {
		return err
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	for rows.Next() {
		var row csvRow
		if err := rows.ScanStruct(&row); err != nil {
			// The status and header are sent: all that is left is to stop.
			return fmt.Errorf("orders csv: scan: %w", err)
		}
		var l csvLine
		if err := json.Unmarshal([]byte(row.Item), &l); err != nil {
			return fmt.Errorf("orders csv: order %s line %d: %w", row.ID, row.Line, err)
		}
		paid, _ := time.Parse("2006-01-02 15:04:05.000Z", row.PaidAt)
		rec := []string{
			itoa(row.Number), row.ID, row.Status, paid.In(rng.Loc).Format(time.RFC3339), paid.In(rng.Loc).Format(time.DateOnly),
			csvText(row.Email), row.Currency,
			itoa(row.Line + 1), l.Product, csvText(l.SKU), csvText(l.Name), csvText(l.VariantTitle),
			itoa(l.Quantity), itoa(l.UnitPriceCents), itoa(l.LineTotalCents), itoa(l.DiscountCents), itoa(l.TaxCents),
			"", "", "", "", "", "",
		}
		if row.Line == 0 {
			copy(rec[len(rec)-6:], []string{itoa(row.SubtotalCents), itoa(row.DiscountCents), itoa(row.ShippingCents),
				itoa(row.TaxCents), itoa(row.TotalCents), itoa(row.RefundedCents)})
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return rows.Err()
}

// csvText keeps a spreadsheet from reading a text cell as a formula (a
// product named "=HYPERLINK(...)"): such a cell gets a leading apostrophe.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
