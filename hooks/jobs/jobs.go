// Package jobs runs the shop's scheduled jobs: expiring reservations, the
// owner's low-stock digest and daily summary, pruning old rows, and the
// reconciliation with Stripe. It is the top of the shop's components: it
// moves orders (package orders), queues emails (package outbox) and
// reconciles payments (package payments); nothing below calls it.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"pocketshop/hooks/orders"
	"pocketshop/hooks/outbox"
	"pocketshop/hooks/payments"
	"pocketshop/hooks/settings"
	cron "pocketshop/internal/jobs"
	"pocketshop/internal/mail"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The shop's scheduled jobs, by name.
const (
	ExpireReservations = "expire-reservations"
	LowStockDigest     = "low-stock-digest"
	DailySummary       = "daily-summary"
	Prune              = "prune"
	ReconcilePayments  = "reconcile-payments"
)

// salesWindow is how far back the low-stock digest looks to tell how fast a
// product sells.
const salesWindow = 7 * 24 * time.Hour

// Retention defaults, used when shop_settings has no value.
const (
	defaultJobRunsRetentionDays = 30
	defaultEmailRetentionDays   = 90
)

// Config configures the scheduled jobs.
type Config struct {
	// Start runs the scheduler while the server serves. main.go turns it on;
	// tests leave it off and run jobs with NewScheduler(...).RunNow, so that
	// no job fires on its own in the middle of a test.
	Start bool
	// Schedules replaces job schedules by job name; cron.SchedulesFromEnv
	// reads them from POCKETSHOP_JOB_* variables.
	Schedules map[string]string
	// Extra are scheduled beside the shop's own jobs.
	Extra []cron.Job
}

// Manager runs the scheduled jobs. It needs the app, a clock and the
// payments component (for reconcile-payments).
type Manager struct {
	app      core.App
	now      func() time.Time
	payments *payments.Manager
	cfg      Config
}

// New returns the jobs component of app.
func New(app core.App, now func() time.Time, pay *payments.Manager, cfg Config) *Manager {
	return &Manager{app: app, now: now, payments: pay, cfg: cfg}
}

// jobList is every scheduled job with its default schedule (seconds first,
// read in the shop's time zone).
func (m *Manager) jobList() []cron.Job {
	list := []cron.Job{
		{Name: ExpireReservations, Schedule: "0 * * * * *", Run: m.expireReservations},
		{Name: LowStockDigest, Schedule: "0 0 8 * * *", Run: m.lowStockDigest},
		{Name: DailySummary, Schedule: "0 0 21 * * *", Run: m.dailySummary},
		{Name: Prune, Schedule: "0 30 3 * * *", Run: m.prune},
		{Name: ReconcilePayments, Schedule: "@every 5m", Run: m.reconcilePayments},
	}
	return append(list, m.cfg.Extra...)
}

// Names lists the name of every job cfg schedules.
func Names(cfg Config) []string {
	var names []string
	for _, j := range (&Manager{cfg: cfg}).jobList() {
		names = append(names, j.Name)
	}
	return names
}

// Scheduler returns the job scheduler, stopped, with schedules read in the
// shop's time zone and every run recorded in job_runs. Its RunNow runs a
// job once (the `jobs run` command and the tests use it).
func (m *Manager) Scheduler() (*cron.Scheduler, error) {
	s, err := settings.Load(m.app)
	if err != nil {
		return nil, err
	}
	return cron.New(cron.Config{
		Jobs:      m.jobList(),
		Schedules: m.cfg.Schedules,
		Location:  m.location(s),
		Now:       m.now,
		Recorder:  jobRunRecorder{app: m.app},
		Logger:    m.app.Logger().With("component", "jobs"),
	})
}

// reconcilePayments is the reconcile-payments job.
func (m *Manager) reconcilePayments(ctx context.Context) (int, string, error) {
	return m.payments.ReconcileJob(ctx)
}

