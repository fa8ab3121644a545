package storefront_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"
	"pocketshop/pb_migrations"

	"github.com/pocketbase/pocketbase/core"
)

// clientFrom returns an HTTP client whose connections come from the loopback
// address ip, so that the server sees another client IP in RemoteAddr.
func clientFrom(ip string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
}

// post sends a JSON POST with optional extra headers and returns the status
// and body.
func post(t *testing.T, c *http.Client, url string, body any, header map[string]string) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// rule returns the migration's rate limit rule with the given label.
func rule(t *testing.T, label string) core.RateLimitRule {
	t.Helper()
	for _, r := range pb_migrations.RateLimitRules {
		if r.Label == label {
			return r
		}
	}
	t.Fatalf("no rate limit rule %q", label)
	return core.RateLimitRule{}
}

func orderBody(productID string) map[string]any {
	return map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": productID, "quantity": 1}},
	}
}

func TestOrderFloodFromOneClientGets429sWhileOthersOrder(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	shoptest.EnableRateLimits(t, app)
	p := shoptest.CreateProduct(t, app, "mug", 1500, 1000)
	srv := shoptest.Serve(t, app)
	url := srv.URL + "/api/collections/orders/records"
	flooder, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	limit := rule(t, "orders:create").MaxRequests

	accepted, limited := 0, 0
	for i := 0; i < 3*limit; i++ {
		status, raw := post(t, flooder, url, orderBody(p.Id), nil)
		switch status {
		case http.StatusOK:
			accepted++
		case http.StatusTooManyRequests:
			limited++
			if !strings.Contains(string(raw), `"status":429`) {
				t.Fatalf("429 without PocketBase's error shape: %s", raw)
			}
		default:
			t.Fatalf("order %d: %d %s", i, status, raw)
		}
	}
	if limited == 0 || accepted < limit {
		t.Fatalf("flood of %d orders: %d accepted, %d limited; want the first %d accepted and the rest limited",
			3*limit, accepted, limited, limit)
	}

	// Another client still orders.
	if status, raw := post(t, other, url, orderBody(p.Id), nil); status != http.StatusOK {
		t.Fatalf("another client's order: %d %s", status, raw)
	}
	accepted++

	// A forwarding header is not trusted by default: it does not reset the
	// flooder's limit.
	if status, _ := post(t, flooder, url, orderBody(p.Id), map[string]string{"X-Forwarded-For": "203.0.113.9"}); status != http.StatusTooManyRequests {
		t.Fatalf("flooder with a made-up X-Forwarded-For: %d, want 429", status)
	}

	// Behind a proxy the owner trusts its header; then each customer behind
	// it has a limit of their own.
	s := app.Settings()
	s.TrustedProxy.Headers = []string{"X-Forwarded-For"}
	if err := app.Save(s); err != nil {
		t.Fatal(err)
	}
	if status, raw := post(t, flooder, url, orderBody(p.Id), map[string]string{"X-Forwarded-For": "203.0.113.9"}); status != http.StatusOK {
		t.Fatalf("a customer behind the trusted proxy: %d %s", status, raw)
	}
	accepted++

	// Refused requests wrote nothing: stock and ledger count accepted orders only.
	fresh, _ := app.FindRecordById("products", p.Id)
	if got := fresh.GetInt("stock"); got != 1000-accepted {
		t.Fatalf("stock = %d, want %d (%d orders accepted)", got, 1000-accepted, accepted)
	}
	orders, _ := app.CountRecords("orders")
	if int(orders) != accepted {
		t.Fatalf("%d orders stored, want %d", orders, accepted)
	}
}

func TestRateLimitedEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		label string
		// request returns the path and body of one request; setup runs once.
		request func(t *testing.T, app core.App) (string, any)
	}{
		{"place order", "orders:create", func(t *testing.T, app core.App) (string, any) {
			p := shoptest.CreateProduct(t, app, "mug", 1500, 1000)
			return "/api/collections/orders/records", orderBody(p.Id)
		}},
		{"cancel order", "POST /api/shop/orders/", func(t *testing.T, app core.App) (string, any) {
			return "/api/shop/orders/nosuchorder/cancel", nil
		}},
		{"customer sign-in", "*:auth", func(t *testing.T, app core.App) (string, any) {
			shoptest.CreateUser(t, app, "ann@example.com")
			return "/api/collections/users/auth-with-password", map[string]any{"identity": "ann@example.com", "password": "wrong-password"}
		}},
		{"dashboard sign-in", "*:auth", func(t *testing.T, app core.App) (string, any) {
			return "/api/collections/_superusers/auth-with-password", map[string]any{"identity": shoptest.SuperuserEmail, "password": "wrong-password"}
		}},
		{"customer sign-up", "*:create", func(t *testing.T, app core.App) (string, any) {
			return "/api/collections/users/records", map[string]any{"email": "bad"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app := shoptest.NewApp(t, hooks.Deps{})
			shoptest.EnableRateLimits(t, app)
			path, body := tt.request(t, app)
			srv := shoptest.Serve(t, app)
			limit := rule(t, tt.label).MaxRequests
			for i := 0; i < limit; i++ {
				if status, raw := post(t, srv.Client(), srv.URL+path, body, nil); status == http.StatusTooManyRequests {
					t.Fatalf("request %d of %d limited: %s", i+1, limit, raw)
				}
			}
			if status, raw := post(t, srv.Client(), srv.URL+path, body, nil); status != http.StatusTooManyRequests {
				t.Fatalf("request %d: %d %s, want 429", limit+1, status, raw)
			}
		})
	}
}

func TestStripeWebhookIsNeverRateLimited(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	shoptest.EnableRateLimits(t, app)
	limits := app.Settings().RateLimits
	path := "/api/shop/stripe/webhook"
	if r, ok := limits.FindRateLimitRule([]string{"POST " + path, path}); ok {
		t.Fatalf("rate limit rule %s matches the Stripe webhook", r)
	}
	if _, ok := limits.FindRateLimitRule([]string{"POST /api/shop/orders/x/pay", "/api/shop/orders/x/pay"}); !ok {
		t.Fatal("no rate limit rule matches the pay route")
	}
}

func TestOrderBodyLimit(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "mug", 1500, 10)
	orders, _ := app.FindCollectionByNameOrId("orders")
	srv := shoptest.Serve(t, app)

	big := orderBody(p.Id)
	big["note"] = strings.Repeat("x", 65<<10)
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
	}{
		{"too big, by name", "/api/collections/orders/records", big, http.StatusBadRequest},
		{"too big, by collection id", "/api/collections/" + orders.Id + "/records", big, http.StatusBadRequest},
		{"too big, shop route", "/api/shop/orders/x/cancel", big, http.StatusRequestEntityTooLarge},
		{"normal order", "/api/collections/orders/records", orderBody(p.Id), http.StatusOK},
	}
	for _, tt := range tests {
		status, raw := post(t, srv.Client(), srv.URL+tt.path, tt.body, nil)
		if status != tt.status {
			t.Fatalf("%s: %d %s, want %d", tt.name, status, raw, tt.status)
		}
	}
	if n, _ := app.CountRecords("orders"); n != 1 {
		t.Fatalf("%d orders stored, want only the normal one", n)
	}
}

// TestLimitsOffInTestApps keeps other tests free of the per-IP limits.
func TestLimitsOffInTestApps(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	if app.Settings().RateLimits.Enabled {
		t.Fatal("shoptest.NewApp left the rate limits on")
	}
}
