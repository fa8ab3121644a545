package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/jobs"
	"pocketshop/hooks/orders"
	cron "pocketshop/internal/jobs"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/types"
)

func runJob(t *testing.T, app core.App, deps hooks.Deps, name string) cron.Run {
	t.Helper()
	s, err := hooks.NewScheduler(app, deps)
	if err != nil {
		t.Fatalf("NewScheduler: %v", err)
	}
	run, err := s.RunNow(context.Background(), name)
	if err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return run
}

func updateSettings(t *testing.T, app core.App, data map[string]any) {
	t.Helper()
	records, err := app.FindAllRecords("shop_settings")
	if err != nil || len(records) != 1 {
		t.Fatalf("shop settings: %v (%d records)", err, len(records))
	}
	records[0].Load(data)
	if err := app.Save(records[0]); err != nil {
		t.Fatalf("save settings: %v", err)
	}
}

func stockOf(t *testing.T, app core.App, productID string) int {
	t.Helper()
	p, err := app.FindRecordById("products", productID)
	if err != nil {
		t.Fatal(err)
	}
	return p.GetInt("stock")
}

func statusOf(t *testing.T, app core.App, orderID string) string {
	t.Helper()
	o, err := app.FindRecordById("orders", orderID)
	if err != nil {
		t.Fatal(err)
	}
	return o.GetString("status")
}

func jobRuns(t *testing.T, app core.App, job string) []*core.Record {
	t.Helper()
	runs, err := app.FindRecordsByFilter("job_runs", "job = {:job}", "created", 0, 0, dbx.Params{"job": job})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// backdate sets a row's timestamp column, for seeding history: autodate
// fields always take the wall clock.
func backdate(t *testing.T, app core.App, table, id, column string, at time.Time) {
	t.Helper()
	d, _ := types.ParseDateTime(at)
	_, err := app.DB().Update(table, dbx.Params{column: d.String()}, dbx.HashExp{"id": id}).Execute()
	if err != nil {
		t.Fatalf("backdate %s %s: %v", table, id, err)
	}
}

func placeOrder(t *testing.T, app core.App, deps hooks.Deps, lines map[string]int) string {
	t.Helper()
	srv := shoptest.Serve(t, app)
	var items []map[string]any
	for id, q := range lines {
		items = append(items, map[string]any{"product": id, "quantity": q})
	}
	order := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual", "items": items,
	})
	return order["id"].(string)
}

func TestExpireReservationsWhenDueAndNotBefore(t *testing.T) {
	t.Parallel()
	placedAt := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	clk := shoptest.NewClock(placedAt)
	deps := hooks.Deps{Now: clk.Now}
	app := shoptest.NewApp(t, deps)
	p := shoptest.CreateProduct(t, app, "mug", 1500, 5)
	orderID := placeOrder(t, app, deps, map[string]int{p.Id: 2})
	dueAt := placedAt.Add(30 * time.Minute) // the default reservation

	clk.Set(dueAt.Add(-time.Millisecond))
	run := runJob(t, app, deps, jobs.ExpireReservations)
	if !run.OK || run.Processed != 0 {
		t.Fatalf("before due: run = %+v, want ok with nothing expired", run)
	}
	if s := statusOf(t, app, orderID); s != shop.StatusPending {
		t.Fatalf("before due: status = %s", s)
	}
	if got := stockOf(t, app, p.Id); got != 3 {
		t.Fatalf("before due: stock = %d, want 3", got)
	}

	clk.Set(dueAt)
	run = runJob(t, app, deps, jobs.ExpireReservations)
	if !run.OK || run.Processed != 1 || run.Message != "1 expired" {
		t.Fatalf("when due: run = %+v, want 1 expired", run)
	}
	if s := statusOf(t, app, orderID); s != shop.StatusExpired {
		t.Fatalf("when due: status = %s, want expired", s)
	}
	if got := stockOf(t, app, p.Id); got != 5 {
		t.Fatalf("when due: stock = %d, want 5 (released)", got)
	}
	events, err := app.FindAllRecords("order_events", dbx.HashExp{"order": orderID, "to_status": shop.StatusExpired})
	if err != nil || len(events) != 1 || events[0].GetString("actor") != shop.ActorSystem {
		t.Fatalf("expired events: %v %v", err, events)
	}

	runs := jobRuns(t, app, jobs.ExpireReservations)
	if len(runs) != 2 {
		t.Fatalf("%d job_runs rows, want 2", len(runs))
	}
	last := runs[1]
	if !last.GetBool("ok") || last.GetInt("processed") != 1 || last.GetString("message") != "1 expired" ||
		!last.GetDateTime("started_at").Time().Equal(dueAt) || !last.GetDateTime("finished_at").Time().Equal(dueAt) {
		t.Fatalf("job_runs row = %v", last.PublicExport())
	}

	// Nothing left to do: a further run changes nothing.
	if run := runJob(t, app, deps, jobs.ExpireReservations); !run.OK || run.Processed != 0 {
		t.Fatalf("again: run = %+v", run)
	}
}