// location is the shop's time zone. An unknown zone falls back to UTC with
// a warning rather than keeping the server from starting.
func (m *Manager) location(s settings.Settings) *time.Location {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		m.app.Logger().Warn("Unknown shop timezone, using UTC.", "timezone", s.Timezone, "error", err)
		return time.UTC
	}
	return loc
}

// Bind starts the scheduler once the server is listening (when the config
// says Start) and stops it (waiting for running jobs) when the app
// terminates. A change of the shop's time zone restarts it in the new zone.
func (m *Manager) Bind() {
	if !m.cfg.Start {
		return
	}
	app := m.app
	var (
		mu         sync.Mutex
		sched      *cron.Scheduler
		terminated bool
	)
	start := func() error {
		next, err := m.Scheduler()
		if err != nil {
			return fmt.Errorf("scheduled jobs: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if terminated {
			return nil
		}
		if sched != nil {
			sched.Stop()
		}
		sched = next
		sched.Start()
		app.Logger().Info("Scheduled jobs started.", "timezone", sched.Location().String())
		return nil
	}

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if err := se.Next(); err != nil {
			return err
		}
		return start()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		mu.Lock()
		terminated = true
		if sched != nil {
			sched.Stop()
			sched = nil
		}
		mu.Unlock()
		return e.Next()
	})
	app.OnRecordAfterUpdateSuccess("shop_settings").BindFunc(func(e *core.RecordEvent) error {
		mu.Lock()
		running := sched != nil
		mu.Unlock()
		if running && e.Record.GetString("timezone") != e.Record.Original().GetString("timezone") {
			// Restart outside the request: Stop waits for running jobs.
			go func() {
				if err := start(); err != nil {
					app.Logger().Error("Scheduled jobs not restarted.", "error", err)
				}
			}()
		}
		return e.Next()
	})
}

// jobRunRecorder writes one job_runs row per run.
type jobRunRecorder struct{ app core.App }

// maxJobMessage is job_runs.message's limit.
const maxJobMessage = 5000

func (r jobRunRecorder) RecordRun(ctx context.Context, run cron.Run) error {
	col, err := r.app.FindCachedCollectionByNameOrId("job_runs")
	if err != nil {
		return err
	}
	rec := core.NewRecord(col)
	rec.Load(map[string]any{
		"job": run.Job, "started_at": run.StartedAt.UTC(), "finished_at": run.FinishedAt.UTC(),
		"ok": run.OK, "processed": run.Processed, "message": truncate(run.Message, maxJobMessage),
	})
	if err := r.app.SaveWithContext(ctx, rec); err != nil {
		return fmt.Errorf("record run of %s: %w", run.Job, err)
	}
	return nil
}

// truncate shortens s to at most max bytes without splitting a character.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// expireReservations moves every pending order whose reservation has ended
// to expired, which releases its stock (package orders). An order that a
// webhook or its customer moved first is left alone and counted as skipped:
// the move is checked against the status stored in the transaction, so only
// one of two racing writers wins.
func (m *Manager) expireReservations(ctx context.Context) (int, string, error) {
	now, err := types.ParseDateTime(m.now().UTC())
	if err != nil {
		return 0, "", err
	}
	var due []struct {
		ID string `db:"id"`
	}
	err = m.app.DB().Select("id").From("orders").
		Where(dbx.HashExp{"status": shop.StatusPending}).
		AndWhere(dbx.NewExp("[[expires_at]] != '' AND [[expires_at]] <= {:now}", dbx.Params{"now": now.String()})).
		OrderBy("expires_at").All(&due)
	if err != nil {
		return 0, "", fmt.Errorf("find expired reservations: %w", err)
	}

	expired, skipped := 0, 0
	var errs []error
	for _, o := range due {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		_, err := orders.Move(m.app, o.ID, shop.StatusExpired, shop.ActorSystem,
			"The stock reservation ended before the order was paid.", nil)
		switch {
		case err == nil:
			expired++
		case isStatusConflict(err):
			skipped++
		default:
			errs = append(errs, fmt.Errorf("expire order %s: %w", o.ID, err))
		}
	}
	msg := fmt.Sprintf("%d expired", expired)
	if skipped > 0 {
		msg += fmt.Sprintf(", %d skipped (moved by someone else first)", skipped)
	}
	return expired, msg, errors.Join(errs...)
}

