package payments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/jobs"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/payments"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testWebhookSecret = "whsec_pocketshop_test"

// payShop is a test shop with Stripe configured against apiBase.
type payShop struct {
	app     *tests.TestApp
	srv     *httptest.Server
	product *core.Record
}

func newPayShop(t *testing.T, apiBase string, stock int) *payShop {
	t.Helper()
	app := shoptest.NewApp(t, hooks.Deps{Payments: pay.Config{
		SecretKey: "sk_test_pocketshop", WebhookSecret: testWebhookSecret, APIBase: apiBase,
	}})
	p := shoptest.CreateProduct(t, app, "mug", 1500, stock)
	return &payShop{app: app, srv: shoptest.Serve(t, app), product: p}
}

// newMemoryShop is a test shop whose payments go to mem.
func newMemoryShop(t *testing.T, mem *pay.Memory, stock int) *payShop {
	t.Helper()
	app := shoptest.NewApp(t, hooks.Deps{Provider: mem})
	p := shoptest.CreateProduct(t, app, "mug", 1500, stock)
	return &payShop{app: app, srv: shoptest.Serve(t, app), product: p}
}

// order places a Stripe order for qty mugs as a guest: 1500*qty plus 500
// shipping (under the free shipping threshold).
func (s *payShop) order(t *testing.T, qty int) *core.Record {
	t.Helper()
	o := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe",
		"items": []map[string]any{{"product": s.product.Id, "quantity": qty}},
	})
	return s.reload(t, o["id"].(string))
}

func (s *payShop) reload(t *testing.T, id string) *core.Record {
	t.Helper()
	r, err := s.app.FindRecordById("orders", id)
	if err != nil {
		t.Fatalf("find order: %v", err)
	}
	return r
}

// setFields writes fields on an order directly (test setup, as if earlier
// steps had happened).
func (s *payShop) setFields(t *testing.T, orderID string, fields map[string]any) {
	t.Helper()
	r := s.reload(t, orderID)
	for k, v := range fields {
		r.Set(k, v)
	}
	if err := s.app.Save(r); err != nil {
		t.Fatalf("set order fields: %v", err)
	}
}

func (s *payShop) stock(t *testing.T) int {
	t.Helper()
	p, err := s.app.FindRecordById("products", s.product.Id)
	if err != nil {
		t.Fatal(err)
	}
	return p.GetInt("stock")
}

func (s *payShop) setStock(t *testing.T, n int) {
	t.Helper()
	p, _ := s.app.FindRecordById("products", s.product.Id)
	p.Set("stock", n)
	if err := s.app.Save(p); err != nil {
		t.Fatal(err)
	}
}

func (s *payShop) setSetting(t *testing.T, field string, value any) {
	t.Helper()
	rs, err := s.app.FindAllRecords("shop_settings")
	if err != nil || len(rs) == 0 {
		t.Fatalf("settings: %v", err)
	}
	rs[0].Set(field, value)
	if err := s.app.Save(rs[0]); err != nil {
		t.Fatal(err)
	}
}

