package orders_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// Fixed ids of variantCatalog, so that request bodies can name them.
const (
	shirtID    = "shirt0000000001" // T-shirt, 2000 cents, SKU TS, Size x Color
	mRedID     = "vmred0000000001" // M / Red: SKU TS-M-RED, the product's price, 5 in stock
	lBlueID    = "vlblue000000001" // L / Blue: no SKU, 2500 cents, 1 in stock
	sRedID     = "vsred0000000001" // S / Red: 3 in stock, not for sale
	bagID      = "bag000000000001" // Bag, one option
	bagLargeID = "vbaglarge000001" // Large: 2 in stock
	plainID    = "plain0000000001" // Mug, a simple product: 1200 cents, 4 in stock
)

// variantStart is the stock variantCatalog starts with, per unit (variant
// or simple product); the products sold by variant keep 0 of their own.
var variantStart = map[string]int{mRedID: 5, lBlueID: 1, sRedID: 3, bagLargeID: 2, plainID: 4, shirtID: 0, bagID: 0}

// variantCatalog creates a product sold by variant, another one, and a
// simple product.
func variantCatalog(tb testing.TB, app *tests.TestApp) {
	tb.Helper()
	save := func(collection, id string, data map[string]any) {
		tb.Helper()
		col, err := app.FindCachedCollectionByNameOrId(collection)
		if err != nil {
			tb.Fatal(err)
		}
		r := core.NewRecord(col)
		r.Id = id
		r.Load(data)
		if err := app.Save(r); err != nil {
			tb.Fatalf("create %s %s: %v", collection, id, err)
		}
	}
	save("products", shirtID, map[string]any{"name": "T-shirt", "slug": "t-shirt", "sku": "TS", "price_cents": 2000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"S", "M", "L"}}, {"name": "Color", "values": []string{"Red", "Blue"}}}})
	save("variants", mRedID, map[string]any{"product": shirtID, "sku": "TS-M-RED", "options": map[string]string{"Size": "M", "Color": "Red"},
		"stock": 5, "active": true})
	save("variants", lBlueID, map[string]any{"product": shirtID, "options": map[string]string{"Color": "Blue", "Size": "L"},
		"price_cents": 2500, "stock": 1, "active": true})
	save("variants", sRedID, map[string]any{"product": shirtID, "options": map[string]string{"Size": "S", "Color": "Red"},
		"stock": 3, "active": false})
	save("products", bagID, map[string]any{"name": "Bag", "slug": "bag", "price_cents": 3000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"Large"}}}})
	save("variants", bagLargeID, map[string]any{"product": bagID, "options": map[string]string{"Size": "Large"}, "stock": 2, "active": true})
	save("products", plainID, map[string]any{"name": "Mug", "slug": "mug", "price_cents": 1200, "stock": 4, "active": true})
}

// unitStock returns the stock of a variant or product.
func unitStock(tb testing.TB, app core.App, id string) int {
	tb.Helper()
	if strings.HasPrefix(id, "v") {
		return shoptest.VariantStock(tb, app, id)
	}
	return shoptest.Stock(tb, app, id)
}

// nothingWrittenByVariant fails the test if a rejected request left any
// order, event, email or stock change behind.
func nothingWrittenByVariant(tb testing.TB, app core.App) {
	tb.Helper()
	for _, c := range []string{"orders", "order_events", "emails"} {
		if n := shoptest.Count(tb, app, c); n != 0 {
			tb.Errorf("%d %s written", n, c)
		}
	}
	if n := shoptest.Count(tb, app, "stock_movements"); n != 5 {
		tb.Errorf("%d stock movements, want the catalog's 5", n)
	}
	for id, want := range variantStart {
		if got := unitStock(tb, app, id); got != want {
			tb.Errorf("stock of %s = %d, want %d", id, got, want)
		}
	}
}

func variantItem(product, variant string, qty any) string {
	return fmt.Sprintf(`{"product":%q,"variant":%q,"quantity":%v}`, product, variant, qty)
}

