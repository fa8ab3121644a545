package orders_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// Fixed ids so that the request bodies of a scenario table can name them.
const (
	mugID      = "mug000000000001" // 1500 cents, 3 in stock
	toteID     = "tote00000000001" // 2400 cents, 10 in stock
	soldOutID  = "soldout00000001" // 900 cents, 0 in stock
	inactiveID = "inactive0000001" // 700 cents, 5 in stock, not for sale
)

// catalog creates the products named by the ids above.
func catalog(tb testing.TB, app *tests.TestApp) {
	tb.Helper()
	col, err := app.FindCachedCollectionByNameOrId("products")
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range []struct {
		id, name, sku string
		price, stock  int
		active        bool
	}{
		{mugID, "Enamel Mug", "MUG-1", 1500, 3, true},
		{toteID, "Canvas Tote", "", 2400, 10, true},
		{soldOutID, "Notebook", "NB-1", 900, 0, true},
		{inactiveID, "Old Hat", "HAT-0", 700, 5, false},
	} {
		r := core.NewRecord(col)
		r.Id = p.id
		r.Load(map[string]any{"name": p.name, "slug": strings.ToLower(strings.ReplaceAll(p.name, " ", "-")),
			"sku": p.sku, "price_cents": p.price, "stock": p.stock, "active": p.active})
		if err := app.Save(r); err != nil {
			tb.Fatalf("create %s: %v", p.name, err)
		}
	}
}

// catalogStock is the stock catalog starts with.
var catalogStock = map[string]int{mugID: 3, toteID: 10, soldOutID: 0, inactiveID: 5}

// nothingWritten fails the test if a rejected request left any order, event,
// reservation or stock change behind.
func nothingWritten(tb testing.TB, app core.App) {
	tb.Helper()
	for _, c := range []string{"orders", "order_events", "emails"} {
		if n := shoptest.Count(tb, app, c); n != 0 {
			tb.Errorf("%d %s written", n, c)
		}
	}
	// catalog's own restock rows only
	if n := shoptest.Count(tb, app, "stock_movements"); n != 3 {
		tb.Errorf("%d stock movements, want the catalog's 3", n)
	}
	for id, want := range catalogStock {
		if got := shoptest.Stock(tb, app, id); got != want {
			tb.Errorf("stock of %s = %d, want %d", id, got, want)
		}
	}
}

func rawOrder(extra string, items ...string) string {
	body := `{"email":"ann@example.com","payment_method":"manual","items":[` + strings.Join(items, ",") + `]`
	if extra != "" {
		body += "," + extra
	}
	return body + "}"
}

func item(product string, qty any) string {
	return fmt.Sprintf(`{"product":%q,"quantity":%v}`, product, qty)
}

// fieldError is how a message for one field appears in a 400's JSON.
func fieldError(field, msg string) string {
	b, _ := json.Marshal(msg)
	return fmt.Sprintf(`"%s":{"code":"validation_invalid_%s","message":%s}`, field, field, b)
}

