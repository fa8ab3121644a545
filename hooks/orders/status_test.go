package orders_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// statusFixture is a shop with one product (10 in stock), a superuser token
// and a real HTTP server.
type statusFixture struct {
	app     *tests.TestApp
	srv     *httptest.Server
	product string
	su      string

	clock *shoptest.Clock
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	f := &statusFixture{clock: shoptest.NewClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))}
	f.app = shoptest.NewApp(t, hooks.Deps{Now: f.clock.Now})
	f.product = shoptest.CreateProduct(t, f.app, "mug", 1500, 10).Id
	f.srv = shoptest.Serve(t, f.app)
	f.su = shoptest.SuperuserToken(t, f.app)
	return f
}

// order places an order of qty mugs as a guest (or as the customer whose
// token is given).
func (f *statusFixture) order(t *testing.T, token string, qty int) map[string]any {
	t.Helper()
	return shoptest.PlaceOrder(t, f.srv, token, map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": f.product, "quantity": qty}},
	})
}

// patch updates an order through the records API as the superuser (what the
// dashboard does).
func (f *statusFixture) patch(t *testing.T, id any, body map[string]any) shoptest.Response {
	t.Helper()
	return shoptest.Do(t, f.srv, http.MethodPatch, fmt.Sprintf("/api/collections/orders/records/%s", id), f.su, body)
}

// events lists an order's events as "from>to:actor" strings, oldest first.
func events(t *testing.T, app core.App, orderID any) []string {
	t.Helper()
	// created has millisecond precision: rowid keeps the write order
	var rows []struct {
		From  string `db:"from_status"`
		To    string `db:"to_status"`
		Actor string `db:"actor"`
	}
	if err := app.DB().Select("from_status", "to_status", "actor").From("order_events").
		Where(dbx.HashExp{"order": orderID}).OrderBy("rowid").All(&rows); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.From + ">" + r.To + ":" + r.Actor
	}
	return out
}

func TestDashboardMovesOrderThroughItsLife(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	o := f.order(t, "", 2)

	// fulfilled straight from pending is not a move
	res := f.patch(t, o["id"], map[string]any{"status": "fulfilled", "tracking_number": "TRK1"})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `An order cannot move from \"pending\" to \"fulfilled\".`) {
		t.Fatalf("pending -> fulfilled: %d %s", res.Status, res.Raw)
	}

	f.clock.Advance(time.Hour)
	res = f.patch(t, o["id"], map[string]any{"status": "paid"})
	if res.Status != http.StatusOK {
		t.Fatalf("pending -> paid: %d %s", res.Status, res.Raw)
	}
	expect(t, res.Body, map[string]any{"status": "paid", "paid_at": "2026-11-29 13:00:00.000Z", "fulfilled_at": ""})

	res = f.patch(t, o["id"], map[string]any{"status": "fulfilled"})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `"tracking_number":{"code":"tracking_required"`) {
		t.Fatalf("fulfilled without tracking number: %d %s", res.Status, res.Raw)
	}

	f.clock.Advance(time.Hour)
	res = f.patch(t, o["id"], map[string]any{"status": "fulfilled", "tracking_number": "TRK1"})
	if res.Status != http.StatusOK {
		t.Fatalf("paid -> fulfilled: %d %s", res.Status, res.Raw)
	}
	expect(t, res.Body, map[string]any{"status": "fulfilled", "tracking_number": "TRK1",
		"paid_at": "2026-11-29 13:00:00.000Z", "fulfilled_at": "2026-11-29 14:00:00.000Z"})

	// no way back, and cancelling is for pending orders only
	for _, to := range []string{"pending", "paid", "cancelled", "expired", "bogus", ""} {
		res := f.patch(t, o["id"], map[string]any{"status": to})
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), fmt.Sprintf(`from \"fulfilled\" to \"%s\"`, to)) {
			t.Fatalf("fulfilled -> %q: %d %s", to, res.Status, res.Raw)
		}
	}

	// editing a field that is not the status is not a move
	res = f.patch(t, o["id"], map[string]any{"tracking_number": "TRK2", "note": "re-sent"})
	if res.Status != http.StatusOK {
		t.Fatalf("edit tracking number: %d %s", res.Status, res.Raw)
	}

	res = f.patch(t, o["id"], map[string]any{"status": "refunded"})
	if res.Status != http.StatusOK {
		t.Fatalf("fulfilled -> refunded: %d %s", res.Status, res.Raw)
	}

	want := []string{">pending:customer", "pending>paid:admin", "paid>fulfilled:admin", "fulfilled>refunded:admin"}
	if got := events(t, f.app, o["id"]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	// sold stock stays sold, refunded or not
	if got := shoptest.Stock(t, f.app, f.product); got != 8 {
		t.Fatalf("stock %d, want 8", got)
	}
	shoptest.CheckLedger(t, f.app)
}

