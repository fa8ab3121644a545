package hooks

import (
	"net/http"

	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// PublicSettings is what a storefront may know of the shop's settings: how
// to name the shop, format its prices and announce its shipping. The rest of
// shop_settings (owner email, payment instructions, ...) stays superuser-only.
type PublicSettings struct {
	ShopName              string `json:"shop_name"`
	Currency              string `json:"currency"`
	CurrencyExponent      int    `json:"currency_exponent"`
	ShippingFlatCents     int64  `json:"shipping_flat_cents"`
	FreeShippingOverCents int64  `json:"free_shipping_over_cents"`
}

// getPublicSettings answers GET /api/shop/settings for anyone.
func (s *shopHooks) getPublicSettings(e *core.RequestEvent) error {
	settings, err := LoadSettings(e.App)
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, PublicSettings{
		ShopName:              settings.ShopName,
		Currency:              settings.Currency,
		CurrencyExponent:      shop.CurrencyExponent(settings.Currency),
		ShippingFlatCents:     settings.ShippingFlatCents,
		FreeShippingOverCents: settings.FreeShippingOverCents,
	})
}
