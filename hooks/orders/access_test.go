package orders_test

import (
	"fmt"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestAccessRules checks every collection's API rules through HTTP as a
// guest, as customer A (also on customer B's order) and as the superuser.
func TestAccessRules(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	catalog(t, app)
	srv := shoptest.Serve(t, app)
	annUser, ann := shoptest.CreateUser(t, app, "ann@example.com")
	_, bob := shoptest.CreateUser(t, app, "bob@example.com")
	su := shoptest.SuperuserToken(t, app)

	order := func(token string) map[string]any {
		return shoptest.PlaceOrder(t, srv, token, map[string]any{
			"email": "x@example.com", "payment_method": "manual",
			"items": []map[string]any{{"product": toteID, "quantity": 1}},
		})
	}
	annOrder, bobOrder, guestOrder := order(ann), order(bob), order("")
	// rows in every superuser-only collection
	for _, err := range []error{
		app.Save(newRecord(t, app, "payment_events", map[string]any{"event_id": "evt_1", "type": "checkout.session.completed"})),
		app.Save(newRecord(t, app, "emails", map[string]any{"to": "ann@example.com", "dedupe_key": "k1", "status": "queued"})),
		app.Save(newRecord(t, app, "job_runs", map[string]any{"job": "expire", "ok": true})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	who := map[string]string{"guest": "", "ann": ann, "bob": bob, "superuser": su}
	orders := "/api/collections/orders/records"
	products := "/api/collections/products/records"
	type check struct {
		as     string
		method string
		url    string
		body   map[string]any
		status int
		// for lists: the ids that must be listed, exactly
		ids []any
	}
	checks := []check{
		// orders: owners and token holders read, nobody but the superuser writes
		{"guest", "GET", orders, nil, 200, []any{}},
		{"guest", "GET", orders + "?token=" + guestOrder["token"].(string), nil, 200, []any{guestOrder["id"]}},
		{"guest", "GET", orders + "?token=wrong", nil, 200, []any{}},
		{"guest", "GET", orders + "?filter=" + urlq(`token != ""`), nil, 200, []any{}},
		{"guest", "GET", orders + "/" + guestOrder["id"].(string), nil, 404, nil},
		{"guest", "GET", orders + "/" + guestOrder["id"].(string) + "?token=" + guestOrder["token"].(string), nil, 200, nil},
		{"guest", "GET", orders + "/" + annOrder["id"].(string) + "?token=" + guestOrder["token"].(string), nil, 404, nil},
		{"ann", "GET", orders, nil, 200, []any{annOrder["id"]}},
		{"ann", "GET", orders + "/" + annOrder["id"].(string), nil, 200, nil},
		{"ann", "GET", orders + "/" + bobOrder["id"].(string), nil, 404, nil},
		{"ann", "GET", orders + "/" + guestOrder["id"].(string), nil, 404, nil},
		{"ann", "GET", orders + "?filter=" + urlq(`customer != "`+annUser.Id+`"`), nil, 200, []any{}},
		{"bob", "GET", orders, nil, 200, []any{bobOrder["id"]}},
		{"superuser", "GET", orders, nil, 200, []any{annOrder["id"], bobOrder["id"], guestOrder["id"]}},
		{"ann", "PATCH", orders + "/" + annOrder["id"].(string), map[string]any{"status": "paid"}, 403, nil},
		{"ann", "PATCH", orders + "/" + annOrder["id"].(string), map[string]any{"note": "x"}, 403, nil},
		{"guest", "PATCH", orders + "/" + guestOrder["id"].(string) + "?token=" + guestOrder["token"].(string), map[string]any{"status": "cancelled"}, 403, nil},
		{"ann", "DELETE", orders + "/" + annOrder["id"].(string), nil, 403, nil},
		{"guest", "DELETE", orders + "/" + guestOrder["id"].(string) + "?token=" + guestOrder["token"].(string), nil, 403, nil},
		// products: active ones for everybody, writes for the superuser
		{"guest", "GET", products, nil, 200, []any{mugID, toteID, soldOutID}},
		{"ann", "GET", products, nil, 200, []any{mugID, toteID, soldOutID}},
		{"guest", "GET", products + "?filter=" + urlq("active = false"), nil, 200, []any{}},
		{"guest", "GET", products + "/" + inactiveID, nil, 404, nil},
		{"ann", "GET", products + "/" + inactiveID, nil, 404, nil},
		{"superuser", "GET", products, nil, 200, []any{mugID, toteID, soldOutID, inactiveID}},
		{"guest", "POST", products, map[string]any{"name": "X", "slug": "x", "price_cents": 1, "active": true}, 403, nil},
		{"ann", "POST", products, map[string]any{"name": "X", "slug": "x", "price_cents": 1, "active": true}, 403, nil},
		{"guest", "PATCH", products + "/" + mugID, map[string]any{"price_cents": 1}, 403, nil},
		{"ann", "PATCH", products + "/" + mugID, map[string]any{"stock": 1000}, 403, nil},
		{"ann", "DELETE", products + "/" + toteID, nil, 403, nil},
		{"superuser", "PATCH", products + "/" + mugID, map[string]any{"description": "<p>Big.</p>"}, 200, nil},
		// users: each their own
		{"ann", "GET", "/api/collections/users/records", nil, 200, []any{annUser.Id}},
		{"bob", "GET", "/api/collections/users/records/" + annUser.Id, nil, 404, nil},
	}
	for _, c := range []string{"order_events", "stock_movements", "payment_events", "emails", "job_runs", "shop_settings"} {
		first, err := app.FindFirstRecordByFilter(c, "")
		if err != nil {
			t.Fatalf("a record of %s: %v", c, err)
		}
		all, err := app.FindAllRecords(c)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]any, len(all))
		for i, r := range all {
			ids[i] = r.Id
		}
		url := "/api/collections/" + c + "/records"
		for _, as := range []string{"guest", "ann"} {
			checks = append(checks,
				check{as, "GET", url, nil, 403, nil},
				check{as, "GET", url + "/" + first.Id, nil, 403, nil},
				check{as, "POST", url, map[string]any{"message": "x"}, 403, nil},
				check{as, "PATCH", url + "/" + first.Id, map[string]any{"message": "x"}, 403, nil},
				check{as, "DELETE", url + "/" + first.Id, nil, 403, nil},
			)
		}
		// the order's token opens no door to its events or movements
		checks = append(checks,
			check{"guest", "GET", url + "?token=" + guestOrder["token"].(string), nil, 403, nil},
			check{"superuser", "GET", url + "?perPage=500", nil, 200, ids},
			check{"superuser", "GET", url + "/" + first.Id, nil, 200, nil},
		)
	}

	for _, c := range checks {
		res := shoptest.Do(t, srv, c.method, c.url, who[c.as], c.body)
		if res.Status != c.status {
			t.Errorf("%s %s %s: %d, want %d: %s", c.as, c.method, c.url, res.Status, c.status, res.Raw)
			continue
		}
		if c.ids == nil {
			continue
		}
		items, _ := res.Body["items"].([]any)
		got := map[any]bool{}
		for _, it := range items {
			got[it.(map[string]any)["id"]] = true
		}
		want := map[any]bool{}
		for _, id := range c.ids {
			want[id] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s %s %s: listed %v, want %v", c.as, c.method, c.url, got, want)
		}
	}

	// nothing a refused writer tried changed the shop
	if got := shoptest.Stock(t, app, mugID); got != 3 {
		t.Fatalf("mug stock %d", got)
	}
	mug, _ := app.FindRecordById("products", mugID)
	if mug.GetInt("price_cents") != 1500 {
		t.Fatalf("mug price %d", mug.GetInt("price_cents"))
	}
	if n := shoptest.Count(t, app, "products"); n != 4 {
		t.Fatalf("%d products", n)
	}
	stored, _ := app.FindRecordById("orders", annOrder["id"].(string))
	if stored.GetString("status") != "pending" || stored.GetString("note") != "" {
		t.Fatalf("ann's order changed: %v", stored)
	}
	if n := shoptest.Count(t, app, "orders"); n != 3 {
		t.Fatalf("%d orders", n)
	}
}

func urlq(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "=", "%3D", "!", "%21").Replace(s)
}

func newRecord(t *testing.T, app interface {
	FindCachedCollectionByNameOrId(string) (*core.Collection, error)
}, collection string, data map[string]any) *core.Record {
	t.Helper()
	col, err := app.FindCachedCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Load(data)
	return r
}
