package hooks_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeStripe is an HTTP server answering with Stripe's own JSON shapes for
// the cases stripe-mock cannot express: it always reports sessions as open
// and accepts every refund, so a paid session, a refused refund, the events
// that failed delivery and a session expiry we want to observe are served
// here instead.
type fakeStripe struct {
	*httptest.Server

	mu          sync.Mutex
	sessions    map[string]map[string]any // GET /v1/checkout/sessions/{id}
	events      []map[string]any          // GET /v1/events
	refundError string                    // POST /v1/refunds answers 400 with it
	refunds     []string                  // payment intents refunded
	onRefund    func()                    // runs before a refund is answered
	expired     chan string               // POST /v1/checkout/sessions/{id}/expire
}

func newFakeStripe(t *testing.T) *fakeStripe {
	t.Helper()
	f := &fakeStripe{sessions: map[string]map[string]any{}, expired: make(chan string, 10)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/checkout/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		s, ok := f.sessions[r.PathValue("id")]
		f.mu.Unlock()
		if !ok {
			stripeErrorJSON(w, http.StatusNotFound, "resource_missing", "No such checkout.session: '"+r.PathValue("id")+"'")
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
	mux.HandleFunc("POST /v1/checkout/sessions/{id}/expire", func(w http.ResponseWriter, r *http.Request) {
		f.expired <- r.PathValue("id")
		writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "object": "checkout.session", "status": "expired"})
	})
	mux.HandleFunc("POST /v1/refunds", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.onRefund != nil {
			f.onRefund()
		}
		if f.refundError != "" {
			stripeErrorJSON(w, http.StatusBadRequest, "charge_already_refunded", f.refundError)
			return
		}
		f.refunds = append(f.refunds, r.PostForm.Get("payment_intent"))
		writeJSON(w, http.StatusOK, map[string]any{
			"id": "re_fake", "object": "refund", "status": "succeeded",
			"payment_intent": r.PostForm.Get("payment_intent"), "amount": json.Number(r.PostForm.Get("amount")),
		})
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("delivery_success") != "false" {
			stripeErrorJSON(w, http.StatusBadRequest, "parameter_missing", "expected delivery_success=false")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": "/v1/events", "has_more": false, "data": f.events})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		stripeErrorJSON(w, http.StatusNotFound, "", "fakeStripe does not serve "+r.Method+" "+r.URL.Path)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeStripe) setSession(s map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[s["id"].(string)] = s
}

func (f *fakeStripe) addFailedEvent(ev map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append([]map[string]any{ev}, f.events...) // Stripe lists newest first
}

func (f *fakeStripe) refuseRefunds(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refundError = msg
}

func stripeErrorJSON(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
