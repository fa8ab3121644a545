package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// webhookPath is the shop's Stripe webhook route.
const webhookPath = "/api/shop/stripe/webhook"

// observed is what the clients saw the server accept: the invariants check
// the database against it.
type observed struct {
	mu        sync.Mutex
	orders    map[string]bool   // ids of orders created with a 2xx
	delivered map[string]string // event id -> order id of webhooks answered 2xx
}

func newObserved() *observed {
	return &observed{orders: map[string]bool{}, delivered: map[string]string{}}
}

func (o *observed) order(id string) {
	o.mu.Lock()
	o.orders[id] = true
	o.mu.Unlock()
}

func (o *observed) webhook(eventID, orderID string) {
	o.mu.Lock()
	o.delivered[eventID] = orderID
	o.mu.Unlock()
}

// world is a server under load with what the scenarios need.
type world struct {
	srv      *server
	c        *client
	products []string
	seen     *observed
	// webhook is true when the server has the Stripe webhook route.
	webhook bool
	// number gives the bare server's orders unique numbers.
	number atomic.Int64
}

func newWorld(srv *server, products []string, conns int) *world {
	w := &world{srv: srv, c: newClient(srv.url, conns), products: products, seen: newObserved()}
	w.number.Store(1_000_000)
	return w
}

// probeWebhook asks whether the webhook route exists: an unsigned event is
// refused with a 400 by a shop that has it, and a 404 means it is not there
// (the payments branch not merged).
func (w *world) probeWebhook(ctx context.Context) {
	st, _, _ := w.c.do(ctx, http.MethodPost, webhookPath, "", []byte(`{}`), nil)
	w.webhook = w.srv.t.Shop && st != http.StatusNotFound && st != 0
}

// pickLines chooses 1–3 distinct products with quantities 1–2.
func (w *world) pickLines(rng *rand.Rand) []map[string]any {
	n := 1 + rng.IntN(3)
	seen := map[string]bool{}
	var lines []map[string]any
	for len(lines) < n && len(seen) < len(w.products) {
		p := w.products[rng.IntN(len(w.products))]
		if seen[p] {
			continue
		}
		seen[p] = true
		lines = append(lines, map[string]any{"product": p, "quantity": 1 + rng.IntN(2)})
	}
	return lines
}

var shippingAddress = map[string]string{
	"name": "Ann Example", "line1": "1 Main Street", "city": "Springfield", "postal_code": "12345", "country": "US",
}

// placedOrder is the part of the shop's answer to an order the harness uses.
type placedOrder struct {
	ID         string `json:"id"`
	Token      string `json:"token"`
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
}

// placeOrder creates an order as a guest through the records API; extra
// fields (a discount code) are added to the body.
func (w *world) placeOrder(ctx context.Context, rng *rand.Rand, lines []map[string]any, extra ...string) (placedOrder, string) {
	var o placedOrder
	body := map[string]any{
		"email":            fmt.Sprintf("customer%d@example.com", rng.IntN(1_000_000)),
		"items":            lines,
		"payment_method":   "stripe",
		"shipping_address": shippingAddress,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	st, raw, err := w.c.do(ctx, http.MethodPost, "/api/collections/orders/records", "", body, &o)
	if kind := errKind("order", st, raw, err); kind != "" {
		return o, kind
	}
	w.seen.order(o.ID)
	return o, ""
}

// checkoutShop places an order and, when the shop has the webhook, delivers
// the signed checkout.session.completed event that pays it.
func (w *world) checkoutShop(ctx context.Context, rng *rand.Rand) string {
	o, kind := w.placeOrder(ctx, rng, w.pickLines(rng))
	if kind != "" || !w.webhook {
		return kind
	}
	ev := sessionCompleted(o, rng)
	return w.deliver(ctx, ev)
}

// checkoutPricedShop is checkoutShop with the pricing rules at work: the
// order carries a percent code (checked, counted and allocated in the
// writer) and a tax rate applies to its address (see seedPricing).
func (w *world) checkoutPricedShop(ctx context.Context, rng *rand.Rand) string {
	o, kind := w.placeOrder(ctx, rng, w.pickLines(rng), "discount_code", benchCode)
	if kind != "" || !w.webhook {
		return kind
	}
	return w.deliver(ctx, sessionCompleted(o, rng))
}

// orderShop places an order and nothing else: the order create alone.
func (w *world) orderShop(ctx context.Context, rng *rand.Rand) string {
	_, kind := w.placeOrder(ctx, rng, w.pickLines(rng))
	return kind
}

// flowShop is a whole Stripe checkout: the order, the pay route (which
// creates a Checkout Session at stripe-mock) and the signed
// checkout.session.completed event that pays it.
func (w *world) flowShop(ctx context.Context, rng *rand.Rand) string {
	o, kind := w.placeOrder(ctx, rng, w.pickLines(rng))
	if kind != "" {
		return kind
	}
	var pay struct {
		URL string `json:"url"`
	}
	st, raw, err := w.c.do(ctx, http.MethodPost, "/api/shop/orders/"+o.ID+"/pay?token="+url.QueryEscape(o.Token), "", nil, &pay)
	if kind := errKind("pay", st, raw, err); kind != "" {
		return kind
	}
	if pay.URL == "" {
		return "pay: no checkout url"
	}
	return w.deliver(ctx, sessionCompleted(o, rng))
}

// deliver posts a signed event to the webhook and records a 2xx.
func (w *world) deliver(ctx context.Context, ev stripeEvent) string {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: ev.payload, Secret: stripeWebhookSecret, Timestamp: time.Now(),
	})
	st, raw, err := w.c.do(ctx, http.MethodPost, webhookPath, "", signed.Payload, nil, "Stripe-Signature", signed.Header)
	if kind := errKind("webhook", st, raw, err); kind != "" {
		return kind
	}
	w.seen.webhook(ev.id, ev.order)
	return ""
}