func (s *payShop) count(t *testing.T, collection string, where dbx.HashExp) int {
	t.Helper()
	var exprs []dbx.Expression
	if where != nil {
		exprs = append(exprs, where)
	}
	n, err := s.app.CountRecords(collection, exprs...)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// orderEvents returns the order's timeline, oldest first.
func (s *payShop) orderEvents(t *testing.T, orderID string) []*core.Record {
	t.Helper()
	var rs []*core.Record
	err := s.app.RecordQuery("order_events").AndWhere(dbx.HashExp{"order": orderID}).
		OrderBy("created ASC", "rowid ASC").All(&rs)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func (s *payShop) paymentEvent(t *testing.T, eventID string) *core.Record {
	t.Helper()
	r, err := s.app.FindFirstRecordByData("payment_events", "event_id", eventID)
	if err != nil {
		t.Fatalf("payment event %s: %v", eventID, err)
	}
	return r
}

// paidSession is a checkout.session object as Stripe sends it for order o.
func paidSession(o *core.Record) map[string]any {
	return map[string]any{
		"id": "cs_test_" + o.Id, "object": "checkout.session", "status": "complete", "payment_status": "paid",
		"amount_total": o.GetInt("total_cents"), "currency": o.GetString("currency"),
		"client_reference_id": o.Id, "payment_intent": "pi_" + o.Id, "metadata": map[string]string{"order_id": o.Id},
	}
}

// paidSessionOf is paidSession as the payment provider reports it.
func paidSessionOf(o *core.Record) pay.Session {
	return pay.Session{
		ID: "cs_test_" + o.Id, Status: pay.SessionComplete, PaymentStatus: pay.PaymentPaid,
		AmountTotal: int64(o.GetInt("total_cents")), Currency: o.GetString("currency"),
		OrderID: o.Id, PaymentIntent: "pi_" + o.Id,
	}
}

// failedPaidEvent is a checkout.session.completed event for o that Stripe
// could not deliver.
func failedPaidEvent(id string, o *core.Record) pay.Event {
	sess := paidSessionOf(o)
	return pay.Event{ID: id, Type: pay.EventSessionCompleted, Created: time.Now(), Session: &sess}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func charge(o *core.Record, refunded int) map[string]any {
	return map[string]any{
		"id": "ch_" + o.Id, "object": "charge", "payment_intent": "pi_" + o.Id,
		"amount": o.GetInt("total_cents"), "amount_refunded": refunded, "currency": o.GetString("currency"),
		"refunded": refunded == o.GetInt("total_cents"), "metadata": map[string]string{},
	}
}

// event is a Stripe event as its webhook delivers it.
func event(id, typ string, object map[string]any) map[string]any {
	return map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": pay.APIVersion,
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
	return postWebhook(t, srv, payload, signed.Header)
}

func postWebhook(t *testing.T, srv *httptest.Server, payload []byte, signature string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/shop/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Errorf("deliver: %v", err)
		return 0, ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func mustDeliver(t *testing.T, srv *httptest.Server, ev map[string]any) {
	t.Helper()
	if status, body := deliver(t, srv, ev); status != http.StatusOK {
		t.Fatalf("deliver %s: %d %s", ev["type"], status, body)
	}
}

func TestPaymentsNotConfigured(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "mug", 1500, 5)
	srv := shoptest.Serve(t, app)

	place := func(method string) map[string]any {
		return shoptest.PlaceOrder(t, srv, "", map[string]any{
			"email": "ann@example.com", "payment_method": method,
			"items": []map[string]any{{"product": p.Id, "quantity": 1}},
		})
	}
	o := place("stripe")
	res := shoptest.Do(t, srv, http.MethodPost, fmt.Sprintf("/api/shop/orders/%s/pay?token=%s", o["id"], o["token"]), "", nil)
	if res.Status != http.StatusServiceUnavailable || res.Body["message"] != "Payments are not configured." {
		t.Fatalf("stripe pay without keys: %d %s", res.Status, res.Raw)
	}

	m := place("manual")
	res = shoptest.Do(t, srv, http.MethodPost, fmt.Sprintf("/api/shop/orders/%s/pay?token=%s", m["id"], m["token"]), "", nil)
	if res.Status != http.StatusOK || !strings.Contains(fmt.Sprint(res.Body["instructions"]), "bank transfer") {
		t.Fatalf("manual pay: %d %s", res.Status, res.Raw)
	}

	status, body := postWebhook(t, srv, []byte(`{}`), "t=1,v1=00")
	if status != http.StatusServiceUnavailable {
		t.Fatalf("webhook without keys: %d %s", status, body)
	}

	n, err := payments.Reconcile(context.Background(), app)
	if n != 0 || err != nil {
		t.Fatalf("reconcile without keys = %d, %v", n, err)
	}
}

func TestPayCreatesCheckoutSession(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, shoptest.StripeMock(t), 10)
	_, annToken := shoptest.CreateUser(t, s.app, "ann@example.com")
	_, bobToken := shoptest.CreateUser(t, s.app, "bob@example.com")

	o := shoptest.PlaceOrder(t, s.srv, annToken, map[string]any{
		"payment_method": "stripe", "items": []map[string]any{{"product": s.product.Id, "quantity": 1}},
	})
	id := o["id"].(string)
	payPath := "/api/shop/orders/" + id + "/pay"

	for name, token := range map[string]string{"another customer": bobToken, "a guest": ""} {
		if res := shoptest.Do(t, s.srv, http.MethodPost, payPath, token, nil); res.Status != http.StatusNotFound {
			t.Fatalf("pay as %s: %d %s, want 404", name, res.Status, res.Raw)
		}
	}

	first := shoptest.Do(t, s.srv, http.MethodPost, payPath, annToken, nil)
	url, _ := first.Body["url"].(string)
	if first.Status != http.StatusOK || !strings.HasPrefix(url, "https://") {
		t.Fatalf("pay: %d %s", first.Status, first.Raw)
	}
	order := s.reload(t, id)
	sessionID := order.GetString("stripe_session_id")
	if sessionID == "" || order.GetDateTime("stripe_session_at").IsZero() {
		t.Fatalf("session not stored: %v", order.PublicExport())
	}
	// The default 30 minute reservation is shorter than Stripe's minimum
	// session life: it was extended to cover the session.
	if left := time.Until(order.GetDateTime("expires_at").Time()); left < 31*time.Minute {
		t.Fatalf("reservation left %v, want at least 31m", left)
	}

	second := shoptest.Do(t, s.srv, http.MethodPost, payPath, annToken, nil)
	if second.Status != http.StatusOK || second.Body["url"] != url {
		t.Fatalf("second pay: %d %s, want the same url %s", second.Status, second.Raw, url)
	}
	if got := s.reload(t, id).GetString("stripe_session_id"); got != sessionID {
		t.Fatalf("second pay replaced the session: %s -> %s", sessionID, got)
	}

	// Not pending any more: refused.
	if res := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+id+"/cancel", annToken, nil); res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	res := shoptest.Do(t, s.srv, http.MethodPost, payPath, annToken, nil)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "cancelled") {
		t.Fatalf("pay cancelled order: %d %s", res.Status, res.Raw)
	}

	// Reservation over (the expiry job has not run yet): refused.
	late := s.order(t, 1)
	s.setFields(t, late.Id, map[string]any{"expires_at": time.Now().Add(-time.Minute)})
	res = shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+late.Id+"/pay?token="+late.GetString("token"), "", nil)
	if res.Status != http.StatusBadRequest {
		t.Fatalf("pay after the reservation: %d %s", res.Status, res.Raw)
	}
}

