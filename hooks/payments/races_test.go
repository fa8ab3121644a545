package payments_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// runAll starts every request at once and returns the unexpected answers.
func runAll(n int, do func(i int) (int, string, error), want int) []string {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, err := do(i)
			if err != nil || status != want {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%d %s %v", status, body, err))
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return failures
}

// TestOwnerEditRacesPay has the owner save a note on orders (the dashboard's
// PATCH) while their customers start paying: the owner's save writes only
// what the owner changed, so no order loses the Checkout Session or the
// longer reservation /pay stored meanwhile.
func TestOwnerEditRacesPay(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, shoptest.StripeMock(t), 100)
	client := newClient(s.srv)
	owner := shoptest.SuperuserToken(t, s.app)

	const orders, editsEach = 20, 3
	var placed []*core.Record
	for range orders {
		placed = append(placed, s.order(t, 1))
	}
	failures := runAll(orders*(1+editsEach), func(i int) (int, string, error) {
		o := placed[i%orders]
		if i < orders {
			return send(client, http.MethodPost, s.srv.URL+"/api/shop/orders/"+o.Id+"/pay?token="+o.GetString("token"), "", nil)
		}
		time.Sleep(time.Duration(i/orders) * 5 * time.Millisecond)
		return send(client, http.MethodPatch, s.srv.URL+"/api/collections/orders/records/"+o.Id, owner,
			map[string]any{"note": fmt.Sprintf("edit %d", i)})
	}, http.StatusOK)
	if len(failures) > 0 {
		t.Fatalf("%d unexpected answers, e.g. %s", len(failures), failures[0])
	}
	lost := 0
	for _, o := range placed {
		o = s.reload(t, o.Id)
		if o.GetString("stripe_session_id") == "" || time.Until(o.GetDateTime("expires_at").Time()) < 30*time.Minute {
			lost++
			t.Logf("order %s: session %q, expires in %v", o.Id, o.GetString("stripe_session_id"),
				time.Until(o.GetDateTime("expires_at").Time()).Round(time.Second))
		}
		if !strings.HasPrefix(o.GetString("note"), "edit ") {
			t.Errorf("order %s: note %q, want the owner's", o.Id, o.GetString("note"))
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d orders lost what /pay wrote", lost, orders)
	}
}

// newClient allows as many connections as the test has buyers, and a
// generous timeout so that a deadlock fails the test instead of hanging it.
func newClient(srv *httptest.Server) *http.Client {
	c := srv.Client()
	c.Timeout = 2 * time.Minute
	return c
}

// send is a goroutine-safe request: it returns errors instead of failing.
func send(client *http.Client, method, url, token string, body any) (int, string, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), err
}