// checkoutBare creates an order record of the same size as the shop's,
// with every field the shop would compute sent by the client: the same
// write through the same records API, without the shop's work.
func (w *world) checkoutBare(ctx context.Context, rng *rand.Rand) string {
	var items []map[string]any
	var subtotal int64
	for _, l := range w.pickLines(rng) {
		price, q := int64(500+rng.IntN(9500)), int64(l["quantity"].(int))
		items = append(items, map[string]any{"product": l["product"], "name": "Bench product", "sku": "BENCH",
			"unit_price_cents": price, "quantity": q, "line_total_cents": price * q})
		subtotal += price * q
	}
	body := map[string]any{
		"number": w.number.Add(1), "status": "pending",
		"email":          fmt.Sprintf("customer%d@example.com", rng.IntN(1_000_000)),
		"items":          items,
		"payment_method": "stripe", "shipping_address": shippingAddress,
		"subtotal_cents": subtotal, "shipping_cents": 500, "total_cents": subtotal + 500, "refunded_cents": 0,
		"currency": "usd", "token": newID(rng) + newID(rng),
		"expires_at": pbTime(time.Now().Add(30 * time.Minute)),
	}
	var o placedOrder
	st, raw, err := w.c.do(ctx, http.MethodPost, "/api/collections/orders/records", "", body, &o)
	if kind := errKind("order", st, raw, err); kind != "" {
		return kind
	}
	w.seen.order(o.ID)
	return ""
}

// browse lists a page of the catalog sorted by name, as a storefront does,
// and views one product. It asks for no total (skipTotal=1, the JS SDK's
// skipTotal: true): PocketBase counts the matching records for the total,
// which costs more as the catalog grows (see browseTotal).
func (w *world) browse(ctx context.Context, rng *rand.Rand) string {
	return w.browsePage(ctx, rng, "&skipTotal=1")
}

// browseTotal is browse with the total count the JS SDK's getList asks for
// by default.
func (w *world) browseTotal(ctx context.Context, rng *rand.Rand) string {
	return w.browsePage(ctx, rng, "")
}

func (w *world) browsePage(ctx context.Context, rng *rand.Rand, query string) string {
	const perPage = 24
	pages := max(1, min(5, len(w.products)/perPage))
	path := fmt.Sprintf("/api/collections/products/records?page=%d&perPage=%d&sort=name%s", 1+rng.IntN(pages), perPage, query)
	st, raw, err := w.c.do(ctx, http.MethodGet, path, "", nil, nil)
	if kind := errKind("list", st, raw, err); kind != "" {
		return kind
	}
	id := w.products[rng.IntN(len(w.products))]
	st, raw, err = w.c.do(ctx, http.MethodGet, "/api/collections/products/records/"+id, "", nil, nil)
	return errKind("view", st, raw, err)
}

// errKind classifies an answer: "" for a 2xx, otherwise the step and what
// went wrong.
func errKind(step string, status int, raw []byte, err error) string {
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		return step + ": timeout"
	case err != nil && status == 0:
		return step + ": connection error"
	case status/100 == 2:
		return ""
	case status == http.StatusBadRequest && (strings.Contains(string(raw), "stock") || strings.Contains(string(raw), "sold out")):
		return step + ": 400 out of stock"
	default:
		// PocketBase's error shape names the cause: keep it in the kind.
		var answer struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &answer) == nil && answer.Message != "" {
			return fmt.Sprintf("%s: %d %s", step, status, answer.Message)
		}
		return fmt.Sprintf("%s: %d", step, status)
	}
}

// stripeEvent is a signed-to-be Stripe event.
type stripeEvent struct {
	id, order string
	payload   []byte
}

// sessionCompleted builds the checkout.session.completed event Stripe sends
// when the customer has paid order o, in Stripe's JSON shape.
func sessionCompleted(o placedOrder, rng *rand.Rand) stripeEvent {
	id := "evt_bench_" + newID(rng) + newID(rng)
	now := time.Now().Unix()
	session := map[string]any{
		"id": "cs_test_" + newID(rng) + newID(rng), "object": "checkout.session",
		"client_reference_id": o.ID, "metadata": map[string]string{"order_id": o.ID},
		"amount_total": o.TotalCents, "amount_subtotal": o.TotalCents, "currency": o.Currency,
		"payment_status": "paid", "status": "complete", "mode": "payment",
		"payment_intent": "pi_bench_" + newID(rng), "created": now, "livemode": false,
	}
	ev := map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": now,
		"type": "checkout.session.completed", "livemode": false, "pending_webhooks": 1,
		"data":    map[string]any{"object": session},
		"request": map[string]any{"id": nil, "idempotency_key": nil},
	}
	payload, _ := json.Marshal(ev)
	return stripeEvent{id: id, order: o.ID, payload: payload}
}
