package pricing_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// fixture is a shop with a mug and a tote, a 10% code, 20% VAT for GB and
// two shipping rates for GB, served over HTTP.
type fixture struct {
	app       *tests.TestApp
	srv       *httptest.Server
	do        func(method, path, token string, body any) shoptest.Response
	mug, tote string
	code      *core.Record
	std, exp  string // shipping rate ids
	owner     string
}

func newFixture(t *testing.T, clock *shoptest.Clock) *fixture {
	t.Helper()
	deps := hooks.Deps{}
	if clock != nil {
		deps.Now = clock.Now
	}
	app := shoptest.NewApp(t, deps)
	srv := shoptest.Serve(t, app)
	f := &fixture{app: app, srv: srv}
	f.do = func(method, path, token string, body any) shoptest.Response {
		return shoptest.Do(t, srv, method, path, token, body)
	}
	f.mug = shoptest.CreateProduct(t, app, "mug", 1500, 100).Id
	f.tote = shoptest.CreateProduct(t, app, "tote", 2400, 100).Id
	f.code = create(t, app, "discount_codes", map[string]any{"code": "SAVE10", "kind": "percent", "value": 10, "active": true})
	create(t, app, "tax_rates", map[string]any{"name": "VAT", "country": "GB", "rate_bp": 2000, "applies_to_shipping": true})
	f.std = create(t, app, "shipping_rates", map[string]any{"name": "Standard", "countries": []string{"GB"}, "price_cents": 495, "active": true, "position": 1}).Id
	f.exp = create(t, app, "shipping_rates", map[string]any{"name": "Express", "countries": []string{"GB", "IE"}, "price_cents": 1295, "active": true, "position": 2}).Id
	create(t, app, "shipping_rates", map[string]any{"name": "World", "countries": []string{"US", "FR"}, "price_cents": 2000, "active": true, "position": 3})
	f.owner = shoptest.SuperuserToken(t, app)
	return f
}

func create(t *testing.T, app core.App, collection string, data map[string]any) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(col)
	r.Load(data)
	if err := app.Save(r); err != nil {
		t.Fatalf("create %s: %v", collection, err)
	}
	return r
}

func gbAddress() map[string]any {
	return map[string]any{"name": "Ann", "line1": "1 High St", "city": "London", "postal_code": "N1", "country": "GB"}
}

func (f *fixture) order(extra map[string]any) map[string]any {
	body := map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items":            []map[string]any{{"product": f.mug, "quantity": 2}, {"product": f.tote, "quantity": 1}},
		"shipping_address": gbAddress(),
		"shipping_rate":    f.std,
	}
	for k, v := range extra {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	return body
}

func usedCount(t *testing.T, app core.App, id string) int {
	t.Helper()
	r, err := app.FindRecordById("discount_codes", id)
	if err != nil {
		t.Fatal(err)
	}
	return r.GetInt("used_count")
}

// TestOrderWithCodeTaxAndRate places the README's worked example (prices
// without tax), checks what the order stores and that cancelling it gives
// the code's use back.
func TestOrderWithCodeTaxAndRate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	res := f.do(http.MethodPost, "/api/collections/orders/records", "", f.order(map[string]any{"discount_code": "save10"}))
	if res.Status != http.StatusOK {
		t.Fatalf("place: %d %s", res.Status, res.Raw)
	}
	o := res.Body
	want := map[string]any{
		"subtotal_cents": 5400.0, "discount_code": "SAVE10", "discount_cents": 540.0, "shipping_cents": 495.0,
		"tax_cents": 1071.0, "total_cents": 6426.0, "shipping_rate": f.std, "shipping_rate_name": "Standard",
	}
	for k, v := range want {
		if o[k] != v {
			t.Errorf("%s = %v, want %v", k, o[k], v)
		}
	}
	if got := fmt.Sprint(o["tax_lines"]); got != "[map[amount_cents:1071 name:VAT rate_bp:2000]]" {
		t.Errorf("tax_lines = %s", got)
	}
	if got := fmt.Sprint(o["items"]); !strings.Contains(got, "discount_cents:300") || !strings.Contains(got, "tax_cents:432") {
		t.Errorf("items = %s", got)
	}
	if n := usedCount(t, f.app, f.code.Id); n != 1 {
		t.Fatalf("used_count %d after one order, want 1", n)
	}

	res = f.do(http.MethodPost, fmt.Sprintf("/api/shop/orders/%s/cancel?token=%s", o["id"], o["token"]), "", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.Status, res.Raw)
	}
	if n := usedCount(t, f.app, f.code.Id); n != 0 {
		t.Fatalf("used_count %d after the cancel, want 0", n)
	}
}

