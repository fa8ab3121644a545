// Package settings reads the owner's business settings (the shop_settings
// record) for every other component, cached until they change.
package settings

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// Settings are the owner's business settings from the shop_settings record.
type Settings struct {
	ShopName              string
	Currency              string
	OwnerEmail            string
	ShippingFlatCents     int64
	FreeShippingOverCents int64
	ReservationMinutes    int
	// ManualReservationMinutes is how long an order paid by bank transfer
	// or cash holds its stock; 0 means ReservationMinutes.
	ManualReservationMinutes  int
	Timezone                  string
	ManualPaymentInstructions string
	// LatePaymentAction says what happens to a payment that completes after
	// its order expired when the stock is gone: shop.LatePaymentRefund or
	// shop.LatePaymentFlag.
	LatePaymentAction string
	// RestockOnRefund puts a refunded order's items back into stock.
	RestockOnRefund bool
	// PricesIncludeTax: prices and shipping contain the tax (pricing rules).
	PricesIncludeTax bool
}

// defaultSettings apply when the owner deleted the settings record.
var defaultSettings = Settings{
	ShopName:           "pocketshop",
	Currency:           "usd",
	ShippingFlatCents:  500,
	ReservationMinutes: 30,
	Timezone:           "UTC",
	LatePaymentAction:  shop.LatePaymentRefund,
}

// settingsCacheKey is where Load keeps the settings in the app's
// store (shared by the app and its transactions).
const settingsCacheKey = "pocketshop.settings"

// settingsCache holds the last settings read outside a transaction. gen
// changes with every change of shop_settings, so that a read that raced with
// a change is not kept.
type settingsCache struct {
	mu    sync.Mutex
	gen   uint64
	value *Settings
}

// BindCache drops the cached settings whenever shop_settings changes
// (or a change of it fails, which may be a rolled back transaction that read
// it).
func BindCache(app core.App) {
	app.Store().Set(settingsCacheKey, &settingsCache{})
	forget := func(e *core.ModelEvent) error {
		if r, ok := e.Model.(*core.Record); ok && r.Collection().Name == "shop_settings" {
			if c, ok := app.Store().Get(settingsCacheKey).(*settingsCache); ok {
				c.mu.Lock()
				c.gen++
				c.value = nil
				c.mu.Unlock()
			}
		}
		return e.Next()
	}
	// When the change is made (inside its transaction, which then reads it
	// from the database) and when it is committed or has failed.
	app.OnModelCreateExecute().BindFunc(forget)
	app.OnModelUpdateExecute().BindFunc(forget)
	app.OnModelDeleteExecute().BindFunc(forget)
	app.OnModelAfterCreateSuccess().BindFunc(forget)
	app.OnModelAfterUpdateSuccess().BindFunc(forget)
	app.OnModelAfterDeleteSuccess().BindFunc(forget)
	app.OnModelAfterCreateError().BindFunc(func(e *core.ModelErrorEvent) error { return forget(&e.ModelEvent) })
	app.OnModelAfterUpdateError().BindFunc(func(e *core.ModelErrorEvent) error { return forget(&e.ModelEvent) })
	app.OnModelAfterDeleteError().BindFunc(func(e *core.ModelErrorEvent) error { return forget(&e.ModelEvent) })
}

// Load returns the shop's settings. They are read on every order and
// email, so they are cached until shop_settings changes (the profile in
// README, Performance). Only reads outside a transaction fill the cache, so
// a rolled back change is never kept.
func Load(app core.App) (Settings, error) {
	c, _ := app.Store().Get(settingsCacheKey).(*settingsCache)
	if c == nil {
		return readSettings(app)
	}
	c.mu.Lock()
	cached, gen := c.value, c.gen
	c.mu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	s, err := readSettings(app)
	if err != nil || app.IsTransactional() {
		return s, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.value = &s
	}
	c.mu.Unlock()
	return s, nil
}

// readSettings reads the shop_settings record (the oldest one, should the
// owner have created more than one).
func readSettings(app core.App) (Settings, error) {
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
		ManualReservationMinutes:  r.GetInt("manual_reservation_minutes"),
		Timezone:                  r.GetString("timezone"),
		ManualPaymentInstructions: r.GetString("manual_payment_instructions"),
		LatePaymentAction:         r.GetString("late_payment_action"),
		RestockOnRefund:           r.GetBool("restock_on_refund"),
		PricesIncludeTax:          r.GetBool("prices_include_tax"),
	}
	if s.LatePaymentAction != shop.LatePaymentFlag {
		s.LatePaymentAction = shop.LatePaymentRefund
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

// CheckoutMaxLifetime bounds a Checkout Session: Stripe keeps one open 24
// hours at most; a few minutes less allows for our clock being ahead of
// Stripe's. A card order's hold is bounded by it too (HoldFor).
const CheckoutMaxLifetime = 24*time.Hour - 5*time.Minute

// HoldFor returns how long a new order paid with paymentMethod holds its
// stock. A card order's hold never outlasts the longest Checkout Session
// Stripe accepts, so the session can cover the whole hold.
func (s Settings) HoldFor(paymentMethod string) time.Duration {
	if paymentMethod == shop.PaymentManual {
		if s.ManualReservationMinutes > 0 {
			return time.Duration(s.ManualReservationMinutes) * time.Minute
		}
		return time.Duration(s.ReservationMinutes) * time.Minute
	}
	return min(time.Duration(s.ReservationMinutes)*time.Minute, CheckoutMaxLifetime)
}

// ShippingRule returns the shop's shipping price rule.
func (s Settings) ShippingRule() shop.ShippingRule {
	return shop.ShippingRule{FlatCents: s.ShippingFlatCents, FreeOverCents: s.FreeShippingOverCents}
}

// AppURL is the shop's public address (Dashboard > Settings > Application
// URL) without a trailing slash; the emails and Stripe's return pages link
// to it.
func AppURL(app core.App) string {
	return strings.TrimRight(app.Settings().Meta.AppURL, "/")
}
