package hooks_test

// These tests pin, black-box over HTTP, everything an order create and the
// Stripe paid transition leave behind: the answer, the rows in every table,
// the after-success hooks they fire and the realtime messages a subscriber
// receives. They were written against the record-save implementation and
// must stay green whatever carries the writes (hooks/README: the writer).

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/outbox"
	"pocketshop/internal/payments"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testWebhookSecret = "whsec_pocketshop_test"

// paidSession is a checkout.session object as Stripe sends it for order o.
func paidSession(o *core.Record) map[string]any {
	return map[string]any{
		"id": "cs_test_" + o.Id, "object": "checkout.session", "status": "complete", "payment_status": "paid",
		"amount_total": o.GetInt("total_cents"), "currency": o.GetString("currency"),
		"client_reference_id": o.Id, "payment_intent": "pi_" + o.Id, "metadata": map[string]string{"order_id": o.Id},
	}
}

// event is a Stripe event as its webhook delivers it.
func event(id, typ string, object map[string]any) map[string]any {
	return map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": payments.APIVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	}
}

// deliver signs ev the way Stripe does and posts it to the webhook.
func deliver(t *testing.T, srv *httptest.Server, ev map[string]any) (int, string) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/shop/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("deliver: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// checkoutShop is a shop with Stripe configured (no Stripe calls are made
// by create and paid), an owner email and two products.
type checkoutShop struct {
	app      *tests.TestApp
	srv      *httptest.Server
	clock    *shoptest.Clock
	mug, pen *core.Record
}

func newCheckoutShop(t *testing.T) *checkoutShop {
	t.Helper()
	return newCheckoutShopWith(t, nil)
}

// newCheckoutShopWith is newCheckoutShop with payments going to provider
// (the Stripe adapter, pointed at a closed port, when nil).
func newCheckoutShopWith(t *testing.T, provider payments.Provider) *checkoutShop {
	t.Helper()
	clock := shoptest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	app := shoptest.NewApp(t, hooks.Deps{Now: clock.Now, Outbox: outbox.Options{Interval: -1}, Provider: provider,
		Payments: payments.Config{SecretKey: "sk_test_pocketshop", WebhookSecret: testWebhookSecret, APIBase: "http://127.0.0.1:9"}})
	rs, err := app.FindAllRecords("shop_settings")
	if err != nil || len(rs) != 1 {
		t.Fatalf("settings: %v", err)
	}
	rs[0].Set("owner_email", "owner@shop.example")
	if err := app.Save(rs[0]); err != nil {
		t.Fatal(err)
	}
	s := &checkoutShop{app: app, clock: clock}
	// mug crosses its low stock threshold (2) when 2 of its 4 are sold.
	s.mug = shoptest.CreateProduct(t, app, "mug", 1250, 4)
	s.pen = shoptest.CreateProduct(t, app, "pen", 300, 50)
	s.srv = shoptest.Serve(t, app)
	return s
}

// rows returns the rows of collection matching where, oldest first, as
// maps without the id/created/updated columns (and the given extra ones).
func (s *checkoutShop) rows(t *testing.T, collection string, where dbx.Expression, drop ...string) []map[string]any {
	t.Helper()
	var rs []*core.Record
	q := s.app.RecordQuery(collection).OrderBy("created ASC", "rowid ASC")
	if where != nil {
		q = q.AndWhere(where)
	}
	if err := q.All(&rs); err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, 0, len(rs))
	for _, r := range rs {
		m := map[string]any{}
		for k, v := range r.FieldsData() {
			if k == "id" || k == "created" || k == "updated" || slices.Contains(drop, k) {
				continue
			}
			m[k] = normalize(v)
		}
		out = append(out, m)
	}
	return out
}

