package main

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestCustomersCommandBesideTheServer: the owner's `customers export` and
// `customers erase` run as a second process beside `serve`, exit non-zero
// on every failure (nothing found, an open order, no confirmation without
// a terminal) and change what the server then shows.
func TestCustomersCommandBesideTheServer(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	srv := startServer(t, dir)
	defer srv.stop()
	su := srv.ownerToken()

	var product struct{ ID string }
	if st := srv.call("POST", "/api/collections/products/records", su, map[string]any{
		"name": "Mug", "slug": "mug", "price_cents": 1500, "stock": 5, "active": true}, &product); st != 200 {
		t.Fatalf("create product: %d", st)
	}
	var order struct{ ID, Token string }
	if st := srv.call("POST", "/api/collections/orders/records", "", map[string]any{
		"email": "gus@example.com", "payment_method": "manual", "note": "by the back door",
		"items": []map[string]any{{"product": product.ID, "quantity": 2}}}, &order); st != 200 {
		t.Fatalf("place order: %d", st)
	}

	exitCode := func(err error) int {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return 0
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"customers", "export", "nobody@example.com"}, "holds no account, order or email"},
		{[]string{"customers", "erase", "gus@example.com", "--yes"}, "is pending"},
		{[]string{"customers", "erase", "gus@example.com"}, "pass --yes"}, // stdin is not a terminal
		{[]string{"customers", "erase", "not-an-address", "--yes"}, "not an email address"},
	} {
		out, err := run(t, nil, append(c.args, "--dir="+dir)...)
		if exitCode(err) != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d\n%s\nwant exit 1 with %q", c.args, exitCode(err), out, c.want)
		}
	}

	if st := srv.call("POST", "/api/shop/orders/"+order.ID+"/cancel?token="+order.Token, "", nil, nil); st != 200 {
		t.Fatalf("cancel: %d", st)
	}
	out, err := run(t, nil, "customers", "export", "GUS@example.com", "--dir="+dir)
	var export struct {
		Orders []map[string]any
	}
	if exitCode(err) != 0 || json.Unmarshal([]byte(out), &export) != nil || len(export.Orders) != 1 || export.Orders[0]["note"] != "by the back door" {
		t.Fatalf("export: %v\n%s", err, out)
	}
	out, err = run(t, nil, "customers", "erase", "gus@example.com", "--yes", "--dir="+dir)
	if exitCode(err) != 0 || !strings.Contains(out, "1 orders kept without personal data") {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	var kept map[string]any
	if st := srv.call("GET", "/api/collections/orders/records/"+order.ID, su, nil, &kept); st != 200 ||
		kept["email"] != "erased-"+order.ID+"@erased.invalid" || kept["note"] != "" || kept["total_cents"] != float64(3500) {
		t.Fatalf("the order as the server shows it after the erasure: %d %v", st, kept)
	}
}