// isStatusConflict reports whether an order move was refused because the
// stored status no longer allows it.
func isStatusConflict(err error) bool {
	return shop.ErrorCode(err) == shop.ECONFLICT
}

// lowProduct is a simple product or a variant at or below its low-stock
// threshold; a variant's Name is "Product (Variant title)".
type lowProduct struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	SKU       string `db:"sku"`
	Stock     int    `db:"stock"`
	Threshold int    `db:"low_stock_threshold"`
	// Sold is how many units were reserved in the last salesWindow by
	// orders that still stand (not cancelled or expired).
	Sold int `db:"sold"`
}

// salesDays is salesWindow in days.
const salesDays = int(salesWindow / (24 * time.Hour))

// lowStockDigest emails the owner one list of every active product (or
// variant) at or below its threshold, once per day in the shop's time zone. Nothing is sent
// when nothing is low.
func (m *Manager) lowStockDigest(ctx context.Context) (int, string, error) {
	s, err := settings.Load(m.app)
	if err != nil {
		return 0, "", err
	}
	now := m.now().In(m.location(s))
	since, _ := types.ParseDateTime(now.Add(-salesWindow))
	until, _ := types.ParseDateTime(now)

	// One row per stock-keeping unit: each active variant of an active
	// product, and each active product sold without variants (a product
	// sold by variant keeps no stock of its own).
	var low []lowProduct
	err = m.app.DB().NewQuery(`
		SELECT p.id, p.name, p.sku, p.stock, p.low_stock_threshold, COALESCE(sales.sold, 0) AS sold
		FROM {{products}} p
		LEFT JOIN (
			SELECT sm.product AS product, SUM(-sm.delta) AS sold
			FROM {{stock_movements}} sm
			JOIN {{orders}} o ON o.id = sm.[[order]]
			WHERE sm.reason = 'reserve' AND sm.created >= {:since} AND sm.created <= {:until}
				AND o.status NOT IN ('cancelled', 'expired') AND sm.variant = ''
			GROUP BY sm.product
		) sales ON sales.product = p.id
		WHERE p.active = TRUE AND p.stock <= p.low_stock_threshold
			AND NOT EXISTS (SELECT 1 FROM {{variants}} av WHERE av.product = p.id AND av.active = TRUE)
		UNION ALL
		SELECT v.id, p.name || ' (' || v.title || ')', CASE WHEN v.sku != '' THEN v.sku ELSE p.sku END,
			v.stock, v.low_stock_threshold, COALESCE(vsales.sold, 0)
		FROM {{variants}} v
		JOIN {{products}} p ON p.id = v.product
		LEFT JOIN (
			SELECT sm.variant AS variant, SUM(-sm.delta) AS sold
			FROM {{stock_movements}} sm
			JOIN {{orders}} o ON o.id = sm.[[order]]
			WHERE sm.reason = 'reserve' AND sm.created >= {:since} AND sm.created <= {:until}
				AND o.status NOT IN ('cancelled', 'expired') AND sm.variant != ''
			GROUP BY sm.variant
		) vsales ON vsales.variant = v.id
		WHERE p.active = TRUE AND v.active = TRUE AND v.stock <= v.low_stock_threshold
		ORDER BY 4, 2`).
		Bind(dbx.Params{"since": since.String(), "until": until.String()}).
		All(&low)
	if err != nil {
		return 0, "", fmt.Errorf("find low stock: %w", err)
	}
	if len(low) == 0 {
		return 0, "nothing is low", nil
	}
	if s.OwnerEmail == "" {
		return len(low), "no owner_email in shop settings: nothing sent", nil
	}

	day := now.Format(time.DateOnly)
	digest := mail.LowStockDigest{Shop: s.ShopName, Day: now, SalesDays: salesDays}
	for _, p := range low {
		digest.Products = append(digest.Products, mail.LowStockProduct{
			Name: p.Name, SKU: p.SKU, Stock: p.Stock, Threshold: p.Threshold,
			Sold: p.Sold, PerDay: float64(p.Sold) / float64(salesDays),
		})
	}
	email, err := mail.RenderLowStockDigest(digest)
	if err != nil {
		return 0, "", err
	}
	added, err := m.enqueueReport(email, mail.KindLowStockDigest, s.OwnerEmail, "digest:low-stock:"+day)
	if err != nil {
		return 0, "", err
	}
	if !added {
		return len(low), fmt.Sprintf("%d low; today's digest was queued already", len(low)), nil
	}
	return len(low), fmt.Sprintf("%d low; digest queued for %s", len(low), s.OwnerEmail), nil
}