func TestOrderCreateRejectsBadInput(t *testing.T) {
	t.Parallel()

	qtyMsg := "Line 1: quantity must be a whole number from 1 to 100."
	many := make([]string, 51)
	for i := range many {
		many[i] = item(fmt.Sprintf("product%08d", i), 1)
	}
	type bad struct {
		name    string
		body    string
		content []string
	}
	table := []bad{
		{"unknown product", rawOrder("", item("nope00000000000", 1)),
			[]string{fieldError("items", `Line 1: product "nope00000000000" does not exist or is not for sale.`)}},
		{"inactive product", rawOrder("", item(mugID, 1), item(inactiveID, 1)),
			[]string{fieldError("items", `Line 2: product "`+inactiveID+`" does not exist or is not for sale.`)}},
		{"not enough stock", rawOrder("", item(mugID, 4)),
			[]string{fieldError("items", `Not enough stock for "Enamel Mug": only 3 left.`)}},
		{"sold out", rawOrder("", item(soldOutID, 1)),
			[]string{fieldError("items", `Not enough stock for "Notebook": it is sold out.`)}},
		{"second line short, first reserved then rolled back", rawOrder("", item(toteID, 5), item(mugID, 4)),
			[]string{fieldError("items", `Not enough stock for "Enamel Mug": only 3 left.`)}},
		{"zero quantity", rawOrder("", item(mugID, 0)), []string{fieldError("items", qtyMsg)}},
		{"negative quantity", rawOrder("", item(mugID, -2)), []string{fieldError("items", qtyMsg)}},
		{"fractional quantity", rawOrder("", item(mugID, 1.5)), []string{fieldError("items", qtyMsg)}},
		{"huge quantity", rawOrder("", item(mugID, 101)), []string{fieldError("items", qtyMsg)}},
		{"astronomic quantity", rawOrder("", item(mugID, "1e300")), []string{fieldError("items", qtyMsg)}},
		{"quantity as a string", rawOrder("", item(mugID, `"2"`)), []string{fieldError("items", qtyMsg)}},
		{"51 lines", rawOrder("", many...), []string{fieldError("items", "An order can have at most 50 lines; this one has 51.")}},
		{"same product twice", rawOrder("", item(mugID, 1), item(mugID, 1)),
			[]string{fieldError("items", `Line 2: product "`+mugID+`" is already in the order; change that line's quantity instead.`)}},
		{"no items", rawOrder(""), []string{fieldError("items", "Add at least one item.")}},
		{"items an object", `{"email":"a@b.co","payment_method":"manual","items":{"product":"` + mugID + `","quantity":1}}`,
			[]string{fieldError("items", "Must be a list of {product, quantity}.")}},
		{"items a word", `{"email":"a@b.co","payment_method":"manual","items":"mug"}`,
			[]string{fieldError("items", "Must be a list of {product, quantity}.")}},
		{"items a number", `{"email":"a@b.co","payment_method":"manual","items":7}`,
			[]string{fieldError("items", "Must be a list of {product, quantity}.")}},
		{"line with a price", rawOrder("", `{"product":"`+mugID+`","quantity":1,"unit_price_cents":1}`),
			[]string{`unknown field \"unit_price_cents\"`}},
		{"missing email (guest)", `{"payment_method":"manual","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("email", "An email address is required to place an order as a guest.")}},
		{"blank email (guest)", `{"email":"  ","payment_method":"manual","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("email", "An email address is required to place an order as a guest.")}},
		{"malformed email", `{"email":"ann@","payment_method":"manual","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("email", "Must be a valid email address.")}},
		{"email a number", `{"email":12,"payment_method":"manual","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("email", "Must be a string.")}},
		{"unknown payment method", `{"email":"a@b.co","payment_method":"cash","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("payment_method", `Unknown payment method "cash": use "stripe" or "manual".`)}},
		{"no payment method", `{"email":"a@b.co","items":[` + item(mugID, 1) + `]}`,
			[]string{fieldError("payment_method", `Choose a payment method: "stripe" or "manual".`)}},
		{"status paid", rawOrder(`"status":"paid"`, item(mugID, 1)),
			[]string{fieldError("status", "This field is set by the server and cannot be sent.")}},
		{"a total", rawOrder(`"total_cents":1`, item(mugID, 1)),
			[]string{fieldError("total_cents", "This field is set by the server and cannot be sent.")}},
		{"a total through a modifier", rawOrder(`"total_cents+":1`, item(mugID, 1)),
			[]string{fieldError("total_cents", "This field is set by the server and cannot be sent.")}},
		{"a token", rawOrder(`"token":"mine"`, item(mugID, 1)),
			[]string{fieldError("token", "This field is set by the server and cannot be sent.")}},
		{"a customer", rawOrder(`"customer":"someone"`, item(mugID, 1)),
			[]string{fieldError("customer", "This field is set by the server and cannot be sent.")}},
		{"payment fields", rawOrder(`"stripe_payment_intent":"pi_1","paid_at":"2026-01-01 00:00:00Z"`, item(mugID, 1)),
			[]string{fieldError("stripe_payment_intent", "This field is set by the server and cannot be sent."),
				fieldError("paid_at", "This field is set by the server and cannot be sent.")}},
		{"an order number", rawOrder(`"number":1`, item(mugID, 1)),
			[]string{fieldError("number", "This field is set by the server and cannot be sent.")}},
		{"address without a city", rawOrder(`"shipping_address":{"name":"A","line1":"1 St","postal_code":"1","country":"US"}`, item(mugID, 1)),
			[]string{fieldError("shipping_address", "City is required.")}},
		{"address a list", rawOrder(`"shipping_address":["1 St"]`, item(mugID, 1)),
			[]string{fieldError("shipping_address", "Must be an object {name, line1, line2, city, postal_code, country}.")}},
		{"note too long", rawOrder(`"note":"`+strings.Repeat("x", 1001)+`"`, item(mugID, 1)),
			[]string{fieldError("note", "Must be at most 1000 characters.")}},
		{"several fields at once", `{"email":"x","payment_method":"cash","items":[]}`,
			[]string{`"email":{`, `"payment_method":{`, `"items":{`}},
		{"not JSON", `{"email":`, []string{`"status":400`}},
		// hooks/limits.go bounds an order's body to 64 KiB.
		{"1 MB body", rawOrder(`"padding":"`+strings.Repeat("x", 1<<20)+`"`, item(mugID, 1)),
			[]string{`"status":400`, "The order is too large: at most 64 KiB may be sent."}},
		{"1 MB note", rawOrder(`"note":"`+strings.Repeat("x", 1<<20)+`"`, item(mugID, 1)),
			[]string{`"status":400`, "The order is too large: at most 64 KiB may be sent."}},
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

// TestOrderCreateBodyLimitBoundary checks the size limit is on the body, not
// on what it says: an order padded to just under the limit goes through.
func TestOrderCreateBodyLimitBoundary(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	catalog(t, app)
	srv := shoptest.Serve(t, app)

	body := rawOrder(`"padding":"`, item(mugID, 1))
	pad := 64<<10 - len(body) - 1
	body = rawOrder(`"padding":"`+strings.Repeat("x", pad)+`"`, item(mugID, 1))
	if len(body) != 64<<10 {
		t.Fatalf("body is %d bytes", len(body))
	}
	res := sendRaw(t, srv.URL+"/api/collections/orders/records", "application/json", strings.NewReader(body), "")
	if res.Status != http.StatusOK {
		t.Fatalf("64 KB order: %d %s", res.Status, res.Raw)
	}
	res = sendRaw(t, srv.URL+"/api/collections/orders/records", "application/json", strings.NewReader(body+" "), "")
	if res.Status != http.StatusBadRequest {
		t.Fatalf("64 KB + 1 order: %d %s", res.Status, res.Raw)
	}
}

func TestOrderCreate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	app := shoptest.NewApp(t, hooks.Deps{Now: func() time.Time { return now }})
	catalog(t, app)
	settings, err := app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		t.Fatal(err)
	}
	settings.Load(map[string]any{"shipping_flat_cents": 450, "free_shipping_over_cents": 6000, "reservation_minutes": 45, "currency": "eur"})
	if err := app.Save(settings); err != nil {
		t.Fatal(err)
	}
	srv := shoptest.Serve(t, app)
	user, userToken := shoptest.CreateUser(t, app, "bob@example.com")

	// A guest order below the free-shipping threshold.
	guest := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe", "note": " leave at the door ",
		"items":            []map[string]any{{"product": mugID, "quantity": 2}, {"product": toteID, "quantity": 1}},
		"shipping_address": map[string]any{"name": "Ann", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
	})
	wantItems := []any{
		map[string]any{"product": mugID, "name": "Enamel Mug", "sku": "MUG-1", "unit_price_cents": 1500.0, "quantity": 2.0, "line_total_cents": 3000.0, "discount_cents": 0.0, "tax_cents": 0.0},
		map[string]any{"product": toteID, "name": "Canvas Tote", "sku": "", "unit_price_cents": 2400.0, "quantity": 1.0, "line_total_cents": 2400.0, "discount_cents": 0.0, "tax_cents": 0.0},
	}
	expect(t, guest, map[string]any{
		"number": 1001.0, "status": "pending", "email": "ann@example.com", "customer": "",
		"payment_method": "stripe", "note": "leave at the door", "currency": "eur",
		"subtotal_cents": 5400.0, "shipping_cents": 450.0, "total_cents": 5850.0, "refunded_cents": 0.0,
		"expires_at": "2026-11-29 10:45:00.000Z", "paid_at": "", "items": wantItems,
	})
	if tok, _ := guest["token"].(string); len(tok) < 32 {
		t.Fatalf("guest token %q", tok)
	}

	// A signed-in customer at the threshold: free shipping, their email.
	mine := shoptest.PlaceOrder(t, srv, userToken, map[string]any{
		"payment_method": "manual", "items": []map[string]any{{"product": toteID, "quantity": 2}, {"product": mugID, "quantity": 1}},
	})
	expect(t, mine, map[string]any{
		"number": 1002.0, "customer": user.Id, "email": "bob@example.com",
		"subtotal_cents": 6300.0, "shipping_cents": 0.0, "total_cents": 6300.0,
	})
	// ... who may also name another address to write to.
	other := shoptest.PlaceOrder(t, srv, userToken, map[string]any{
		"email": "bob.work@example.com", "payment_method": "manual", "items": []map[string]any{{"product": toteID, "quantity": 1}},
	})
	expect(t, other, map[string]any{"number": 1003.0, "customer": user.Id, "email": "bob.work@example.com", "shipping_cents": 450.0})

	// Stock reserved with a ledger row per line, one event per order.
	if got := shoptest.Stock(t, app, mugID); got != 0 {
		t.Fatalf("mug stock %d, want 0", got)
	}
	if got := shoptest.Stock(t, app, toteID); got != 6 {
		t.Fatalf("tote stock %d, want 6", got)
	}
	if got, want := shoptest.Movements(t, app, toteID), []string{"restock:10", "reserve:-1", "reserve:-2", "reserve:-1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tote movements %v, want %v", got, want)
	}
	shoptest.CheckLedger(t, app)
	mv, err := app.FindFirstRecordByFilter("stock_movements", "order = {:o} && product = {:p}", map[string]any{"o": guest["id"], "p": mugID})
	if err != nil || mv.GetInt("delta") != -2 || mv.GetInt("stock_after") != 1 || mv.GetString("reason") != "reserve" {
		t.Fatalf("guest's mug reservation: %v %v", mv, err)
	}
	for _, o := range []map[string]any{guest, mine, other} {
		events, err := app.FindRecordsByFilter("order_events", "order = {:o}", "", 0, 0, map[string]any{"o": o["id"]})
		if err != nil || len(events) != 1 || events[0].GetString("to_status") != "pending" ||
			events[0].GetString("from_status") != "" || events[0].GetString("actor") != "customer" {
			t.Fatalf("events of order %v: %v %v", o["number"], events, err)
		}
	}

	// The lines are a snapshot: later catalog changes do not touch them.
	mug, _ := app.FindRecordById("products", mugID)
	mug.Set("price_cents", 9999)
	mug.Set("name", "Renamed")
	if err := app.Save(mug); err != nil {
		t.Fatal(err)
	}
	res := shoptest.Do(t, srv, http.MethodGet, fmt.Sprintf("/api/collections/orders/records/%s?token=%s", guest["id"], guest["token"]), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("guest view: %d %s", res.Status, res.Raw)
	}
	expect(t, res.Body, map[string]any{"items": wantItems, "total_cents": 5850.0})

	// The next number follows the highest, also after a failed attempt.
	bad := shoptest.Do(t, srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual", "items": []map[string]any{{"product": mugID, "quantity": 1}},
	})
	if bad.Status != http.StatusBadRequest {
		t.Fatalf("order of a sold-out product: %d %s", bad.Status, bad.Raw)
	}
	next := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual", "items": []map[string]any{{"product": toteID, "quantity": 1}},
	})
	expect(t, next, map[string]any{"number": 1004.0})
}

// TestOrderCreateMultipart places an order the way a plain HTML form or the
// JS SDK with FormData does: JSON fields arrive as strings.
func TestOrderCreateMultipart(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	catalog(t, app)
	srv := shoptest.Serve(t, app)

	form := func(fields map[string]string) (string, *bytes.Buffer) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		_ = w.Close()
		return w.FormDataContentType(), &buf
	}

	ct, body := form(map[string]string{
		"email": "ann@example.com", "payment_method": "manual", "shipping_address": "", "note": "",
		"items": `[{"product":"` + mugID + `","quantity":2}]`,
	})
	res := sendRaw(t, srv.URL+"/api/collections/orders/records", ct, body, "")
	if res.Status != http.StatusOK {
		t.Fatalf("multipart order: %d %s", res.Status, res.Raw)
	}
	expect(t, res.Body, map[string]any{"subtotal_cents": 3000.0, "shipping_address": nil})

	ct, body = form(map[string]string{"email": "ann@example.com", "payment_method": "manual", "items": `[{"product":"` + toteID + `","quantity":"2"}]`})
	res = sendRaw(t, srv.URL+"/api/collections/orders/records", ct, body, "")
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "quantity must be a whole number") {
		t.Fatalf("multipart order with a string quantity: %d %s", res.Status, res.Raw)
	}
	if got := shoptest.Stock(t, app, toteID); got != 10 {
		t.Fatalf("tote stock %d after a rejected order", got)
	}
}

// sendRaw sends a request with a body of any content type (POST unless another
// method is given).
func sendRaw(t *testing.T, url, contentType string, body io.Reader, token string, method ...string) shoptest.Response {
	t.Helper()
	m := http.MethodPost
	if len(method) > 0 {
		m = method[0]
	}
	req, err := http.NewRequest(m, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	out := shoptest.Response{Status: res.StatusCode, Raw: buf.Bytes()}
	_ = json.Unmarshal(out.Raw, &out.Body)
	return out
}

// expect fails the test unless got holds each of want's fields with the same
// JSON value.
func expect(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		gj, _ := json.Marshal(got[k])
		wj, _ := json.Marshal(w)
		if string(gj) != string(wj) {
			t.Errorf("%s = %s, want %s", k, gj, wj)
		}
	}
}

// TestOrderNumbersNeverReused deletes the newest order: the next order gets
// a new number, not the deleted one's.
func TestOrderNumbersNeverReused(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	catalog(t, app)
	srv := shoptest.Serve(t, app)
	place := func() map[string]any {
		return shoptest.PlaceOrder(t, srv, "", map[string]any{
			"email": "ann@example.com", "payment_method": "manual", "items": []map[string]any{{"product": toteID, "quantity": 1}},
		})
	}
	place()
	newest := place()
	res := shoptest.Do(t, srv, http.MethodDelete, fmt.Sprintf("/api/collections/orders/records/%s", newest["id"]), shoptest.SuperuserToken(t, app), nil)
	if res.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.Status, res.Raw)
	}
	expect(t, place(), map[string]any{"number": 1003.0})
}

