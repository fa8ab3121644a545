package orders_test

import (
	"net/http"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/tests"
)

// TestOrderCreateRefusesWrongTypesAndClientIDs: a value of the wrong JSON
// type is a 400 on its field (not coerced to a string), and an order's id
// is the server's.
func TestOrderCreateRefusesWrongTypesAndClientIDs(t *testing.T) {
	t.Parallel()
	table := []struct {
		name, body string
		content    []string
	}{
		{"note a number", rawOrder(`"note":5`, item(mugID, 1)), []string{fieldError("note", "Must be a string.")}},
		{"note an object", rawOrder(`"note":{"a":1}`, item(mugID, 1)), []string{fieldError("note", "Must be a string.")}},
		{"note a list", rawOrder(`"note":["a"]`, item(mugID, 1)), []string{fieldError("note", "Must be a string.")}},
		{"payment method a number", `{"email":"a@b.co","payment_method":1,"items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("payment_method", "Must be a string.")}},
		{"email an object", `{"email":{"a":1},"payment_method":"manual","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("email", "Must be a string.")}},
		{"a client-chosen id", rawOrder(`"id":"zz7917835939973"`, item(mugID, 1)),
			[]string{fieldError("id", "This field is set by the server and cannot be sent.")}},
	}
	for _, b := range table {
		(&tests.ApiScenario{
			Name:            b.name,
			Method:          http.MethodPost,
			URL:             "/api/collections/orders/records",
			Body:            strings.NewReader(b.body),
			Headers:         map[string]string{"Content-Type": "application/json"},
			ExpectedStatus:  http.StatusBadRequest,
			ExpectedContent: b.content,
			TestAppFactory:  shoptest.Factory(hooks.Deps{}, catalog),
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				nothingWritten(t, app)
			},
		}).Test(t)
	}
}

// TestOrderCreateExplainsMalformedBodies: a body that is not a JSON object
// gets a 400 that says so on a field key (data.body), as does one too
// large; a number JSON cannot hold is named by its field.
func TestOrderCreateExplainsMalformedBodies(t *testing.T) {
	t.Parallel()
	bodyError := func(msg string) string {
		return `"body":{"code":"validation_invalid_body","message":"` + msg + `"}`
	}
	table := []struct {
		name, body string
		content    []string
	}{
		{"malformed JSON", `{"email":`, []string{bodyError("The order is not valid JSON.")}},
		{"trailing garbage", rawOrder("", item(mugID, 1)) + `x`, []string{bodyError("The order is not valid JSON.")}},
		{"a JSON array", `[` + rawOrder("", item(mugID, 1)) + `]`, []string{bodyError("The order must be a JSON object.")}},
		{"a JSON string", `"order"`, []string{bodyError("The order must be a JSON object.")}},
		{"1e400 quantity", rawOrder("", item(mugID, "1e400")),
			[]string{fieldError("items", "Contains a number too large to read.")}},
		{"1e400 note", rawOrder(`"note":1e400`, item(mugID, 1)),
			[]string{fieldError("note", "Contains a number too large to read.")}},
		{"1 MB body", rawOrder(`"note":"`+strings.Repeat("x", 1<<20)+`"`, item(mugID, 1)),
			[]string{bodyError("The order is too large: at most 64 KiB may be sent.")}},
	}
	for _, b := range table {
		(&tests.ApiScenario{
			Name:            b.name,
			Method:          http.MethodPost,
			URL:             "/api/collections/orders/records",
			Body:            strings.NewReader(b.body),
			Headers:         map[string]string{"Content-Type": "application/json"},
			ExpectedStatus:  http.StatusBadRequest,
			ExpectedContent: b.content,
			TestAppFactory:  shoptest.Factory(hooks.Deps{}, catalog),
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				nothingWritten(t, app)
			},
		}).Test(t)
	}
}

// TestMaxPerOrder: a product's max_per_order caps one order's quantity
// (a 400 naming the limit, nothing reserved); empty means the shop-wide 100.
func TestMaxPerOrder(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	limited := shoptest.CreateProduct(t, app, "launch-mug", 1500, 100)
	limited.Set("max_per_order", 2)
	if err := app.Save(limited); err != nil {
		t.Fatal(err)
	}
	open := shoptest.CreateProduct(t, app, "plain-mug", 1500, 100)
	srv := shoptest.Serve(t, app)
	order := func(p string, qty int) shoptest.Response {
		return shoptest.Do(t, srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
			"email": "ann@example.com", "payment_method": "manual",
			"items": []map[string]any{{"product": p, "quantity": qty}},
		})
	}
	res := order(limited.Id, 3)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `at most 2 of \"launch-mug\" per order`) {
		t.Fatalf("3 of a max-2 product: %d %s", res.Status, res.Raw)
	}
	if shoptest.Stock(t, app, limited.Id) != 100 || shoptest.Count(t, app, "orders") != 0 {
		t.Fatal("a refused order reserved stock")
	}
	if res := order(limited.Id, 2); res.Status != http.StatusOK {
		t.Fatalf("2 of a max-2 product: %d %s", res.Status, res.Raw)
	}
	if res := order(open.Id, 100); res.Status != http.StatusOK {
		t.Fatalf("100 of a product without a limit: %d %s", res.Status, res.Raw)
	}
}