func TestWebhookRejectsBadSignatures(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10) // never called
	o := s.order(t, 1)
	payload, _ := json.Marshal(event("evt_bad", pay.EventSessionCompleted, paidSession(o)))
	sign := func(secret string, at time.Time) string {
		return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
	}

	tests := []struct{ name, header string }{
		{"forged", sign("whsec_someone_else", time.Now())},
		{"expired", sign(testWebhookSecret, time.Now().Add(-10*time.Minute))},
		{"missing", ""},
		{"garbage", "not a signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postWebhook(t, s.srv, payload, tt.header)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", status, body)
			}
		})
	}
	if n := s.count(t, "payment_events", nil); n != 0 {
		t.Fatalf("%d payment_events written", n)
	}
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusPending {
		t.Fatalf("order is %s", st)
	}
	if n := len(s.orderEvents(t, o.Id)); n != 1 {
		t.Fatalf("%d order events, want 1", n)
	}
}

func TestWebhookReplayedConcurrentlyHasOneEffect(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10)
	o := s.order(t, 2)
	ev := event("evt_replay", pay.EventSessionCompleted, paidSession(o))

	var wg sync.WaitGroup
	statuses := make([]int, 5)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = deliver(t, s.srv, ev)
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("delivery %d: %d", i, st)
		}
	}

	order := s.reload(t, o.Id)
	if order.GetString("status") != shop.StatusPaid || order.GetString("stripe_payment_intent") != "pi_"+o.Id {
		t.Fatalf("order: %v", order.PublicExport())
	}
	if n := s.count(t, "payment_events", dbx.HashExp{"event_id": "evt_replay"}); n != 1 {
		t.Fatalf("%d payment_events rows, want 1", n)
	}
	if n := s.count(t, "order_events", dbx.HashExp{"order": o.Id, "to_status": "paid"}); n != 1 {
		t.Fatalf("%d paid order events, want 1", n)
	}
	if got := s.stock(t); got != 8 {
		t.Fatalf("stock %d, want 8 (reserved once)", got)
	}
}

