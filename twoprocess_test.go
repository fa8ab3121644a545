package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pocketshop/internal/payments"

	"github.com/pocketbase/dbx"
	"github.com/stripe/stripe-go/v76/webhook"
)

const twoProcessWebhookSecret = "whsec_two_process_test"

// TestJobsRunBesideTheServer runs `pocketshop jobs run expire-reservations`
// in a second process while the server takes orders, cancels and Stripe
// webhooks from several clients: the job must expire every due order and
// no request may fail. A write transaction that starts as a reader fails
// with SQLITE_BUSY_SNAPSHOT (517) when the other process writes first,
// which no busy timeout waits out.
func TestJobsRunBesideTheServer(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	env := []string{"STRIPE_SECRET_KEY=sk_test_two_process", "STRIPE_WEBHOOK_SECRET=" + twoProcessWebhookSecret,
		"STRIPE_API_BASE=http://127.0.0.1:1"}
	// The server's own expiry (every minute on the minute) is off: it would
	// expire some of the due orders before the job, whenever a round spans
	// a minute's start.
	srv := startServer(t, dir, append(env, "POCKETSHOP_JOB_EXPIRE_RESERVATIONS=off")...)
	defer srv.stop()
	owner := srv.ownerToken()
	// Every client here is 127.0.0.1: the per-IP limits would refuse most.
	if st := srv.call("PATCH", "/api/settings", owner, map[string]any{"rateLimits": map[string]any{"enabled": false}}, nil); st != http.StatusOK {
		t.Fatalf("turn rate limits off: %d", st)
	}

	var product struct{ ID string }
	if st := srv.call("POST", "/api/collections/products/records", owner, map[string]any{
		"name": "Mug", "slug": "mug", "price_cents": 1500, "stock": 100000, "active": true,
	}, &product); st != http.StatusOK {
		t.Fatalf("create product: %d", st)
	}
	placeOrder := func(c *http.Client) (map[string]any, error) {
		body, _ := json.Marshal(map[string]any{"email": "ann@example.com", "payment_method": "manual",
			"items": []map[string]any{{"product": product.ID, "quantity": 1}}})
		res, err := c.Post(srv.url+"/api/collections/orders/records", "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("place order: %d %s", res.StatusCode, raw)
		}
		var o map[string]any
		return o, json.Unmarshal(raw, &o)
	}

	db, err := dbx.Open("sqlite", filepath.Join(dir, "data.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const rounds, due, clients = 3, 40, 6
	for round := range rounds {
		for range due {
			if _, err := placeOrder(http.DefaultClient); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.NewQuery("UPDATE orders SET expires_at = '2000-01-01 00:00:00.000Z' WHERE status = 'pending'").Execute(); err != nil {
			t.Fatal(err)
		}

		var (
			stop     atomic.Bool
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
			requests atomic.Int64
		)
		fail := func(s string) {
			mu.Lock()
			failures = append(failures, s)
			mu.Unlock()
		}
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: time.Minute}
				for i := 0; !stop.Load(); i++ {
					o, err := placeOrder(client)
					if err != nil {
						fail(err.Error())
						continue
					}
					res, err := client.Post(fmt.Sprintf("%s/api/shop/orders/%s/cancel?token=%s", srv.url, o["id"], o["token"]), "application/json", nil)
					if err != nil || res.StatusCode != http.StatusOK {
						fail(fmt.Sprintf("cancel: %v %v", err, res))
					}
					if res != nil {
						res.Body.Close()
					}
					if st, body := sendWebhook(client, srv.url, fmt.Sprintf("evt_r%d_c%d_%d", round, c, i)); st != http.StatusOK {
						fail(fmt.Sprintf("webhook: %d %s", st, body))
					}
					requests.Add(3)
				}
			}()
		}
		out, jobErr := run(t, env, "jobs", "run", "expire-reservations", "--dir="+dir)
		stop.Store(true)
		wg.Wait()
		if jobErr != nil || !strings.Contains(out, fmt.Sprintf("%d expired", due)) {
			t.Errorf("round %d: jobs run: %v\n%s", round, jobErr, out)
		}
		if len(failures) > 0 {
			t.Errorf("round %d: %d of %d requests failed beside the job, e.g. %s", round, len(failures), requests.Load(), failures[0])
		}
		t.Logf("round %d: %d requests beside the job", round, requests.Load())
	}
}

// sendWebhook posts a signed Stripe event the shop records and ignores (a
// refund of a charge it does not know): a write on every call.
func sendWebhook(c *http.Client, base, id string) (int, string) {
	payload, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "type": "charge.refunded", "api_version": payments.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": map[string]any{
			"id": "ch_" + id, "object": "charge", "amount": 100, "amount_refunded": 100, "currency": "usd"}},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: twoProcessWebhookSecret})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/shop/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	res, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}