// TestOrderCreateSignedInWithoutEmail: a customer whose account has no
// email address must give one.
func TestOrderCreateSignedInWithoutEmail(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	catalog(t, app)
	srv := shoptest.Serve(t, app)
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(users)
	u.SetPassword("customer-password-123")
	if err := app.SaveNoValidate(u); err != nil {
		t.Fatal(err)
	}
	token, err := u.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"payment_method": "manual", "items": []map[string]any{{"product": toteID, "quantity": 1}}}
	res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/orders/records", token, body)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "Your account has no email address") {
		t.Fatalf("order without any email: %d %s", res.Status, res.Raw)
	}
	body["email"] = "anon@example.com"
	expect(t, shoptest.PlaceOrder(t, srv, token, body), map[string]any{"customer": u.Id, "email": "anon@example.com"})
}

// TestOrderCreateRefusesEveryServerField: fields other branches add to
// orders (payment_issue, stripe_session_at, ...) are the server's too.
func TestOrderCreateRefusesEveryServerField(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	catalog(t, app)
	srv := shoptest.Serve(t, app)
	col, err := app.FindCollectionByNameOrId("orders")
	if err != nil {
		t.Fatal(err)
	}
	client := map[string]bool{"email": true, "items": true, "payment_method": true, "shipping_address": true, "note": true,
		"discount_code": true, "shipping_rate": true}
	samples := map[string]any{
		core.FieldTypeText: "x", core.FieldTypeNumber: 7, core.FieldTypeBool: true, core.FieldTypeEmail: "x@example.com",
		core.FieldTypeDate: "2030-01-01 00:00:00.000Z", core.FieldTypeJSON: map[string]any{"a": 1},
	}
	checked := 0
	for _, f := range col.Fields {
		name := f.GetName()
		if client[name] || f.GetSystem() || f.Type() == core.FieldTypeAutodate {
			continue
		}
		value, ok := samples[f.Type()]
		switch f := f.(type) {
		case *core.SelectField:
			value, ok = f.Values[len(f.Values)-1], true
		case *core.RelationField:
			u, _ := shoptest.CreateUser(t, app, name+"@example.com")
			value, ok = u.Id, true
		}
		if !ok {
			t.Fatalf("no sample value for %s (%s)", name, f.Type())
		}
		body := map[string]any{"email": "ann@example.com", "payment_method": "manual",
			"items": []map[string]any{{"product": toteID, "quantity": 1}}, name: value}
		res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/orders/records", "", body)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), fieldError(name, "This field is set by the server and cannot be sent.")) {
			t.Errorf("client sets %s = %v: %d %s", name, value, res.Status, res.Raw)
		}
		checked++
	}
	if checked < len(shop.ServerFields) {
		t.Fatalf("checked %d fields, fewer than shop.ServerFields", checked)
	}
	if n := shoptest.Count(t, app, "orders"); n != 0 {
		t.Fatalf("%d orders stored", n)
	}
}