func TestWebhookOutOfOrderAndLateEvents(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10)

	// expired arrives after completed: the order stays paid.
	a := s.order(t, 1)
	s.setFields(t, a.Id, map[string]any{"stripe_session_id": "cs_test_" + a.Id})
	mustDeliver(t, s.srv, event("evt_a_completed", pay.EventSessionCompleted, paidSession(a)))
	mustDeliver(t, s.srv, event("evt_a_expired", pay.EventSessionExpired,
		with(paidSession(a), "status", "expired", "payment_status", "unpaid")))
	if st := s.reload(t, a.Id).GetString("status"); st != shop.StatusPaid {
		t.Fatalf("a is %s, want paid", st)
	}
	if r := s.paymentEvent(t, "evt_a_expired"); r.GetString("result") != "ignored" {
		t.Fatalf("late expired event: %v", r.PublicExport())
	}

	// async success first, then the completed event that announced it.
	b := s.order(t, 1)
	mustDeliver(t, s.srv, event("evt_b_async", pay.EventSessionAsyncSucceeded, paidSession(b)))
	mustDeliver(t, s.srv, event("evt_b_completed", pay.EventSessionCompleted, with(paidSession(b), "payment_status", "unpaid")))
	if n := s.count(t, "order_events", dbx.HashExp{"order": b.Id, "to_status": "paid"}); n != 1 {
		t.Fatalf("b paid %d times", n)
	}

	// Two partial refunds whose events arrive in reverse order: Stripe's
	// cumulative amount_refunded leaves the right total.
	total := a.GetInt("total_cents") // 2000
	mustDeliver(t, s.srv, event("evt_a_refund2", pay.EventChargeRefunded, charge(a, 800)))
	mustDeliver(t, s.srv, event("evt_a_refund1", pay.EventChargeRefunded, charge(a, 300)))
	if got := s.reload(t, a.Id).GetInt("refunded_cents"); got != 800 {
		t.Fatalf("refunded_cents %d, want 800", got)
	}
	mustDeliver(t, s.srv, event("evt_a_refund3", pay.EventChargeRefunded, charge(a, total)))
	order := s.reload(t, a.Id)
	if order.GetString("status") != shop.StatusRefunded || order.GetInt("refunded_cents") != total {
		t.Fatalf("after full refund: %v", order.PublicExport())
	}
	var amounts []string
	for _, ev := range s.orderEvents(t, a.Id) {
		amounts = append(amounts, fmt.Sprintf("%s>%s:%d", ev.GetString("from_status"), ev.GetString("to_status"), ev.GetInt("amount_cents")))
	}
	want := []string{">pending:0", "pending>paid:0", "paid>paid:800", fmt.Sprintf("paid>refunded:%d", total-800)}
	if fmt.Sprint(amounts) != fmt.Sprint(want) {
		t.Fatalf("timeline %v, want %v", amounts, want)
	}

	// A refund for an order whose payment is not recorded yet waits for
	// redelivery: not recorded, not acknowledged.
	c := s.order(t, 1)
	s.setFields(t, c.Id, map[string]any{"stripe_payment_intent": "pi_" + c.Id})
	if status, body := deliver(t, s.srv, event("evt_c_refund", pay.EventChargeRefunded, charge(c, 100))); status != http.StatusServiceUnavailable {
		t.Fatalf("early refund: %d %s", status, body)
	}
	if n := s.count(t, "payment_events", dbx.HashExp{"event_id": "evt_c_refund"}); n != 0 {
		t.Fatal("early refund was recorded")
	}

	// Unknown types are recorded and acknowledged.
	mustDeliver(t, s.srv, event("evt_other", "customer.created", map[string]any{"id": "cus_1", "object": "customer"}))
	if r := s.paymentEvent(t, "evt_other"); r.GetString("result") != "ignored" {
		t.Fatalf("unknown type: %v", r.PublicExport())
	}
}

