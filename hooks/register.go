// Package hooks binds pocketshop's behaviour to a PocketBase app: the record
// hooks that validate orders and keep stock honest, and the /api/shop routes.
// main.go and the tests call the same Register, so tests exercise exactly
// what runs in production.
package hooks

import (
	"time"

	"pocketshop/internal/groupcommit"
	"pocketshop/internal/payments"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Deps are the outside parts the hooks use. The zero value is valid: it uses
// the wall clock.
type Deps struct {
	// Now returns the current time; tests inject a clock here.
	Now func() time.Time
	// Outbox tunes the email sender (retries, backoff, the background loop).
	Outbox OutboxOptions
	// Jobs configures the scheduled jobs (hooks/jobs.go).
	Jobs JobsConfig
	// Payments configures Stripe; without a secret key Stripe checkout
	// answers "payments are not configured".
	Payments payments.Config
}

// shopHooks carries the dependencies shared by the hook and route handlers.
type shopHooks struct {
	app    core.App
	now    func() time.Time
	stripe payments.Provider // nil when payments are not configured
	// writer carries order create and the Stripe paid transition.
	writer *groupcommit.Writer
	emails *emailHooks
}

// Register binds every pocketshop hook and route to app.
func Register(app core.App, deps Deps) {
	s := newShopHooks(app, deps)
	outbox := deps.Outbox
	if outbox.Now == nil {
		outbox.Now = s.now
	}
	s.emails = newEmailHooks(outbox)

	bindSettingsCache(app)
	bindInventoryHooks(app, s)
	bindOrderHooks(app, s)
	bindPaymentHooks(app, s) // after the order hooks: its update request hook runs after theirs
	bindRoutes(app, s)
	bindAbuseLimits(app)
	bindGracefulShutdown(app)
	bindJobs(app, s, deps.Jobs)
	bindEmailHooks(app, s.emails)
	bindWriter(app, s.writer)
}

func newShopHooks(app core.App, deps Deps) *shopHooks {
	s := &shopHooks{app: app, now: deps.Now, writer: groupcommit.New(app)}
	if s.now == nil {
		s.now = time.Now
	}
	if deps.Payments.Enabled() {
		s.stripe = payments.New(deps.Payments)
	}
	return s
}

// nowDateTime is the hooks' clock as a PocketBase date.
func (s *shopHooks) nowDateTime() types.DateTime {
	now, _ := types.ParseDateTime(s.now().UTC())
	return now
}
