package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Limits on how much stock one order holds, and for how long:
//   - products.max_per_order: the most units of the product one order may
//     ask for (empty = the shop-wide 100), so that one order cannot hold a
//     launch's whole stock;
//   - shop_settings.manual_reservation_minutes: how long an order paid by
//     bank transfer or cash holds its stock (empty = reservation_minutes).
//     Card orders are held at most 24 hours, the longest Stripe keeps a
//     Checkout Session open.
func init() {
	m.Register(func(app core.App) error {
		products, err := app.FindCollectionByNameOrId("products")
		if err != nil {
			return err
		}
		products.Fields.Add(&core.NumberField{Name: "max_per_order", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(100.0)})
		if err := app.Save(products); err != nil {
			return err
		}
		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.Add(&core.NumberField{Name: "manual_reservation_minutes", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(43200.0)})
		return app.Save(settings)
	}, func(app core.App) error {
		products, err := app.FindCollectionByNameOrId("products")
		if err != nil {
			return err
		}
		products.Fields.RemoveByName("max_per_order")
		if err := app.Save(products); err != nil {
			return err
		}
		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.RemoveByName("manual_reservation_minutes")
		return app.Save(settings)
	})
}
