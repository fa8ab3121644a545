package orders

import (
	"net/http"

	"pocketshop/hooks/httperr"
	"pocketshop/hooks/settings"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// quoteAnswer is what POST /api/shop/quote answers: the order as it would
// be priced now, and the shipping rates the address can choose from.
type quoteAnswer struct {
	Currency         string              `json:"currency"`
	PricesIncludeTax bool                `json:"prices_include_tax"`
	Items            []shop.OrderLine    `json:"items"`
	SubtotalCents    int64               `json:"subtotal_cents"`
	DiscountCode     string              `json:"discount_code"`
	DiscountCents    int64               `json:"discount_cents"`
	ShippingRate     string              `json:"shipping_rate"`
	ShippingRateName string              `json:"shipping_rate_name"`
	ShippingCents    int64               `json:"shipping_cents"`
	TaxCents         int64               `json:"tax_cents"`
	TaxLines         []shop.TaxLine      `json:"tax_lines"`
	TotalCents       int64               `json:"total_cents"`
	ShippingRates    []quoteShippingRate `json:"shipping_rates"`
}

type quoteShippingRate struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
}

// quote prices an order without placing it: the same body as an order
// create and the same refusals (a 400 with a message per field), except
// that email and payment_method may be left out. It writes nothing and
// takes no code's use, so the storefront can show totals, rates and a
// code's refusal before the buyer places the order.
func (m *Manager) quote(e *core.RequestEvent) error {
	var body map[string]any
	if err := e.BindBody(&body); err != nil {
		return httperr.Response(&shop.Error{Code: shop.EINVALID, Message: "Failed to read the order.", Cause: err})
	}
	in, fieldErrs := shop.ParseOrderInput(body)
	if body["payment_method"] == nil {
		delete(fieldErrs, "payment_method")
	}
	if len(fieldErrs) > 0 {
		return httperr.Response(shop.Invalid(orderRejected, fieldErrs))
	}
	if in.Email == "" && e.Auth != nil && e.Auth.Collection().Name == "users" {
		in.Email = e.Auth.Email()
	}
	s, err := settings.Load(e.App)
	if err != nil {
		return httperr.Response(err)
	}
	priced, err := priceOrder(e.App, in, s, m.now().UTC())
	if err != nil {
		return httperr.Response(err)
	}
	t := priced.Total
	answer := quoteAnswer{
		Currency: s.Currency, PricesIncludeTax: s.PricesIncludeTax, Items: priced.Lines,
		SubtotalCents: t.SubtotalCents, DiscountCents: t.DiscountCents, ShippingCents: t.ShippingCents,
		TaxCents: t.TaxCents, TaxLines: t.TaxLines, TotalCents: t.TotalCents,
		ShippingRates: []quoteShippingRate{},
	}
	if answer.TaxLines == nil {
		answer.TaxLines = []shop.TaxLine{}
	}
	if priced.Code != nil {
		answer.DiscountCode = priced.Code.Code
	}
	if priced.Rate != nil {
		answer.ShippingRate, answer.ShippingRateName = priced.Rate.ID, priced.Rate.Name
	}
	for _, r := range priced.Rates {
		answer.ShippingRates = append(answer.ShippingRates, quoteShippingRate{ID: r.ID, Name: r.Name, PriceCents: r.PriceCents})
	}
	return e.JSON(http.StatusOK, answer)
}
