package orders_test

import (
	"net/http"
	"sync"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestAfterSuccessHooksCanQuery checks that the hooks which save inside
// their own transaction hand PocketBase's after-success hooks an app that
// still works. Realtime is one of those hooks: with a finished transaction's
// app it cannot check the API rules and silently sends nothing, so a
// storefront never hears of the owner's edits or the dashboard's status
// changes.
func TestAfterSuccessHooksCanQuery(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})

	var mu sync.Mutex
	ran := map[string]int{}
	var failures []string
	check := func(name string) func(e *core.RecordEvent) error {
		return func(e *core.RecordEvent) error {
			_, err := e.App.CountRecords(e.Record.Collection().Name)
			mu.Lock()
			ran[name]++
			if err != nil {
				failures = append(failures, name+": "+err.Error())
			}
			mu.Unlock()
			return e.Next()
		}
	}
	app.OnRecordAfterCreateSuccess("products").BindFunc(check("product create"))
	app.OnRecordAfterUpdateSuccess("products").BindFunc(check("product update"))
	app.OnRecordAfterUpdateSuccess("orders").BindFunc(check("order update"))
	app.OnRecordAfterDeleteSuccess("orders").BindFunc(check("order delete"))

	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)

	res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/products/records", su, map[string]any{
		"name": "Mug", "slug": "mug", "price_cents": 1000, "stock": 5, "active": true,
	})
	if res.Status != http.StatusOK {
		t.Fatalf("create product: %d %s", res.Status, res.Raw)
	}
	productID := res.Body["id"].(string)
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/products/records/"+productID, su, map[string]any{"stock": 9})
	if res.Status != http.StatusOK {
		t.Fatalf("update product: %d %s", res.Status, res.Raw)
	}
	order := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": productID, "quantity": 1}},
	})
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/orders/records/"+order["id"].(string), su, map[string]any{"status": "paid"})
	if res.Status != http.StatusOK {
		t.Fatalf("mark paid: %d %s", res.Status, res.Raw)
	}
	pending := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "bob@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": productID, "quantity": 1}},
	})
	res = shoptest.Do(t, srv, http.MethodDelete, "/api/collections/orders/records/"+pending["id"].(string), su, nil)
	if res.Status != http.StatusNoContent {
		t.Fatalf("delete order: %d %s", res.Status, res.Raw)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"product create", "product update", "order update", "order delete"} {
		if ran[name] == 0 {
			t.Errorf("%s: the after-success hook did not run", name)
		}
	}
	for _, f := range failures {
		t.Errorf("the after-success hook's app cannot query after %s", f)
	}
}
