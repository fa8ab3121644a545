package storefront_test

import (
	"net/http"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/tests"
)

func TestPublicSettings(t *testing.T) {
	t.Parallel()

	setCurrency := func(currency string) func(testing.TB, *tests.TestApp) {
		return func(tb testing.TB, app *tests.TestApp) {
			records, err := app.FindAllRecords("shop_settings")
			if err != nil || len(records) != 1 {
				tb.Fatalf("settings: %v (%d records)", err, len(records))
			}
			records[0].Set("currency", currency)
			records[0].Set("shop_name", "Tea House")
			records[0].Set("owner_email", "owner@tea.example")
			if err := app.Save(records[0]); err != nil {
				tb.Fatalf("save settings: %v", err)
			}
		}
	}

	scenarios := []tests.ApiScenario{
		{
			Name:           "defaults, as a guest",
			Method:         http.MethodGet,
			URL:            "/api/shop/settings",
			ExpectedStatus: 200,
			ExpectedContent: []string{
				`"shop_name":"pocketshop"`, `"currency":"usd"`, `"currency_exponent":2`,
				`"shipping_flat_cents":500`, `"free_shipping_over_cents":5000`,
			},
			NotExpectedContent: []string{"owner_email", "manual_payment_instructions", "reservation_minutes"},
			TestAppFactory:     shoptest.Factory(hooks.Deps{}, nil),
		},
		{
			Name:               "a currency without minor unit",
			Method:             http.MethodGet,
			URL:                "/api/shop/settings",
			ExpectedStatus:     200,
			ExpectedContent:    []string{`"shop_name":"Tea House"`, `"currency":"jpy"`, `"currency_exponent":0`},
			NotExpectedContent: []string{"owner@tea.example"},
			TestAppFactory:     shoptest.Factory(hooks.Deps{}, setCurrency("jpy")),
		},
		{
			Name:            "a currency with three decimals",
			Method:          http.MethodGet,
			URL:             "/api/shop/settings",
			ExpectedStatus:  200,
			ExpectedContent: []string{`"currency":"kwd"`, `"currency_exponent":3`},
			TestAppFactory:  shoptest.Factory(hooks.Deps{}, setCurrency("kwd")),
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}
