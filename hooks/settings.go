package hooks

import (
	"database/sql"
	"errors"
	"fmt"

	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// Settings are the owner's business settings from the shop_settings record.
type Settings struct {
	ShopName                  string
	Currency                  string
	OwnerEmail                string
	ShippingFlatCents         int64
	FreeShippingOverCents     int64
	ReservationMinutes        int
	Timezone                  string
	ManualPaymentInstructions string
	// LatePaymentAction says what happens to a payment that completes after
	// its order expired when the stock is gone: LatePaymentRefund or
	// LatePaymentFlag.
	LatePaymentAction string
	// RestockOnRefund puts a refunded order's items back into stock.
	RestockOnRefund bool
}

// Late payment actions (shop_settings.late_payment_action).
const (
	LatePaymentRefund = "refund"
	LatePaymentFlag   = "flag"
)

// defaultSettings apply when the owner deleted the settings record.
var defaultSettings = Settings{
	ShopName:           "pocketshop",
	Currency:           "usd",
	ShippingFlatCents:  500,
	ReservationMinutes: 30,
	Timezone:           "UTC",
	LatePaymentAction:  LatePaymentRefund,
}

// LoadSettings reads the shop_settings record (the oldest one, should the
// owner have created more than one).
func LoadSettings(app core.App) (Settings, error) {
	records, err := app.FindRecordsByFilter("shop_settings", "", "created", 1, 0)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Settings{}, fmt.Errorf("load shop settings: %w", err)
	}
	if len(records) == 0 {
		return defaultSettings, nil
	}
	r := records[0]
	s := Settings{
		ShopName:                  r.GetString("shop_name"),
		Currency:                  r.GetString("currency"),
		OwnerEmail:                r.GetString("owner_email"),
		ShippingFlatCents:         int64(r.GetInt("shipping_flat_cents")),
		FreeShippingOverCents:     int64(r.GetInt("free_shipping_over_cents")),
		ReservationMinutes:        r.GetInt("reservation_minutes"),
		Timezone:                  r.GetString("timezone"),
		ManualPaymentInstructions: r.GetString("manual_payment_instructions"),
		LatePaymentAction:         r.GetString("late_payment_action"),
		RestockOnRefund:           r.GetBool("restock_on_refund"),
	}
	if s.LatePaymentAction != LatePaymentFlag {
		s.LatePaymentAction = LatePaymentRefund
	}
	if !shop.ValidCurrency(s.Currency) {
		s.Currency = defaultSettings.Currency
	}
	if s.ReservationMinutes <= 0 {
		s.ReservationMinutes = defaultSettings.ReservationMinutes
	}
	if s.Timezone == "" {
		s.Timezone = defaultSettings.Timezone
	}
	return s, nil
}

// ShippingRule returns the shop's shipping price rule.
func (s Settings) ShippingRule() shop.ShippingRule {
	return shop.ShippingRule{FlatCents: s.ShippingFlatCents, FreeOverCents: s.FreeShippingOverCents}
}
