package customers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"pocketshop/hooks/customers"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
)

// TestExportIsTheSignedInCustomersData: the export is a JSON download of
// her account, her orders (signed in, and as a guest with her verified
// address) with lines and events, and the emails sent to her; not the
// owner's notices, not the guest tokens, nothing of Bob's.
func TestExportIsTheSignedInCustomersData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	mine := f.order(t, f.zeldaToken, "", "ring twice", 1)
	f.move(t, mine, "paid")
	guest := f.order(t, "", "ZELDA.QUUX@example.com", "", 2)
	_, bobToken := shoptest.CreateUser(t, f.app, "bob@example.com")
	bobs := f.order(t, bobToken, "", "", 1)

	res := shoptest.Do(t, f.srv, http.MethodGet, "/api/shop/account/export", f.zeldaToken, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("export: %d %s", res.Status, res.Raw)
	}
	var got customers.Export
	if err := json.Unmarshal(res.Raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Email != zeldaEmail || got.User["email"] != zeldaEmail || got.User["name"] != zeldaName ||
		got.User["password"] != nil || got.User["tokenKey"] != nil {
		t.Errorf("export's account: %q %v", got.Email, got.User)
	}
	if len(got.Orders) != 2 || got.Orders[0]["id"] != mine || got.Orders[1]["id"] != guest {
		t.Fatalf("export's orders: %v", got.Orders)
	}
	first := got.Orders[0]
	if first["note"] != "ring twice" || first["token"] != nil || first["status"] != "paid" {
		t.Errorf("exported order: %v", first)
	}
	if items, _ := first["items"].([]any); len(items) != 1 {
		t.Errorf("exported order lines: %v", first["items"])
	}
	if evs, _ := first["events"].([]any); len(evs) != 2 {
		t.Errorf("exported order events (placed, paid): %v", first["events"])
	}
	// placed + paid of hers, placed of the guest order; the owner's
	// notice of her payment is not hers.
	if len(got.Emails) != 3 {
		t.Errorf("exported emails: %v", got.Emails)
	}
	for _, e := range got.Emails {
		if !strings.EqualFold(e["to"].(string), zeldaEmail) || !strings.Contains(e["text"].(string), "token=[removed]") {
			t.Errorf("exported email: %v", e)
		}
	}
	for _, id := range []string{mine, guest} {
		o, _ := f.app.FindRecordById("orders", id)
		if strings.Contains(string(res.Raw), o.GetString("token")) {
			t.Errorf("the export holds the guest token of order %s", id)
		}
	}
	if strings.Contains(string(res.Raw), bobs) || strings.Contains(string(res.Raw), "bob@example.com") {
		t.Error("the export holds Bob's data")
	}
}

