package customers_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/outbox"
	"pocketshop/hooks/webhooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
	"github.com/pocketbase/pocketbase/tools/logger"
)

// What identifies Zelda, the customer these tests erase. Each is unusual
// enough that finding it anywhere in the database means it was left there.
const (
	zeldaEmail  = "zelda.quux@example.com"
	zeldaName   = "Zelda Quuxworth"
	zeldaLine1  = "742 Quuxwood Terrace"
	zeldaLine2  = "Flat 9Zq"
	zeldaCity   = "Quuxville"
	zeldaPostal = "QV7Z9"
	zeldaPass   = "customer-password-123"
)

// zeldaTraces are the strings that must appear nowhere after her erasure.
var zeldaTraces = []string{zeldaEmail, "Quuxworth", "Quuxwood", zeldaLine2, zeldaCity, zeldaPostal}

// zeldaAddress is her shipping address as an order carries it.
var zeldaAddress = map[string]any{
	"name": zeldaName, "line1": zeldaLine1, "line2": zeldaLine2,
	"city": zeldaCity, "postal_code": zeldaPostal, "country": "US",
}

type fixture struct {
	app   *tests.TestApp
	srv   *httptest.Server
	clock *shoptest.Clock
	su    string
	mug   string

	zelda      *core.Record
	zeldaToken string
	webhooks   webhooks.Options
}

// newFixture is a shop with an owner address (so paid orders notify the
// owner), one product and Zelda's verified account.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: shoptest.NewClock(time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC))}
	// No background senders: the test sends the outboxes when it wants to.
	f.webhooks = webhooks.Options{AllowPrivate: true, Interval: -1, Now: f.clock.Now, Timeout: 2 * time.Second}
	f.app = shoptest.NewApp(t, hooks.Deps{Now: f.clock.Now, Outbox: outbox.Options{Interval: -1}, Webhooks: f.webhooks})
	f.srv = shoptest.Serve(t, f.app)
	f.su = shoptest.SuperuserToken(t, f.app)
	f.mug = shoptest.CreateProduct(t, f.app, "mug", 1500, 50).Id

	s, err := f.app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("owner_email", "owner@shop.test")
	if err := f.app.Save(s); err != nil {
		t.Fatal(err)
	}

	f.zelda, f.zeldaToken = shoptest.CreateUser(t, f.app, zeldaEmail)
	f.zelda.Set("name", zeldaName)
	if err := f.app.Save(f.zelda); err != nil {
		t.Fatal(err)
	}
	return f
}

// order places an order of qty mugs with Zelda's address; token signs it
// in (empty: a guest with email).
func (f *fixture) order(t *testing.T, token, email, note string, qty int) string {
	t.Helper()
	body := map[string]any{
		"payment_method": "manual", "shipping_address": zeldaAddress, "note": note,
		"items": []map[string]any{{"product": f.mug, "quantity": qty}},
	}
	if email != "" {
		body["email"] = email
	}
	return shoptest.PlaceOrder(t, f.srv, token, body)["id"].(string)
}

// move moves an order as the owner in the dashboard.
func (f *fixture) move(t *testing.T, id, status string) {
	t.Helper()
	f.clock.Advance(time.Hour)
	body := map[string]any{"status": status}
	if status == "fulfilled" {
		body["tracking_number"] = "TRK-" + id
	}
	res := shoptest.Do(t, f.srv, http.MethodPatch, "/api/collections/orders/records/"+id, f.su, body)
	if res.Status != http.StatusOK {
		t.Fatalf("move %s to %s: %d %s", id, status, res.Status, res.Raw)
	}
}

// sendMail delivers the queued emails to a real SMTP server (mailpit);
// the emails queued afterwards stay queued.
func (f *fixture) sendMail(t *testing.T, mp *shoptest.Mailpit) int {
	t.Helper()
	mp.Configure(f.app)
	defer func() { f.app.Settings().SMTP.Enabled = false }()
	n, err := outbox.SendDue(context.Background(), f.app, outbox.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatalf("send the outbox: %v", err)
	}
	if got := len(mp.Messages(t)); got != n {
		t.Fatalf("mailpit received %d messages, the outbox sent %d", got, n)
	}
	return n
}

