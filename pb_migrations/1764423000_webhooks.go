package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Outgoing webhooks (hooks/webhooks): the owner's endpoints, and one
// delivery row per event and endpoint, written in the transaction of the
// change it reports and sent by a background worker like the email outbox
// (the same lease_until). Only superusers read or write them.
//
// Beyond the contract's fields: webhook_deliveries.lease_until (the sender
// holding it) and retry_until (when retrying stops: three days after it
// was queued or requeued), and shop_settings.webhook_retention_days (how
// long the prune job keeps delivered rows).
func init() {
	m.Register(func(app core.App) error {
		endpoints := core.NewBaseCollection("webhook_endpoints")
		endpoints.Fields.Add(
			&core.TextField{Name: "url", Required: true, Max: 2000, Presentable: true},
			&core.JSONField{Name: "events", Required: true, MaxSize: 4096},
			&core.TextField{Name: "secret", Max: 100},
			&core.BoolField{Name: "active"},
			&core.TextField{Name: "description", Max: 500},
			autodate("created", true, false),
			autodate("updated", true, true),
		)
		if err := app.Save(endpoints); err != nil {
			return err
		}

		deliveries := core.NewBaseCollection("webhook_deliveries")
		deliveries.Fields.Add(
			&core.RelationField{Name: "endpoint", Required: true, CollectionId: endpoints.Id, MaxSelect: 1, CascadeDelete: true},
			&core.TextField{Name: "event", Required: true, Max: 50},
			&core.TextField{Name: "event_id", Required: true, Max: 100},
			&core.JSONField{Name: "payload", MaxSize: 1 << 20},
			&core.SelectField{Name: "status", MaxSelect: 1, Required: true, Values: []string{"queued", "sent", "failed"}},
			&core.NumberField{Name: "attempts", OnlyInt: true, Min: types.Pointer(0.0)},
			&core.DateField{Name: "next_attempt_at"},
			&core.NumberField{Name: "response_status", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(999.0)},
			&core.TextField{Name: "last_error", Max: 5000},
			&core.DateField{Name: "delivered_at"},
			&core.DateField{Name: "lease_until"},
			&core.DateField{Name: "retry_until"},
			autodate("created", true, false),
			autodate("updated", true, true),
		)
		deliveries.AddIndex("idx_webhook_deliveries_event", true, "endpoint, event_id", "")
		deliveries.AddIndex("idx_webhook_deliveries_due", false, "status, next_attempt_at", "")
		if err := app.Save(deliveries); err != nil {
			return err
		}

		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.Add(&core.NumberField{Name: "webhook_retention_days", OnlyInt: true,
			Min: types.Pointer(1.0), Max: types.Pointer(3650.0)})
		if err := app.Save(settings); err != nil {
			return err
		}
		_, err = app.DB().NewQuery("UPDATE {{shop_settings}} SET [[webhook_retention_days]] = 30").Execute()
		return err
	}, func(app core.App) error {
		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.RemoveByName("webhook_retention_days")
		if err := app.Save(settings); err != nil {
			return err
		}
		for _, name := range []string{"webhook_deliveries", "webhook_endpoints"} {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			if err := app.Delete(c); err != nil {
				return err
			}
		}
		return nil
	})
}
