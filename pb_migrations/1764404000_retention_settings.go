package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// How long the prune job keeps job_runs rows and sent emails, in days, as
// owner-editable settings.
func init() {
	m.Register(func(app core.App) error {
		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.Add(
			&core.NumberField{Name: "job_runs_retention_days", OnlyInt: true, Min: types.Pointer(1.0), Max: types.Pointer(3650.0)},
			&core.NumberField{Name: "email_retention_days", OnlyInt: true, Min: types.Pointer(1.0), Max: types.Pointer(3650.0)},
		)
		if err := app.Save(settings); err != nil {
			return err
		}
		records, err := app.FindAllRecords(settings)
		if err != nil {
			return err
		}
		for _, r := range records {
			r.Set("job_runs_retention_days", 30)
			r.Set("email_retention_days", 90)
			if err := app.Save(r); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.RemoveByName("job_runs_retention_days")
		settings.Fields.RemoveByName("email_retention_days")
		return app.Save(settings)
	})
}