func TestDashboardRefusesServerFields(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	o := f.order(t, "", 1)
	user, _ := shoptest.CreateUser(t, f.app, "bob@example.com")

	for field, value := range map[string]any{
		"total_cents": 1, "subtotal_cents": 1, "shipping_cents": 0, "refunded_cents": 100, "number": 7,
		"paid_at": "2026-01-01 00:00:00.000Z", "cancelled_at": "2026-01-01 00:00:00.000Z", "expires_at": "2030-01-01 00:00:00.000Z",
		"token": "guessable", "customer": user.Id, "currency": "eur", "payment_method": "stripe",
		"items":             []map[string]any{{"product": f.product, "quantity": 9}},
		"stripe_session_id": "cs_1", "stripe_payment_intent": "pi_1",
	} {
		res := f.patch(t, o["id"], map[string]any{field: value, "note": "changed"})
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `"`+field+`":{"code":"validation_invalid_`+field+`","message":"This field is set by the server and cannot be changed."`) {
			t.Errorf("superuser sets %s: %d %s", field, res.Status, res.Raw)
		}
	}
	stored, err := f.app.FindRecordById("orders", o["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if stored.GetString("note") != "" || stored.GetInt("total_cents") != 2000 || stored.GetString("token") != o["token"] {
		t.Fatalf("a refused update changed the order: %v", stored)
	}

	// the fields the owner may edit
	res := f.patch(t, o["id"], map[string]any{
		"email": "ann.new@example.com", "note": "gift wrap", "tracking_number": "T1",
		"shipping_address": map[string]any{"name": "Ann", "line1": "2 Side St", "city": "X", "postal_code": "1", "country": "US"},
	})
	if res.Status != http.StatusOK {
		t.Fatalf("owner edit: %d %s", res.Status, res.Raw)
	}
	// sending the stored values back unchanged, as a form does, is fine
	fresh, _ := f.app.FindRecordById("orders", o["id"].(string))
	res = f.patch(t, o["id"], fresh.PublicExport())
	if res.Status != http.StatusOK {
		t.Fatalf("saving the whole record back: %d %s", res.Status, res.Raw)
	}
	if got := events(t, f.app, o["id"]); len(got) != 1 {
		t.Fatalf("edits wrote events: %v", got)
	}
}

