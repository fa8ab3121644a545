// Package storefront serves what a storefront needs beside the records API:
// the shop's public settings, and the limits that keep order creates small.
package storefront

import (
	"net/http"

	"pocketshop/hooks/httperr"
	"pocketshop/hooks/settings"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// Routes registers the storefront routes in the /api/shop group.
func Routes(g *router.RouterGroup[*core.RequestEvent]) {
	g.GET("/settings", getPublicSettings)
}

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
func getPublicSettings(e *core.RequestEvent) error {
	s, err := settings.Load(e.App)
	if err != nil {
		return httperr.Response(err)
	}
	return e.JSON(http.StatusOK, PublicSettings{
		ShopName:              s.ShopName,
		Currency:              s.Currency,
		CurrencyExponent:      shop.CurrencyExponent(s.Currency),
		ShippingFlatCents:     s.ShippingFlatCents,
		FreeShippingOverCents: s.FreeShippingOverCents,
	})
}
