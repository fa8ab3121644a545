package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The outbox keeps each email's rendered parts, so that what is sent (and
// retried) is exactly what was queued, even if templates or data change.
func init() {
	m.Register(func(app core.App) error {
		emails, err := app.FindCollectionByNameOrId("emails")
		if err != nil {
			return err
		}
		emails.Fields.Add(
			&core.TextField{Name: "html", Max: 500_000},
			&core.TextField{Name: "text", Max: 500_000},
		)
		return app.Save(emails)
	}, func(app core.App) error {
		emails, err := app.FindCollectionByNameOrId("emails")
		if err != nil {
			return err
		}
		emails.Fields.RemoveByName("html")
		emails.Fields.RemoveByName("text")
		return app.Save(emails)
	})
}
