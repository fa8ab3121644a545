package payments_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"pocketshop/internal/payments"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/stripe/stripe-go/v76/webhook"
)

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
