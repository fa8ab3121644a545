package pb_migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Payments: what the owner needs to see and decide about Stripe payments.
//
// orders.payment_issue flags an order whose payment needs attention (a
// payment that arrived after the order expired, an amount that does not
// match); orders.stripe_session_at is when the order's Checkout Session was
// created, so reconciliation asks Stripe only about sessions that had time
// to be paid. shop_settings.late_payment_action chooses between refunding a
// late payment whose stock is gone (the default) and flagging it;
// restock_on_refund puts a refunded order's items back into stock.
func init() {
	m.Register(func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.Fields.Add(
			&core.SelectField{Name: "payment_issue", MaxSelect: 1, Values: []string{
				"late_payment_refund_pending", "late_payment_refunded", "late_payment_flagged", "amount_mismatch",
			}},
			&core.DateField{Name: "stripe_session_at"},
		)
		orders.AddIndex("idx_orders_payment_issue", false, "payment_issue", "payment_issue != ''")
		if err := app.Save(orders); err != nil {
			return err
		}

		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.Add(
			&core.SelectField{Name: "late_payment_action", MaxSelect: 1, Values: []string{"refund", "flag"}},
			&core.BoolField{Name: "restock_on_refund"},
		)
		if err := app.Save(settings); err != nil {
			return err
		}
		records, err := app.FindAllRecords(settings)
		if err != nil {
			return err
		}
		for _, r := range records {
			r.Set("late_payment_action", "refund")
			if err := app.Save(r); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		orders, err := app.FindCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		orders.RemoveIndex("idx_orders_payment_issue")
		orders.Fields.RemoveByName("payment_issue")
		orders.Fields.RemoveByName("stripe_session_at")
		if err := app.Save(orders); err != nil {
			return err
		}
		settings, err := app.FindCollectionByNameOrId("shop_settings")
		if err != nil {
			return err
		}
		settings.Fields.RemoveByName("late_payment_action")
		settings.Fields.RemoveByName("restock_on_refund")
		return app.Save(settings)
	})
}
