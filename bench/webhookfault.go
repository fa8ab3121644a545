package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// allowPrivateWebhooks lets the shop post to the receiver on 127.0.0.1.
const allowPrivateWebhooks = "POCKETSHOP_WEBHOOK_ALLOW_PRIVATE=1"

// hookReceiver is the owner's webhook receiver: down (503) or up (200),
// checking every signature and counting the events it accepted.
type hookReceiver struct {
	srv      *http.Server
	url      string
	up       atomic.Bool
	mu       sync.Mutex
	secret   string
	refused  int            // attempts answered 503 while down
	forged   int            // bad signatures
	accepted map[string]int // event id -> deliveries answered 2xx
	placed   map[string]bool
}

func startHookReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &hookReceiver{url: "http://" + ln.Addr().String() + "/hooks", accepted: map[string]int{}, placed: map[string]bool{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up.Load() {
		r.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if !validHookSignature(body, req.Header.Get("Pocketshop-Signature"), r.secret) {
		r.forged++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ev) != nil || ev.ID != req.Header.Get("Pocketshop-Delivery") {
		r.forged++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.accepted[ev.ID]++
	if ev.Type == "order.placed" {
		r.placed[ev.Data.ID] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

// validHookSignature checks Pocketshop-Signature (t=..,v1=..) as a receiver would.
func validHookSignature(body []byte, header, secret string) bool {
	var t, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			t = v
		case "v1":
			v1 = v
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	got, err := hex.DecodeString(v1)
	return err == nil && t != "" && hmac.Equal(got, mac.Sum(nil))
}

// faultWebhookOutage: the owner's webhook receiver is down while orders come
// in, the shop is killed with -9 while deliveries are queued, restarted, and
// the receiver comes back: every acknowledged order's order.placed event
// reaches it, with a valid signature, and every delivery row ends sent.
func faultWebhookOutage(ctx context.Context, cfg faultConfig, shop target, _ string, dir string) ([]check, error) {
	const name = "every queued webhook delivered after the outage and kill -9"
	srv, err := newServer(shop, dir, cfg.Sync)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	products, err := seedProducts(srv.dbPath(), cfg.Products, 1_000_000, rand.New(rand.NewPCG(11, 11)))
	if err != nil {
		return nil, err
	}
	if err := srv.start(allowPrivateWebhooks); err != nil {
		return nil, err
	}
	wd := newWorld(srv, products, cfg.Concurrency)
	wd.probeWebhook(ctx)

	rcv, err := startHookReceiver()
	if err != nil {
		return nil, err
	}
	defer rcv.srv.Close()
	var ep struct {
		Secret string `json:"secret"`
	}
	st, raw, err := wd.c.do(ctx, http.MethodPost, "/api/collections/webhook_endpoints/records", srv.token,
		map[string]any{"url": rcv.url, "events": []string{"*"}, "active": true}, &ep)
	if st == http.StatusNotFound {
		return []check{{name, skip, "outgoing webhooks: not available"}}, nil
	}
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("add webhook endpoint: %d %s %v", st, raw, err)
	}
	rcv.secret = ep.Secret

	// Receiver down; kill -9 halfway through the checkout load.
	done := make(chan loadResult, 1)
	go func() { done <- runLoad(ctx, cfg.Concurrency, cfg.Duration, 5, wd.checkoutShop) }()
	time.Sleep(cfg.Duration / 2)
	queuedAtKill, _ := wd.countDeliveries(ctx, "status='queued'")
	if err := srv.kill(); err != nil {
		return nil, fmt.Errorf("kill -9: %w", err)
	}
	<-done
	if err := srv.start(allowPrivateWebhooks); err != nil {
		return []check{{name, fail, "restart after kill -9: " + err.Error()}}, nil
	}
	wd.c = newClient(srv.url, cfg.Concurrency)

	// Receiver back. The failed attempts wait for their backoff (30 s and
	// more) and the deliveries in flight at the kill for their lease: make
	// them due now, as time passing would.
	rcv.up.Store(true)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		queued, err := wd.countDeliveries(ctx, "status='queued'")
		if err != nil {
			return nil, err
		}
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			return []check{{name, fail, fmt.Sprintf("%d deliveries still queued after 2 minutes", queued)}}, nil
		}
		if err := wd.nudgeDeliveries(ctx); err != nil {
			return nil, err
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := srv.stop(); err != nil {
		return nil, err
	}

	db, err := openDB(srv.dbPath())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ids, err := column(db, `SELECT event_id FROM webhook_deliveries`)
	if err != nil {
		return nil, err
	}
	var notSent int
	if err := db.QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE status != 'sent'`).Scan(&notSent); err != nil {
		return nil, err
	}

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var wrong []string
	repeats := 0
	for _, id := range ids {
		switch n := rcv.accepted[id]; {
		case n == 0:
			wrong = append(wrong, "event "+id+" never reached the receiver")
		case n > 1:
			repeats += n - 1 // at least once: a delivery in flight at the kill is sent again
		}
	}
	wd.seen.mu.Lock()
	acknowledged := len(wd.seen.orders)
	for id := range wd.seen.orders {
		if !rcv.placed[id] {
			wrong = append(wrong, "acknowledged order "+id+": no order.placed event received")
		}
	}
	wd.seen.mu.Unlock()
	if notSent > 0 {
		wrong = append(wrong, fmt.Sprintf("%d deliveries not sent", notSent))
	}
	if rcv.forged > 0 {
		wrong = append(wrong, fmt.Sprintf("%d posts with a bad signature", rcv.forged))
	}
	c := check{name, pass, fmt.Sprintf("%d orders acknowledged, %d deliveries queued at the kill, %d attempts refused during the outage, %d events delivered (%d sent again after the kill)",
		acknowledged, queuedAtKill, rcv.refused, len(ids), repeats)}
	if len(wrong) > 0 {
		c = check{name, fail, summarize(wrong)}
	}
	return []check{c}, nil
}

// countDeliveries counts webhook deliveries matching a filter, as the owner.
func (w *world) countDeliveries(ctx context.Context, filter string) (int, error) {
	var list struct {
		TotalItems int `json:"totalItems"`
	}
	st, raw, err := w.c.do(ctx, http.MethodGet, "/api/collections/webhook_deliveries/records?perPage=1&filter="+url.QueryEscape(filter), w.srv.token, nil, &list)
	if err != nil || st != http.StatusOK {
		return 0, fmt.Errorf("count webhook deliveries: %d %s %v", st, raw, err)
	}
	return list.TotalItems, nil
}

// nudgeDeliveries makes the queued deliveries due now, as the owner could
// in the dashboard.
func (w *world) nudgeDeliveries(ctx context.Context) error {
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	st, raw, err := w.c.do(ctx, http.MethodGet, "/api/collections/webhook_deliveries/records?perPage=500&skipTotal=1&fields=id&filter="+
		url.QueryEscape("status='queued' && (next_attempt_at!='' || lease_until!='')"), w.srv.token, nil, &list)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("list queued deliveries: %d %s %v", st, raw, err)
	}
	for _, d := range list.Items {
		st, raw, err := w.c.do(ctx, http.MethodPatch, "/api/collections/webhook_deliveries/records/"+d.ID, w.srv.token,
			map[string]any{"next_attempt_at": "", "lease_until": ""}, nil)
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("make delivery %s due: %d %s %v", d.ID, st, raw, err)
		}
	}
	return nil
}