// TestPricesIncludeTax places the worked example with prices that contain
// the tax: the tax is shown, not added.
func TestPricesIncludeTax(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	s, err := f.app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("prices_include_tax", true)
	if err := f.app.Save(s); err != nil {
		t.Fatal(err)
	}
	o := shoptest.PlaceOrder(t, f.srv, "", f.order(map[string]any{"discount_code": "SAVE10"}))
	if o["tax_cents"] != 893.0 || o["total_cents"] != 5355.0 {
		t.Errorf("tax %v total %v, want 893 and 5355", o["tax_cents"], o["total_cents"])
	}
}

// TestOrderPricingRefusals: every bad pricing input of the issue is a 400
// on its field, writes nothing and counts no use.
func TestOrderPricingRefusals(t *testing.T) {
	t.Parallel()
	clock := shoptest.NewClock(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC))
	f := newFixture(t, clock)
	hour := time.Hour
	create(t, f.app, "discount_codes", map[string]any{"code": "LATER", "kind": "percent", "value": 10, "active": true,
		"starts_at": clock.Now().Add(hour)})
	create(t, f.app, "discount_codes", map[string]any{"code": "OLD", "kind": "percent", "value": 10, "active": true,
		"ends_at": clock.Now().Add(-hour)})
	create(t, f.app, "discount_codes", map[string]any{"code": "GONE", "kind": "fixed", "value": 100, "active": true,
		"max_uses": 3, "used_count": 3})
	create(t, f.app, "discount_codes", map[string]any{"code": "BIG", "kind": "fixed", "value": 100, "active": true,
		"min_subtotal_cents": 10000})
	create(t, f.app, "discount_codes", map[string]any{"code": "OFF", "kind": "fixed", "value": 100, "active": false})
	hat := shoptest.CreateProduct(t, f.app, "hat", 900, 5)
	create(t, f.app, "discount_codes", map[string]any{"code": "HATS", "kind": "percent", "value": 50, "active": true,
		"products": []string{hat.Id}})
	once := create(t, f.app, "discount_codes", map[string]any{"code": "ONCE", "kind": "percent", "value": 5, "active": true,
		"max_uses_per_email": 1})
	create(t, f.app, "shipping_rates", map[string]any{"name": "Closed", "countries": []string{"GB"}, "price_cents": 1, "active": false})
	closed, err := f.app.FindFirstRecordByFilter("shipping_rates", "name = 'Closed'")
	if err != nil {
		t.Fatal(err)
	}
	shoptest.PlaceOrder(t, f.srv, "", f.order(map[string]any{"discount_code": "once", "email": "Bob@Example.com"}))

	before := shoptest.Count(t, f.app, "orders")
	for _, tt := range []struct {
		name  string
		extra map[string]any
		field string
		msg   string
	}{
		{"unknown code", map[string]any{"discount_code": "NOPE"}, "discount_code", `Unknown discount code \"NOPE\".`},
		{"inactive code", map[string]any{"discount_code": "off"}, "discount_code", `Unknown discount code \"off\".`},
		{"not yet valid", map[string]any{"discount_code": "later"}, "discount_code", "This code is not valid yet: it starts on 2026-12-03 13:00 UTC."},
		{"expired", map[string]any{"discount_code": "old"}, "discount_code", "This code has expired."},
		{"used up", map[string]any{"discount_code": "gone"}, "discount_code", "This code has been used up."},
		{"already used by this email (any case)", map[string]any{"discount_code": "ONCE", "email": "bob@example.com"}, "discount_code", "This code has already been used with this email address."},
		{"below the minimum", map[string]any{"discount_code": "BIG"}, "discount_code", "This code needs an order of at least $100.00."},
		{"no eligible product", map[string]any{"discount_code": "hats"}, "discount_code", "None of the products in this order is eligible for this code."},
		{"a code that is not a string", map[string]any{"discount_code": 10}, "discount_code", "Must be a string."},
		{"a huge code", map[string]any{"discount_code": strings.Repeat("X", 65)}, "discount_code", "Must be at most 64 characters."},
		{"a rate that does not cover the country", map[string]any{"shipping_address": map[string]any{"name": "A", "line1": "1", "city": "P", "postal_code": "1", "country": "US"}}, "shipping_rate", `The shipping rate \"Standard\" does not ship to US.`},
		{"an inactive rate", map[string]any{"shipping_rate": closed.Id}, "shipping_rate", `The shipping rate \"Closed\" is not available.`},
		{"a rate with no shipping address", map[string]any{"shipping_address": nil}, "shipping_rate", "A shipping rate needs a shipping address."},
		{"two rates cover the country, none chosen", map[string]any{"shipping_rate": nil}, "shipping_rate", "Choose a shipping rate: Standard (" + f.std + "), Express (" + f.exp + ")."},
		{"a country no rate covers", map[string]any{"shipping_rate": nil, "shipping_address": map[string]any{"name": "A", "line1": "1", "city": "T", "postal_code": "1", "country": "JP"}}, "shipping_rate", "We do not ship to JP."},
		{"an unknown rate", map[string]any{"shipping_rate": "nope"}, "shipping_rate", `Unknown shipping rate \"nope\".`},
	} {
		for _, path := range []string{"/api/collections/orders/records", "/api/shop/quote"} {
			res := f.do(http.MethodPost, path, "", f.order(tt.extra))
			want := fmt.Sprintf(`%q:{"code":"validation_invalid_%s","message":"%s"}`, tt.field, tt.field, tt.msg)
			if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), want) {
				t.Errorf("%s (%s): %d %s, want 400 with %s", tt.name, path, res.Status, res.Raw, want)
			}
		}
	}
	if n := shoptest.Count(t, f.app, "orders"); n != before {
		t.Errorf("%d orders written by refused requests", n-before)
	}
	var uses int
	if err := f.app.DB().NewQuery("SELECT COALESCE(SUM(used_count), 0) FROM discount_codes").Row(&uses); err != nil {
		t.Fatal(err)
	}
	if uses != 3+1 || usedCount(t, f.app, once.Id) != 1 {
		t.Errorf("uses %d after refusals, want 4 (GONE's 3 and ONCE's 1)", uses)
	}
	if got := shoptest.Stock(t, f.app, f.mug); got != 100-2 {
		t.Errorf("mug stock %d, want 98", got)
	}
}