func TestVariantOrderRejectsBadInput(t *testing.T) {
	t.Parallel()
	table := []struct {
		name string
		body string
		want string
	}{
		{"no variant for a product that has them", rawOrder("", item(shirtID, 1)),
			`Line 1: "T-shirt" comes in variants: the product needs a variant.`},
		{"a variant of another product", rawOrder("", variantItem(shirtID, bagLargeID, 1)),
			`Line 1: variant "` + bagLargeID + `" is not a variant of "T-shirt".`},
		{"an inactive variant", rawOrder("", variantItem(plainID, "", 1), variantItem(shirtID, sRedID, 1)),
			`Line 2: variant "S / Red" of "T-shirt" is not for sale.`},
		{"a variant for a product without variants", rawOrder("", variantItem(plainID, "vnone0000000001", 1)),
			`Line 1: "Mug" has no variants: order it without one.`},
		{"another product's variant on a simple product", rawOrder("", variantItem(plainID, mRedID, 1)),
			`Line 1: variant "` + mRedID + `" is not a variant of "Mug".`},
		{"an unknown variant", rawOrder("", variantItem(shirtID, "vnone0000000001", 1)),
			`Line 1: variant "vnone0000000001" of "T-shirt" does not exist.`},
		{"not enough of the variant", rawOrder("", variantItem(shirtID, mRedID, 1), variantItem(shirtID, lBlueID, 2)),
			`Not enough stock for "T-shirt (L / Blue)": only 1 left.`},
		{"the same variant twice", rawOrder("", variantItem(shirtID, mRedID, 1), variantItem(shirtID, mRedID, 1)),
			`Line 2: variant "` + mRedID + `" is already in the order; change that line's quantity instead.`},
		{"a variant that is not a string", rawOrder("", `{"product":"`+shirtID+`","variant":7,"quantity":1}`),
			"Line 1: variant must be a variant id."},
		{"a variant id too long", rawOrder("", variantItem(shirtID, strings.Repeat("v", 65), 1)),
			"Line 1: variant must be a variant id."},
	}
	for _, b := range table {
		(&tests.ApiScenario{
			Name:            b.name,
			Method:          http.MethodPost,
			URL:             "/api/collections/orders/records",
			Body:            strings.NewReader(b.body),
			Headers:         map[string]string{"Content-Type": "application/json"},
			ExpectedStatus:  http.StatusBadRequest,
			ExpectedContent: []string{fieldError("items", b.want)},
			TestAppFactory:  shoptest.Factory(hooks.Deps{}, variantCatalog),
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				nothingWrittenByVariant(t, app)
			},
		}).Test(t)
	}
}