func TestWebhookSessionExpiredReleasesStock(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10)
	o := s.order(t, 3)
	s.setFields(t, o.Id, map[string]any{"stripe_session_id": "cs_test_" + o.Id})
	mustDeliver(t, s.srv, event("evt_expired", pay.EventSessionExpired,
		with(paidSession(o), "status", "expired", "payment_status", "unpaid")))
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusExpired {
		t.Fatalf("order is %s", st)
	}
	if got := s.stock(t); got != 10 {
		t.Fatalf("stock %d, want 10", got)
	}
}

func TestWebhookAmountMismatch(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10)
	tests := []struct {
		name   string
		change []any
	}{
		{"amount", []any{"amount_total", 1}},
		{"currency", []any{"currency", "eur"}},
	}
	for _, tt := range tests {
		o := s.order(t, 1)
		evID := "evt_mismatch_" + tt.name
		mustDeliver(t, s.srv, event(evID, pay.EventSessionCompleted, with(paidSession(o), tt.change...)))
		order := s.reload(t, o.Id)
		if order.GetString("status") != shop.StatusPending || order.GetString("payment_issue") != "amount_mismatch" {
			t.Fatalf("%s: order %v", tt.name, order.PublicExport())
		}
		r := s.paymentEvent(t, evID)
		if r.GetString("result") != "failed" || !strings.Contains(r.GetString("error"), "Amount mismatch") || r.GetString("order") != o.Id {
			t.Fatalf("%s: payment event %v", tt.name, r.PublicExport())
		}

		// The owner refunds the payment in Stripe: recorded, the customer told.
		mustDeliver(t, s.srv, event(evID+"_refund", pay.EventChargeRefunded, charge(o, 1)))
		if got := s.reload(t, o.Id).GetInt("refunded_cents"); got != 1 {
			t.Fatalf("%s: refunded_cents %d", tt.name, got)
		}
		if n := s.count(t, "emails", dbx.HashExp{"order": o.Id, "kind": "order_payment_update"}); n != 1 {
			t.Fatalf("%s: %d refund emails", tt.name, n)
		}
	}
}

func TestLatePayment(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, shoptest.StripeMock(t), 2)
	expire := func(o *core.Record) {
		t.Helper()
		if _, err := orders.Move(s.app, o.Id, shop.StatusExpired, shop.ActorSystem, "Reservation ended.", nil); err != nil {
			t.Fatal(err)
		}
	}

	// Stock still there: the order becomes paid and its stock is reserved again.
	a := s.order(t, 2)
	expire(a)
	mustDeliver(t, s.srv, event("evt_late_a", pay.EventSessionCompleted, paidSession(a)))
	if st := s.reload(t, a.Id).GetString("status"); st != shop.StatusPaid {
		t.Fatalf("a is %s, want paid", st)
	}
	if got := s.stock(t); got != 0 {
		t.Fatalf("stock %d, want 0", got)
	}

	// Stock gone: refunded automatically (the default), never oversold.
	s.setStock(t, 2)
	b := s.order(t, 2)
	expire(b)
	s.order(t, 2) // someone else takes the stock
	mustDeliver(t, s.srv, event("evt_late_b", pay.EventSessionCompleted, paidSession(b)))
	order := s.reload(t, b.Id)
	total := order.GetInt("total_cents")
	if order.GetString("status") != shop.StatusExpired || order.GetString("payment_issue") != "late_payment_refunded" ||
		order.GetInt("refunded_cents") != total || order.GetString("stripe_payment_intent") != "pi_"+b.Id {
		t.Fatalf("b: %v", order.PublicExport())
	}
	if got := s.stock(t); got != 0 {
		t.Fatalf("stock %d, want 0", got)
	}
	evs := s.orderEvents(t, b.Id)
	last := evs[len(evs)-1]
	if last.GetInt("amount_cents") != total || last.GetString("to_status") != shop.StatusExpired || !strings.Contains(last.GetString("message"), "refunded") {
		t.Fatalf("customer not told: %v", last.PublicExport())
	}
	// Stripe's charge.refunded for that refund changes nothing more.
	mustDeliver(t, s.srv, event("evt_late_b_refunded", pay.EventChargeRefunded, charge(b, total)))
	if n := len(s.orderEvents(t, b.Id)); n != len(evs) {
		t.Fatalf("refund recorded twice: %d events", n)
	}

	// The owner prefers to decide: flagged, the customer told, and the
	// order completed by reconciliation once stock is back.
	s.setSetting(t, "late_payment_action", "flag")
	s.setStock(t, 2)
	c := s.order(t, 2)
	expire(c)
	s.order(t, 2)
	mustDeliver(t, s.srv, event("evt_late_c", pay.EventSessionCompleted, paidSession(c)))
	order = s.reload(t, c.Id)
	if order.GetString("status") != shop.StatusExpired || order.GetString("payment_issue") != "late_payment_flagged" || order.GetInt("refunded_cents") != 0 {
		t.Fatalf("c: %v", order.PublicExport())
	}
	evs = s.orderEvents(t, c.Id)
	if msg := evs[len(evs)-1].GetString("message"); !strings.Contains(msg, "sold out") {
		t.Fatalf("customer not told: %q", msg)
	}
	// Both late payments reach the customer's outbox.
	for _, o := range []*core.Record{b, c} {
		if n := s.count(t, "emails", dbx.HashExp{"order": o.Id, "kind": "order_payment_update"}); n != 1 {
			t.Fatalf("%d payment update emails for order %s, want 1", n, o.Id)
		}
	}
	s.setStock(t, 2)
	if _, err := payments.Reconcile(context.Background(), s.app); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	order = s.reload(t, c.Id)
	if order.GetString("status") != shop.StatusPaid || order.GetString("payment_issue") != "" {
		t.Fatalf("c after restock: %v", order.PublicExport())
	}
}

