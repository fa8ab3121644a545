package payments_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestOwnerEditRacesPay has the owner save a note on orders (the dashboard's
// PATCH) while their customers start paying: the owner's save writes only
// what the owner changed, so no order loses the Checkout Session or the
// longer reservation /pay stored meanwhile.
func TestOwnerEditRacesPay(t *testing.T) {
	t.Parallel()
	s := newPayShop(t, shoptest.StripeMock(t), 100)
	client := shoptest.RaceClient(s.srv)
	owner := shoptest.SuperuserToken(t, s.app)

	const orders, editsEach = 20, 3
	var placed []*core.Record
	for range orders {
		placed = append(placed, s.order(t, 1))
	}
	failures := shoptest.RunAll(orders*(1+editsEach), func(i int) (int, string, error) {
		o := placed[i%orders]
		if i < orders {
			return shoptest.Send(client, http.MethodPost, s.srv.URL+"/api/shop/orders/"+o.Id+"/pay?token="+o.GetString("token"), "", nil)
		}
		time.Sleep(time.Duration(i/orders) * 5 * time.Millisecond)
		return shoptest.Send(client, http.MethodPatch, s.srv.URL+"/api/collections/orders/records/"+o.Id, owner,
			map[string]any{"note": fmt.Sprintf("edit %d", i)})
	}, http.StatusOK)
	if len(failures) > 0 {
		t.Fatalf("%d unexpected answers, e.g. %s", len(failures), failures[0])
	}
	lost := 0
	for _, o := range placed {
		o = s.reload(t, o.Id)
		if o.GetString("stripe_session_id") == "" || time.Until(o.GetDateTime("expires_at").Time()) < 30*time.Minute {
			lost++
			t.Logf("order %s: session %q, expires in %v", o.Id, o.GetString("stripe_session_id"),
				time.Until(o.GetDateTime("expires_at").Time()).Round(time.Second))
		}
		if !strings.HasPrefix(o.GetString("note"), "edit ") {
			t.Errorf("order %s: note %q, want the owner's", o.Id, o.GetString("note"))
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d orders lost what /pay wrote", lost, orders)
	}
}