func TestCancelAndExpiryReleaseStock(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)

	// the owner cancels in the dashboard
	a := f.order(t, "", 3)
	f.clock.Advance(time.Minute)
	res := f.patch(t, a["id"], map[string]any{"status": "cancelled"})
	if res.Status != http.StatusOK {
		t.Fatalf("dashboard cancel: %d %s", res.Status, res.Raw)
	}
	expect(t, res.Body, map[string]any{"cancelled_at": "2026-11-29 12:01:00.000Z"})

	// the reservation runs out (the expiry job's call)
	b := f.order(t, "", 4)
	if _, err := orders.Move(f.app, b["id"].(string), shop.StatusExpired, shop.ActorSystem, "Reservation ended.", nil); err != nil {
		t.Fatal(err)
	}
	if got := shoptest.Stock(t, f.app, f.product); got != 10 {
		t.Fatalf("stock %d after cancel and expiry, want 10", got)
	}
	if got := shoptest.Movements(t, f.app, f.product); fmt.Sprint(got) != "[restock:10 reserve:-3 release:3 reserve:-4 release:4]" {
		t.Fatalf("movements %v", got)
	}
	if got := events(t, f.app, a["id"]); fmt.Sprint(got) != "[>pending:customer pending>cancelled:admin]" {
		t.Fatalf("events of a %v", got)
	}
	if got := events(t, f.app, b["id"]); fmt.Sprint(got) != "[>pending:customer pending>expired:system]" {
		t.Fatalf("events of b %v", got)
	}

	// the owner cannot expire, the customer cannot pay, the system cannot cancel
	c := f.order(t, "", 1)
	for _, m := range []struct{ to, actor string }{
		{shop.StatusExpired, shop.ActorAdmin}, {shop.StatusPaid, shop.ActorCustomer}, {shop.StatusCancelled, shop.ActorSystem},
	} {
		_, err := orders.Move(f.app, c["id"].(string), m.to, m.actor, "", nil)
		var verrs validation.Errors
		if !errors.As(err, &verrs) || verrs["status"] == nil || !strings.Contains(verrs["status"].Error(), `"pending" to "`+m.to+`"`) {
			t.Fatalf("%s moves to %s: %v", m.actor, m.to, err)
		}
	}

	// a late Stripe payment takes the stock again, if it is still there
	if _, err := orders.Move(f.app, b["id"].(string), shop.StatusPaid, shop.ActorStripe, "Paid late.", nil); err != nil {
		t.Fatalf("expired -> paid: %v", err)
	}
	if got := shoptest.Stock(t, f.app, f.product); got != 5 {
		t.Fatalf("stock %d after the late payment, want 5", got)
	}
	big := f.order(t, "", 5)
	if _, err := orders.Move(f.app, big["id"].(string), shop.StatusExpired, shop.ActorStripe, "", nil); err != nil {
		t.Fatal(err)
	}
	f.order(t, "", 3)
	_, err := orders.Move(f.app, big["id"].(string), shop.StatusPaid, shop.ActorStripe, "", nil)
	var verrs validation.Errors
	if !errors.As(err, &verrs) || verrs["items"] == nil || !strings.Contains(verrs["items"].Error(), `Not enough stock for "mug": only 2 left.`) {
		t.Fatalf("late payment without stock: %v", err)
	}
	stored, _ := f.app.FindRecordById("orders", big["id"].(string))
	if stored.GetString("status") != shop.StatusExpired || !stored.GetDateTime("paid_at").IsZero() {
		t.Fatalf("a refused move changed the order: %s %v", stored.GetString("status"), stored.GetDateTime("paid_at"))
	}
	shoptest.CheckLedger(t, f.app)
}

func TestCancelRoute(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	_, annToken := shoptest.CreateUser(t, f.app, "ann@example.com")
	_, bobToken := shoptest.CreateUser(t, f.app, "bob@example.com")

	cancel := func(id any, query, token string) shoptest.Response {
		return shoptest.Do(t, f.srv, http.MethodPost, fmt.Sprintf("/api/shop/orders/%s/cancel%s", id, query), token, nil)
	}

	mine := f.order(t, annToken, 1)
	guest := f.order(t, "", 2)
	for name, res := range map[string]shoptest.Response{
		"another customer":      cancel(mine["id"], "", bobToken),
		"a guest without token": cancel(guest["id"], "", ""),
		"a wrong token":         cancel(guest["id"], "?token=wrong", ""),
		"another order's token": cancel(guest["id"], "?token="+mine["token"].(string), ""),
		"a signed-in stranger":  cancel(guest["id"], "", bobToken),
		"a missing order":       cancel("nope00000000000", "", annToken),
	} {
		if res.Status != http.StatusNotFound {
			t.Errorf("%s cancels: %d %s", name, res.Status, res.Raw)
		}
	}
	if got := shoptest.Stock(t, f.app, f.product); got != 7 {
		t.Fatalf("stock %d after refused cancels, want 7", got)
	}

	if res := cancel(mine["id"], "", annToken); res.Status != http.StatusOK || res.Body["status"] != "cancelled" {
		t.Fatalf("customer cancels own order: %d %s", res.Status, res.Raw)
	}
	if res := cancel(guest["id"], "?token="+guest["token"].(string), ""); res.Status != http.StatusOK || res.Body["cancelled_at"] == "" {
		t.Fatalf("token holder cancels: %d %s", res.Status, res.Raw)
	}
	if res := cancel(guest["id"], "?token="+guest["token"].(string), ""); res.Status != http.StatusBadRequest ||
		!strings.Contains(string(res.Raw), `An order cannot move from \"cancelled\" to \"cancelled\".`) {
		t.Fatalf("cancel twice: %d %s", res.Status, res.Raw)
	}

	paid := f.order(t, annToken, 1)
	if res := f.patch(t, paid["id"], map[string]any{"status": "paid"}); res.Status != http.StatusOK {
		t.Fatalf("pay: %d %s", res.Status, res.Raw)
	}
	if res := cancel(paid["id"], "", annToken); res.Status != http.StatusBadRequest ||
		!strings.Contains(string(res.Raw), `An order cannot move from \"paid\" to \"cancelled\".`) {
		t.Fatalf("customer cancels a paid order: %d %s", res.Status, res.Raw)
	}

	owners := f.order(t, "", 1)
	if res := cancel(owners["id"], "", f.su); res.Status != http.StatusOK {
		t.Fatalf("superuser cancels: %d %s", res.Status, res.Raw)
	}
	if got := events(t, f.app, owners["id"]); fmt.Sprint(got) != "[>pending:customer pending>cancelled:admin]" {
		t.Fatalf("events of the owner's cancel %v", got)
	}
	if got := events(t, f.app, mine["id"]); fmt.Sprint(got) != "[>pending:customer pending>cancelled:customer]" {
		t.Fatalf("events of the customer's cancel %v", got)
	}
	if got := shoptest.Stock(t, f.app, f.product); got != 9 {
		t.Fatalf("stock %d, want 9 (the paid order's unit)", got)
	}
	shoptest.CheckLedger(t, f.app)
}

