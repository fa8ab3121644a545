package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Pricing rules (CONTRACT.md, "Pricing rules"): discount codes, tax rates,
// shipping rates, shop_settings.prices_include_tax and what an order keeps
// of them. The rules that depend on another field (a percent code's value,
// a rate's list of countries) are checked by hooks/pricing on every save;
// the ones a field can hold are here.
//
// discount_codes.code is unique case-insensitively (an index with COLLATE
// NOCASE): "SUMMER" and "summer" are one code. orders keeps the code as the
// owner spelled it, and idx_orders_discount_email answers "how often has
// this email used this code" inside the order's transaction.
func init() {
	m.Register(upPricing, downPricing)
}

var pricingCollections = []string{"discount_codes", "tax_rates", "shipping_rates"}

var pricingOrderFields = []string{"discount_code", "discount_cents", "tax_cents", "tax_lines", "shipping_rate", "shipping_rate_name"}

func upPricing(app core.App) error {
	products, err := app.FindCollectionByNameOrId("products")
	if err != nil {
		return err
	}

	codes := core.NewBaseCollection("discount_codes")
	codes.Fields.Add(
		&core.TextField{Name: "code", Required: true, Max: 64, Pattern: `^[A-Za-z0-9_-]+$`, Presentable: true},
		&core.SelectField{Name: "kind", Required: true, MaxSelect: 1, Values: []string{"percent", "fixed", "free_shipping"}},
		&core.NumberField{Name: "value", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(10_000_000_000))},
		&core.NumberField{Name: "min_subtotal_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.DateField{Name: "starts_at"},
		&core.DateField{Name: "ends_at"},
		&core.NumberField{Name: "max_uses", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "max_uses_per_email", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "used_count", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.BoolField{Name: "active"},
		&core.RelationField{Name: "products", CollectionId: products.Id, MaxSelect: 1000},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	codes.AddIndex("idx_discount_codes_code", true, "code COLLATE NOCASE", "")
	if err := app.Save(codes); err != nil {
		return err
	}

	taxes := core.NewBaseCollection("tax_rates")
	taxes.ListRule = types.Pointer("")
	taxes.ViewRule = types.Pointer("")
	taxes.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
		&core.TextField{Name: "country", Required: true, Max: 2, Pattern: `^([A-Z]{2}|\*)$`},
		&core.TextField{Name: "region", Max: 10, Pattern: `^[A-Za-z0-9-]*$`},
		&core.NumberField{Name: "rate_bp", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(10000.0)},
		&core.BoolField{Name: "applies_to_shipping"},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	if err := app.Save(taxes); err != nil {
		return err
	}

	rates := core.NewBaseCollection("shipping_rates")
	rates.ListRule = types.Pointer("active = true")
	rates.ViewRule = types.Pointer("active = true")
	rates.Fields.Add(
		&core.TextField{Name: "name", Required: true, Max: 100, Presentable: true},
		&core.JSONField{Name: "countries", MaxSize: 5_000},
		&core.NumberField{Name: "price_cents", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(10_000_000_000))},
		&core.NumberField{Name: "free_over_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.BoolField{Name: "active"},
		&core.NumberField{Name: "position", OnlyInt: true},
		autodate("created", true, false),
		autodate("updated", true, true),
	)
	if err := app.Save(rates); err != nil {
		return err
	}

	settings, err := app.FindCollectionByNameOrId("shop_settings")
	if err != nil {
		return err
	}
	settings.Fields.Add(&core.BoolField{Name: "prices_include_tax"})
	if err := app.Save(settings); err != nil {
		return err
	}

	orders, err := app.FindCollectionByNameOrId("orders")
	if err != nil {
		return err
	}
	orders.Fields.Add(
		&core.TextField{Name: "discount_code", Max: 64},
		&core.NumberField{Name: "discount_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.NumberField{Name: "tax_cents", OnlyInt: true, Min: types.Pointer(0.0)},
		&core.JSONField{Name: "tax_lines", MaxSize: 5_000},
		// The rate's id as it was chosen (text, not a relation: the order
		// keeps it, and its name, after the owner deletes the rate).
		&core.TextField{Name: "shipping_rate", Max: 64},
		&core.TextField{Name: "shipping_rate_name", Max: 100},
	)
	orders.AddIndex("idx_orders_discount_email", false,
		"discount_code COLLATE NOCASE, email COLLATE NOCASE", "discount_code != ''")
	return app.Save(orders)
}

func downPricing(app core.App) error {
	orders, err := app.FindCollectionByNameOrId("orders")
	if err != nil {
		return err
	}
	orders.RemoveIndex("idx_orders_discount_email")
	for _, f := range pricingOrderFields {
		orders.Fields.RemoveByName(f)
	}
	if err := app.Save(orders); err != nil {
		return err
	}
	settings, err := app.FindCollectionByNameOrId("shop_settings")
	if err != nil {
		return err
	}
	settings.Fields.RemoveByName("prices_include_tax")
	if err := app.Save(settings); err != nil {
		return err
	}
	for i := len(pricingCollections) - 1; i >= 0; i-- {
		c, err := app.FindCollectionByNameOrId(pricingCollections[i])
		if err != nil {
			return err
		}
		if err := app.Delete(c); err != nil {
			return err
		}
	}
	return nil
}
