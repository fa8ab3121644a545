// Package shoptest has the helpers pocketshop's tests share: a real
// PocketBase test app with the shop's migrations and hooks, an HTTP server
// over it, and quick ways to create products, customers and orders.
package shoptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"pocketshop/hooks"
	_ "pocketshop/pb_migrations"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// SuperuserEmail is the superuser NewApp creates.
const SuperuserEmail = "owner@example.com"

// NewApp returns a test app on a fresh temporary data dir, with every
// migration applied, the hooks registered and one superuser. The per-IP rate
// limits the migrations turn on are off here, since every test client shares
// 127.0.0.1; EnableRateLimits turns them back on. It is cleaned up when the
// test ends.
func NewApp(tb testing.TB, deps hooks.Deps) *tests.TestApp {
	tb.Helper()
	app, err := tests.NewTestApp(tb.TempDir())
	if err != nil {
		tb.Fatalf("new test app: %v", err)
	}
	tb.Cleanup(app.Cleanup)
	hooks.Register(app, deps)
	setRateLimits(tb, app, false)

	su := core.NewRecord(mustCollection(tb, app, core.CollectionNameSuperusers))
	su.SetEmail(SuperuserEmail)
	su.SetPassword("owner-password-123")
	if err := app.Save(su); err != nil {
		tb.Fatalf("create superuser: %v", err)
	}
	return app
}

// EnableRateLimits turns the shop's rate limits (as the migrations set them)
// back on for app.
func EnableRateLimits(tb testing.TB, app core.App) {
	tb.Helper()
	setRateLimits(tb, app, true)
}

func setRateLimits(tb testing.TB, app core.App, on bool) {
	tb.Helper()
	s := app.Settings()
	s.RateLimits.Enabled = on
	if err := app.Save(s); err != nil {
		tb.Fatalf("save rate limit settings: %v", err)
	}
}

// Factory returns a tests.ApiScenario TestAppFactory that calls setup (when
// not nil) on each new app.
func Factory(deps hooks.Deps, setup func(tb testing.TB, app *tests.TestApp)) func(tb testing.TB) *tests.TestApp {
	return func(tb testing.TB) *tests.TestApp {
		app := NewApp(tb, deps)
		if setup != nil {
			setup(tb, app)
		}
		return app
	}
}

// Serve starts a real HTTP server over app's router, with the app's OnServe
// hooks (and so the /api/shop routes) bound, the way `pocketshop serve` does.
// The router is built once per app: since PocketBase v0.37 apis.NewRouter
// binds an OnServe hook of its own (the UI extension routes), so a second
// router on the same app would register its routes twice and panic.
func Serve(tb testing.TB, app core.App) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(handlerOf(tb, app))
	tb.Cleanup(srv.Close)
	return srv
}

// handlers holds the handler built for each app until the app terminates.
var handlers = struct {
	sync.Mutex
	of map[core.App]http.Handler
}{of: map[core.App]http.Handler{}}

func handlerOf(tb testing.TB, app core.App) http.Handler {
	tb.Helper()
	handlers.Lock()
	defer handlers.Unlock()
	if h, ok := handlers.of[app]; ok {
		return h
	}
	h := buildHandler(tb, app)
	handlers.of[app] = h
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		handlers.Lock()
		delete(handlers.of, app)
		handlers.Unlock()
		return e.Next()
	})
	return h
}

func buildHandler(tb testing.TB, app core.App) http.Handler {
	tb.Helper()
	router, err := apis.NewRouter(app)
	if err != nil {
		tb.Fatalf("new router: %v", err)
	}
	var handler http.Handler
	se := &core.ServeEvent{App: app, Router: router}
	err = app.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		handler = mux
		return err
	})
	if err != nil {
		tb.Fatalf("serve: %v", err)
	}
	return handler
}

// CreateProduct saves an active product with the given price and stock.
func CreateProduct(tb testing.TB, app core.App, slug string, priceCents, stock int) *core.Record {
	tb.Helper()
	p := core.NewRecord(mustCollection(tb, app, "products"))
	p.Load(map[string]any{
		"name": slug, "slug": slug, "price_cents": priceCents, "stock": stock,
		"active": true, "low_stock_threshold": 2,
	})
	if err := app.Save(p); err != nil {
		tb.Fatalf("create product %s: %v", slug, err)
	}
	return p
}

// CreateVariant saves an active variant of product with the given options
// (its product's options must allow them), price (0 = the product's) and
// stock.
func CreateVariant(tb testing.TB, app core.App, productID string, options map[string]string, priceCents, stock int) *core.Record {
	tb.Helper()
	v := core.NewRecord(mustCollection(tb, app, "variants"))
	v.Load(map[string]any{
		"product": productID, "options": options, "price_cents": priceCents, "stock": stock,
		"active": true, "low_stock_threshold": 2,
	})
	if err := app.Save(v); err != nil {
		tb.Fatalf("create variant %v of %s: %v", options, productID, err)
	}
	return v
}

// CreateUser saves a customer and returns it with an auth token.
func CreateUser(tb testing.TB, app core.App, email string) (*core.Record, string) {
	tb.Helper()
	u := core.NewRecord(mustCollection(tb, app, "users"))
	u.SetEmail(email)
	u.SetPassword("customer-password-123")
	u.SetVerified(true)
	if err := app.Save(u); err != nil {
		tb.Fatalf("create user %s: %v", email, err)
	}
	token, err := u.NewAuthToken()
	if err != nil {
		tb.Fatalf("auth token: %v", err)
	}
	return u, token
}

// SuperuserToken returns an auth token for the superuser NewApp created.
func SuperuserToken(tb testing.TB, app core.App) string {
	tb.Helper()
	su, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, SuperuserEmail)
	if err != nil {
		tb.Fatalf("find superuser: %v", err)
	}
	token, err := su.NewAuthToken()
	if err != nil {
		tb.Fatalf("superuser token: %v", err)
	}
	return token
}

// Response is a decoded JSON answer.
type Response struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// Do sends a JSON request to srv and decodes the answer. token, when not
// empty, goes in the Authorization header.
func Do(tb testing.TB, srv *httptest.Server, method, path, token string, body any) Response {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := Response{Status: res.StatusCode, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// PlaceOrder creates an order through the records API as a guest (or as the
// customer whose token is given) and fails the test unless it is accepted.
func PlaceOrder(tb testing.TB, srv *httptest.Server, token string, body map[string]any) map[string]any {
	tb.Helper()
	res := Do(tb, srv, http.MethodPost, "/api/collections/orders/records", token, body)
	if res.Status != http.StatusOK {
		tb.Fatalf("place order: %d %s", res.Status, res.Raw)
	}
	return res.Body
}

func mustCollection(tb testing.TB, app core.App, name string) *core.Collection {
	tb.Helper()
	c, err := app.FindCachedCollectionByNameOrId(name)
	if err != nil {
		tb.Fatalf("collection %s: %v", name, err)
	}
	return c
}