func TestDeleteOrderReleasesPendingStock(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	pending := f.order(t, "", 2)
	paid := f.order(t, "", 3)
	if res := f.patch(t, paid["id"], map[string]any{"status": "paid"}); res.Status != http.StatusOK {
		t.Fatalf("pay: %d %s", res.Status, res.Raw)
	}
	cancelled := f.order(t, "", 1)
	if res := f.patch(t, cancelled["id"], map[string]any{"status": "cancelled"}); res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	if got := shoptest.Stock(t, f.app, f.product); got != 5 {
		t.Fatalf("stock %d, want 5", got)
	}

	for _, o := range []map[string]any{pending, paid, cancelled} {
		res := shoptest.Do(t, f.srv, http.MethodDelete, fmt.Sprintf("/api/collections/orders/records/%s", o["id"]), f.su, nil)
		if res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.Status, res.Raw)
		}
	}
	// the pending order's 2 units come back; the paid order's 3 stay sold
	if got := shoptest.Stock(t, f.app, f.product); got != 7 {
		t.Fatalf("stock %d after deletes, want 7", got)
	}
	if n := shoptest.Count(t, f.app, "order_events"); n != 0 {
		t.Fatalf("%d events of deleted orders left", n)
	}
	shoptest.CheckLedger(t, f.app)
}

func TestOwnerStockEdits(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	patch := func(body map[string]any) {
		t.Helper()
		res := shoptest.Do(t, f.srv, http.MethodPatch, "/api/collections/products/records/"+f.product, f.su, body)
		if res.Status != http.StatusOK {
			t.Fatalf("patch product: %d %s", res.Status, res.Raw)
		}
	}
	patch(map[string]any{"stock": 25})
	patch(map[string]any{"stock": 20})
	patch(map[string]any{"name": "Big Mug"})
	patch(map[string]any{"stock+": 5})

	// a stale copy saved after an order reserved units keeps the reservation
	stale, err := f.app.FindRecordById("products", f.product)
	if err != nil {
		t.Fatal(err)
	}
	f.order(t, "", 4)
	stale.Set("description", "<p>Holds a pint.</p>")
	if err := f.app.Save(stale); err != nil {
		t.Fatal(err)
	}

	if got := shoptest.Stock(t, f.app, f.product); got != 21 {
		t.Fatalf("stock %d, want 21", got)
	}
	want := "[restock:10 restock:15 adjust:-5 restock:5 reserve:-4]"
	if got := shoptest.Movements(t, f.app, f.product); fmt.Sprint(got) != want {
		t.Fatalf("movements %v, want %s", got, want)
	}
	res := shoptest.Do(t, f.srv, http.MethodPatch, "/api/collections/products/records/"+f.product, f.su, map[string]any{"stock": -1})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("negative stock: %d %s", res.Status, res.Raw)
	}
	shoptest.CheckLedger(t, f.app)
}