// normalize turns a stored value into plain JSON values for comparison.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(normalize(got), "", "  ")
	w, _ := json.MarshalIndent(normalize(want), "", "  ")
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// afterSuccess counts the after-success model hooks the app fired since
// the last ResetEventCalls. The before-save and error hooks are left out:
// a writer may check before it writes, so a refused order fires neither.
func afterSuccess(app *tests.TestApp) map[string]int {
	out := map[string]int{}
	for _, name := range []string{
		"OnModelAfterCreateSuccess", "OnRecordAfterCreateSuccess",
		"OnModelAfterUpdateSuccess", "OnRecordAfterUpdateSuccess",
		"OnModelAfterDeleteSuccess", "OnRecordAfterDeleteSuccess",
	} {
		if n := app.EventCalls[name]; n > 0 {
			out[name] = n
		}
	}
	return out
}

func TestOrderCreateEquivalence(t *testing.T) {
	t.Parallel()
	s := newCheckoutShop(t)
	su := shoptest.SuperuserToken(t, s.app)
	watcher := shoptest.Subscribe(t, s.srv, su, "products", "orders", "stock_movements")

	s.app.ResetEventCalls()
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe", "note": "ring twice",
		"items": []map[string]any{{"product": s.mug.Id, "quantity": 2}, {"product": s.pen.Id, "quantity": 3}},
		"shipping_address": map[string]any{"name": "Ann", "line1": "1 Main St", "city": "Springfield",
			"postal_code": "12345", "country": "US"},
	})
	if res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Raw)
	}
	id := res.Body["id"].(string)
	token, _ := res.Body["token"].(string)
	if len(token) != 40 {
		t.Errorf("token %q: want 40 characters", token)
	}
	answer := map[string]any{}
	for k, v := range res.Body {
		if k != "id" && k != "created" && k != "updated" && k != "token" {
			answer[k] = v
		}
	}
	sameJSON(t, "answer", answer, map[string]any{
		"collectionId": res.Body["collectionId"], "collectionName": "orders",
		"number": 1001, "status": "pending", "customer": "", "email": "ann@example.com",
		"items": []map[string]any{
			{"product": s.mug.Id, "name": "mug", "sku": "", "unit_price_cents": 1250, "quantity": 2, "line_total_cents": 2500,
				"discount_cents": 0, "tax_cents": 0},
			{"product": s.pen.Id, "name": "pen", "sku": "", "unit_price_cents": 300, "quantity": 3, "line_total_cents": 900,
				"discount_cents": 0, "tax_cents": 0},
		},
		"payment_method": "stripe", "note": "ring twice",
		"shipping_address": map[string]any{"name": "Ann", "line1": "1 Main St", "city": "Springfield",
			"postal_code": "12345", "country": "US"},
		"subtotal_cents": 3400, "shipping_cents": 500, "total_cents": 3900, "refunded_cents": 0,
		"discount_code": "", "discount_cents": 0, "tax_cents": 0, "tax_lines": []any{}, "shipping_rate": "", "shipping_rate_name": "",
		"currency": "usd", "expires_at": "2026-03-01 12:30:00.000Z",
		"paid_at": "", "fulfilled_at": "", "cancelled_at": "", "tracking_number": "",
		"stripe_session_id": "", "stripe_session_at": "", "stripe_payment_intent": "", "payment_issue": "",
	})

	stored := s.rows(t, "orders", dbx.HashExp{"id": id}, "token")
	delete(answer, "collectionId")
	delete(answer, "collectionName")
	sameJSON(t, "stored order", stored, []any{answer})

	sameJSON(t, "stock movements", s.rows(t, "stock_movements", nil), []map[string]any{
		{"product": s.mug.Id, "delta": 4, "reason": "restock", "order": "", "stock_after": 4, "variant": ""},
		{"product": s.pen.Id, "delta": 50, "reason": "restock", "order": "", "stock_after": 50, "variant": ""},
		{"product": s.mug.Id, "delta": -2, "reason": "reserve", "order": id, "stock_after": 2, "variant": ""},
		{"product": s.pen.Id, "delta": -3, "reason": "reserve", "order": id, "stock_after": 47, "variant": ""},
	})
	if got := []int{shoptest.Stock(t, s.app, s.mug.Id), shoptest.Stock(t, s.app, s.pen.Id)}; !slices.Equal(got, []int{2, 47}) {
		t.Errorf("stock: %v, want [2 47]", got)
	}
	sameJSON(t, "order events", s.rows(t, "order_events", nil), []map[string]any{
		{"order": id, "from_status": "", "to_status": "pending", "actor": "customer", "message": "Order placed.", "amount_cents": 0},
	})
	sameJSON(t, "outbox", s.rows(t, "emails", nil, "html", "text", "subject", "last_error"), []map[string]any{
		{"to": "ann@example.com", "kind": "order_placed", "order": id, "dedupe_key": "order:" + id + ":placed",
			"status": "queued", "attempts": 0, "next_attempt_at": "", "sent_at": "", "lease_until": ""},
		{"to": "owner@shop.example", "kind": "low_stock", "order": "", "dedupe_key": "low_stock:" + s.mug.Id + ":" + movementID(t, s, s.mug.Id, id),
			"status": "queued", "attempts": 0, "next_attempt_at": "", "sent_at": "", "lease_until": ""},
	})
	placed := s.rows(t, "emails", dbx.HashExp{"kind": "order_placed"})[0]
	if subj := placed["subject"].(string); !strings.Contains(subj, "1001") {
		t.Errorf("placed email subject %q does not name the order number", subj)
	}
	for _, want := range []string{"order #1001", "mug", token} {
		if !strings.Contains(placed["text"].(string), want) {
			t.Errorf("placed email text lacks %q:\n%s", want, placed["text"])
		}
	}
	// The customer's emails leave out the order note (issue 17).
	if strings.Contains(placed["text"].(string), "ring twice") {
		t.Errorf("placed email text holds the order note:\n%s", placed["text"])
	}

	// order + 2 movements + event + 2 emails created; 2 products updated
	sameJSON(t, "after-success hooks", afterSuccess(s.app), map[string]int{
		"OnModelAfterCreateSuccess": 6, "OnRecordAfterCreateSuccess": 6,
		"OnModelAfterUpdateSuccess": 2, "OnRecordAfterUpdateSuccess": 2,
	})

	msgs := watcher.WaitFor(t, 5)
	slices.Sort(msgs)
	want := []string{
		"orders create " + id + " pending",
		"products update " + s.mug.Id + " 2",
		"products update " + s.pen.Id + " 47",
		"stock_movements create " + movementID(t, s, s.mug.Id, id) + " ",
		"stock_movements create " + movementID(t, s, s.pen.Id, id) + " ",
	}
	slices.Sort(want)
	sameJSON(t, "realtime", msgs, want)
	shoptest.CheckLedger(t, s.app)
}

