package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/internal/payments"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/tests"
	"github.com/stripe/stripe-go/v76/webhook"
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

// TestWebhookRefusesFutureSignaturesAndEventsWithoutID: a signature dated
// more than five minutes ahead is refused like one five minutes old, and a
// signed event without an id is a 400 with nothing written.
func TestWebhookRefusesFutureSignaturesAndEventsWithoutID(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, "http://127.0.0.1:1", 10) // never called
	o := s.order(t, 1)
	signAt := func(ev map[string]any, at time.Time) ([]byte, string) {
		payload, _ := json.Marshal(ev)
		return payload, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: payload, Secret: testWebhookSecret, Timestamp: at}).Header
	}
	for _, tt := range []struct {
		name string
		ev   map[string]any
		at   time.Time
	}{
		{"signed an hour ahead", event("evt_future", payments.EventSessionCompleted, paidSession(o)), time.Now().Add(time.Hour)},
		{"signed six minutes ahead", event("evt_future2", payments.EventSessionCompleted, paidSession(o)), time.Now().Add(6 * time.Minute)},
		{"empty event id", event("", payments.EventSessionCompleted, paidSession(o)), time.Now()},
	} {
		payload, header := signAt(tt.ev, tt.at)
		if status, body := postWebhook(t, s.srv, payload, header); status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s, want 400", tt.name, status, body)
		}
	}
	if n := s.count(t, "payment_events", nil); n != 0 {
		t.Fatalf("%d payment_events written", n)
	}
	if st := s.reload(t, o.Id).GetString("status"); st != shop.StatusPending {
		t.Fatalf("order is %s", st)
	}
	// A clock a little ahead of ours is tolerated.
	payload, header := signAt(event("evt_soon", payments.EventSessionCompleted, paidSession(o)), time.Now().Add(2*time.Minute))
	if status, body := postWebhook(t, s.srv, payload, header); status != http.StatusOK {
		t.Fatalf("signed 2 minutes ahead: %d %s, want 200", status, body)
	}
}

// recordingStripe forwards to stripe-mock and keeps the expires_at of every
// Checkout Session the shop asks for.
func recordingStripe(t *testing.T) (string, func() []int64) {
	t.Helper()
	target, _ := url.Parse(shoptest.StripeMock(t))
	proxy := httputil.NewSingleHostReverseProxy(target)
	var (
		mu  sync.Mutex
		got []int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/checkout/sessions" {
			raw, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(raw))
			form, _ := url.ParseQuery(string(raw))
			at, _ := strconv.ParseInt(form.Get("expires_at"), 10, 64)
			mu.Lock()
			got = append(got, at)
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestLongReservationKeepsCardCheckoutWithinStripeLimits: with a 48-hour
// reservation a card order holds its stock 24 hours at most and asks
// Stripe for a session that ends when the hold does, within Stripe's 30
// minutes to 24 hours; a manual order keeps the long hold, or the one set
// apart for manual payments.
func TestLongReservationKeepsCardCheckoutWithinStripeLimits(t *testing.T) {
	t.Parallel()
	base, sessions := recordingStripe(t)
	s := newPayShop(t, base, 10)
	s.setSetting(t, "reservation_minutes", 2880)

	card := s.order(t, 1)
	if left := time.Until(card.GetDateTime("expires_at").Time()); left > 24*time.Hour {
		t.Fatalf("card order held for %v, want at most 24h", left.Round(time.Minute))
	}
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+card.Id+"/pay?token="+card.GetString("token"), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("pay: %d %s", res.Status, res.Raw)
	}
	asked := sessions()
	if len(asked) != 1 {
		t.Fatalf("%d sessions created, want 1", len(asked))
	}
	life := time.Until(time.Unix(asked[0], 0))
	if life < 30*time.Minute || life > 24*time.Hour {
		t.Fatalf("session asked to expire in %v, outside Stripe's 30m-24h", life.Round(time.Minute))
	}
	if held := s.reload(t, card.Id).GetDateTime("expires_at").Time().Unix(); held != asked[0] {
		t.Fatalf("hold ends at %d, session at %d", held, asked[0])
	}

	manual := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": s.product.Id, "quantity": 1}},
	})
	if left := time.Until(s.reload(t, manual["id"].(string)).GetDateTime("expires_at").Time()); left < 47*time.Hour {
		t.Fatalf("manual order held for %v, want 48h", left.Round(time.Minute))
	}
	s.setSetting(t, "manual_reservation_minutes", 7*24*60)
	manual = shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": s.product.Id, "quantity": 1}},
	})
	if left := time.Until(s.reload(t, manual["id"].(string)).GetDateTime("expires_at").Time()); left < 7*24*time.Hour-time.Hour {
		t.Fatalf("manual order held for %v, want 7 days", left.Round(time.Minute))
	}
}

