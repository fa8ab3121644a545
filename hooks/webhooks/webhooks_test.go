package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/webhooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// hookShop is a shop whose webhooks may go to this machine (httptest
// receivers), sent only when the test calls send.
type hookShop struct {
	app   *tests.TestApp
	srv   *httptest.Server
	clock *shoptest.Clock
	opts  webhooks.Options
	token string // the owner's
}

func newHookShop(t *testing.T) *hookShop {
	t.Helper()
	clock := shoptest.NewClock(time.Now().UTC())
	opts := webhooks.Options{AllowPrivate: true, Interval: -1, Now: clock.Now, Timeout: 2 * time.Second}
	app := shoptest.NewApp(t, hooks.Deps{Now: clock.Now, Webhooks: opts})
	return &hookShop{app: app, srv: shoptest.Serve(t, app), clock: clock, opts: opts, token: shoptest.SuperuserToken(t, app)}
}

func (s *hookShop) send(t *testing.T) int {
	t.Helper()
	n, err := webhooks.SendDue(context.Background(), s.app, s.opts)
	if err != nil {
		t.Fatalf("send due webhooks: %v", err)
	}
	return n
}

// addEndpoint saves an endpoint through the records API, as the owner does
// in the dashboard, and returns it with its secret.
func (s *hookShop) addEndpoint(t *testing.T, url string, events ...string) *core.Record {
	t.Helper()
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/collections/webhook_endpoints/records", s.token,
		map[string]any{"url": url, "events": events, "active": true, "description": "test receiver"})
	if res.Status != http.StatusOK {
		t.Fatalf("add endpoint: %d %s", res.Status, res.Raw)
	}
	ep, err := s.app.FindRecordById("webhook_endpoints", res.Body["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func (s *hookShop) deliveries(t *testing.T, filter string) []*core.Record {
	t.Helper()
	rows, err := s.app.FindRecordsByFilter("webhook_deliveries", filter, "created", 0, 0)
	if err != nil {
		t.Fatalf("list deliveries: %v", err)
	}
	return rows
}

func (s *hookShop) placeOrder(t *testing.T, p *core.Record, qty int) string {
	t.Helper()
	res := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": p.Id, "quantity": qty}},
	})
	return res["id"].(string)
}

// received is one POST a receiver got.
type received struct {
	body                       []byte
	event, delivery, signature string
	verifyErr                  error
}