func movementID(t *testing.T, s *checkoutShop, product, order string) string {
	t.Helper()
	r, err := s.app.FindFirstRecordByFilter("stock_movements", "product = {:p} && order = {:o}", dbx.Params{"p": product, "o": order})
	if err != nil {
		t.Fatalf("movement of %s for %s: %v", product, order, err)
	}
	return r.Id
}

// TestOrderCreateRefusedWritesNothing pins that a refused order fires no
// hook and sends no realtime message, and that the numbers stay a sequence
// with no gap for it.
func TestOrderCreateRefusedWritesNothing(t *testing.T) {
	t.Parallel()
	s := newCheckoutShop(t)
	watcher := shoptest.Subscribe(t, s.srv, shoptest.SuperuserToken(t, s.app), "products", "orders", "stock_movements")
	place := func(items ...map[string]any) shoptest.Response {
		return shoptest.Do(t, s.srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
			"email": "ann@example.com", "payment_method": "manual", "items": items,
		})
	}
	first := place(map[string]any{"product": s.pen.Id, "quantity": 1})

	table := []struct {
		name  string
		items []map[string]any
		want  string
	}{
		{"second line short", []map[string]any{{"product": s.pen.Id, "quantity": 2}, {"product": s.mug.Id, "quantity": 5}},
			`{"data":{"items":{"code":"validation_invalid_items","message":"Not enough stock for \"mug\": only 4 left."}},"message":"The order could not be accepted.","status":400}`},
		{"inactive after a good line", []map[string]any{{"product": s.pen.Id, "quantity": 1}, {"product": "nope00000000000", "quantity": 1}},
			`{"data":{"items":{"code":"validation_invalid_items","message":"Line 2: product \"nope00000000000\" does not exist or is not for sale."}},"message":"The order could not be accepted.","status":400}`},
		{"quantity zero", []map[string]any{{"product": s.pen.Id, "quantity": 0}},
			`{"data":{"items":{"code":"validation_invalid_items","message":"Line 1: quantity must be a whole number from 1 to 100."}},"message":"The order could not be accepted.","status":400}`},
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, c := range []string{"orders", "stock_movements", "order_events", "emails", "payment_events"} {
			out[c] = shoptest.Count(t, s.app, c)
		}
		return out
	}
	before := counts()
	for _, tc := range table {
		s.app.ResetEventCalls()
		res := place(tc.items...)
		if res.Status != http.StatusBadRequest || strings.TrimSpace(string(res.Raw)) != tc.want {
			t.Errorf("%s: %d %s\nwant 400 %s", tc.name, res.Status, res.Raw, tc.want)
		}
		sameJSON(t, tc.name+": after-success hooks", afterSuccess(s.app), map[string]int{})
	}
	sameJSON(t, "rows after refusals", counts(), before)
	if got := []int{shoptest.Stock(t, s.app, s.mug.Id), shoptest.Stock(t, s.app, s.pen.Id)}; !slices.Equal(got, []int{4, 49}) {
		t.Errorf("stock: %v, want [4 49]", got)
	}

	second := place(map[string]any{"product": s.pen.Id, "quantity": 1})
	if first.Body["number"] != 1001.0 || second.Body["number"] != 1002.0 {
		t.Errorf("numbers %v, %v: want 1001, 1002", first.Body["number"], second.Body["number"])
	}
	// two orders, each: the order, a product update, a movement
	if msgs := watcher.WaitFor(t, 6); len(msgs) != 6 {
		t.Errorf("realtime: %q", msgs)
	}
}

