package customers_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/hooks/customers"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// runCommand runs `customers ARGS...` on the fixture's app with stdin in
// (not a terminal) and returns stdout and the error.
func runCommand(t *testing.T, f *fixture, in string, args ...string) (string, error) {
	t.Helper()
	cmd := hooks.NewCustomersCommand(f.app, hooks.Deps{Now: f.clock.Now})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(in))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestCustomersCommand: the owner exports and erases by address, guests
// included; a failure (nothing found, no confirmation, an open order, not
// an address) is an error, so the binary exits non-zero, and changes
// nothing.
func TestCustomersCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	guest := f.order(t, "", "gus.guest@example.com", "by the back door", 1)
	f.move(t, guest, "paid")
	f.order(t, f.zeldaToken, "", "", 1) // pending

	out, err := runCommand(t, f, "", "export", "Gus.Guest@example.com")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	var export customers.Export
	if err := json.Unmarshal([]byte(out), &export); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	if export.User != nil || len(export.Orders) != 1 || export.Orders[0]["note"] != "by the back door" || len(export.Emails) != 2 {
		t.Errorf("guest export: %+v", export)
	}

	before := dump(t, f.app)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "nobody@example.com"}, "holds no account, order or email"},
		{[]string{"export", "not an address"}, "not an email address"},
		{[]string{"export", strings.Repeat("a", 250) + "@example.com"}, "at most 254"},
		{[]string{"export"}, "accepts 1 arg"},
		{[]string{"erase", "nobody@example.com", "--yes"}, "holds no account and no order"},
		{[]string{"erase", "gus.guest@example.com"}, "pass --yes"},
		{[]string{"erase", "gus.guest@example.com", "--yes"}, "#1001 is paid"},
		{[]string{"erase", zeldaEmail, "--yes"}, "#1002 is pending"},
	} {
		out, err := runCommand(t, f, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("customers %v: %v\n%s\nwant an error with %q", c.args, err, out, c.want)
		}
		if after := dump(t, f.app); after != before {
			t.Fatalf("customers %v changed the database:\n%s", c.args, diffLines(before, after))
		}
	}

	// A collection a later migration (or the owner) adds with an address
	// field: the pass over every collection covers it.
	signups := core.NewBaseCollection("newsletter_signups")
	signups.Fields.Add(&core.EmailField{Name: "address"}, &core.TextField{Name: "source"})
	if err := f.app.Save(signups); err != nil {
		t.Fatal(err)
	}
	signup := core.NewRecord(signups)
	signup.Load(map[string]any{"address": "gus.guest@example.com", "source": "checkout"})
	if err := f.app.Save(signup); err != nil {
		t.Fatal(err)
	}

	f.move(t, guest, "fulfilled")
	out, err = runCommand(t, f, "", "erase", "GUS.GUEST@example.com", "--yes")
	if err != nil || !strings.Contains(out, "no account, 1 orders kept without personal data") {
		t.Fatalf("erase: %v\n%s", err, out)
	}
	if found := findTraces(t, f.app.DB(), []string{"gus.guest@example.com", "by the back door"}); len(found) > 0 {
		t.Errorf("the guest is still in data.db:\n%s", strings.Join(found, "\n"))
	}
	if s, _ := f.app.FindRecordById("newsletter_signups", signup.Id); s.GetString("address") != customers.Placeholder(signup.Id) {
		t.Errorf("newsletter signup after erasure: %v", s.PublicExport())
	}
	rows, _ := f.app.FindAllRecords("erasures")
	if len(rows) != 1 || rows[0].GetString("requested_by") != customers.ByOwner || rows[0].GetBool("account_deleted") {
		t.Errorf("erasures: %v", rows)
	}
	shoptest.CheckLedger(t, f.app)
}