// TestDashboardFormSave saves an order the way the dashboard's form does:
// multipart, every field as text, JSON fields pretty-printed.
func TestDashboardFormSave(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	o := f.order(t, "", 2)

	save := func(changes map[string]string) shoptest.Response {
		t.Helper()
		stored, err := f.app.FindRecordById("orders", o["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, field := range stored.Collection().Fields {
			name := field.GetName()
			if field.Type() == core.FieldTypeAutodate {
				continue
			}
			value := stored.GetString(name)
			if field.Type() == core.FieldTypeJSON {
				var v any
				_ = json.Unmarshal([]byte(value), &v)
				b, _ := json.MarshalIndent(v, "", "  ")
				value = string(b)
			}
			if c, ok := changes[name]; ok {
				value = c
			}
			_ = w.WriteField(name, value)
		}
		_ = w.Close()
		return sendRaw(t, f.srv.URL+"/api/collections/orders/records/"+stored.Id, w.FormDataContentType(), &buf, f.su, http.MethodPatch)
	}

	if res := save(map[string]string{"status": "paid", "note": "paid by bank transfer"}); res.Status != http.StatusOK {
		t.Fatalf("dashboard marks paid: %d %s", res.Status, res.Raw)
	}
	if res := save(map[string]string{"status": "fulfilled", "tracking_number": "TRK9"}); res.Status != http.StatusOK {
		t.Fatalf("dashboard marks fulfilled: %d %s", res.Status, res.Raw)
	}
	if res := save(map[string]string{"total_cents": "1"}); res.Status != http.StatusBadRequest {
		t.Fatalf("dashboard changes the total: %d %s", res.Status, res.Raw)
	}
	if got := events(t, f.app, o["id"]); fmt.Sprint(got) != "[>pending:customer pending>paid:admin paid>fulfilled:admin]" {
		t.Fatalf("events %v", got)
	}
}

// TestDashboardFormCreate creates an order the way the dashboard's form
// does: every field sent, the server's ones empty.
func TestDashboardFormCreate(t *testing.T) {
	t.Parallel()
	f := newStatusFixture(t)
	col, err := f.app.FindCollectionByNameOrId("orders")
	if err != nil {
		t.Fatal(err)
	}
	form := func(values map[string]string) shoptest.Response {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, field := range col.Fields {
			if field.Type() != core.FieldTypeAutodate {
				_ = w.WriteField(field.GetName(), values[field.GetName()])
			}
		}
		_ = w.Close()
		return sendRaw(t, f.srv.URL+"/api/collections/orders/records", w.FormDataContentType(), &buf, f.su)
	}

	res := form(map[string]string{
		"email": "phone@example.com", "payment_method": "manual", "note": "Ordered by phone",
		"items": fmt.Sprintf("[\n  {\n    \"product\": %q,\n    \"quantity\": 2\n  }\n]", f.product),
	})
	if res.Status != http.StatusOK {
		t.Fatalf("dashboard create: %d %s", res.Status, res.Raw)
	}
	expect(t, res.Body, map[string]any{"status": "pending", "number": 1001.0, "total_cents": 3500.0, "customer": ""})
	if got := events(t, f.app, res.Body["id"]); fmt.Sprint(got) != "[>pending:admin]" {
		t.Fatalf("events %v", got)
	}

	res = form(map[string]string{
		"email": "phone@example.com", "payment_method": "manual", "status": "paid",
		"items": fmt.Sprintf(`[{"product":%q,"quantity":1}]`, f.product),
	})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `"status":{"code":"validation_invalid_status"`) {
		t.Fatalf("dashboard create as paid: %d %s", res.Status, res.Raw)
	}
	if got := shoptest.Stock(t, f.app, f.product); got != 8 {
		t.Fatalf("stock %d, want 8", got)
	}
}
