package orders_test

import (
	"fmt"
	"net/http"
	"testing"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
)

// movementSums adds up a product's stock movements by reason.
func movementSums(t *testing.T, app interface {
	DB() dbx.Builder
}, productID string) map[string]int {
	t.Helper()
	var rows []struct {
		Reason string `db:"reason"`
		Sum    int    `db:"sum"`
	}
	err := app.DB().NewQuery("SELECT reason, SUM(delta) AS sum FROM stock_movements WHERE product = {:p} GROUP BY reason").
		Bind(dbx.Params{"p": productID}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int{}
	for _, r := range rows {
		sums[r.Reason] = r.Sum
	}
	return sums
}

// TestStockModifiersRaceWithOrders has the owner add units with the records
// API's "stock+" modifier while buyers order: every "+1" adds exactly one
// unit to the stock as it is when the save happens, so no reserved unit
// shows as free again and the ledger books +1 per save.
func TestStockModifiersRaceWithOrders(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "busy-mug", 1500, 1000)
	srv := shoptest.Serve(t, app)
	client := shoptest.RaceClient(srv)
	owner := shoptest.SuperuserToken(t, app)

	const buyers, restocks, removals = 60, 30, 10
	failures := shoptest.RunAll(buyers+restocks+removals, func(i int) (int, string, error) {
		switch {
		case i < buyers:
			return shoptest.Send(client, http.MethodPost, srv.URL+"/api/collections/orders/records", "", map[string]any{
				"email": fmt.Sprintf("b%d@example.com", i), "payment_method": "manual",
				"items": []map[string]any{{"product": p.Id, "quantity": 1}},
			})
		case i < buyers+restocks:
			return shoptest.Send(client, http.MethodPatch, srv.URL+"/api/collections/products/records/"+p.Id, owner,
				map[string]any{"stock+": 1})
		default:
			return shoptest.Send(client, http.MethodPatch, srv.URL+"/api/collections/products/records/"+p.Id, owner,
				map[string]any{"stock-": 1})
		}
	}, http.StatusOK)
	if len(failures) > 0 {
		t.Fatalf("%d unexpected answers, e.g. %s", len(failures), failures[0])
	}
	if got, want := shoptest.Stock(t, app, p.Id), 1000-buyers+restocks-removals; got != want {
		t.Errorf("stock %d, want %d", got, want)
	}
	sums := movementSums(t, app, p.Id)
	if sums["restock"] != 1000+restocks || sums["adjust"] != -removals || sums["reserve"] != -buyers {
		t.Errorf("ledger by reason %v, want restock %d, adjust %d, reserve %d", sums, 1000+restocks, -removals, -buyers)
	}
	shoptest.CheckLedger(t, app)
}

// TestPlainStockIsAnAbsoluteSet pins what a plain "stock": N means: the
// owner counted N units on the shelf, so stock becomes N and the ledger
// books exactly N minus the stock stored at the save, whatever the record
// held when it was loaded. Sending the loaded value back (a form that
// saves every field) changes nothing.
func TestPlainStockIsAnAbsoluteSet(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "counted-mug", 1500, 10)
	srv := shoptest.Serve(t, app)
	owner := shoptest.SuperuserToken(t, app)

	shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": p.Id, "quantity": 3}},
	})
	res := shoptest.Do(t, srv, http.MethodPatch, "/api/collections/products/records/"+p.Id, owner,
		map[string]any{"name": "Counted mug", "stock": 7})
	if res.Status != http.StatusOK || shoptest.Stock(t, app, p.Id) != 7 {
		t.Fatalf("resave with the same stock: %d %s, stock %d, want 7", res.Status, res.Raw, shoptest.Stock(t, app, p.Id))
	}
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/products/records/"+p.Id, owner,
		map[string]any{"stock": 20})
	if res.Status != http.StatusOK || shoptest.Stock(t, app, p.Id) != 20 {
		t.Fatalf("set stock 20: %d %s, stock %d", res.Status, res.Raw, shoptest.Stock(t, app, p.Id))
	}
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/products/records/"+p.Id, owner,
		map[string]any{"stock-": 21})
	if res.Status != http.StatusBadRequest || shoptest.Stock(t, app, p.Id) != 20 {
		t.Fatalf("stock- below zero: %d %s, stock %d, want 400 and 20", res.Status, res.Raw, shoptest.Stock(t, app, p.Id))
	}
	if sums := movementSums(t, app, p.Id); sums["restock"] != 10+13 || sums["reserve"] != -3 || sums["adjust"] != 0 {
		t.Errorf("ledger by reason %v, want restock 23, reserve -3", sums)
	}
	shoptest.CheckLedger(t, app)
}