// hungSMTP accepts connections and never says a word, like a wedged mail
// server. It returns its port and how many connections it took.
func hungSMTP(t *testing.T) (int, func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// TestHungSMTPServerIsLeftForTheNewSettings: with SMTP pointed at a server
// that accepts and never answers, an attempt gives up after the step
// timeout, and once the owner fixes the mail settings the very next
// attempt uses them: the emails queued meanwhile go to the new server.
func TestHungSMTPServerIsLeftForTheNewSettings(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	s.opts.Timeout = time.Second
	hungPort, hungConns := hungSMTP(t)
	setPort := func(port int) {
		settings, err := s.app.Settings().Clone()
		if err != nil {
			t.Fatal(err)
		}
		settings.SMTP.Port = port
		if err := s.app.Save(settings); err != nil {
			t.Fatal(err)
		}
	}
	setPort(hungPort)

	p := shoptest.CreateProduct(t, s.app, "mug", 1500, 10)
	for i := range 4 {
		s.placeOrder(t, fmt.Sprintf("c%d@example.com", i), "manual", mailItem(p, 1))
	}
	queued := len(s.outbox(t, "status = 'queued'"))

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = hooks.SendDueEmails(context.Background(), s.app, s.opts)
	}()
	for hungConns() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	setPort(s.mp.SMTPPort) // the owner fixes the settings
	select {
	case <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("the pass is still talking to the hung server")
	}
	if n := hungConns(); n != 1 {
		t.Errorf("the hung server got %d connections, want 1 (the attempt before the fix)", n)
	}
	if got := len(s.mp.Messages(t)); got != queued-1 {
		t.Errorf("%d messages reached the fixed server in the same pass, want %d", got, queued-1)
	}
	failed := s.outbox(t, "status = 'queued' && attempts = 1")
	if len(failed) != 1 || failed[0].GetString("last_error") == "" {
		t.Errorf("%d emails waiting for a retry with an error, want 1", len(failed))
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

// TestCustomerEmailsNeverEchoFreeText: an order placed to someone else's
// address cannot use the shop to mail them a message: the customer's
// emails leave out the note (the owner's notification keeps it), and the
// name and address lines read as plain text that no mail client turns
// into a link.
func TestCustomerEmailsNeverEchoFreeText(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	p := shoptest.CreateProduct(t, s.app, "mug", 1500, 10)
	lure := "Your account is locked: http://evil.example/login"
	o := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "victim@example.org", "payment_method": "manual", "note": lure,
		"items": []map[string]any{{"product": p.Id, "quantity": 1}},
		"shipping_address": map[string]any{"name": "See www.evil.example", "line1": "http://evil.example/login",
			"city": "Springfield", "postal_code": "12345", "country": "US"},
	})
	s.move(t, o["id"].(string), shop.StatusPaid, shop.ActorAdmin, nil)
	s.send(t)

	var customer, owner int
	for _, m := range s.mp.Messages(t) {
		switch strings.Join(m.To, ",") {
		case "victim@example.org":
			customer++
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, bad := range []string{"locked", "evil.example", "http://evil"} {
					if strings.Contains(body, bad) {
						t.Errorf("%q, %s part holds %q:\n%s", m.Subject, part, bad, body)
					}
				}
				if !strings.Contains(body, "Springfield") {
					t.Errorf("%q, %s part lacks the address:\n%s", m.Subject, part, body)
				}
			}
		case mailOwner:
			owner++
			if !strings.Contains(m.Text, "Your account is locked") {
				t.Errorf("the owner's %q lacks the customer's note:\n%s", m.Subject, m.Text)
			}
		}
	}
	if customer != 2 || owner != 1 {
		t.Fatalf("%d customer and %d owner emails, want 2 and 1", customer, owner)
	}
}
