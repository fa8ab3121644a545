package customers

import (
	"bytes"
	"strings"
	"testing"

	_ "pocketshop/pb_migrations"

	"github.com/pocketbase/pocketbase/tests"
)

// TestConfirm: on a terminal the owner types the address again (any case)
// to go on; anything else stops the erasure.
func TestConfirm(t *testing.T) {
	t.Parallel()
	// A bare app with the shop's schema: shoptest would import this package.
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	subj, err := ownerSubject(app, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typed string
		ok    bool
	}{
		{"ann@example.com\n", true},
		{"  ANN@example.com  \n", true},
		{"ann@example.com", true}, // no newline: end of input
		{"y\n", false},
		{"\n", false},
		{"", false},
		{"bob@example.com\n", false},
	} {
		var out bytes.Buffer
		err := confirm(strings.NewReader(c.typed), &out, app, subj, "ann@example.com")
		if (err == nil) != c.ok {
			t.Errorf("typed %q: %v", c.typed, err)
		}
		if !strings.Contains(out.String(), "no account and removes the personal data of 0 orders") {
			t.Errorf("prompt: %q", out.String())
		}
	}
	if isTerminal(strings.NewReader("")) {
		t.Error("a reader is not a terminal")
	}
}
