package hooks_test

import (
	"net/http"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"
)

func TestSmokePlaceAndCancel(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "mug", 1500, 3)
	srv := shoptest.Serve(t, app)

	order := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": p.Id, "quantity": 2}},
	})
	res := shoptest.Do(t, srv, http.MethodPost, "/api/shop/orders/"+order["id"].(string)+"/cancel?token="+order["token"].(string), "", nil)
	if res.Status != 200 || res.Body["status"] != "cancelled" {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	fresh, _ := app.FindRecordById("products", p.Id)
	if fresh.GetInt("stock") != 3 {
		t.Fatalf("stock after cancel = %d, want 3", fresh.GetInt("stock"))
	}
}
