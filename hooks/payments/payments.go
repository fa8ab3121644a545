// Package payments takes the shop's payments: the pay route and Stripe
// Checkout (checkout.go), Stripe's webhook (webhook.go), what each payment
// event does to its order (events.go; a pending order's paid transition is
// written by the app's group-commit writer, paid.go), the owner's refunds
// (refunds.go) and the catch-up with Stripe for what the webhook missed
// (reconcile.go).
// It sits above package orders, which it moves orders with; the payment
// provider is injected (pocketshop/internal/payments.Provider).
package payments

import (
	"errors"
	"fmt"
	"os"
	"time"

	"pocketshop/hooks/orders"
	"pocketshop/internal/groupcommit"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

const (
	// maxWebhookBodyBytes bounds a Stripe event; they can exceed the
	// 64 KiB other /api/shop routes accept.
	maxWebhookBodyBytes = 1 << 20

	// Stripe requires a Checkout Session to live at least 30 minutes. An
	// order whose reservation ends sooner has it extended when the customer
	// starts paying, so the stock stays held as long as the session is open.
	checkoutMinLifetime = 31 * time.Minute
	checkoutExtendTo    = 32 * time.Minute

	// reconcileAfter is how old a Checkout Session must be before
	// reconciliation asks Stripe about it (the webhook usually wins);
	// reconcileSessionsFor is how long after creation it keeps asking
	// (Stripe's sessions live 24 hours at most).
	reconcileAfter       = 5 * time.Minute
	reconcileSessionsFor = 25 * time.Hour
	// failedEventsWindow is how far back reconciliation looks for events
	// Stripe could not deliver.
	failedEventsWindow = 3 * 24 * time.Hour

	stripeTimeout = 20 * time.Second

	// storeKey is where Bind leaves the component in the app's store, for
	// Reconcile.
	storeKey = "pocketshop.payments"
)

// Results of processing an event, as stored in payment_events.result.
const (
	resultApplied   = "applied"
	resultIgnored   = "ignored"
	resultFailed    = "failed"
	resultDuplicate = "duplicate"
)

// retryLaterError marks an event that cannot be processed yet (it arrived
// before the event it depends on). It is not recorded, so that Stripe's
// redelivery, or reconciliation, processes it later.
type retryLaterError struct{ reason string }

func (e *retryLaterError) Error() string { return "retry later: " + e.reason }

// Manager is the payments component: the app, a clock and the payment
// provider (nil when payments are not configured).
type Manager struct {
	app      core.App
	now      func() time.Time
	provider pay.Provider
	// orders renders the emails of the order events this component writes
	// through the writer, the app's group-commit writer (paid.go).
	orders *orders.Manager
	writer *groupcommit.Writer
}

// New returns the payments component of app, above the orders component o.
// provider may be nil: Stripe checkout then answers "Payments are not
// configured."
func New(app core.App, now func() time.Time, provider pay.Provider, o *orders.Manager) *Manager {
	return &Manager{app: app, now: now, provider: provider, orders: o, writer: groupcommit.For(app)}
}

// Bind binds the payment hooks. Bind it after the orders component: its
// order update request hook runs after theirs.
func (m *Manager) Bind() {
	m.app.OnRecordUpdateRequest("orders").BindFunc(m.onOrderPaymentRequest)
	m.app.OnRecordAfterCreateSuccess("order_events").BindFunc(m.onOrderClosed)
	m.app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if m.provider != nil && !m.provider.VerifiesWebhooks() {
			msg := "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: Stripe webhooks will be refused " +
				"and paid orders stay pending until reconciliation asks Stripe. Set STRIPE_WEBHOOK_SECRET."
			fmt.Fprintln(os.Stderr, "WARNING: "+msg)
			se.App.Logger().Warn(msg)
		}
		return se.Next()
	})
	m.app.Store().Set(storeKey, m)
}

// Routes registers the pay route and Stripe's webhook in the /api/shop
// group.
func (m *Manager) Routes(g *router.RouterGroup[*core.RequestEvent]) {
	g.POST("/orders/{id}/pay", m.payOrder)
	// Stripe's events may exceed the group's body limit (the handler
	// applies its own), and a rate limit must never drop Stripe's retries.
	g.POST("/stripe/webhook", m.stripeWebhook).
		Unbind(apis.DefaultBodyLimitMiddlewareId, apis.DefaultRateLimitMiddlewareId)
}

// providerError says what a failed call of the payment provider means for
// the caller: Stripe's refusal is bad input carrying Stripe's message;
// anything else (Stripe unreachable) is the provider's failure.
func providerError(message string, err error) *shop.Error {
	var refused *pay.Error
	if errors.As(err, &refused) && refused.HTTPStatus >= 400 && refused.HTTPStatus < 500 {
		return shop.Errorf(shop.EINVALID, "%s Stripe says: %s", message, refused.Message)
	}
	return &shop.Error{Code: shop.EUPSTREAM, Message: message, Cause: err}
}

// findSessionOrder finds the order a Checkout Session was created for.
func findSessionOrder(txApp core.App, sess *pay.Session) (*core.Record, eventOutcome) {
	if sess == nil {
		return nil, eventOutcome{result: resultIgnored, err: "The event carries no checkout session."}
	}
	if sess.OrderID != "" {
		if order, err := txApp.FindRecordById("orders", sess.OrderID); err == nil {
			return order, eventOutcome{}
		}
	}
	if order, err := txApp.FindFirstRecordByData("orders", "stripe_session_id", sess.ID); err == nil {
		return order, eventOutcome{}
	}
	return nil, eventOutcome{result: resultIgnored, err: "No order has this checkout session."}
}

// findChargeOrder finds the order a charge paid for.
func findChargeOrder(txApp core.App, ch *pay.Charge) *core.Record {
	if ch == nil {
		return nil
	}
	if ch.PaymentIntent != "" {
		if order, err := txApp.FindFirstRecordByData("orders", "stripe_payment_intent", ch.PaymentIntent); err == nil {
			return order
		}
	}
	if ch.OrderID != "" {
		if order, err := txApp.FindRecordById("orders", ch.OrderID); err == nil {
			return order
		}
	}
	return nil
}

func ignored(order *core.Record, format string, args ...any) eventOutcome {
	return eventOutcome{order: order.Id, result: resultIgnored, err: fmt.Sprintf(format, args...)}
}
