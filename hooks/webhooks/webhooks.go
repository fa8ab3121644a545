// Package webhooks sends the shop's events to the owner's endpoints (a CRM,
// an accounting tool, a chat channel): signed POSTs, Stripe's scheme. A
// change that has an event (an order's status move, a stock crossing of
// the low-stock threshold or zero, a new customer) writes one
// webhook_deliveries row per matching active endpoint in its own
// transaction, and a background worker sends them with retries, on the
// machinery the email outbox uses (hooks/queue). It sits beside the outbox,
// above orders: orders hands it the events the group-commit writer writes
// (orders.Webhooks).
package webhooks

import (
	"context"
	"net"
	"net/http"
	"slices"
	"time"

	"pocketshop/hooks/queue"

	"github.com/pocketbase/pocketbase/core"
)

// The events, as named in webhook_endpoints.events and a delivery's type.
const (
	OrderPlaced        = "order.placed"
	OrderPaid          = "order.paid"
	OrderFulfilled     = "order.fulfilled"
	OrderCancelled     = "order.cancelled"
	OrderExpired       = "order.expired"
	OrderRefunded      = "order.refunded"
	ProductLowStock    = "product.low_stock"
	ProductOutOfStock  = "product.out_of_stock"
	CustomerCreated    = "customer.created"
	allEvents          = "*"
	signatureHeader    = "Pocketshop-Signature"
	eventHeader        = "Pocketshop-Event"
	deliveryHeader     = "Pocketshop-Delivery"
	secretPrefix       = "whsec_"
	maxResponseExcerpt = 500
)

// Events lists every event an endpoint may subscribe to.
var Events = []string{
	OrderPlaced, OrderPaid, OrderFulfilled, OrderCancelled, OrderExpired, OrderRefunded,
	ProductLowStock, ProductOutOfStock, CustomerCreated,
}

// Defaults of Options.
const (
	DefaultInterval   = 10 * time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultBackoff    = 30 * time.Second
	DefaultMaxBackoff = 6 * time.Hour
	DefaultRetryFor   = 72 * time.Hour
	DefaultLease      = time.Minute
	DefaultBatch      = 50
	DefaultParallel   = 4
)

// Options tune the webhooks. The zero value is valid: https endpoints on
// public addresses only, sent every DefaultInterval and on every commit
// that queues a delivery.
type Options struct {
	// AllowPrivate lets endpoints use http and addresses of the shop's own
	// network (POCKETSHOP_WEBHOOK_ALLOW_PRIVATE=1: tests, a CRM beside the
	// shop).
	AllowPrivate bool
	// Interval is the pause between two passes of the background sender;
	// a negative value runs none (something else calls SendDue).
	Interval time.Duration
	// Timeout bounds one POST, from the dial to the end of the answer.
	Timeout time.Duration
	// Backoff is the wait before the first retry; it doubles with each
	// failed attempt up to MaxBackoff, spread at random (jitter).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// RetryFor is how long a delivery is retried after it was queued (or
	// requeued) before it is failed.
	RetryFor time.Duration
	// Lease is how long a sender holds a delivery: more than Timeout.
	Lease time.Duration
	// Batch is how many due deliveries one query lists; Parallel how many
	// are sent at once (so that one slow receiver does not hold up the
	// others).
	Batch, Parallel int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.RetryFor <= 0 {
		o.RetryFor = DefaultRetryFor
	}
	if o.Lease <= 0 {
		o.Lease = max(DefaultLease, 2*o.Timeout)
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// queue is webhook_deliveries as a queue (hooks/queue).
func (o Options) queue() queue.Queue {
	return queue.Queue{
		Table: "webhook_deliveries", SentField: "delivered_at",
		Backoff: o.Backoff, MaxBackoff: o.MaxBackoff, Jitter: true,
		Lease: o.Lease, Batch: o.Batch, Now: o.Now,
	}
}

// client is the HTTP client deliveries are posted with: no proxy from the
// environment (the check must be on the receiver's address), no redirects
// (a 3xx is an answer, not a 2xx), and, unless allowPrivate, a dialer
// that refuses the shop's own network after DNS resolution.
func (o Options) client() *http.Client {
	dialer := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = guardDial
	}
	return &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        16,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: o.Timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Manager writes and sends the webhook deliveries of one app.
type Manager struct {
	app       core.App
	opts      Options
	endpoints endpointCache
	sender    *queue.Worker
	client    *http.Client
}

// New returns the webhooks component of app.
func New(app core.App, opts Options) *Manager {
	m := &Manager{app: app, opts: opts.withDefaults()}
	m.client = m.opts.client()
	m.sender = queue.NewWorker("webhooks", m.opts.Interval, func(ctx context.Context, app core.App) {
		if _, err := m.sendDue(ctx, app); err != nil {
			app.Logger().Error("Failed to send webhooks", "error", err)
		}
	})
	return m
}

// Bind checks the endpoints the owner saves, writes the deliveries of the
// changes made through record saves (the group-commit writer's come
// through orders.Webhooks), lets the owner requeue a delivery, and runs
// the sender in the background of `serve`.
func (m *Manager) Bind() {
	m.bindEndpoints()
	m.app.OnRecordCreate("order_events").BindFunc(m.onOrderEvent)
	m.app.OnRecordCreate("stock_movements").BindFunc(m.onStockMovement)
	m.app.OnRecordCreate("users").BindFunc(m.onCustomerCreate)
	m.app.OnRecordUpdate("webhook_deliveries").BindFunc(m.onRequeue)
	m.app.OnRecordAfterCreateSuccess("webhook_deliveries").BindFunc(m.wakeSender)
	m.app.OnRecordAfterUpdateSuccess("webhook_deliveries").BindFunc(m.wakeSender)
	if m.opts.Interval > 0 {
		m.sender.Bind(m.app)
	}
}

// wakeSender asks for a pass once a queued delivery is committed.
func (m *Manager) wakeSender(e *core.RecordEvent) error {
	if e.Record.GetString("status") == queue.Queued {
		m.sender.Wake()
	}
	return e.Next()
}

// onRequeue gives a delivery the owner sets back to "queued" a fresh
// window of retries, due now.
func (m *Manager) onRequeue(e *core.RecordEvent) error {
	if queue.Requeue(e.Record) {
		e.Record.Set("retry_until", m.opts.Now().UTC().Add(m.opts.RetryFor))
		e.Record.Set("response_status", 0)
	}
	return e.Next()
}

// subscribed reports whether events (an endpoint's list) includes event.
func subscribed(events []string, event string) bool {
	return slices.Contains(events, allEvents) || slices.Contains(events, event)
}