// TestVariantOrderLifecycle places an order of two variants and a simple
// product, checks the stored lines and the stock held per unit, then
// releases it by cancel, expiry and a refund's restock: every unit's stock
// comes back and equals its ledger.
func TestVariantOrderLifecycle(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	variantCatalog(t, app)
	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)

	place := func() map[string]any {
		t.Helper()
		return shoptest.PlaceOrder(t, srv, "", map[string]any{
			"email": "ann@example.com", "payment_method": "manual",
			"items": []map[string]any{
				{"product": shirtID, "variant": mRedID, "quantity": 2},
				{"product": shirtID, "variant": lBlueID, "quantity": 1},
				{"product": plainID, "quantity": 1},
			},
		})
	}
	order := place()
	stored, err := app.FindRecordById("orders", order["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := orders.Lines(stored)
	if err != nil {
		t.Fatal(err)
	}
	want := []shop.OrderLine{
		{Product: shirtID, Name: "T-shirt", SKU: "TS-M-RED", UnitPriceCents: 2000, Quantity: 2, LineTotalCents: 4000, Variant: mRedID, VariantTitle: "M / Red"},
		{Product: shirtID, Name: "T-shirt", SKU: "TS", UnitPriceCents: 2500, Quantity: 1, LineTotalCents: 2500, Variant: lBlueID, VariantTitle: "L / Blue"},
		{Product: plainID, Name: "Mug", UnitPriceCents: 1200, Quantity: 1, LineTotalCents: 1200},
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("stored lines %+v\nwant %+v", lines, want)
	}
	if got := stored.GetInt("subtotal_cents"); got != 7700 {
		t.Errorf("subtotal %d, want 7700", got)
	}
	held := map[string]int{mRedID: 3, lBlueID: 0, plainID: 3, shirtID: 0}
	for id, n := range held {
		if got := unitStock(t, app, id); got != n {
			t.Errorf("stock of %s after the order: %d, want %d", id, got, n)
		}
	}
	shoptest.CheckLedger(t, app)

	// Cancel: every unit back.
	res := shoptest.Do(t, srv, http.MethodPost, "/api/shop/orders/"+stored.Id+"/cancel?token="+stored.GetString("token"), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	for id, n := range variantStart {
		if got := unitStock(t, app, id); got != n {
			t.Errorf("stock of %s after cancel: %d, want %d", id, got, n)
		}
	}
	if got := shoptest.Movements(t, app, shirtID); !slices.Equal(got, []string{
		"restock:5", "restock:1", "restock:3", "reserve:-2", "reserve:-1", "release:2", "release:1"}) {
		t.Errorf("T-shirt's movements %v", got)
	}

	// Expiry (the jobs move a pending order to expired): released.
	expiring := place()
	if _, err := orders.Move(app, expiring["id"].(string), shop.StatusExpired, shop.ActorSystem, "test", nil); err != nil {
		t.Fatalf("expire: %v", err)
	}
	if got := unitStock(t, app, mRedID); got != 5 {
		t.Errorf("M / Red after expiry: %d, want 5", got)
	}

	// Paid then refunded with restock: the refund puts the units back.
	paid := place()
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/orders/records/"+paid["id"].(string), su, map[string]any{"status": "paid"})
	if res.Status != http.StatusOK {
		t.Fatalf("mark paid: %d %s", res.Status, res.Raw)
	}
	paidOrder, _ := app.FindRecordById("orders", paid["id"].(string))
	paidLines, _ := orders.Lines(paidOrder)
	if err := app.RunInTransaction(func(txApp core.App) error {
		return orders.Restock(txApp, paidOrder.Id, paidLines)
	}); err != nil {
		t.Fatalf("restock: %v", err)
	}
	for id, n := range variantStart {
		if got := unitStock(t, app, id); got != n {
			t.Errorf("stock of %s after the refund's restock: %d, want %d", id, got, n)
		}
	}
	shoptest.CheckLedger(t, app)
	if n := countVariantMovements(t, app, lBlueID); n != 7 {
		t.Errorf("L / Blue has %d movements, want 7 (restock, 3 reserves, release x2, restock)", n)
	}
}

func countVariantMovements(tb testing.TB, app core.App, variantID string) int {
	tb.Helper()
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM stock_movements WHERE variant = {:v}").
		Bind(map[string]any{"v": variantID}).Row(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestLastUnitsOfAVariantUnderConcurrency has 100 buyers race for the last
// 5 units of one variant through the real HTTP API: exactly 5 win.
func TestLastUnitsOfAVariantUnderConcurrency(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	variantCatalog(t, app)
	srv := shoptest.Serve(t, app)
	client := shoptest.RaceClient(srv)

	const buyers = 100
	statuses := make([]int, buyers)
	bodies := make([]string, buyers)
	failures := shoptest.RunAll(buyers, func(i int) (int, string, error) {
		status, body, err := shoptest.Send(client, http.MethodPost, srv.URL+"/api/collections/orders/records", "", map[string]any{
			"email": fmt.Sprintf("buyer%d@example.com", i), "payment_method": "manual",
			"items": []map[string]any{{"product": shirtID, "variant": mRedID, "quantity": 1}},
		})
		statuses[i], bodies[i] = status, body
		return status, body, err
	}, http.StatusOK)

	won, out := 0, 0
	for i, s := range statuses {
		switch {
		case s == http.StatusOK:
			won++
		case s == http.StatusBadRequest && strings.Contains(bodies[i], `Not enough stock for \"T-shirt (M / Red)\"`):
			out++
		}
	}
	if won != 5 || out != buyers-5 || len(failures) != buyers-5 {
		t.Fatalf("%d orders and %d 'not enough stock' of %d refused, want 5 and %d", won, out, len(failures), buyers-5)
	}
	if n := shoptest.Count(t, app, "orders"); n != 5 {
		t.Fatalf("%d orders stored, want 5", n)
	}
	if got := shoptest.VariantStock(t, app, mRedID); got != 0 {
		t.Fatalf("variant stock %d, want 0", got)
	}
	if got := shoptest.VariantStock(t, app, lBlueID); got != 1 {
		t.Fatalf("another variant's stock %d, want 1", got)
	}
	shoptest.CheckLedger(t, app)
}

// TestVariantStockEditsWriteMovements edits a variant's stock as the
// dashboard does: "stock+"/"stock-" are deltas, a plain "stock" an absolute
// set booked as its difference, and stock never goes below zero.
func TestVariantStockEditsWriteMovements(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	variantCatalog(t, app)
	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)
	path := "/api/collections/variants/records/" + mRedID

	shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": shirtID, "variant": mRedID, "quantity": 2}},
	})
	for _, step := range []struct {
		body   map[string]any
		status int
		stock  int
	}{
		{map[string]any{"stock+": 4}, http.StatusOK, 7},
		{map[string]any{"stock-": 1}, http.StatusOK, 6},
		{map[string]any{"stock": 10, "title": "Medium / Red"}, http.StatusOK, 10},
		{map[string]any{"stock": 8}, http.StatusOK, 8},
		{map[string]any{"stock-": 9}, http.StatusBadRequest, 8},
		{map[string]any{"stock+": 1.5}, http.StatusBadRequest, 8},
	} {
		res := shoptest.Do(t, srv, http.MethodPatch, path, su, step.body)
		if res.Status != step.status || shoptest.VariantStock(t, app, mRedID) != step.stock {
			t.Fatalf("%v: %d %s, stock %d; want %d and stock %d", step.body, res.Status, res.Raw,
				shoptest.VariantStock(t, app, mRedID), step.status, step.stock)
		}
	}
	// A new variant's stock is booked as a restock.
	res := shoptest.Do(t, srv, http.MethodPost, "/api/collections/variants/records", su, map[string]any{
		"product": shirtID, "options": map[string]string{"Size": "S", "Color": "Blue"}, "stock": 6, "active": true,
	})
	if res.Status != http.StatusOK {
		t.Fatalf("create variant: %d %s", res.Status, res.Raw)
	}
	if res.Body["title"] != "S / Blue" {
		t.Errorf("title %v, want the options' S / Blue", res.Body["title"])
	}
	if n := countVariantMovements(t, app, res.Body["id"].(string)); n != 1 {
		t.Errorf("new variant has %d movements, want its restock", n)
	}
	shoptest.CheckLedger(t, app)
	var byReason []struct {
		Reason string `db:"reason"`
		Sum    int    `db:"sum"`
	}
	if err := app.DB().NewQuery("SELECT reason, SUM(delta) AS sum FROM stock_movements WHERE variant = {:v} GROUP BY reason ORDER BY reason").
		Bind(map[string]any{"v": mRedID}).All(&byReason); err != nil {
		t.Fatal(err)
	}
	// restock: 5 at the start, +4, 6 -> 10; adjust: -1, 10 -> 8.
	if got := fmt.Sprint(byReason); got != "[{adjust -3} {reserve -2} {restock 13}]" {
		t.Errorf("M / Red's ledger by reason %s, want adjust -3, reserve -2, restock 13", got)
	}
}

// TestVariantRealtime checks that a storefront subscribed to variants hears
// of the stock an order takes (the group-commit writer's rows fire the
// after-success hooks) and of the owner's edits.
func TestVariantRealtime(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	variantCatalog(t, app)
	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)

	guest := shoptest.Subscribe(t, srv, "", "variants")
	shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "a@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": shirtID, "variant": mRedID, "quantity": 2}},
	})
	res := shoptest.Do(t, srv, http.MethodPatch, "/api/collections/variants/records/"+lBlueID, su, map[string]any{"stock+": 3})
	if res.Status != http.StatusOK {
		t.Fatalf("restock: %d %s", res.Status, res.Raw)
	}
	// The inactive variant is not the guest's to see.
	res = shoptest.Do(t, srv, http.MethodPatch, "/api/collections/variants/records/"+sRedID, su, map[string]any{"stock+": 1})
	if res.Status != http.StatusOK {
		t.Fatalf("restock inactive: %d %s", res.Status, res.Raw)
	}
	msgs := guest.WaitFor(t, 2)
	want := []string{"variants update " + mRedID + " 3", "variants update " + lBlueID + " 4"}
	if !slices.Equal(msgs, want) {
		t.Errorf("realtime messages %q, want %q", msgs, want)
	}
}