// TestAccountRoutesRefuseBadInput: the routes take only the signed-in
// customer; a bad body, a wrong password or another caller gets a clear
// error and changes nothing.
func TestAccountRoutesRefuseBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.order(t, f.zeldaToken, "", "", 1) // pending: but the checks come first
	scenarios := []struct {
		name     string
		method   string
		path     string
		token    string
		body     any
		status   int
		contains string
	}{
		{"guest export", "GET", "/api/shop/account/export", "", nil, 401, ""},
		{"superuser export", "GET", "/api/shop/account/export", f.su, nil, 403, ""},
		{"guest erase", "POST", "/api/shop/account/erase", "", map[string]any{"password": zeldaPass}, 401, ""},
		{"superuser erase", "POST", "/api/shop/account/erase", f.su, map[string]any{"password": "owner-password-123"}, 403, ""},
		{"no body", "POST", "/api/shop/account/erase", f.zeldaToken, nil, 400, `"password":{"code":"invalid_body"`},
		{"not an object", "POST", "/api/shop/account/erase", f.zeldaToken, []string{zeldaPass}, 400, `"password":{"code":"invalid_body"`},
		{"no password", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{}, 400, `"password":{"code":"validation_required"`},
		{"empty password", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": ""}, 400, `"password":{"code":"validation_required"`},
		{"password a number", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": 123456789}, 400, `"password":{"code":"validation_invalid_password"`},
		{"password a list", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": []string{zeldaPass}}, 400, `"password":{"code":"validation_invalid_password"`},
		{"wrong password", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": "customer-password-124"}, 401, "The password is not right."},
		{"huge password", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": strings.Repeat("x", 5000)}, 401, "The password is not right."},
		{"body over the limit", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": strings.Repeat("x", 70<<10)}, 413, ""},
		{"her own records-API delete", "DELETE", "/api/collections/users/records/" + f.zelda.Id, f.zeldaToken, nil, 400, "/api/shop/account/erase"},
		{"pending order", "POST", "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": zeldaPass}, 400, "Your account cannot be deleted yet: order #1001 is pending."},
		{"owner's delete with a pending order", "DELETE", "/api/collections/users/records/" + f.zelda.Id, f.su, nil, 400, "The customer's data cannot be erased yet: order #1001 is pending."},
	}
	before := dump(t, f.app)
	for _, sc := range scenarios {
		res := shoptest.Do(t, f.srv, sc.method, sc.path, sc.token, sc.body)
		if res.Status != sc.status || !strings.Contains(string(res.Raw), sc.contains) {
			t.Errorf("%s: %d %s, want %d with %s", sc.name, res.Status, res.Raw, sc.status, sc.contains)
		}
		if after := dump(t, f.app); after != before {
			t.Fatalf("%s changed the database:\n%s", sc.name, diffLines(before, after))
		}
	}
}

// TestUnverifiedAccountReachesOnlyItsOwnOrders: anyone can sign up with any
// address. An unverified account's export and erasure cover only the
// orders it placed, never the guest orders of the address's real owner.
func TestUnverifiedAccountReachesOnlyItsOwnOrders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	victims := f.order(t, "", "ann@example.com", "the real Ann's note", 1)
	f.move(t, victims, "cancelled")

	impostor, token := shoptest.CreateUser(t, f.app, "ann@example.com")
	impostor.SetVerified(false)
	if err := f.app.Save(impostor); err != nil {
		t.Fatal(err)
	}
	token, _ = impostor.NewAuthToken()
	own := f.order(t, token, "", "", 1)
	f.move(t, own, "cancelled")

	res := shoptest.Do(t, f.srv, http.MethodGet, "/api/shop/account/export", token, nil)
	if res.Status != http.StatusOK || strings.Contains(string(res.Raw), victims) || !strings.Contains(string(res.Raw), own) {
		t.Fatalf("unverified export: %d %s", res.Status, res.Raw)
	}
	theirMail := func() string {
		rows := []dbx.NullStringMap{}
		if err := f.app.DB().NewQuery(`SELECT "to", status, text FROM emails WHERE "order" = {:o} ORDER BY rowid`).
			Bind(dbx.Params{"o": victims}).All(&rows); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(rows)
		return string(raw)
	}
	mailBefore := theirMail()
	if !strings.Contains(mailBefore, "ann@example.com") {
		t.Fatalf("the real Ann's order has no emails to her: %s", mailBefore)
	}
	res = shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/account/erase", token, map[string]any{"password": zeldaPass})
	if res.Status != http.StatusOK || res.Body["orders_kept"] != float64(1) {
		t.Fatalf("unverified erase: %d %s", res.Status, res.Raw)
	}
	v, _ := f.app.FindRecordById("orders", victims)
	if v.GetString("email") != "ann@example.com" || v.GetString("note") != "the real Ann's note" ||
		!strings.Contains(v.GetString("shipping_address"), zeldaName) || v.GetString("token") == "" {
		t.Errorf("the real Ann's guest order was touched: %v", v.PublicExport())
	}
	if got := theirMail(); got != mailBefore {
		t.Errorf("the real Ann's emails were touched:\n got %s\nwant %s", got, mailBefore)
	}
	o, _ := f.app.FindRecordById("orders", own)
	if o.GetString("email") != customers.Placeholder(own) {
		t.Errorf("the account's own order was not erased: %v", o.PublicExport())
	}
}

// TestOwnerDeletesAnAccountInTheDashboard: deleting a customer in the
// dashboard is an erasure: the orders stay, without the person.
func TestOwnerDeletesAnAccountInTheDashboard(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.order(t, f.zeldaToken, "", "", 2)
	f.move(t, id, "paid")
	f.move(t, id, "fulfilled")
	res := shoptest.Do(t, f.srv, http.MethodDelete, "/api/collections/users/records/"+f.zelda.Id, f.su, nil)
	if res.Status != http.StatusNoContent {
		t.Fatalf("owner's delete: %d %s", res.Status, res.Raw)
	}
	o, err := f.app.FindRecordById("orders", id)
	if err != nil || o.GetString("email") != customers.Placeholder(id) || o.GetString("status") != "fulfilled" || o.GetInt("total_cents") != 3500 {
		t.Fatalf("order after the owner's delete: %v %v", o, err)
	}
	rows, _ := f.app.FindAllRecords("erasures")
	if len(rows) != 1 || rows[0].GetString("requested_by") != customers.ByOwner {
		t.Errorf("erasures: %v", rows)
	}
	if found := findTraces(t, f.app.DB(), zeldaTraces); len(found) > 0 {
		t.Errorf("Zelda is still in data.db:\n%s", strings.Join(found, "\n"))
	}
}

// TestConcurrentErasuresEraseOnce: the same request sent many times at
// once (a double click, a retry) erases once: one 200, the others find no
// account any more, and one erasures row.
func TestConcurrentErasuresEraseOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.order(t, f.zeldaToken, "", "", 1)
	f.move(t, id, "cancelled")
	client := shoptest.RaceClient(f.srv)
	failures := shoptest.RunAll(8, func(int) (int, string, error) {
		return shoptest.Send(client, http.MethodPost, f.srv.URL+"/api/shop/account/erase", f.zeldaToken, map[string]any{"password": zeldaPass})
	}, http.StatusOK)
	for _, fail := range failures {
		// The losers were authenticated before the account went, or after.
		if !strings.HasPrefix(fail, "401 ") && !strings.HasPrefix(fail, "404 ") {
			t.Errorf("unexpected answer: %s", fail)
		}
	}
	ok := 8 - len(failures)
	rows, _ := f.app.FindAllRecords("erasures")
	if ok != 1 || len(rows) != 1 {
		t.Fatalf("%d erasures succeeded, %d rows; failures: %v", ok, len(rows), failures)
	}
	shoptest.CheckLedger(t, f.app)
}

// TestEraseIsRateLimited: guessing the password is limited per IP like a
// sign-in (10 a minute on a new shop), then even the right one waits.
func TestEraseIsRateLimited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	shoptest.EnableRateLimits(t, f.app)
	for i := range 10 {
		res := shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": "guess-" + string(rune('a'+i))})
		if res.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s", i, res.Status, res.Raw)
		}
	}
	res := shoptest.Do(t, f.srv, http.MethodPost, "/api/shop/account/erase", f.zeldaToken, map[string]any{"password": zeldaPass})
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("11th attempt: %d %s", res.Status, res.Raw)
	}
	if _, err := f.app.FindRecordById("users", f.zelda.Id); err != nil {
		t.Fatal("the account was deleted past the limit")
	}
	// The export is not a guess: it is not limited by this rule.
	if res := shoptest.Do(t, f.srv, http.MethodGet, "/api/shop/account/export", f.zeldaToken, nil); res.Status != http.StatusOK {
		t.Fatalf("export: %d %s", res.Status, res.Raw)
	}
}
