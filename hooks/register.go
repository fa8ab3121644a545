// Package hooks composes pocketshop's components into a PocketBase app.
// Each concern is a package of its own with its own small dependencies and
// its own Bind, layered one way (a package imports only those below it):
//
//	jobs                       scheduled jobs (expiry, digests, prune, reconcile)
//	payments   outbox          Stripe checkout, webhook, refunds | emails
//	orders     storefront      orders + stock | public settings, body limits
//	catalog    search          products' options, variants, categories | full-text product search
//	pricing                    codes, tax and shipping rates of an order
//	settings   httperr   txn   shop settings | errors → HTTP | transactions
//
// main.go and the tests call the same Register, so tests exercise exactly
// what runs in production.
package hooks

import (
	"time"

	"pocketshop/hooks/catalog"
	"pocketshop/hooks/jobs"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/outbox"
	"pocketshop/hooks/payments"
	"pocketshop/hooks/pricing"
	"pocketshop/hooks/productcsv"
	"pocketshop/hooks/search"
	"pocketshop/hooks/settings"
	"pocketshop/hooks/storefront"
	"pocketshop/internal/groupcommit"
	cron "pocketshop/internal/jobs"
	pay "pocketshop/internal/payments"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/spf13/cobra"
)

// maxShopBodyBytes bounds the body of every /api/shop route.
const maxShopBodyBytes = 64 << 10

// Deps are the outside parts the components use. The zero value is valid:
// it uses the wall clock and no payment provider.
type Deps struct {
	// Now returns the current time; tests inject a clock here.
	Now func() time.Time
	// Outbox tunes the email sender (retries, backoff, the background loop).
	Outbox outbox.Options
	// Jobs configures the scheduled jobs (hooks/jobs).
	Jobs jobs.Config
	// Payments configures Stripe; without a secret key Stripe checkout
	// answers "Payments are not configured." (unless Provider is set).
	Payments pay.Config
	// Provider, when set, takes the payments instead of the Stripe provider
	// Payments configures; tests inject payments.Memory here.
	Provider pay.Provider
}

// components are the shop's components of one app.
type components struct {
	orders   *orders.Manager
	payments *payments.Manager
	outbox   *outbox.Manager
	jobs     *jobs.Manager
	search   *search.Manager
}

func newComponents(app core.App, deps Deps) components {
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	provider := deps.Provider
	if provider == nil && deps.Payments.Enabled() {
		provider = pay.New(deps.Payments)
	}
	outboxOpts := deps.Outbox
	if outboxOpts.Now == nil {
		outboxOpts.Now = now
	}
	c := components{
		orders: orders.New(app, now),
		outbox: outbox.New(app, outboxOpts),
		search: search.New(app),
	}
	c.payments = payments.New(app, now, provider, c.orders)
	// The outbox (above orders) renders the emails of the order events the
	// group-commit writer writes.
	c.orders.SetEventEmails(c.outbox.EventEmails)
	c.jobs = jobs.New(app, now, c.payments, deps.Jobs)
	return c
}

// Register binds every pocketshop hook and route to app.
func Register(app core.App, deps Deps) {
	c := newComponents(app, deps)

	settings.BindCache(app)
	catalog.New(app).Bind()
	pricing.Bind(app)
	c.orders.Bind()
	c.payments.Bind() // after the orders: its order update request hook runs after theirs
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/shop")
		g.Bind(apis.BodyLimit(maxShopBodyBytes))
		c.orders.Routes(g)
		c.payments.Routes(g)
		storefront.Routes(g)
		c.search.Routes(g)
		return se.Next()
	})
	reportsNow := deps.Now
	if reportsNow == nil {
		reportsNow = time.Now
	}
	bindReports(app, reportsNow)
	storefront.BindLimits(app)
	bindGracefulShutdown(app)
	c.jobs.Bind()
	c.outbox.Bind()
	bindWriter(app)
}

// bindWriter closes the app's group-commit writer (internal/groupcommit,
// which carries order create and the Stripe paid transition) when the app
// terminates, after the graceful shutdown has let the requests waiting on
// it finish.
func bindWriter(app core.App) {
	app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
		Id: "shopWriterClose",
		Func: func(te *core.TerminateEvent) error {
			if !te.IsRestart {
				groupcommit.For(app).Close()
			}
			return te.Next()
		},
	})
}

// NewScheduler returns app's job scheduler, stopped (see jobs.Manager.Scheduler).
// Its RunNow runs a job once (the `jobs run` command and the tests use it).
func NewScheduler(app core.App, deps Deps) (*cron.Scheduler, error) {
	return newComponents(app, deps).jobs.Scheduler()
}

// NewJobsCommand returns the `jobs` command (see jobs.NewCommand).
func NewJobsCommand(app core.App, deps Deps) *cobra.Command {
	return jobs.NewCommand(app, func() (*cron.Scheduler, error) { return NewScheduler(app, deps) })
}

// NewProductsCommand returns the `products` command: the catalog's CSV
// import and export (see productcsv.NewCommand).
func NewProductsCommand(app core.App) *cobra.Command {
	return productcsv.NewCommand(app)
}