// TestCodeRace: 100 buyers at once on a code with 10 uses left get exactly
// 10 discounted orders; the other 90 are refused with the reason and place
// nothing.
func TestCodeRace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	code := create(t, f.app, "discount_codes", map[string]any{"code": "FLASH", "kind": "percent", "value": 50, "active": true,
		"max_uses": 100, "used_count": 90})
	client := shoptest.RaceClient(f.srv)
	const buyers = 100
	failures := shoptest.RunAll(buyers, func(i int) (int, string, error) {
		return shoptest.Send(client, http.MethodPost, f.srv.URL+"/api/collections/orders/records", "",
			f.order(map[string]any{"discount_code": "flash", "email": fmt.Sprintf("b%d@example.com", i)}))
	}, http.StatusOK)
	refused := 0
	for _, fail := range failures {
		if strings.HasPrefix(fail, "400 ") && strings.Contains(fail, `"discount_code":{"code":"validation_invalid_discount_code","message":"This code has been used up."}`) {
			refused++
		} else {
			t.Errorf("unexpected answer: %s", fail)
		}
	}
	var discounted int
	if err := f.app.DB().NewQuery("SELECT COUNT(*) FROM orders WHERE discount_code = 'FLASH' AND discount_cents = 2700").Row(&discounted); err != nil {
		t.Fatal(err)
	}
	if discounted != 10 || refused != buyers-10 || shoptest.Count(t, f.app, "orders") != 10 {
		t.Errorf("%d discounted orders, %d refused, %d orders; want 10, 90, 10", discounted, refused, shoptest.Count(t, f.app, "orders"))
	}
	if n := usedCount(t, f.app, code.Id); n != 100 {
		t.Errorf("used_count %d, want 100", n)
	}
	t.Logf("race: %d buyers, %d discounted orders, %d refused as used up", buyers, discounted, refused)
	shoptest.CheckLedger(t, f.app)
}

