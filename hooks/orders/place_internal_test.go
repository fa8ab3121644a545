package orders

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
)

// TestWithNumberLeavesThePreparedEmails: when the writer re-runs a batch,
// an order's Op runs again, perhaps taking another number; its prepared
// emails must still hold the placeholder then.
func TestWithNumberLeavesThePreparedEmails(t *testing.T) {
	t.Parallel()
	col := core.NewBaseCollection("emails")
	col.Fields.Add(&core.TextField{Name: "subject"}, &core.TextField{Name: "html"}, &core.TextField{Name: "text"})
	prepared := core.NewRecord(col)
	ph := strconv.Itoa(numberPlaceholder)
	prepared.Set("subject", "Order #"+ph)
	prepared.Set("html", "<p>#"+ph+"</p>")
	prepared.Set("text", "#"+ph)
	emails := []*core.Record{prepared}

	first := withNumber(emails, 1001)
	second := withNumber(emails, 1002)
	for _, f := range []string{"subject", "html", "text"} {
		if got := first[0].GetString(f); !strings.Contains(got, "1001") {
			t.Errorf("first %s = %q, want #1001", f, got)
		}
		if got := second[0].GetString(f); !strings.Contains(got, "1002") || strings.Contains(got, "1001") {
			t.Errorf("re-run %s = %q, want #1002", f, got)
		}
		if got := prepared.GetString(f); !strings.Contains(got, ph) {
			t.Errorf("prepared %s = %q lost its placeholder", f, got)
		}
	}
	if !second[0].IsNew() {
		t.Error("a numbered copy must still be a new record")
	}
}