// TestVariantStockModifiersRaceWithOrders has the owner add and remove
// units of a variant with "stock+" / "stock-" while buyers order it: each
// save applies to the stock as it is when it happens, so the variant ends
// exactly where the counts say and its ledger adds up.
func TestVariantStockModifiersRaceWithOrders(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	variantCatalog(t, app)
	srv := shoptest.Serve(t, app)
	client := shoptest.RaceClient(srv)
	owner := shoptest.SuperuserToken(t, app)
	path := srv.URL + "/api/collections/variants/records/" + lBlueID
	if res := shoptest.Do(t, srv, http.MethodPatch, "/api/collections/variants/records/"+lBlueID, owner, map[string]any{"stock": 100}); res.Status != http.StatusOK {
		t.Fatalf("set stock: %d %s", res.Status, res.Raw)
	}

	const buyers, restocks, removals = 50, 20, 10
	failures := shoptest.RunAll(buyers+restocks+removals, func(i int) (int, string, error) {
		switch {
		case i < buyers:
			return shoptest.Send(client, http.MethodPost, srv.URL+"/api/collections/orders/records", "", map[string]any{
				"email": fmt.Sprintf("b%d@example.com", i), "payment_method": "manual",
				"items": []map[string]any{{"product": shirtID, "variant": lBlueID, "quantity": 1}},
			})
		case i < buyers+restocks:
			return shoptest.Send(client, http.MethodPatch, path, owner, map[string]any{"stock+": 1})
		default:
			return shoptest.Send(client, http.MethodPatch, path, owner, map[string]any{"stock-": 1})
		}
	}, http.StatusOK)
	if len(failures) > 0 {
		t.Fatalf("%d unexpected answers, e.g. %s", len(failures), failures[0])
	}
	if got, want := shoptest.VariantStock(t, app, lBlueID), 100-buyers+restocks-removals; got != want {
		t.Errorf("stock %d, want %d", got, want)
	}
	shoptest.CheckLedger(t, app)
}