// tables lists the tables of a database, PocketBase's own included.
func tables(t *testing.T, db dbx.Builder) []string {
	t.Helper()
	var names []string
	err := db.NewQuery(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).Column(&names)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// columns lists a table's columns.
func columns(t *testing.T, db dbx.Builder, table string) []string {
	t.Helper()
	var cols []string
	err := db.NewQuery(`SELECT name FROM pragma_table_info({:t})`).Bind(dbx.Params{"t": table}).Column(&cols)
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

// findTraces returns where (table.column: count) any of needles occurs in
// any column of any table of db, compared as text, case-insensitively.
func findTraces(t *testing.T, db dbx.Builder, needles []string) []string {
	t.Helper()
	var found []string
	for _, table := range tables(t, db) {
		for _, col := range columns(t, db, table) {
			for _, n := range needles {
				var count int
				err := db.NewQuery(fmt.Sprintf(`SELECT COUNT(*) FROM %q WHERE CAST(%q AS TEXT) LIKE {:n}`, table, col)).
					Bind(dbx.Params{"n": "%" + n + "%"}).Row(&count)
				if err != nil {
					t.Fatalf("scan %s.%s: %v", table, col, err)
				}
				if count > 0 {
					found = append(found, fmt.Sprintf("%s.%s has %q in %d rows", table, col, n, count))
				}
			}
		}
	}
	return found
}

// dump returns every row of every table of the main database as text: two
// equal dumps mean nothing was written in between.
func dump(t *testing.T, app core.App) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tables(t, app.DB()) {
		rows, err := app.DB().NewQuery(fmt.Sprintf(`SELECT * FROM %q`, table)).Rows()
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(vals))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "== %s\n%s\n", table, strings.Join(lines, "\n"))
	}
	return b.String()
}

// flushLogs writes the request logs PocketBase holds in memory to
// auxiliary.db, so that a scan sees them.
func flushLogs(t *testing.T, app core.App) {
	t.Helper()
	h, ok := app.Logger().Handler().(*logger.BatchHandler)
	if !ok {
		t.Fatalf("the app's log handler is a %T, not PocketBase's batch handler", app.Logger().Handler())
	}
	if err := h.WriteAll(context.Background()); err != nil {
		t.Fatalf("flush logs: %v", err)
	}
}

// diffLines returns the lines of b not in a, and of a not in b.
func diffLines(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ina, inb := in(a), in(b)
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if !ina[l] {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range strings.Split(a, "\n") {
		if !inb[l] {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}

// waitLogged waits until a request log quoting needle is in auxiliary.db:
// PocketBase logs a request after answering it.
func waitLogged(t *testing.T, app core.App, needle string) {
	t.Helper()
	for range 100 {
		flushLogs(t, app)
		if len(findTraces(t, app.AuxDB(), []string{needle})) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no request log quotes %q", needle)
}

// addEndpoint adds an endpoint for every event in the dashboard, as the
// owner does, at url.
func (f *fixture) addEndpoint(t *testing.T, url string) string {
	t.Helper()
	res := shoptest.Do(t, f.srv, http.MethodPost, "/api/collections/webhook_endpoints/records", f.su,
		map[string]any{"url": url, "events": []string{"*"}, "active": true, "description": "the owner's CRM"})
	if res.Status != http.StatusOK {
		t.Fatalf("add endpoint: %d %s", res.Status, res.Raw)
	}
	return res.Body["id"].(string)
}

// sendWebhooks posts the due webhook deliveries.
func (f *fixture) sendWebhooks(t *testing.T) int {
	t.Helper()
	n, err := webhooks.SendDue(context.Background(), f.app, f.webhooks)
	if err != nil {
		t.Fatalf("send webhooks: %v", err)
	}
	return n
}