func TestDashboardRefund(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, shoptest.StripeMock(t), 10)
	s.setSetting(t, "restock_on_refund", true)
	owner := shoptest.SuperuserToken(t, s.app)

	o := s.order(t, 2)
	mustDeliver(t, s.srv, event("evt_paid", pay.EventSessionCompleted, paidSession(o)))
	mustDeliver(t, s.srv, event("evt_partial", pay.EventChargeRefunded, charge(o, 500)))

	res := shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/orders/records/"+o.Id, owner, map[string]any{"status": "refunded"})
	if res.Status != http.StatusOK {
		t.Fatalf("refund: %d %s", res.Status, res.Raw)
	}
	order := s.reload(t, o.Id)
	total := order.GetInt("total_cents")
	if order.GetString("status") != shop.StatusRefunded || order.GetInt("refunded_cents") != total {
		t.Fatalf("order: %v", order.PublicExport())
	}
	evs := s.orderEvents(t, o.Id)
	last := evs[len(evs)-1]
	if last.GetString("to_status") != shop.StatusRefunded || last.GetString("actor") != shop.ActorAdmin || last.GetInt("amount_cents") != total-500 {
		t.Fatalf("refund event: %v", last.PublicExport())
	}
	if got := s.stock(t); got != 10 {
		t.Fatalf("stock %d, want 10 (restocked)", got)
	}
}

// TestDashboardRefundRacesItsWebhook has Stripe deliver charge.refunded
// while the dashboard's refund call is still waiting for Stripe's answer:
// the order is refunded and restocked once.
func TestDashboardRefundRacesItsWebhook(t *testing.T) {
	t.Parallel()
	mem := pay.NewMemory(testWebhookSecret)
	s := newMemoryShop(t, mem, 10)
	s.setSetting(t, "restock_on_refund", true)
	owner := shoptest.SuperuserToken(t, s.app)

	o := s.order(t, 2)
	mustDeliver(t, s.srv, event("evt_paid", pay.EventSessionCompleted, paidSession(o)))
	mem.BeforeRefund(func() { // on the request's goroutine: no t.Fatal here
		if status, body := deliver(t, s.srv, event("evt_refunded", pay.EventChargeRefunded, charge(o, o.GetInt("total_cents")))); status != http.StatusOK {
			t.Errorf("charge.refunded: %d %s", status, body)
		}
	})
	res := shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/orders/records/"+o.Id, owner, map[string]any{"status": "refunded"})
	if res.Status != http.StatusOK {
		t.Fatalf("refund: %d %s", res.Status, res.Raw)
	}
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusRefunded {
		t.Fatalf("order is %s", st)
	}
	if n := s.count(t, "order_events", dbx.HashExp{"order": o.Id, "to_status": "refunded"}); n != 1 {
		t.Fatalf("%d refunded events, want 1", n)
	}
	if got := s.stock(t); got != 10 {
		t.Fatalf("stock %d, want 10 (restocked once)", got)
	}
}