// receiver is a webhook receiver that checks every POST with the README's
// verifier and answers with the statuses given in turn (then the last).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
	secret   string
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
		r.mu.Lock()
		rec := received{body: body, event: req.Header.Get("Pocketshop-Event"),
			delivery: req.Header.Get("Pocketshop-Delivery"), signature: req.Header.Get("Pocketshop-Signature")}
		rec.verifyErr = verifySignature(body, rec.signature, r.secret, 5*time.Minute)
		r.got = append(r.got, rec)
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status = r.statuses[min(len(r.got)-1, len(r.statuses)-1)]
		}
		r.mu.Unlock()
		if rec.verifyErr != nil {
			status = http.StatusBadRequest
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

func (r *receiver) posts() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// TestRetriedUntilDelivered: a receiver that answers 500 three times and
// then 200 gets one event, with one event id and a valid signature on each
// of the four attempts, and the delivery ends sent.
func TestRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	s := newHookShop(t)
	rcv := newReceiver(t, 500, 500, 500, 200)
	ep := s.addEndpoint(t, rcv.URL+"/hooks", webhooks.OrderPlaced)
	rcv.setSecret(ep.GetString("secret"))
	p := shoptest.CreateProduct(t, s.app, "mug", 1200, 10)
	orderID := s.placeOrder(t, p, 1)

	for i := 0; i < 4; i++ {
		s.send(t)
		if i < 3 {
			d := s.deliveries(t, "")[0]
			if d.GetString("status") != "queued" || d.GetInt("response_status") != 500 ||
				!strings.Contains(d.GetString("last_error"), "answered 500") {
				t.Fatalf("after attempt %d: status %q response %d error %q", i+1,
					d.GetString("status"), d.GetInt("response_status"), d.GetString("last_error"))
			}
			if s.send(t) != 0 {
				t.Fatalf("attempt %d: sent again before its backoff ended", i+1)
			}
			s.clock.Advance(webhooks.DefaultMaxBackoff)
		}
	}
	posts := rcv.posts()
	if len(posts) != 4 {
		t.Fatalf("receiver got %d posts, want 4", len(posts))
	}
	for i, p := range posts {
		if p.verifyErr != nil {
			t.Errorf("post %d: README verifier: %v", i+1, p.verifyErr)
		}
		if p.delivery != posts[0].delivery || p.event != webhooks.OrderPlaced || string(p.body) != string(posts[0].body) {
			t.Errorf("post %d: event %q id %q, want %q %q and the same body", i+1, p.event, p.delivery, webhooks.OrderPlaced, posts[0].delivery)
		}
	}
	var body struct {
		ID      string         `json:"id"`
		Type    string         `json:"type"`
		Created int64          `json:"created"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(posts[0].body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ID != posts[0].delivery || body.Type != webhooks.OrderPlaced || body.Created == 0 ||
		body.Data["id"] != orderID || body.Data["status"] != "pending" || body.Data["number"] == float64(9876543210123) ||
		body.Data["email"] != "ann@example.com" || body.Data["total_cents"] == nil {
		t.Errorf("body: %s", posts[0].body)
	}
	d := s.deliveries(t, "")
	if len(d) != 1 || d[0].GetString("status") != "sent" || d[0].GetInt("attempts") != 4 ||
		d[0].GetInt("response_status") != 200 || d[0].GetString("last_error") != "" || d[0].GetDateTime("delivered_at").IsZero() {
		t.Fatalf("delivery after the 200: %v", d[0])
	}
	if s.send(t) != 0 || len(rcv.posts()) != 4 {
		t.Error("a delivered event was sent again")
	}
}

// TestReceiverDownForTheWholeWindow: a receiver that never answers leaves
// the delivery failed after three days of retries; the owner's requeue
// sends it again once the receiver is back.
func TestReceiverDownForTheWholeWindow(t *testing.T) {
	t.Parallel()
	s := newHookShop(t)
	rcv := newReceiver(t)
	ep := s.addEndpoint(t, rcv.URL, "*")
	rcv.setSecret(ep.GetString("secret"))
	rcv.Close() // connection refused from now on

	p := shoptest.CreateProduct(t, s.app, "mug", 1200, 10)
	s.placeOrder(t, p, 1)
	start := s.clock.Now()
	attempts := 0
	for s.clock.Now().Sub(start) < 80*time.Hour {
		s.send(t)
		s.clock.Advance(10 * time.Minute)
		attempts++
	}
	d := s.deliveries(t, "")[0]
	if d.GetString("status") != "failed" || !strings.Contains(d.GetString("last_error"), "connection refused") ||
		d.GetInt("response_status") != 0 {
		t.Fatalf("after 80 hours down: status %q error %q", d.GetString("status"), d.GetString("last_error"))
	}
	if n := d.GetInt("attempts"); n < 10 || n > 40 {
		t.Errorf("%d attempts over three days, want exponential backoff (10-40)", n)
	}
	t.Logf("receiver down: %d attempts over three days, then failed: %s", d.GetInt("attempts"), d.GetString("last_error"))

	// Back up on the same address: the owner requeues it in the dashboard.
	back := newReceiver(t)
	back.setSecret(ep.GetString("secret"))
	ep.Set("url", back.URL)
	if err := s.app.Save(ep); err != nil {
		t.Fatal(err)
	}
	res := shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/webhook_deliveries/records/"+d.Id, s.token,
		map[string]any{"status": "queued"})
	if res.Status != http.StatusOK {
		t.Fatalf("requeue: %d %s", res.Status, res.Raw)
	}
	if n := s.send(t); n != 1 {
		t.Fatalf("requeued delivery: sent %d, want 1", n)
	}
	posts := back.posts()
	if len(posts) != 1 || posts[0].verifyErr != nil || !strings.HasPrefix(posts[0].delivery, "evt_") {
		t.Fatalf("after requeue the receiver got %+v", posts)
	}
	d = s.deliveries(t, "")[0]
	if d.GetString("status") != "sent" || d.GetInt("attempts") != 1 {
		t.Errorf("requeued delivery: status %q attempts %d", d.GetString("status"), d.GetInt("attempts"))
	}
}