// enqueueReport queues one of the owner's reports, once per dedupe key.
func (m *Manager) enqueueReport(email mail.Message, kind, to, dedupeKey string) (bool, error) {
	return outbox.Enqueue(m.app, outbox.Email{
		To: to, Subject: email.Subject, Kind: kind, DedupeKey: dedupeKey, HTML: email.HTML, Text: email.Text,
	})
}

// maxTopProducts is how many best sellers the summary lists.
const maxTopProducts = 5

// dailySummary emails the owner the day's figures: orders placed, orders
// paid and their revenue, refunds, and the best sellers. It covers the 24
// hours (one calendar day in the shop's time zone) up to the run, so that
// a daily schedule leaves no gap, and goes out once per local date.
func (m *Manager) dailySummary(ctx context.Context) (int, string, error) {
	s, err := settings.Load(m.app)
	if err != nil {
		return 0, "", err
	}
	if s.OwnerEmail == "" {
		return 0, "no owner_email in shop settings: nothing sent", nil
	}
	to := m.now().In(m.location(s))
	sum, err := m.summarize(to.AddDate(0, 0, -1), to)
	if err != nil {
		return 0, "", err
	}
	sum.Shop, sum.Currency = s.ShopName, s.Currency
	sum.OwnerURL = settings.AppURL(m.app) + "/owner/"

	email, err := mail.RenderDailySummary(sum)
	if err != nil {
		return 0, "", err
	}
	added, err := m.enqueueReport(email, mail.KindDailySummary, s.OwnerEmail, "summary:daily:"+to.Format(time.DateOnly))
	if err != nil {
		return 0, "", err
	}
	msg := fmt.Sprintf("%d placed, %d paid (%s), %d refunds (%s)", sum.Placed, sum.Paid,
		shop.FormatCents(sum.RevenueCents, sum.Currency), sum.Refunds, shop.FormatCents(sum.RefundCents, sum.Currency))
	if !added {
		return sum.Placed, msg + "; today's summary was queued already", nil
	}
	return sum.Placed, msg + "; summary queued", nil
}

