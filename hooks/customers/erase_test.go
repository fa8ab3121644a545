package customers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"pocketshop/hooks/customers"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// books are the figures of every order that erasure must keep.
func books(t *testing.T, app core.App) []map[string]any {
	t.Helper()
	var out []map[string]any
	rows := []dbx.NullStringMap{}
	err := app.DB().NewQuery(`SELECT id, number, status, items, subtotal_cents, shipping_cents, total_cents,
		refunded_cents, currency, paid_at, fulfilled_at, cancelled_at, tracking_number, payment_method, created
		FROM orders ORDER BY number`).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		m := map[string]any{}
		for k, v := range r {
			m[k] = v.String
		}
		out = append(out, m)
	}
	return out
}

// ledger is every stock movement and the report tables, as stored.
func ledger(t *testing.T, app core.App) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT product, delta, reason, "order", stock_after FROM stock_movements ORDER BY rowid`,
		`SELECT * FROM _report_lines ORDER BY paid_at, order_id, line`,
		`SELECT * FROM _report_product_days ORDER BY day, product`,
		`SELECT id, stock FROM products ORDER BY id`,
	} {
		rows := []dbx.NullStringMap{}
		if err := app.DB().NewQuery(q).All(&rows); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(rows)
		b.Write(raw)
		b.WriteByte('\n')
	}
	return b.String()
}

// accountantsCSV is the order lines CSV of the month without its email
// column, and the emails it shows.
func accountantsCSV(t *testing.T, f *fixture) (figures [][]string, emails []string) {
	t.Helper()
	res := shoptest.Do(t, f.srv, http.MethodGet, "/api/shop/reports/orders.csv?from=2026-11-01&to=2026-11-30", f.su, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("orders.csv: %d %s", res.Status, res.Raw)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.Raw)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("orders.csv: %v %s", err, res.Raw)
	}
	col := slices.Index(rows[0], "email")
	for _, r := range rows {
		emails = append(emails, r[col])
		figures = append(figures, slices.Delete(slices.Clone(r), col, col+1))
	}
	return figures, emails[1:]
}

func salesReport(t *testing.T, f *fixture) string {
	t.Helper()
	res := shoptest.Do(t, f.srv, http.MethodGet, "/api/shop/reports/sales?from=2026-11-01&to=2026-11-30", f.su, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("sales report: %d %s", res.Status, res.Raw)
	}
	return string(res.Raw)
}

// TestErasureLeavesNoTraceAndKeepsTheBooks: Zelda has orders as a
// customer and as a guest (another spelling of her address), emails sent
// to her and about her, an owner's note quoting her address on another
// customer's order. After she erases her account with her password, none
// of what identifies her is anywhere in data.db (every text of every
// table, PocketBase's own included) nor in the request logs, while every
// order, the stock ledger and the sales report are exactly as before.
func TestErasureLeavesNoTraceAndKeepsTheBooks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mp := shoptest.StartMailpit(t)
	var received atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
	}))
	defer receiver.Close()
	endpoint := f.addEndpoint(t, receiver.URL+"/hooks/shop")

	fulfilled := f.order(t, f.zeldaToken, "", "Leave it with Quuxworth next door", 2)
	f.move(t, fulfilled, "paid")
	f.move(t, fulfilled, "fulfilled")
	cancelled := f.order(t, "", "Zelda.Quux@Example.com", "", 1)
	f.move(t, cancelled, "cancelled")
	guestFulfilled := f.order(t, "", zeldaEmail, "", 3)
	f.move(t, guestFulfilled, "paid")
	f.move(t, guestFulfilled, "fulfilled")
	// The owner's note on the order's timeline quotes her.
	addEvent(t, f.app, fulfilled, "Called "+zeldaName+" at "+zeldaEmail+" about the parcel.")

	bob, bobToken := shoptest.CreateUser(t, f.app, "bob@example.com")
	bobOrder := shoptest.PlaceOrder(t, f.srv, bobToken, map[string]any{
		"payment_method": "manual", "note": "A gift: send the invoice to " + zeldaEmail + " too.",
		"shipping_address": map[string]any{"name": "Bob Other", "line1": "1 Other Road", "city": "Elsewhere", "postal_code": "11111", "country": "US"},
		"items":            []map[string]any{{"product": f.mug, "quantity": 1}},
	})["id"].(string)
	f.move(t, bobOrder, "paid")

	// The owner's CRM hears of every order move. It got the first ones;
	// the later ones wait (it is down). customer.created of her account
	// (made before the endpoint) is queued by hand.
	if n := f.sendWebhooks(t); n < 8 || int(received.Load()) != n {
		t.Fatalf("sent %d webhook deliveries, %d received, want every move of the four orders", n, received.Load())
	}
	receiver.Close()
	zeldaRecord, _ := f.app.FindRecordById("users", f.zelda.Id)
	zeldaRecord.IgnoreEmailVisibility(true)
	queueDelivery(t, f.app, endpoint, "customer.created", "queued", zeldaRecord.PublicExport())

	if sent := f.sendMail(t, mp); sent < 6 {
		t.Fatalf("sent %d emails, want the receipts, shipping notices and the owner's notices", sent)
	}

	// A pending order blocks the erasure, and nothing changes.
	pending := f.order(t, f.zeldaToken, "", "", 1)
	before := dump(t, f.app)
	res := shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": zeldaPass})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), "is pending") ||
		!strings.Contains(string(res.Raw), `"orders":{"code":"open_orders"`) {
		t.Fatalf("erase with a pending order: %d %s", res.Status, res.Raw)
	}
	if after := dump(t, f.app); after != before {
		t.Fatalf("a refused erasure changed the database:\n%s", diffLines(before, after))
	}
	// She cancels it; its two emails (placed, cancelled) stay queued.
	if res := shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/orders/"+pending+"/cancel", f.zeldaToken, nil); res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}

	// A wrong password changes nothing either.
	before = dump(t, f.app)
	res = shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": "not-her-password"})
	if res.Status != http.StatusUnauthorized {
		t.Fatalf("erase with a wrong password: %d %s", res.Status, res.Raw)
	}
	if dump(t, f.app) != before {
		t.Fatal("an erasure with a wrong password changed the database")
	}

	// A request whose URL quotes her address, in the request log (which
	// PocketBase's test apps keep off: on as in a real shop).
	f.app.Settings().Logs.MaxDays = 5
	shoptest.Do(t, f.srv, http.MethodGet, "/api/collections/orders/records?filter="+
		strings.ReplaceAll("email='"+zeldaEmail+"'", "'", "%27"), f.zeldaToken, nil)
	waitLogged(t, f.app, zeldaEmail)
	if len(findTraces(t, f.app.DB(), zeldaTraces)) == 0 {
		t.Fatal("no trace of Zelda before the erasure: the scan below proves nothing")
	}

	booksBefore, ledgerBefore, reportBefore := books(t, f.app), ledger(t, f.app), salesReport(t, f)
	deliveriesBefore := deliveryStatuses(t, f.app)
	if !slices.Contains(slices.Collect(maps.Values(deliveriesBefore)), "sent") || !slices.Contains(slices.Collect(maps.Values(deliveriesBefore)), "queued") {
		t.Fatalf("want sent and queued webhook deliveries before the erasure: %v", deliveriesBefore)
	}
	csvBefore, _ := accountantsCSV(t, f)
	tokens := map[string]string{}
	for _, id := range []string{fulfilled, cancelled, guestFulfilled, pending} {
		o, _ := f.app.FindRecordById("orders", id)
		tokens[id] = o.GetString("token")
	}

	res = shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": zeldaPass})
	if res.Status != http.StatusOK || res.Body["orders_kept"] != float64(4) {
		t.Fatalf("erase: %d %s", res.Status, res.Raw)
	}

	if found := findTraces(t, f.app.DB(), zeldaTraces); len(found) > 0 {
		t.Errorf("Zelda is still in data.db:\n%s", strings.Join(found, "\n"))
	}
	flushLogs(t, f.app)
	if found := findTraces(t, f.app.AuxDB(), zeldaTraces); len(found) > 0 {
		t.Errorf("Zelda is still in auxiliary.db:\n%s", strings.Join(found, "\n"))
	}

	if got := books(t, f.app); !reflect.DeepEqual(got, booksBefore) {
		t.Errorf("the books changed:\n got %v\nwant %v", got, booksBefore)
	}
	if got := ledger(t, f.app); got != ledgerBefore {
		t.Errorf("the ledger or report tables changed:\n got %s\nwant %s", got, ledgerBefore)
	}
	if got := salesReport(t, f); got != reportBefore {
		t.Errorf("the sales report changed:\n got %s\nwant %s", got, reportBefore)
	}
	csvAfter, csvEmails := accountantsCSV(t, f)
	if !reflect.DeepEqual(csvAfter, csvBefore) {
		t.Errorf("the accountant's CSV changed:\n got %v\nwant %v", csvAfter, csvBefore)
	}
	for _, e := range csvEmails {
		if e != "bob@example.com" && !strings.HasSuffix(e, "@erased.invalid") {
			t.Errorf("the accountant's CSV shows %q", e)
		}
	}
	shoptest.CheckLedger(t, f.app)

	// Her orders: a placeholder address each, nothing personal, no token.
	for _, id := range []string{fulfilled, cancelled, guestFulfilled, pending} {
		o, err := f.app.FindRecordById("orders", id)
		if err != nil {
			t.Fatalf("order %s is gone: %v", id, err)
		}
		if o.GetString("email") != customers.Placeholder(id) || o.GetString("shipping_address") != "null" ||
			o.GetString("note") != "" || o.GetString("token") != "" || o.GetString("customer") != "" {
			t.Errorf("order %s after erasure: email %q address %q note %q token %q customer %q", id,
				o.GetString("email"), o.GetString("shipping_address"), o.GetString("note"), o.GetString("token"), o.GetString("customer"))
		}
		// The old guest link no longer opens it.
		if res := shoptest.Do(t, f.srv, http.MethodGet, "/api/collections/orders/records/"+id+"?token="+tokens[id], "", nil); res.Status != http.StatusNotFound {
			t.Errorf("order %s with its old token: %d", id, res.Status)
		}
	}
	// Bob's order keeps his data; only her address left his note (and the
	// rows quoting it: the owner's notice of his payment and the webhook
	// deliveries of his order placed and paid, other_rows_scrubbed below).
	b, _ := f.app.FindRecordById("orders", bobOrder)
	if b.GetString("email") != "bob@example.com" || b.GetString("note") != "A gift: send the invoice to [erased] too." ||
		!strings.Contains(b.GetString("shipping_address"), "Bob Other") || b.GetString("customer") != bob.Id {
		t.Errorf("Bob's order after Zelda's erasure: %v", b.PublicExport())
	}

	// Webhooks: every delivery is still there in its status; hers name
	// her orders by their placeholders; Bob's keeps him.
	if got := deliveryStatuses(t, f.app); !reflect.DeepEqual(got, deliveriesBefore) {
		t.Errorf("webhook deliveries after erasure: %v, want %v", got, deliveriesBefore)
	}
	for id, status := range deliveriesBefore {
		d, _ := f.app.FindRecordById("webhook_deliveries", id)
		payload := d.GetString("payload")
		for _, o := range []string{fulfilled, cancelled, guestFulfilled, pending} {
			if strings.Contains(payload, `"id":"`+o+`"`) && (!strings.Contains(payload, `"email":"`+customers.Placeholder(o)+`"`) ||
				!strings.Contains(payload, `"shipping_address":null`)) {
				t.Errorf("%s delivery about her order %s after erasure: %s", status, o, payload)
			}
		}
		if strings.Contains(payload, `"id":"`+bobOrder+`"`) && (!strings.Contains(payload, "Bob Other") ||
			!strings.Contains(payload, "send the invoice to [erased] too")) {
			t.Errorf("delivery about Bob's order after erasure: %s", payload)
		}
	}

	// Outbox: nothing queued for her any more; what was sent keeps its
	// subject and status, not its body or her address.
	var queued, sentBodies int
	_ = f.app.DB().NewQuery(`SELECT COUNT(*) FROM emails WHERE status = 'queued'`).Row(&queued)
	_ = f.app.DB().NewQuery(`SELECT COUNT(*) FROM emails WHERE "order" IN ({:a}, {:b}, {:c}, {:d}) AND (html != '' OR text != '')`).
		Bind(dbx.Params{"a": fulfilled, "b": cancelled, "c": guestFulfilled, "d": pending}).Row(&sentBodies)
	if queued != 0 || sentBodies != 0 {
		t.Errorf("after erasure: %d queued emails, %d of her orders' emails with a body", queued, sentBodies)
	}

	// The account is gone; the erasure is on record, by the customer.
	if _, err := f.app.FindRecordById("users", f.zelda.Id); err == nil {
		t.Error("her account still exists")
	}
	rows, err := f.app.FindAllRecords("erasures")
	if err != nil || len(rows) != 1 {
		t.Fatalf("erasures: %v %v", rows, err)
	}
	e := rows[0]
	if e.GetString("requested_by") != customers.ByCustomer || !e.GetBool("account_deleted") || e.GetInt("orders") != 4 ||
		e.GetInt("emails_dropped") != 2 || e.GetInt("deliveries_scrubbed") < 10 || e.GetInt("emails_scrubbed") < 5 || e.GetInt("events_scrubbed") != 1 || e.GetInt("other_rows_scrubbed") != 4 {
		t.Errorf("erasures row: %v", e.PublicExport())
	}
	// Her session died with the account.
	if res := shoptest.Do(t, f.srv, http.MethodGet, "/api/shop/account/export", f.zeldaToken, nil); res.Status != http.StatusUnauthorized {
		t.Errorf("export after erasure: %d %s", res.Status, res.Raw)
	}
}

// addEvent writes an owner's note on an order's timeline (the dashboard
// can add order_events rows).
func addEvent(t *testing.T, app core.App, orderID, message string) {
	t.Helper()
	o, err := app.FindRecordById("orders", orderID)
	if err != nil {
		t.Fatal(err)
	}
	col, _ := app.FindCollectionByNameOrId("order_events")
	ev := core.NewRecord(col)
	ev.Load(map[string]any{"order": orderID, "from_status": o.GetString("status"), "to_status": o.GetString("status"),
		"actor": "admin", "message": message})
	if err := app.Save(ev); err != nil {
		t.Fatal(err)
	}
}

// queueDelivery writes a webhook delivery row as the webhook outbox does:
// {id, type, created, data}.
func queueDelivery(t *testing.T, app core.App, endpoint, event, status string, data map[string]any) {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("webhook_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	d := core.NewRecord(col)
	id := "evt_" + core.GenerateDefaultRandomId()
	d.Load(map[string]any{
		"endpoint": endpoint, "event": event, "event_id": id, "status": status,
		"payload": map[string]any{"id": id, "type": event, "created": 1764000000, "data": data},
	})
	if err := app.Save(d); err != nil {
		t.Fatal(err)
	}
}

// deliveryStatuses maps every webhook delivery to its status.
func deliveryStatuses(t *testing.T, app core.App) map[string]string {
	t.Helper()
	var rows []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
	}
	if err := app.DB().Select("id", "status").From("webhook_deliveries").All(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ID] = r.Status
	}
	return out
}
