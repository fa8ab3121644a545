package pb_migrations

import (
	"slices"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// AccountRateLimit limits POST /api/shop/account/erase (and any later POST
// under /api/shop/account/) per IP like a sign-in: it checks a password.
var AccountRateLimit = core.RateLimitRule{Label: "POST /api/shop/account/", MaxRequests: 10, Duration: 60}

// erasures records each customer data erasure (hooks/customers): when, who
// asked (the customer or the owner) and how much was changed, with no
// personal data at all, so the owner can show that a request was honoured.
// Superusers only.
func init() {
	m.Register(func(app core.App) error {
		erasures := core.NewBaseCollection("erasures")
		erasures.Fields.Add(
			&core.SelectField{Name: "requested_by", MaxSelect: 1, Required: true, Values: []string{"customer", "owner"}},
			&core.BoolField{Name: "account_deleted"},
			&core.NumberField{Name: "orders", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.NumberField{Name: "emails_dropped", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.NumberField{Name: "emails_scrubbed", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.NumberField{Name: "events_scrubbed", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.NumberField{Name: "deliveries_scrubbed", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.NumberField{Name: "other_rows_scrubbed", OnlyInt: true, Min: types.Pointer(0.0)},
			autodate("created", true, false),
		)
		erasures.AddIndex("idx_erasures_created", false, "created", "")
		if err := app.Save(erasures); err != nil {
			return err
		}

		// A customer's orders are found by address, in any case: without
		// this index an export or erasure read every order (a second on
		// 100,000 orders, bench figures in the README).
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.AddIndex("idx_orders_email", false, "email COLLATE NOCASE", "")
		if err := app.Save(orders); err != nil {
			return err
		}

		// Only the limits a new shop starts with gain the rule: an owner who
		// turned them off or wrote their own keeps exactly their choice.
		s := app.Settings()
		if !s.RateLimits.Enabled || !slices.Equal(s.RateLimits.Rules, RateLimitRules) {
			return nil
		}
		s.RateLimits.Rules = append(slices.Clone(RateLimitRules), AccountRateLimit)
		return app.Save(s)
	}, func(app core.App) error {
		s := app.Settings()
		if slices.Equal(s.RateLimits.Rules, append(slices.Clone(RateLimitRules), AccountRateLimit)) {
			s.RateLimits.Rules = slices.Clone(RateLimitRules)
			if err := app.Save(s); err != nil {
				return err
			}
		}
		if orders, err := app.FindCollectionByNameOrId("orders"); err == nil {
			orders.RemoveIndex("idx_orders_email")
			if err := app.Save(orders); err != nil {
				return err
			}
		}
		erasures, err := app.FindCollectionByNameOrId("erasures")
		if err != nil {
			return nil // already gone
		}
		return app.Delete(erasures)
	})
}