// TestExpireReservationsSkipsOrdersMovedFirst makes a payment land between
// the job's query and its move: the move is refused against the stored
// status, and the job counts the order as skipped, not as a failure.
func TestExpireReservationsSkipsOrdersMovedFirst(t *testing.T) {
	t.Parallel()
	placedAt := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	clk := shoptest.NewClock(placedAt)
	deps := hooks.Deps{Now: clk.Now}
	app := shoptest.NewApp(t, deps)
	p := shoptest.CreateProduct(t, app, "mug", 1500, 5)
	placeOrder(t, app, deps, map[string]int{p.Id: 2})

	// Runs inside the job's transaction, before the status check: the
	// order's stored status becomes paid, as if a webhook had just
	// committed.
	app.OnRecordUpdate("orders").Bind(&hook.Handler[*core.RecordEvent]{
		Priority: -1,
		Func: func(e *core.RecordEvent) error {
			if e.Record.GetString("status") == shop.StatusExpired {
				_, err := e.App.DB().Update("orders", dbx.Params{"status": shop.StatusPaid},
					dbx.HashExp{"id": e.Record.Id}).Execute()
				if err != nil {
					return err
				}
			}
			return e.Next()
		},
	})

	clk.Set(placedAt.Add(time.Hour))
	run := runJob(t, app, deps, jobs.ExpireReservations)
	if !run.OK || run.Processed != 0 || run.Message != "0 expired, 1 skipped (moved by someone else first)" {
		t.Fatalf("run = %+v, want ok with 1 skipped", run)
	}
	// The refused move rolled back: no stock came back for a paid order.
	if got := stockOf(t, app, p.Id); got != 3 {
		t.Fatalf("stock = %d, want 3", got)
	}
}