// TestExpiryGivesUseBack: an unpaid order that expires gives its code's
// use back, and a late payment that reserves it again takes it again.
func TestExpiryGivesUseBack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	o := shoptest.PlaceOrder(t, f.srv, "", f.order(map[string]any{"discount_code": "SAVE10"}))
	if _, err := orders.Move(f.app, o["id"].(string), shop.StatusExpired, shop.ActorSystem, "Reservation ended.", nil); err != nil {
		t.Fatal(err)
	}
	if n := usedCount(t, f.app, f.code.Id); n != 0 {
		t.Fatalf("used_count %d after expiry, want 0", n)
	}
	if _, err := orders.Move(f.app, o["id"].(string), shop.StatusPaid, shop.ActorStripe, "Paid late.", nil); err != nil {
		t.Fatal(err)
	}
	if n := usedCount(t, f.app, f.code.Id); n != 1 {
		t.Fatalf("used_count %d after a late payment, want 1", n)
	}
}

// TestQuote prices like an order create and writes nothing.
func TestQuote(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	res := f.do(http.MethodPost, "/api/shop/quote", "", f.order(map[string]any{"discount_code": "save10", "email": nil, "payment_method": nil, "shipping_rate": f.exp}))
	if res.Status != http.StatusOK {
		t.Fatalf("quote: %d %s", res.Status, res.Raw)
	}
	b := res.Body
	// 5400 − 540 + 1295 + (540 + 432 + 259) tax
	if b["total_cents"] != 7386.0 || b["tax_cents"] != 1231.0 || b["shipping_rate_name"] != "Express" || b["discount_code"] != "SAVE10" {
		t.Errorf("quote %s", res.Raw)
	}
	if got := fmt.Sprint(b["shipping_rates"]); !strings.Contains(got, "Standard") || !strings.Contains(got, "Express") || strings.Contains(got, "World") {
		t.Errorf("shipping_rates %s", got)
	}
	if shoptest.Count(t, f.app, "orders") != 0 || usedCount(t, f.app, f.code.Id) != 0 {
		t.Error("a quote wrote something")
	}
}

// TestPricingRecordsValidation: the owner's saves of codes and rates are
// refused with a message on the field when they break a rule.
func TestPricingRecordsValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, tt := range []struct {
		name, collection string
		body             map[string]any
		field            string
	}{
		{"rate_bp over 10000", "tax_rates", map[string]any{"name": "X", "country": "GB", "rate_bp": 10001}, "rate_bp"},
		{"negative rate_bp", "tax_rates", map[string]any{"name": "X", "country": "GB", "rate_bp": -1}, "rate_bp"},
		{"lower case country", "tax_rates", map[string]any{"name": "X", "country": "gb", "rate_bp": 100}, "country"},
		{"three-letter country", "tax_rates", map[string]any{"name": "X", "country": "GBR", "rate_bp": 100}, "country"},
		{"percent over 100", "discount_codes", map[string]any{"code": "TOOMUCH", "kind": "percent", "value": 101}, "value"},
		{"percent of 0", "discount_codes", map[string]any{"code": "NOTHING", "kind": "percent", "value": 0}, "value"},
		{"the same code in another case", "discount_codes", map[string]any{"code": "save10", "kind": "percent", "value": 5}, "code"},
		{"ends before it starts", "discount_codes", map[string]any{"code": "BACK", "kind": "fixed", "value": 5,
			"starts_at": "2026-12-10 00:00:00.000Z", "ends_at": "2026-12-01 00:00:00.000Z"}, "ends_at"},
		{"bad country in a shipping rate", "shipping_rates", map[string]any{"name": "X", "countries": []string{"uk"}, "price_cents": 1}, "countries"},
		{"no countries", "shipping_rates", map[string]any{"name": "X", "countries": []string{}, "price_cents": 1}, "countries"},
	} {
		res := f.do(http.MethodPost, "/api/collections/"+tt.collection+"/records", f.owner, tt.body)
		if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `"`+tt.field+`":{"code"`) {
			t.Errorf("%s: %d %s, want 400 on %s", tt.name, res.Status, res.Raw, tt.field)
		}
	}
	res := f.do(http.MethodPost, "/api/collections/tax_rates/records", f.owner, map[string]any{"name": "Sales tax", "country": "US", "region": "ca", "rate_bp": 725})
	if res.Status != http.StatusOK || res.Body["region"] != "CA" {
		t.Errorf("a valid rate: %d %s", res.Status, res.Raw)
	}
	// Anyone reads rates; codes are the owner's.
	if res := f.do(http.MethodGet, "/api/collections/discount_codes/records", "", nil); res.Status == http.StatusOK && res.Body["totalItems"] != 0.0 {
		t.Errorf("a guest lists discount codes: %s", res.Raw)
	}
	if res := f.do(http.MethodGet, "/api/collections/shipping_rates/records", "", nil); res.Status != http.StatusOK || res.Body["totalItems"] != 3.0 {
		t.Errorf("a guest lists shipping rates: %d %s", res.Status, res.Raw)
	}
}

