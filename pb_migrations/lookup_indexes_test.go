package pb_migrations_test

import (
	"strings"
	"testing"

	_ "pocketshop/pb_migrations"

	"github.com/pocketbase/pocketbase/tests"
)

// TestStripeLookupsUseAnIndex checks that the webhook's order lookups by
// Checkout Session and by PaymentIntent do not scan the orders table.
func TestStripeLookupsUseAnIndex(t *testing.T) {
	t.Parallel()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Cleanup()
	for _, field := range []string{"stripe_session_id", "stripe_payment_intent"} {
		var plan []struct {
			Detail string `db:"detail"`
		}
		err := app.DB().NewQuery("EXPLAIN QUERY PLAN SELECT * FROM orders WHERE [[" + field + "]] = 'x' LIMIT 1").All(&plan)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) == 0 || !strings.Contains(plan[0].Detail, "USING INDEX") {
			t.Errorf("lookup by %s: plan %+v, want an index search", field, plan)
		}
	}
}