// TestExpireReservationsRacesPayments pays orders while the job expires
// them. Whoever wins, every order ends paid and stock stays equal to its
// ledger: a payment after expiry reserves the stock again.
func TestExpireReservationsRacesPayments(t *testing.T) {
	t.Parallel()
	placedAt := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	clk := shoptest.NewClock(placedAt)
	deps := hooks.Deps{Now: clk.Now}
	app := shoptest.NewApp(t, deps)
	p := shoptest.CreateProduct(t, app, "mug", 1500, 20)
	var ids []string
	for range 6 {
		ids = append(ids, placeOrder(t, app, deps, map[string]int{p.Id: 2}))
	}
	clk.Set(placedAt.Add(time.Hour))

	var wg sync.WaitGroup
	var run cron.Run
	wg.Go(func() { run = runJob(t, app, deps, jobs.ExpireReservations) })
	errs := make(chan error, len(ids))
	for _, id := range ids {
		wg.Go(func() {
			_, err := orders.Move(app, id, shop.StatusPaid, shop.ActorStripe, "Paid.", nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("pay: %v", err)
		}
	}

	if !run.OK {
		t.Fatalf("job run failed: %+v", run)
	}
	for _, id := range ids {
		if s := statusOf(t, app, id); s != shop.StatusPaid {
			t.Errorf("order %s is %s, want paid", id, s)
		}
	}
	if got := stockOf(t, app, p.Id); got != 20-12 {
		t.Errorf("stock = %d, want 8", got)
	}
	var ledger struct {
		Sum int `db:"sum"`
	}
	if err := app.DB().NewQuery("SELECT SUM(delta) AS sum FROM stock_movements WHERE product = {:p}").
		Bind(dbx.Params{"p": p.Id}).One(&ledger); err != nil {
		t.Fatal(err)
	}
	if ledger.Sum != 8 {
		t.Errorf("ledger sum = %d, want 8", ledger.Sum)
	}
}

func TestJobPanicIsRecordedAndNextRunHappens(t *testing.T) {
	t.Parallel()
	calls := 0
	deps := hooks.Deps{Jobs: jobs.Config{Extra: []cron.Job{{
		Name: "flaky", Schedule: "@hourly",
		Run: func(context.Context) (int, string, error) {
			calls++
			if calls == 1 {
				var m map[string]int
				m["boom"]++ // a real bug: assignment to a nil map
			}
			return 4, "all good", nil
		},
	}}}}
	app := shoptest.NewApp(t, deps)

	if run := runJob(t, app, deps, "flaky"); run.OK {
		t.Fatalf("first run = %+v, want failed", run)
	}
	if run := runJob(t, app, deps, "flaky"); !run.OK {
		t.Fatalf("second run = %+v, want ok", run)
	}
	runs := jobRuns(t, app, "flaky")
	if len(runs) != 2 {
		t.Fatalf("%d job_runs rows, want 2", len(runs))
	}
	if runs[0].GetBool("ok") || !strings.Contains(runs[0].GetString("message"), "panic: assignment to entry in nil map") {
		t.Errorf("first row = %v", runs[0].PublicExport())
	}
	if !runs[1].GetBool("ok") || runs[1].GetInt("processed") != 4 || runs[1].GetString("message") != "all good" {
		t.Errorf("second row = %v", runs[1].PublicExport())
	}
}

// TestSchedulerRunsWithServe starts the scheduler the way `serve` does and
// stops it the way shutting down does.
func TestSchedulerRunsWithServe(t *testing.T) {
	t.Parallel()
	ran := make(chan struct{}, 1)
	off := map[string]string{}
	for _, name := range jobs.Names(jobs.Config{}) {
		off[name] = cron.Off
	}
	deps := hooks.Deps{Jobs: jobs.Config{Start: true, Schedules: off, Extra: []cron.Job{{
		Name: "tick", Schedule: "* * * * * *",
		Run: func(context.Context) (int, string, error) {
			select {
			case ran <- struct{}{}:
			default:
			}
			return 1, "tick", nil
		},
	}}}}
	app := shoptest.NewApp(t, deps)
	shoptest.Serve(t, app)

	select {
	case <-ran:
	case <-time.After(time.Minute): // a hang guard, not a timing assertion
		t.Fatal("the scheduled job never ran")
	}
	if err := app.OnTerminate().Trigger(&core.TerminateEvent{App: app}); err != nil {
		t.Fatal(err)
	}
	// Stop waited for the run: its row is there.
	if runs := jobRuns(t, app, "tick"); len(runs) == 0 || !runs[0].GetBool("ok") {
		t.Fatalf("tick runs = %v", runs)
	}
}

func TestSchedulerConfig(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	updateSettings(t, app, map[string]any{"timezone": "Europe/Berlin"})

	s, err := hooks.NewScheduler(app, hooks.Deps{Jobs: jobs.Config{Schedules: map[string]string{
		jobs.ExpireReservations: "@every 30s",
		jobs.Prune:              cron.Off,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Location().String() != "Europe/Berlin" {
		t.Errorf("location = %s", s.Location())
	}
	got := map[string]string{}
	for _, j := range s.Jobs() {
		got[j.Name] = j.Schedule
	}
	want := map[string]string{
		jobs.ExpireReservations: "@every 30s", jobs.LowStockDigest: "0 0 8 * * *",
		jobs.DailySummary: "0 0 21 * * *", jobs.Prune: cron.Off,
		jobs.ReconcilePayments: "@every 5m",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("schedules = %v, want %v", got, want)
	}

	for _, bad := range []map[string]string{{jobs.Prune: "daily"}, {"prune-everything": "@daily"}} {
		if _, err := hooks.NewScheduler(app, hooks.Deps{Jobs: jobs.Config{Schedules: bad}}); err == nil {
			t.Errorf("schedules %v accepted", bad)
		}
	}

	// An unknown time zone does not stop the shop: schedules run in UTC.
	updateSettings(t, app, map[string]any{"timezone": "Mars/Olympus_Mons"})
	s, err = hooks.NewScheduler(app, hooks.Deps{})
	if err != nil || s.Location() != time.UTC {
		t.Errorf("unknown zone: %v, %v", s, err)
	}
}

// createProduct saves a product with the given stock and threshold.
func createProduct(t *testing.T, app core.App, name string, priceCents, stock, threshold int, active bool) *core.Record {
	t.Helper()
	p := shoptest.CreateProduct(t, app, name, priceCents, stock)
	p.Set("low_stock_threshold", threshold)
	p.Set("active", active)
	p.Set("sku", strings.ToUpper(name)+"-1")
	if err := app.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func findEmails(t *testing.T, app core.App, kind string) []*core.Record {
	t.Helper()
	emails, err := app.FindAllRecords("emails", dbx.HashExp{"kind": kind})
	if err != nil {
		t.Fatal(err)
	}
	return emails
}

func TestLowStockDigest(t *testing.T) {
	t.Parallel()
	// Sales are read from stock_movements.created, which is wall-clock time:
	// the clock is set to the wall clock once the history is seeded.
	clk := shoptest.NewClock(time.Now())
	deps := hooks.Deps{Now: clk.Now}
	app := shoptest.NewApp(t, deps)
	updateSettings(t, app, map[string]any{"owner_email": "owner@shop.test", "timezone": "America/New_York"})

	lamp := createProduct(t, app, "lamp", 2000, 18, 5, true) // sells down to 4: low
	createProduct(t, app, "vase", 1000, 10, 5, true)         // above: not listed
	createProduct(t, app, "rug", 9000, 0, 0, true)           // sold out at threshold 0: listed
	createProduct(t, app, "stool", 4000, 5, 5, true)         // at threshold: listed
	createProduct(t, app, "old-chair", 5000, 1, 5, false)    // inactive: not listed

	kept := placeOrder(t, app, deps, map[string]int{lamp.Id: 3})
	if _, err := orders.Move(app, kept, shop.StatusPaid, shop.ActorAdmin, "", nil); err != nil {
		t.Fatal(err)
	}
	placeOrder(t, app, deps, map[string]int{lamp.Id: 4}) // pending: counts as demand
	cancelled := placeOrder(t, app, deps, map[string]int{lamp.Id: 2})
	if _, err := orders.Move(app, cancelled, shop.StatusCancelled, shop.ActorAdmin, "", nil); err != nil {
		t.Fatal(err)
	}
	old := placeOrder(t, app, deps, map[string]int{lamp.Id: 7})
	mv, err := app.FindFirstRecordByFilter("stock_movements", "order = {:o}", dbx.Params{"o": old})
	if err != nil {
		t.Fatal(err)
	}
	backdate(t, app, "stock_movements", mv.Id, "created", time.Now().Add(-8*24*time.Hour)) // outside the 7 days

	now := time.Now()
	clk.Set(now)
	run := runJob(t, app, deps, jobs.LowStockDigest)
	if !run.OK || run.Processed != 3 {
		t.Fatalf("run = %+v, want 3 low products", run)
	}
	emails := findEmails(t, app, "low_stock_digest")
	if len(emails) != 1 {
		t.Fatalf("%d digests queued, want 1", len(emails))
	}
	ny, _ := time.LoadLocation("America/New_York")
	m := emails[0]
	if m.GetString("to") != "owner@shop.test" || m.GetString("status") != "queued" ||
		m.GetString("dedupe_key") != "digest:low-stock:"+now.In(ny).Format(time.DateOnly) ||
		m.GetString("subject") != "pocketshop: 3 product(s) low on stock" {
		t.Fatalf("digest = %v", m.PublicExport())
	}
	text := m.GetString("text")
	for _, want := range []string{
		"- rug (RUG-1): 0 in stock (threshold 0), 0.0 sold per day over the last 7 days, sold out",
		// 3 paid + 4 pending in the last 7 days; the cancelled and the old order do not count.
		"- lamp (LAMP-1): 4 in stock (threshold 5), 1.0 sold per day over the last 7 days, about 4 days left",
		"- stool (STOOL-1): 5 in stock (threshold 5), 0.0 sold per day over the last 7 days, no recent sales",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text misses %q:\n%s", want, text)
		}
	}
	for _, absent := range []string{"vase", "old-chair"} {
		if strings.Contains(text, absent) || strings.Contains(m.GetString("html"), absent) {
			t.Errorf("digest lists %s", absent)
		}
	}
	if html := m.GetString("html"); !strings.Contains(html, "<td>lamp</td><td>LAMP-1</td><td align=\"right\">4</td>") {
		t.Errorf("html misses the lamp row:\n%s", html)
	}

	// Once per day.
	if run := runJob(t, app, deps, jobs.LowStockDigest); !run.OK || !strings.Contains(run.Message, "queued already") {
		t.Fatalf("second run = %+v", run)
	}
	if n := len(findEmails(t, app, "low_stock_digest")); n != 1 {
		t.Fatalf("%d digests after a second run, want 1", n)
	}
}

func TestLowStockDigestNothingLow(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	updateSettings(t, app, map[string]any{"owner_email": "owner@shop.test"})
	createProduct(t, app, "vase", 1000, 10, 5, true)

	run := runJob(t, app, hooks.Deps{}, jobs.LowStockDigest)
	if !run.OK || run.Processed != 0 || run.Message != "nothing is low" {
		t.Fatalf("run = %+v", run)
	}
	if n := len(findEmails(t, app, "low_stock_digest")); n != 0 {
		t.Fatalf("%d digests queued, want none", n)
	}
}

func TestDailySummary(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, berlin) }
	runAt := at(29, 21, 0)
	clk := shoptest.NewClock(at(29, 8, 0))
	deps := hooks.Deps{Now: clk.Now}
	app := shoptest.NewApp(t, deps)
	updateSettings(t, app, map[string]any{"owner_email": "owner@shop.test", "timezone": "Europe/Berlin"})
	mug := createProduct(t, app, "mug", 1500, 100, 5, true)
	tote := createProduct(t, app, "tote", 2400, 100, 5, true)

	// order places an order at placed and, when paidAt is not zero, pays it then.
	order := func(lines map[string]int, placed, paidAt time.Time) string {
		id := placeOrder(t, app, deps, lines)
		backdate(t, app, "orders", id, "created", placed)
		if !paidAt.IsZero() {
			clk.Set(paidAt)
			if _, err := orders.Move(app, id, shop.StatusPaid, shop.ActorAdmin, "", nil); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	order(map[string]int{mug.Id: 2}, at(29, 9, 55), at(29, 10, 0))                // $30 + $5 shipping
	order(map[string]int{mug.Id: 1, tote.Id: 1}, at(29, 20, 0), at(29, 20, 30))   // $39 + $5 shipping
	order(map[string]int{mug.Id: 1}, at(29, 11, 0), time.Time{})                  // still pending
	cancelled := order(map[string]int{tote.Id: 3}, at(29, 12, 0), time.Time{})    // cancelled below
	yesterday := order(map[string]int{tote.Id: 2}, at(28, 20, 0), at(28, 20, 10)) // before the window
	order(map[string]int{tote.Id: 9}, at(29, 21, 30), time.Time{})                // after the run
	if _, err := orders.Move(app, cancelled, shop.StatusCancelled, shop.ActorAdmin, "", nil); err != nil {
		t.Fatal(err)
	}

	// A partial refund today of yesterday's order.
	events, _ := app.FindCachedCollectionByNameOrId("order_events")
	refund := core.NewRecord(events)
	refund.Load(map[string]any{"order": yesterday, "from_status": "paid", "to_status": "paid",
		"actor": "stripe", "message": "Partial refund.", "amount_cents": 1000})
	if err := app.Save(refund); err != nil {
		t.Fatal(err)
	}
	backdate(t, app, "order_events", refund.Id, "created", at(29, 12, 0))

	clk.Set(runAt)
	run := runJob(t, app, deps, jobs.DailySummary)
	if !run.OK || run.Processed != 4 {
		t.Fatalf("run = %+v, want 4 orders placed", run)
	}
	emails := findEmails(t, app, "daily_summary")
	if len(emails) != 1 {
		t.Fatalf("%d summaries queued, want 1", len(emails))
	}
	m := emails[0]
	if m.GetString("dedupe_key") != "summary:daily:2026-11-29" || m.GetString("to") != "owner@shop.test" ||
		m.GetString("subject") != "pocketshop daily summary for Sun 29 Nov: 2 paid, $79.00" {
		t.Fatalf("summary = %v", m.PublicExport())
	}
	text := m.GetString("text")
	for _, want := range []string{
		"From Sat 28 Nov 21:00 CET to Sun 29 Nov 21:00 CET",
		"Orders placed: 4 (1 pending, 2 paid, 1 cancelled)",
		"Orders paid: 2, revenue $79.00",
		"Refunds: 1, $10.00",
		"Net: $69.00",
		"1. mug: 3 sold, $45.00\n2. tote: 1 sold, $24.00\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text misses %q:\n%s", want, text)
		}
	}
	if html := m.GetString("html"); !strings.Contains(html, "<li>mug: 3 sold, $45.00</li><li>tote: 1 sold, $24.00</li>") {
		t.Errorf("html misses the top products:\n%s", html)
	}

	if run := runJob(t, app, deps, jobs.DailySummary); !run.OK || !strings.Contains(run.Message, "queued already") {
		t.Fatalf("second run = %+v", run)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 3, 30, 0, 0, time.UTC)
	deps := hooks.Deps{Now: func() time.Time { return now }}
	app := shoptest.NewApp(t, deps)
	updateSettings(t, app, map[string]any{"job_runs_retention_days": 30, "email_retention_days": 90})
	days := func(n int) time.Time { return now.AddDate(0, 0, -n) }

	runsCol, _ := app.FindCachedCollectionByNameOrId("job_runs")
	addRun := func(startedAt time.Time) string {
		r := core.NewRecord(runsCol)
		r.Load(map[string]any{"job": "old", "started_at": startedAt, "finished_at": startedAt, "ok": true})
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		return r.Id
	}
	emailsCol, _ := app.FindCachedCollectionByNameOrId("emails")
	addEmail := func(status string, sentAt time.Time) string {
		r := core.NewRecord(emailsCol)
		r.Load(map[string]any{"to": "a@b.test", "dedupe_key": fmt.Sprint(status, sentAt), "status": status})
		if !sentAt.IsZero() {
			r.Set("sent_at", sentAt)
		}
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		return r.Id
	}

	oldRun, recentRun := addRun(days(31)), addRun(days(29))
	oldSent, recentSent := addEmail("sent", days(91)), addEmail("sent", days(89))
	oldFailed, oldQueued := addEmail("failed", time.Time{}), addEmail("queued", time.Time{})
	backdate(t, app, "emails", oldFailed, "created", days(200))
	backdate(t, app, "emails", oldQueued, "created", days(200))

	// Delivered webhooks, kept webhook_retention_days (default 30).
	ep := core.NewRecord(mustCollection(t, app, "webhook_endpoints"))
	ep.Load(map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"*"}, "active": true})
	if err := app.Save(ep); err != nil {
		t.Fatal(err)
	}
	deliveriesCol := mustCollection(t, app, "webhook_deliveries")
	addDelivery := func(status string, deliveredAt time.Time) string {
		r := core.NewRecord(deliveriesCol)
		r.Load(map[string]any{"endpoint": ep.Id, "event": "order.paid", "event_id": fmt.Sprint("evt_", status, deliveredAt.Unix()),
			"payload": `{}`, "status": status})
		if !deliveredAt.IsZero() {
			r.Set("delivered_at", deliveredAt)
		}
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		return r.Id
	}
	oldDelivered, recentDelivered := addDelivery("sent", days(31)), addDelivery("sent", days(29))
	oldFailedDelivery := addDelivery("failed", time.Time{})
	backdate(t, app, "webhook_deliveries", oldFailedDelivery, "created", days(200))

	run := runJob(t, app, deps, jobs.Prune)
	if !run.OK || run.Processed != 3 ||
		run.Message != "1 job runs older than 30 days, 1 sent emails older than 90 days, 1 delivered webhooks older than 30 days" {
		t.Fatalf("run = %+v", run)
	}
	exists := func(table, id string) bool {
		_, err := app.FindRecordById(table, id)
		return err == nil
	}
	for _, c := range []struct {
		table, id string
		want      bool
	}{
		{"job_runs", oldRun, false}, {"job_runs", recentRun, true},
		{"emails", oldSent, false}, {"emails", recentSent, true},
		{"emails", oldFailed, true}, {"emails", oldQueued, true},
		{"webhook_deliveries", oldDelivered, false}, {"webhook_deliveries", recentDelivered, true},
		{"webhook_deliveries", oldFailedDelivery, true},
	} {
		if got := exists(c.table, c.id); got != c.want {
			t.Errorf("%s %s exists = %v, want %v", c.table, c.id, got, c.want)
		}
	}
	// The prune run itself was recorded.
	if runs := jobRuns(t, app, jobs.Prune); len(runs) != 1 {
		t.Errorf("%d prune runs recorded", len(runs))
	}
}

func TestJobsCommand(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	deps := hooks.Deps{Now: func() time.Time { return now }}
	app := shoptest.NewApp(t, deps)
	updateSettings(t, app, map[string]any{"timezone": "Europe/Berlin"})

	exec := func(args ...string) (string, error) {
		cmd := hooks.NewJobsCommand(app, deps)
		var out strings.Builder
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}

	out, err := exec("run", jobs.Prune)
	if err != nil || !strings.HasPrefix(out, "prune: ok in 0s, 0 processed: 0 job runs older than 30 days") {
		t.Fatalf("jobs run prune: %v\n%s", err, out)
	}
	if _, err := exec("run", "nope"); err == nil || !strings.Contains(err.Error(), `no job named "nope"`) {
		t.Fatalf("jobs run nope: %v", err)
	}

	out, err = exec("list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"NEXT RUN (Europe/Berlin)",
		// 12:00 UTC is 13:00 in Berlin.
		"expire-reservations  0 * * * * *   2026-11-29 13:01:00       never",
		"low-stock-digest     0 0 8 * * *   2026-11-30 08:00:00       never",
		"daily-summary        0 0 21 * * *  2026-11-29 21:00:00       never",
		"prune                0 30 3 * * *  2026-11-30 03:30:00       2026-11-29 13:00:00 ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs list misses %q:\n%s", want, out)
		}
	}
}

func mustCollection(t *testing.T, app core.App, name string) *core.Collection {
	t.Helper()
	c, err := app.FindCachedCollectionByNameOrId(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