func TestStripePaidEquivalence(t *testing.T) {
	t.Parallel()
	s := newCheckoutShop(t)
	watcher := shoptest.Subscribe(t, s.srv, shoptest.SuperuserToken(t, s.app), "products", "orders")
	placed := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe",
		"items": []map[string]any{{"product": s.pen.Id, "quantity": 2}},
	})
	id := placed["id"].(string)
	order, err := s.app.FindRecordById("orders", id)
	if err != nil {
		t.Fatal(err)
	}
	watcher.WaitFor(t, 2) // the create and the stock
	beforeEmails := shoptest.Count(t, s.app, "emails")
	s.clock.Advance(5 * time.Minute)

	s.app.ResetEventCalls()
	ev := event("evt_paid_1", "checkout.session.completed", paidSession(order))
	status, body := deliver(t, s.srv, ev)
	if status != http.StatusOK || strings.TrimSpace(body) != `{"received":true,"result":"applied"}` {
		t.Fatalf("webhook: %d %s", status, body)
	}

	got := s.rows(t, "orders", dbx.HashExp{"id": id}, "token", "shipping_address", "items")[0]
	sameJSON(t, "paid order", got, map[string]any{
		"number": 1001, "status": "paid", "customer": "", "email": "ann@example.com",
		"payment_method": "stripe", "note": "",
		"subtotal_cents": 600, "shipping_cents": 500, "total_cents": 1100, "refunded_cents": 0,
		"discount_code": "", "discount_cents": 0, "tax_cents": 0, "tax_lines": []any{}, "shipping_rate": "", "shipping_rate_name": "",
		"currency": "usd", "expires_at": "2026-03-01 12:30:00.000Z",
		"paid_at": "2026-03-01 12:05:00.000Z", "fulfilled_at": "", "cancelled_at": "", "tracking_number": "",
		"stripe_session_id": "cs_test_" + id, "stripe_session_at": "", "stripe_payment_intent": "pi_" + id, "payment_issue": "",
	})
	sameJSON(t, "order events", s.rows(t, "order_events", nil), []map[string]any{
		{"order": id, "from_status": "", "to_status": "pending", "actor": "customer", "message": "Order placed.", "amount_cents": 0},
		{"order": id, "from_status": "pending", "to_status": "paid", "actor": "stripe", "message": "Paid with Stripe.", "amount_cents": 0},
	})
	sameJSON(t, "payment events", s.rows(t, "payment_events", nil), []map[string]any{
		{"event_id": "evt_paid_1", "type": "checkout.session.completed", "order": id, "result": "applied", "error": ""},
	})
	sameJSON(t, "new outbox rows", s.rows(t, "emails", dbx.NewExp("kind != 'order_placed'"), "html", "text", "last_error"), []map[string]any{
		{"to": "ann@example.com", "kind": "order_paid", "order": id, "dedupe_key": "order:" + id + ":paid",
			"subject": "Receipt for order #1001", "status": "queued", "attempts": 0, "next_attempt_at": "", "sent_at": "", "lease_until": ""},
		{"to": "owner@shop.example", "kind": "owner_order_paid", "order": id, "dedupe_key": "order:" + id + ":paid:owner",
			"subject": "Paid order #1001: $11.00", "status": "queued", "attempts": 0, "next_attempt_at": "", "sent_at": "", "lease_until": ""},
	})
	if n := shoptest.Count(t, s.app, "emails"); n != beforeEmails+2 {
		t.Errorf("emails: %d, want %d", n, beforeEmails+2)
	}
	if got := shoptest.Stock(t, s.app, s.pen.Id); got != 48 {
		t.Errorf("stock %d, want 48 (paying keeps the reservation)", got)
	}
	// the order updated; its event, 2 emails and the payment event created
	sameJSON(t, "after-success hooks", afterSuccess(s.app), map[string]int{
		"OnModelAfterCreateSuccess": 4, "OnRecordAfterCreateSuccess": 4,
		"OnModelAfterUpdateSuccess": 1, "OnRecordAfterUpdateSuccess": 1,
	})
	msgs := watcher.WaitFor(t, 3)
	sameJSON(t, "realtime after paid", msgs[2:], []string{"orders update " + id + " paid"})

	// Stripe delivers again: recorded once, nothing else happens.
	s.app.ResetEventCalls()
	status, body = deliver(t, s.srv, ev)
	if status != http.StatusOK || strings.TrimSpace(body) != `{"received":true,"result":"duplicate"}` {
		t.Errorf("redelivery: %d %s", status, body)
	}
	sameJSON(t, "after-success hooks of a duplicate", afterSuccess(s.app), map[string]int{})
	if n := shoptest.Count(t, s.app, "payment_events"); n != 1 {
		t.Errorf("payment events: %d, want 1", n)
	}
	shoptest.CheckLedger(t, s.app)
}

// TestOrderCreateWithClientChosenID: the server chooses an order's id (issue
// 17): a client-chosen one, well-formed or not, is a 400 that writes nothing,
// on the group-commit writer's path as on any other.
func TestOrderCreateWithClientChosenID(t *testing.T) {
	t.Parallel()
	s := newCheckoutShop(t)
	place := func(id string) shoptest.Response {
		return shoptest.Do(t, s.srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
			"id": id, "email": "ann@example.com", "payment_method": "manual",
			"items": []map[string]any{{"product": s.pen.Id, "quantity": 1}},
		})
	}
	for _, id := range []string{"myorder00000001", "MYORDER00000001", "bad id!", "short"} {
		res := place(id)
		if res.Status != http.StatusBadRequest {
			t.Errorf("id %q: %d %s, want 400", id, res.Status, res.Raw)
		}
	}
	if n := shoptest.Count(t, s.app, "orders"); n != 0 {
		t.Errorf("orders: %d, want 0", n)
	}
	if got := shoptest.Stock(t, s.app, s.pen.Id); got != 50 {
		t.Errorf("stock %d, want 50", got)
	}
	shoptest.CheckLedger(t, s.app)
}