// TestCodeOnAProductAppliesToItsVariants: a percent code restricted to a
// product sold by variant discounts every variant of it, at each variant's
// own price, and nothing else in the order.
func TestCodeOnAProductAppliesToItsVariants(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	shirt := create(t, f.app, "products", map[string]any{"name": "T-shirt", "slug": "t-shirt", "price_cents": 2000, "active": true,
		"options": []map[string]any{{"name": "Size", "values": []string{"M", "L"}}}})
	m := shoptest.CreateVariant(t, f.app, shirt.Id, map[string]string{"Size": "M"}, 0, 5)
	l := shoptest.CreateVariant(t, f.app, shirt.Id, map[string]string{"Size": "L"}, 2600, 5)
	create(t, f.app, "discount_codes", map[string]any{"code": "SHIRTS", "kind": "percent", "value": 25, "active": true,
		"products": []string{shirt.Id}})
	o := shoptest.PlaceOrder(t, f.srv, "", f.order(map[string]any{"discount_code": "shirts", "items": []map[string]any{
		{"product": shirt.Id, "variant": m.Id, "quantity": 1},
		{"product": shirt.Id, "variant": l.Id, "quantity": 1},
		{"product": f.mug, "quantity": 1},
	}}))
	// 25% of 2000 + 2600 = 1150: 500 and 650; the mug pays full price.
	if o["discount_cents"] != 1150.0 {
		t.Fatalf("discount %v, want 1150: %v", o["discount_cents"], o["items"])
	}
	items := o["items"].([]any)
	for i, want := range []float64{500, 650, 0} {
		if got := items[i].(map[string]any)["discount_cents"]; got != want {
			t.Errorf("line %d discount %v, want %v", i+1, got, want)
		}
	}
	if shoptest.VariantStock(t, f.app, m.Id) != 4 || shoptest.VariantStock(t, f.app, l.Id) != 4 {
		t.Error("variant stock not reserved")
	}
}

// TestOwnerEditKeepsUsedCount: the owner's edit of a code, loaded before
// orders took uses, does not write back the stale count; used_count sent
// on an edit is ignored, on a create refused.
func TestOwnerEditKeepsUsedCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	loaded := f.do(http.MethodGet, "/api/collections/discount_codes/records/"+f.code.Id, f.owner, nil).Body
	shoptest.PlaceOrder(t, f.srv, "", f.order(map[string]any{"discount_code": "SAVE10"}))
	shoptest.PlaceOrder(t, f.srv, "", f.order(map[string]any{"discount_code": "SAVE10", "email": "bob@example.com"}))

	// A form saves every field it loaded: used_count still 0.
	loaded["value"] = 15
	if res := f.do(http.MethodPatch, "/api/collections/discount_codes/records/"+f.code.Id, f.owner, loaded); res.Status != http.StatusOK {
		t.Fatalf("owner edit: %d %s", res.Status, res.Raw)
	}
	if n := usedCount(t, f.app, f.code.Id); n != 2 {
		t.Errorf("used_count %d after the owner's edit, want 2", n)
	}
	f.do(http.MethodPatch, "/api/collections/discount_codes/records/"+f.code.Id, f.owner, map[string]any{"used_count": 0})
	if n := usedCount(t, f.app, f.code.Id); n != 2 {
		t.Errorf("used_count %d after the owner sent 0, want 2 (the server's)", n)
	}
	res := f.do(http.MethodPost, "/api/collections/discount_codes/records", f.owner,
		map[string]any{"code": "PRESET", "kind": "percent", "value": 5, "used_count": 7})
	if res.Status != http.StatusBadRequest || !strings.Contains(string(res.Raw), `"used_count"`) {
		t.Errorf("owner creates a used code: %d %s, want 400", res.Status, res.Raw)
	}
}
