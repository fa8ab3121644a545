package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// An email being sent is leased to one sender until lease_until: another
// sender (or the same one after a restart) leaves it alone until then.
func init() {
	m.Register(func(app core.App) error {
		emails, err := app.FindCollectionByNameOrId("emails")
		if err != nil {
			return err
		}
		emails.Fields.Add(&core.DateField{Name: "lease_until"})
		return app.Save(emails)
	}, func(app core.App) error {
		emails, err := app.FindCollectionByNameOrId("emails")
		if err != nil {
			return err
		}
		emails.Fields.RemoveByName("lease_until")
		return app.Save(emails)
	})
}
