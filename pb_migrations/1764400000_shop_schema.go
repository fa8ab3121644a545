// Package pb_migrations holds pocketshop's schema as Go migrations. Importing
// it (blank) registers them with PocketBase's migrations runner.
package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// shopCollections are created by this migration, in dependency order.
var shopCollections = []string{
	"products", "orders", "order_events", "stock_movements",
	"payment_events", "emails", "job_runs", "shop_settings",
}

func init() {
	m.Register(upShopSchema, downShopSchema)
}

func upShopSchema(app core.App) error {
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return err
	}

	products := core.NewBaseCollection("products")
	products.ListRule = types.Pointer("active = true")
	products.ViewRule = types.Pointer("active = true")
	products.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 200, Presentable: true},
		&core.TextField{Name: "slug", Required: true, Max: 100, Pattern: `^[a-z0-9]+(?:-[a-z0-9]+)*$`},
		&core.TextField{Name: "sku", Max: 64},
		&core.EditorField{Name: "description", MaxSize: 100_000},
		&core.NumberField{Name: "price_cents", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(10_000_000_000))},
		&core.NumberField{Name: "stock", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(1_000_000_000))},
		&core.NumberField{Name: "low_stock_threshold", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.BoolField{Name: "active"},
		&core.FileField{Name: "images", MaxSelect: 10, MaxSize: 5 << 20,
			MimeTypes: []string{"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"},
			Thumbs:    []string{"400x400", "100x100"}},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	products.AddIndex("idx_products_slug", true, "slug", "")
	products.AddIndex("idx_products_sku", true, "sku", "sku != ''")
	products.AddIndex("idx_products_active_name", false, "active, name", "")
	if err := app.Save(products); err != nil {
		return err
	}

	orders := core.NewBaseCollection("orders")
	// A signed-in customer sees their own orders; a guest needs the token.
	ownerOrToken := `(@request.auth.id != "" && customer = @request.auth.id) || (@request.query.token != "" && token != "" && token = @request.query.token)`
	orders.ListRule = types.Pointer(ownerOrToken)
	orders.ViewRule = types.Pointer(ownerOrToken)
	orders.CreateRule = types.Pointer("")
	orders.Fields.Add(
		&core.NumberField{Name: "number", OnlyInt: true, Presentable: true},
		&core.SelectField{Name: "status", MaxSelect: 1, Required: true,
			Values: []string{"pending", "paid", "fulfilled", "cancelled", "refunded", "expired"}},
		&core.RelationField{Name: "customer", CollectionId: users.Id, MaxSelect: 1},
		&core.EmailField{Name: "email", Required: true},
		&core.JSONField{Name: "items", MaxSize: 200_000},
		&core.SelectField{Name: "payment_method", MaxSelect: 1, Required: true, Values: []string{"stripe", "manual"}},
		&core.JSONField{Name: "shipping_address", MaxSize: 5_000},
		&core.TextField{Name: "note", Max: 1000},
		&core.NumberField{Name: "subtotal_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "shipping_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "total_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "refunded_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.TextField{Name: "currency", Max: 3},
		&core.TextField{Name: "token", Max: 64},
		&core.DateField{Name: "expires_at"},
		&core.DateField{Name: "paid_at"},
		&core.DateField{Name: "fulfilled_at"},
		&core.DateField{Name: "cancelled_at"},
		&core.TextField{Name: "tracking_number", Max: 200},
		&core.TextField{Name: "stripe_session_id", Max: 255},
		&core.TextField{Name: "stripe_payment_intent", Max: 255},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	orders.AddIndex("idx_orders_number", true, "number", "")
	orders.AddIndex("idx_orders_token", true, "token", "token != ''")
	orders.AddIndex("idx_orders_customer", false, "customer", "")
	orders.AddIndex("idx_orders_status_expires", false, "status, expires_at", "")
	orders.AddIndex("idx_orders_stripe_session", false, "stripe_session_id", "stripe_session_id != ''")
	if err := app.Save(orders); err != nil {
		return err
	}

	events := core.NewBaseCollection("order_events")
	events.Fields.Add(
		&core.RelationField{Name: "order", CollectionId: orders.Id, MaxSelect: 1, Required: true, CascadeDelete: true},
		&core.TextField{Name: "from_status", Max: 20},
		&core.TextField{Name: "to_status", Max: 20},
		&core.SelectField{Name: "actor", MaxSelect: 1, Required: true, Values: []string{"customer", "system", "stripe", "admin"}},
		&core.TextField{Name: "message", Max: 2000},
		// amount_cents is the money an event moved, e.g. a refund's amount.
		&core.NumberField{Name: "amount_cents", OnlyInt: true},
		autodate("created", true, false),
	)
	events.AddIndex("idx_order_events_order", false, "`order`, created", "")
	if err := app.Save(events); err != nil {
		return err
	}

	movements := core.NewBaseCollection("stock_movements")
	movements.Fields.Add(
		&core.RelationField{Name: "product", CollectionId: products.Id, MaxSelect: 1, Required: true},
		&core.NumberField{Name: "delta", OnlyInt: true},
		&core.SelectField{Name: "reason", MaxSelect: 1, Required: true, Values: []string{"reserve", "release", "restock", "adjust"}},
		&core.RelationField{Name: "order", CollectionId: orders.Id, MaxSelect: 1},
		&core.NumberField{Name: "stock_after", OnlyInt: true},
		autodate("created", true, false),
	)
	movements.AddIndex("idx_stock_movements_product", false, "product, created", "")
	movements.AddIndex("idx_stock_movements_order", false, "`order`", "")
	if err := app.Save(movements); err != nil {
		return err
	}

	payments := core.NewBaseCollection("payment_events")
	payments.Fields.Add(
		&core.TextField{Name: "event_id", Required: true, Max: 255},
		&core.TextField{Name: "type", Max: 255},
		&core.RelationField{Name: "order", CollectionId: orders.Id, MaxSelect: 1},
		&core.TextField{Name: "result", Max: 255},
		&core.TextField{Name: "error", Max: 5000},
		autodate("created", true, false),
	)
	payments.AddIndex("idx_payment_events_event_id", true, "event_id", "")
	payments.AddIndex("idx_payment_events_order", false, "`order`", "")
	if err := app.Save(payments); err != nil {
		return err
	}

	emails := core.NewBaseCollection("emails")
	emails.Fields.Add(
		&core.TextField{Name: "to", Required: true, Max: 254},
		&core.TextField{Name: "subject", Max: 500},
		&core.TextField{Name: "kind", Max: 50},
		&core.RelationField{Name: "order", CollectionId: orders.Id, MaxSelect: 1},
		&core.TextField{Name: "dedupe_key", Required: true, Max: 255},
		&core.SelectField{Name: "status", MaxSelect: 1, Required: true, Values: []string{"queued", "sent", "failed"}},
		&core.NumberField{Name: "attempts", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.DateField{Name: "next_attempt_at"},
		&core.TextField{Name: "last_error", Max: 5000},
		&core.DateField{Name: "sent_at"},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	emails.AddIndex("idx_emails_dedupe_key", true, "dedupe_key", "")
	emails.AddIndex("idx_emails_due", false, "status, next_attempt_at", "")
	if err := app.Save(emails); err != nil {
		return err
	}

	runs := core.NewBaseCollection("job_runs")
	runs.Fields.Add(
		&core.TextField{Name: "job", Required: true, Max: 100},
		&core.DateField{Name: "started_at"},
		&core.DateField{Name: "finished_at"},
		&core.BoolField{Name: "ok"},
		&core.NumberField{Name: "processed", OnlyInt: true},
		&core.TextField{Name: "message", Max: 5000},
		autodate("created", true, false),
	)
	runs.AddIndex("idx_job_runs_job_started", false, "job, started_at", "")
	if err := app.Save(runs); err != nil {
		return err
	}

	settings := core.NewBaseCollection("shop_settings")
	settings.Fields.Add(
		&core.TextField{Name: "shop_name", Required: true, Max: 200},
		&core.TextField{Name: "currency", Required: true, Min: 3, Max: 3, Pattern: `^[a-z]{3}$`},
		&core.EmailField{Name: "owner_email"},
		&core.NumberField{Name: "shipping_flat_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "free_shipping_over_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "reservation_minutes", OnlyInt: true, Min: types.Pointer(1.0), Max: types.Pointer(10080.0)},
		&core.TextField{Name: "timezone", Max: 100},
		&core.TextField{Name: "manual_payment_instructions", Max: 5000},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	if err := app.Save(settings); err != nil {
		return err
	}

	defaults := core.NewRecord(settings)
	defaults.Load(map[string]any{
		"shop_name":                   "pocketshop",
		"currency":                    "usd",
		"shipping_flat_cents":         500,
		"free_shipping_over_cents":    5000,
		"reservation_minutes":         30,
		"timezone":                    "UTC",
		"manual_payment_instructions": "Pay by bank transfer and put your order number in the reference. We ship once the payment arrives.",
	})
	return app.Save(defaults)
}

func downShopSchema(app core.App) error {
	for i := len(shopCollections) - 1; i >= 0; i-- {
		c, err := app.FindCollectionByNameOrId(shopCollections[i])
		if err != nil {
			continue // already gone
		}
		if err := app.Delete(c); err != nil {
			return err
		}
	}
	return nil
}

func autodate(name string, onCreate, onUpdate bool) *core.AutodateField {
	return &core.AutodateField{Name: name, OnCreate: onCreate, OnUpdate: onUpdate}
}
