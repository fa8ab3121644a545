package orders_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"
)

// TestLastUnitsUnderConcurrency has 100 buyers race for the last 5 units of
// a product through the real HTTP API.
func TestLastUnitsUnderConcurrency(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "last-mug", 1500, 5)
	srv := shoptest.Serve(t, app)
	client := shoptest.RaceClient(srv)

	const buyers = 100
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		ok, outs int
		failures []string
	)
	start := make(chan struct{})
	for i := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, err := shoptest.Send(client, http.MethodPost, srv.URL+"/api/collections/orders/records", "", map[string]any{
				"email": fmt.Sprintf("buyer%d@example.com", i), "payment_method": "manual",
				"items": []map[string]any{{"product": p.Id, "quantity": 1}},
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case status == http.StatusOK:
				ok++
			case status == http.StatusBadRequest && strings.Contains(body, `Not enough stock for \"last-mug\"`):
				outs++
			default:
				failures = append(failures, fmt.Sprintf("%d %s", status, body))
			}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(began)

	if len(failures) > 0 {
		t.Fatalf("%d unexpected answers, e.g. %s", len(failures), failures[0])
	}
	if ok != 5 || outs != buyers-5 {
		t.Fatalf("%d orders and %d 'not enough stock', want 5 and %d", ok, outs, buyers-5)
	}
	if n := shoptest.Count(t, app, "orders"); n != 5 {
		t.Fatalf("%d orders stored, want 5", n)
	}
	if got := shoptest.Stock(t, app, p.Id); got != 0 {
		t.Fatalf("stock %d, want 0", got)
	}
	shoptest.CheckLedger(t, app)
	t.Logf("%d requests for the last 5 units in %v (%.0f requests/s)", buyers, took.Round(time.Millisecond), buyers/took.Seconds())
}

// TestMixedOrdersUnderConcurrency places and cancels orders of several
// products, their lines in different orders, from many goroutines at once:
// nothing deadlocks, no request fails for another reason than stock, and
// every product's stock equals its ledger and its open orders.
func TestMixedOrdersUnderConcurrency(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	const start = 60
	var ids []string
	for i := range 5 {
		ids = append(ids, shoptest.CreateProduct(t, app, fmt.Sprintf("item-%d", i), 100*(i+1), start).Id)
	}
	srv := shoptest.Serve(t, app)
	client := shoptest.RaceClient(srv)

	const buyers, ordersEach = 40, 5
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		placed   int
		short    int
		failures []string
	)
	fail := func(s string) {
		mu.Lock()
		failures = append(failures, s)
		mu.Unlock()
	}
	began := time.Now()
	for b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(b), 7))
			for range ordersEach {
				perm := rng.Perm(len(ids))[:1+rng.IntN(len(ids))]
				items := make([]map[string]any, len(perm))
				for i, k := range perm {
					items[i] = map[string]any{"product": ids[k], "quantity": 1 + rng.IntN(3)}
				}
				status, body, err := shoptest.Send(client, http.MethodPost, srv.URL+"/api/collections/orders/records", "", map[string]any{
					"email": "mix@example.com", "payment_method": "manual", "items": items,
				})
				switch {
				case err != nil:
					fail(err.Error())
					continue
				case status == http.StatusBadRequest && strings.Contains(body, "Not enough stock"):
					mu.Lock()
					short++
					mu.Unlock()
					continue
				case status != http.StatusOK:
					fail(fmt.Sprintf("place: %d %s", status, body))
					continue
				}
				mu.Lock()
				placed++
				mu.Unlock()
				if rng.IntN(3) > 0 {
					continue
				}
				var order map[string]any
				_ = json.Unmarshal([]byte(body), &order)
				status, body, err = shoptest.Send(client, http.MethodPost,
					fmt.Sprintf("%s/api/shop/orders/%s/cancel?token=%s", srv.URL, order["id"], order["token"]), "", nil)
				if err != nil || status != http.StatusOK {
					fail(fmt.Sprintf("cancel: %d %s %v", status, body, err))
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	if len(failures) > 0 {
		t.Fatalf("%d unexpected answers, e.g. %s", len(failures), failures[0])
	}

	shoptest.CheckLedger(t, app)
	held := map[string]int{}
	all, err := app.FindRecordsByFilter("orders", "", "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		if !shop.HoldsStock(o.GetString("status")) {
			continue
		}
		lines, err := orders.Lines(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			held[l.Product] += l.Quantity
		}
	}
	for _, id := range ids {
		if got, want := shoptest.Stock(t, app, id), start-held[id]; got != want {
			t.Errorf("stock of %s = %d, want %d (%d held by open orders)", id, got, want, held[id])
		}
	}
	if placed+short != buyers*ordersEach || len(all) != placed {
		t.Fatalf("%d placed + %d short of %d attempts; %d stored", placed, short, buyers*ordersEach, len(all))
	}
	// refused orders use up no number: the numbers run 1001, 1002, ... without gaps
	numbers := map[int]bool{}
	for _, o := range all {
		numbers[o.GetInt("number")] = true
	}
	for n := 1001; n <= 1000+placed; n++ {
		if !numbers[n] {
			t.Fatalf("order number %d missing from %d orders", n, placed)
		}
	}
	t.Logf("%d orders placed, %d refused for stock, cancels included, in %v (%.0f orders/s)",
		placed, short, took.Round(time.Millisecond), float64(placed)/took.Seconds())
}