// summarize adds up the orders, payments and refunds in [from, to).
func (m *Manager) summarize(from, to time.Time) (mail.DailySummary, error) {
	sum := mail.DailySummary{From: from, To: to, PlacedBy: map[string]int{}}
	f, _ := types.ParseDateTime(from)
	t, _ := types.ParseDateTime(to)
	window := dbx.Params{"from": f.String(), "to": t.String()}

	var placed []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	err := m.app.DB().NewQuery(`SELECT status, COUNT(*) AS n FROM {{orders}}
		WHERE created >= {:from} AND created < {:to} GROUP BY status`).Bind(window).All(&placed)
	if err != nil {
		return sum, fmt.Errorf("count orders placed: %w", err)
	}
	for _, p := range placed {
		sum.Placed += p.N
		sum.PlacedBy[p.Status] = p.N
	}

	paid, err := m.app.FindAllRecords("orders", dbx.NewExp(
		"[[paid_at]] != '' AND [[paid_at]] >= {:from} AND [[paid_at]] < {:to}", window))
	if err != nil {
		return sum, fmt.Errorf("find orders paid: %w", err)
	}
	byProduct := map[string]*mail.ProductSales{}
	for _, o := range paid {
		sum.Paid++
		sum.RevenueCents += int64(o.GetInt("total_cents"))
		lines, err := orders.Lines(o)
		if err != nil {
			return sum, err
		}
		for _, l := range lines {
			ps := byProduct[l.Product]
			if ps == nil {
				ps = &mail.ProductSales{Product: l.Product, Name: l.Name}
				byProduct[l.Product] = ps
			}
			ps.Units += l.Quantity
			ps.SalesCents += l.LineTotalCents
		}
	}
	for _, ps := range byProduct {
		sum.Top = append(sum.Top, *ps)
	}
	sort.Slice(sum.Top, func(i, j int) bool {
		a, b := sum.Top[i], sum.Top[j]
		if a.Units != b.Units {
			return a.Units > b.Units
		}
		if a.SalesCents != b.SalesCents {
			return a.SalesCents > b.SalesCents
		}
		return a.Name < b.Name
	})
	if len(sum.Top) > maxTopProducts {
		sum.Top = sum.Top[:maxTopProducts]
	}

	// A refund is an event that moves money back: a partial refund keeps the
	// status, a full one moves the order to refunded.
	var refunds struct {
		N     int   `db:"n"`
		Cents int64 `db:"cents"`
	}
	err = m.app.DB().NewQuery(`SELECT COUNT(*) AS n, COALESCE(SUM(amount_cents), 0) AS cents
		FROM {{order_events}}
		WHERE created >= {:from} AND created < {:to}
			AND (to_status = 'refunded' OR (from_status = to_status AND amount_cents > 0))`).
		Bind(window).One(&refunds)
	if err != nil {
		return sum, fmt.Errorf("add up refunds: %w", err)
	}
	sum.Refunds, sum.RefundCents = refunds.N, refunds.Cents
	return sum, nil
}

// prune deletes job_runs rows and sent emails older than the retention
// settings (shop_settings.job_runs_retention_days and
// email_retention_days). Queued and failed emails are kept: the owner may
// still need them.
func (m *Manager) prune(ctx context.Context) (int, string, error) {
	runDays, emailDays, err := loadRetention(m.app)
	if err != nil {
		return 0, "", err
	}
	now := m.now().UTC()
	runsBefore, _ := types.ParseDateTime(now.AddDate(0, 0, -runDays))
	emailsBefore, _ := types.ParseDateTime(now.AddDate(0, 0, -emailDays))

	res, err := m.app.DB().NewQuery(`DELETE FROM {{job_runs}} WHERE started_at != '' AND started_at < {:before}`).
		Bind(dbx.Params{"before": runsBefore.String()}).Execute()
	if err != nil {
		return 0, "", fmt.Errorf("prune job runs: %w", err)
	}
	runs, _ := res.RowsAffected()

	res, err = m.app.DB().NewQuery(`DELETE FROM {{emails}} WHERE status = 'sent' AND sent_at != '' AND sent_at < {:before}`).
		Bind(dbx.Params{"before": emailsBefore.String()}).Execute()
	if err != nil {
		return int(runs), "", fmt.Errorf("prune emails: %w", err)
	}
	emails, _ := res.RowsAffected()

	return int(runs + emails), fmt.Sprintf("%d job runs older than %d days, %d sent emails older than %d days",
		runs, runDays, emails, emailDays), nil
}

// loadRetention reads how many days job_runs rows and sent emails are kept.
func loadRetention(app core.App) (runDays, emailDays int, err error) {
	runDays, emailDays = defaultJobRunsRetentionDays, defaultEmailRetentionDays
	records, err := app.FindRecordsByFilter("shop_settings", "", "created", 1, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("load retention settings: %w", err)
	}
	if len(records) == 1 {
		if d := records[0].GetInt("job_runs_retention_days"); d > 0 {
			runDays = d
		}
		if d := records[0].GetInt("email_retention_days"); d > 0 {
			emailDays = d
		}
	}
	return runDays, emailDays, nil
}