func TestDashboardRefundRefusedByStripe(t *testing.T) {
	t.Parallel()
	mem := pay.NewMemory(testWebhookSecret)
	mem.RefuseRefunds("Charge ch_123 has already been refunded.")
	s := newMemoryShop(t, mem, 10)
	owner := shoptest.SuperuserToken(t, s.app)

	o := s.order(t, 1)
	mustDeliver(t, s.srv, event("evt_paid", pay.EventSessionCompleted, paidSession(o)))
	res := shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/orders/records/"+o.Id, owner, map[string]any{"status": "refunded"})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "has already been refunded") {
		t.Fatalf("refused refund: %d %s", res.Status, res.Raw)
	}
	order := s.reload(t, o.Id)
	if order.GetString("status") != shop.StatusPaid || order.GetInt("refunded_cents") != 0 {
		t.Fatalf("order changed: %v", order.PublicExport())
	}
	if got := s.stock(t); got != 9 {
		t.Fatalf("stock %d, want 9", got)
	}

	// The owner may clear a payment issue, never raise one (a pending
	// refund flag would make reconciliation refund a paid order).
	res = shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/orders/records/"+o.Id, owner,
		map[string]any{"payment_issue": "late_payment_refund_pending"})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "payment_issue") {
		t.Fatalf("set payment_issue: %d %s", res.Status, res.Raw)
	}
	s.setFields(t, o.Id, map[string]any{"payment_issue": "amount_mismatch"})
	res = shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/orders/records/"+o.Id, owner, map[string]any{"payment_issue": ""})
	if res.Status != http.StatusOK || s.reload(t, o.Id).GetString("payment_issue") != "" {
		t.Fatalf("clear payment_issue: %d %s", res.Status, res.Raw)
	}
}

func TestReconcilePayments(t *testing.T) {
	t.Parallel()
	mem := pay.NewMemory(testWebhookSecret)
	s := newMemoryShop(t, mem, 10)

	// A paid session whose webhook never came.
	a := s.order(t, 1)
	s.setFields(t, a.Id, map[string]any{"stripe_session_id": "cs_test_" + a.Id, "stripe_session_at": time.Now().Add(-10 * time.Minute)})
	mem.SetSession(paidSessionOf(a))
	// A session too new to ask about.
	b := s.order(t, 1)
	s.setFields(t, b.Id, map[string]any{"stripe_session_id": "cs_test_" + b.Id, "stripe_session_at": time.Now()})
	mem.SetSession(paidSessionOf(b))
	// An event Stripe failed to deliver.
	c := s.order(t, 1)
	mem.AddFailedEvent(failedPaidEvent("evt_failed_c", c))

	n, err := payments.Reconcile(context.Background(), s.app)
	if err != nil || n != 2 {
		t.Fatalf("reconcile = %d, %v; want 2, nil", n, err)
	}
	for id, want := range map[string]string{a.Id: "paid", b.Id: "pending", c.Id: "paid"} {
		if st := s.reload(t, id).GetString("status"); st != want {
			t.Fatalf("order %s is %s, want %s", id, st, want)
		}
	}
	if r := s.paymentEvent(t, "reconcile:cs_test_"+a.Id+":complete"); r.GetString("result") != "applied" {
		t.Fatalf("reconciled event: %v", r.PublicExport())
	}

	// The late webhook and a second run change nothing.
	mustDeliver(t, s.srv, event("evt_a_completed", pay.EventSessionCompleted, paidSession(a)))
	if n, err := payments.Reconcile(context.Background(), s.app); err != nil || n != 0 {
		t.Fatalf("second reconcile = %d, %v; want 0, nil", n, err)
	}
	if n := s.count(t, "order_events", dbx.HashExp{"order": a.Id, "to_status": "paid"}); n != 1 {
		t.Fatalf("a paid %d times", n)
	}
}

