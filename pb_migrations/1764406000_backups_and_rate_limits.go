package pb_migrations

import (
	"slices"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// BackupCron and BackupKeep are the scheduled backups a new shop starts
// with: every night at 03:00 UTC, the last 14 kept (two weeks).
const (
	BackupCron = "0 3 * * *"
	BackupKeep = 14
)

// RateLimitRules are the per-IP limits a new shop starts with. PocketBase
// checks the first rule whose label matches a request; superusers are never
// limited. No rule matches POST /api/shop/stripe/webhook, so Stripe's
// deliveries and retries are never refused.
var RateLimitRules = []core.RateLimitRule{
	// Sign-in attempts (password, OTP, OAuth2) on every auth collection,
	// the dashboard's superusers included.
	{Label: "*:auth", MaxRequests: 10, Duration: 60},
	// Placing orders: each one reserves stock.
	{Label: "orders:create", MaxRequests: 10, Duration: 60},
	// POST /api/shop/orders/{id}/pay and /cancel, counted together.
	{Label: "POST /api/shop/orders/", MaxRequests: 20, Duration: 60},
	// Every other create, such as customer sign-ups.
	{Label: "*:create", MaxRequests: 20, Duration: 60},
	{Label: "/api/batch", MaxRequests: 3, Duration: 1},
	// Everything else in the records API: browsing the catalog, reading orders.
	{Label: "/api/collections/", MaxRequests: 300, Duration: 10},
}

// A new shop starts with nightly backups and abuse limits on. An owner who
// already set either in the dashboard keeps their own.
func init() {
	m.Register(func(app core.App) error {
		s := app.Settings()
		if s.Backups.Cron == "" {
			s.Backups.Cron = BackupCron
			s.Backups.CronMaxKeep = BackupKeep
		}
		if !s.RateLimits.Enabled {
			s.RateLimits = core.RateLimitsConfig{Enabled: true, Rules: slices.Clone(RateLimitRules)}
		}
		return app.Save(s)
	}, func(app core.App) error {
		// Undo only what is still as this migration left it.
		s := app.Settings()
		if s.Backups.Cron == BackupCron && s.Backups.CronMaxKeep == BackupKeep {
			s.Backups.Cron = ""
		}
		if s.RateLimits.Enabled && slices.Equal(s.RateLimits.Rules, RateLimitRules) {
			s.RateLimits.Enabled = false
		}
		return app.Save(s)
	})
}