func TestClosedOrderExpiresItsSession(t *testing.T) {
	t.Parallel()
	mem := pay.NewMemory(testWebhookSecret)
	s := newMemoryShop(t, mem, 10)
	o := s.order(t, 1)
	s.setFields(t, o.Id, map[string]any{"stripe_session_id": "cs_test_" + o.Id})

	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+o.Id+"/cancel?token="+o.GetString("token"), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	select {
	case id := <-mem.Expired():
		if id != "cs_test_"+o.Id {
			t.Fatalf("expired session %s", id)
		}
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("the session was not expired at Stripe")
	}
}

func TestWebhookAcceptsLargeEvents(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10)
	o := s.order(t, 1)
	big := with(paidSession(o), "metadata", map[string]string{"order_id": o.Id, "padding": strings.Repeat("x", 100<<10)})
	mustDeliver(t, s.srv, event("evt_big", pay.EventSessionCompleted, big))
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusPaid {
		t.Fatalf("order is %s", st)
	}
	huge := with(big, "metadata", map[string]string{"padding": strings.Repeat("x", 2<<20)})
	if status, _ := deliver(t, s.srv, event("evt_huge", pay.EventSessionCompleted, huge)); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB event: %d, want 413", status)
	}
}

func TestPayFindsTheSessionAlreadyPaid(t *testing.T) {
	t.Parallel()
	mem := pay.NewMemory(testWebhookSecret)
	s := newMemoryShop(t, mem, 10)
	o := s.order(t, 1)
	s.setFields(t, o.Id, map[string]any{"stripe_session_id": "cs_test_" + o.Id, "stripe_session_at": time.Now()})
	mem.SetSession(paidSessionOf(o)) // paid, and the webhook is not here yet

	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+o.Id+"/pay?token="+o.GetString("token"), "", nil)
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "already been paid") {
		t.Fatalf("pay: %d %s", res.Status, res.Raw)
	}
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusPaid {
		t.Fatalf("order is %s, want paid", st)
	}
	mustDeliver(t, s.srv, event("evt_late_webhook", pay.EventSessionCompleted, paidSession(o)))
	if n := s.count(t, "order_events", dbx.HashExp{"order": o.Id, "to_status": "paid"}); n != 1 {
		t.Fatalf("paid %d times", n)
	}
}

func TestWebhookWithoutSecret(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{Payments: pay.Config{SecretKey: "sk_test_pocketshop", APIBase: "http://127.0.0.1:1"}})
	srv := shoptest.Serve(t, app)
	payload, _ := json.Marshal(event("evt_x", "customer.created", map[string]any{"id": "cus_1"}))
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret})
	if status, body := postWebhook(t, srv, payload, signed.Header); status != http.StatusServiceUnavailable {
		t.Fatalf("webhook without a secret: %d %s", status, body)
	}
	if n, _ := app.CountRecords("payment_events"); n != 0 {
		t.Fatalf("%d payment_events written", n)
	}
}

func TestReconcilePaymentsJob(t *testing.T) {
	t.Parallel()
	mem := pay.NewMemory(testWebhookSecret)
	s := newMemoryShop(t, mem, 10)
	o := s.order(t, 1)
	mem.AddFailedEvent(failedPaidEvent("evt_failed", o))

	sched, err := hooks.NewScheduler(s.app, hooks.Deps{Provider: mem})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sched.RunNow(context.Background(), jobs.ReconcilePayments); err != nil {
		t.Fatalf("run: %v", err)
	}
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusPaid {
		t.Fatalf("order is %s, want paid", st)
	}
	run, err := s.app.FindFirstRecordByData("job_runs", "job", jobs.ReconcilePayments)
	if err != nil || !run.GetBool("ok") || run.GetInt("processed") != 1 {
		t.Fatalf("job run: %v, %v", run, err)
	}
}
