package hooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/types"
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

	// paymentsStoreKey is where Register leaves the shop's hooks in the
	// app's store, for ReconcilePayments.
	paymentsStoreKey = "pocketshop.payments"
)

// Values of orders.payment_issue.
const (
	issueLateRefundPending = "late_payment_refund_pending"
	issueLateRefunded      = "late_payment_refunded"
	issueLateFlagged       = "late_payment_flagged"
	issueAmountMismatch    = "amount_mismatch"
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

func bindPaymentHooks(app core.App, s *shopHooks) {
	app.OnRecordUpdateRequest("orders").BindFunc(s.onOrderPaymentRequest)
	app.OnRecordAfterCreateSuccess("order_events").BindFunc(s.onOrderClosed)
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if s.stripe != nil && !s.stripe.VerifiesWebhooks() {
			msg := "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not: Stripe webhooks will be refused " +
				"and paid orders stay pending until reconciliation asks Stripe. Set STRIPE_WEBHOOK_SECRET."
			fmt.Fprintln(os.Stderr, "WARNING: "+msg)
			se.App.Logger().Warn(msg)
		}
		return se.Next()
	})
	app.Store().Set(paymentsStoreKey, s)
}

// payOrder starts paying a pending order: for Stripe it creates (or reuses
// the open) Checkout Session and answers {url}; for a manual payment it
// answers {instructions} from the shop settings.
func (s *shopHooks) payOrder(e *core.RequestEvent) error {
	order, err := findAccessibleOrder(e)
	if err != nil {
		return err
	}
	if st := order.GetString("status"); st != shop.StatusPending {
		return e.BadRequestError(fmt.Sprintf("Only a pending order can be paid; this order is %s.", st), nil)
	}
	if !order.GetDateTime("expires_at").Time().After(s.now()) {
		return e.BadRequestError("The order's reservation has ended; please place the order again.", nil)
	}

	if order.GetString("payment_method") == "manual" {
		settings, err := LoadSettings(e.App)
		if err != nil {
			return e.InternalServerError("", err)
		}
		return e.JSON(http.StatusOK, map[string]string{"instructions": settings.ManualPaymentInstructions})
	}
	if s.stripe == nil {
		return e.Error(http.StatusServiceUnavailable, "Payments are not configured.", nil)
	}

	ctx, cancel := context.WithTimeout(e.Request.Context(), stripeTimeout)
	defer cancel()
	checkout, err := s.checkoutURL(ctx, e.App, order)
	if err != nil {
		return apiError(e, err)
	}
	return e.JSON(http.StatusOK, map[string]string{"url": checkout})
}

// checkoutURL returns the URL of the order's open Checkout Session,
// creating one when there is none.
func (s *shopHooks) checkoutURL(ctx context.Context, app core.App, order *core.Record) (string, error) {
	prev := order.GetString("stripe_session_id")
	if prev != "" {
		sess, err := s.stripe.GetSession(ctx, prev)
		var refused *payments.Error
		switch {
		case errors.As(err, &refused) && refused.HTTPStatus == http.StatusNotFound:
			// Unknown to this Stripe account (e.g. test keys swapped for
			// live ones): start a new session.
			sess = payments.Session{Status: payments.SessionExpired}
		case err != nil:
			return "", stripeAPIError("Stripe could not be reached; please try again.", err)
		}
		switch {
		case sess.Status == payments.SessionOpen:
			return sess.URL, nil
		case sess.Status == payments.SessionComplete && sess.Paid():
			// Paid, and the webhook has not told us yet: record it now.
			if _, err := s.processEvent(ctx, reconcileEvent(payments.EventSessionCompleted, sess)); err != nil {
				return "", err
			}
			return "", router.NewBadRequestError("The order has already been paid.", nil)
		case sess.Status == payments.SessionComplete:
			return "", router.NewBadRequestError("The order's payment is being processed.", nil)
		}
		// The session expired: start a new one.
	}

	expiresAt, err := s.holdForCheckout(app, order.Id)
	if err != nil {
		return "", err
	}
	lines, err := OrderLines(order)
	if err != nil {
		return "", err
	}
	req := payments.CheckoutRequest{
		OrderID:   order.Id,
		Email:     order.GetString("email"),
		Currency:  order.GetString("currency"),
		ExpiresAt: expiresAt,
		// The key changes only with what the session is made of, so that
		// concurrent calls get the same session from Stripe.
		IdempotencyKey: fmt.Sprintf("pocketshop-checkout-%s-%s-%d", order.Id, prev, expiresAt.Unix()),
	}
	for _, l := range lines {
		req.Lines = append(req.Lines, payments.LineItem{Name: l.Name, UnitAmount: l.UnitPriceCents, Quantity: int64(l.Quantity)})
	}
	if shipping := order.GetInt("shipping_cents"); shipping > 0 {
		req.Lines = append(req.Lines, payments.LineItem{Name: "Shipping", UnitAmount: int64(shipping), Quantity: 1})
	}
	// Back to the order's page in the storefront, as the emails link it.
	page := appURL(app) + "/order.html?" + url.Values{"id": {order.Id}, "token": {order.GetString("token")}}.Encode()
	req.SuccessURL = page + "&checkout=success"
	req.CancelURL = page + "&checkout=cancelled"

	sess, err := s.stripe.CreateCheckoutSession(ctx, req)
	if err != nil {
		return "", stripeAPIError("Stripe could not start the checkout.", err)
	}

	err = app.RunInTransaction(func(txApp core.App) error {
		fresh, err := txApp.FindRecordById("orders", order.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", order.Id, err)
		}
		if fresh.GetString("status") != shop.StatusPending {
			// Cancelled or expired meanwhile: nobody should pay this session.
			go s.expireSession(sess.ID, order.Id)
			return router.NewBadRequestError("The order is no longer pending.", nil)
		}
		fresh.Set("stripe_session_id", sess.ID)
		fresh.Set("stripe_session_at", s.now().UTC())
		return txApp.Save(fresh)
	})
	if err != nil {
		return "", err
	}
	return sess.URL, nil
}

// holdForCheckout makes sure the order's reservation lasts as long as a
// Checkout Session must, and returns when the session should expire.
func (s *shopHooks) holdForCheckout(app core.App, orderID string) (time.Time, error) {
	var expiresAt time.Time
	err := app.RunInTransaction(func(txApp core.App) error {
		order, err := txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		if order.GetString("status") != shop.StatusPending {
			return router.NewBadRequestError("The order is no longer pending.", nil)
		}
		expiresAt = order.GetDateTime("expires_at").Time()
		now := s.now().UTC()
		if expiresAt.Sub(now) >= checkoutMinLifetime {
			return nil
		}
		expiresAt = now.Add(checkoutExtendTo).Truncate(time.Second)
		order.Set("expires_at", expiresAt)
		return txApp.Save(order)
	})
	return expiresAt, err
}

// stripeWebhook receives Stripe's events: it verifies the signature,
// records each event once in payment_events and applies it to its order in
// the same transaction.
func (s *shopHooks) stripeWebhook(e *core.RequestEvent) error {
	if s.stripe == nil || !s.stripe.VerifiesWebhooks() {
		return e.Error(http.StatusServiceUnavailable, "Stripe webhooks are not configured.", nil)
	}
	body, err := io.ReadAll(http.MaxBytesReader(e.Response, e.Request.Body, maxWebhookBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return e.Error(http.StatusRequestEntityTooLarge, "The event is too large.", nil)
		}
		return e.BadRequestError("Failed to read the event.", err)
	}
	ev, err := s.stripe.ParseEvent(body, e.Request.Header.Get("Stripe-Signature"))
	if err != nil {
		return e.BadRequestError("The event's signature is invalid or expired.", err)
	}

	result, err := s.processEvent(e.Request.Context(), ev)
	if err != nil {
		var later *retryLaterError
		if errors.As(err, &later) {
			return e.Error(http.StatusServiceUnavailable, "The event cannot be processed yet.", err)
		}
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, map[string]any{"received": true, "result": result})
}

// eventOutcome is what applying one event did.
type eventOutcome struct {
	order  string
	result string
	err    string // why the event was not applied, for the owner
	// afterCommit calls Stripe once the transaction is committed.
	afterCommit func(ctx context.Context) error
}

// processEvent applies ev exactly once: the payment_events row keyed by the
// event id and the event's effects commit together. An event already
// recorded has no effect ("duplicate"). The webhook, reconciliation and the
// pay route all go through here.
func (s *shopHooks) processEvent(ctx context.Context, ev payments.Event) (string, error) {
	// The paid transition of a pending order, the hot one, goes through the
	// group-commit writer; every other event through a record-save
	// transaction below. An order that moves between the read and the
	// writer's check is decided again.
	for range 5 {
		result, handled, err := s.payPending(ctx, ev)
		if errors.Is(err, errOrderChanged) {
			continue
		}
		if handled || err != nil {
			return result, err
		}
		break
	}
	var out eventOutcome
	err := s.app.RunInTransaction(func(txApp core.App) error {
		seen, err := txApp.CountRecords("payment_events", dbx.HashExp{"event_id": ev.ID})
		if err != nil {
			return fmt.Errorf("look up event %s: %w", ev.ID, err)
		}
		if seen > 0 {
			out = eventOutcome{result: resultDuplicate}
			return nil
		}
		out, err = s.applyEvent(txApp, ev)
		if err != nil {
			return err
		}
		col, err := txApp.FindCachedCollectionByNameOrId("payment_events")
		if err != nil {
			return err
		}
		r := core.NewRecord(col)
		r.Set("event_id", ev.ID)
		r.Set("type", ev.Type)
		r.Set("order", out.order)
		r.Set("result", out.result)
		r.Set("error", out.err)
		if err := txApp.Save(r); err != nil {
			return fmt.Errorf("record event %s: %w", ev.ID, err)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("process stripe event %s (%s): %w", ev.ID, ev.Type, err)
	}
	if out.afterCommit != nil {
		if err := out.afterCommit(ctx); err != nil {
			// Recorded; reconciliation retries the Stripe call.
			s.app.Logger().Warn("Stripe call after an event failed; reconciliation will retry",
				"event", ev.ID, "order", out.order, "error", err.Error())
		}
	}
	return out.result, nil
}

// payPending marks paid, through the writer, the pending order a paid
// Checkout Session event is for. handled is false when the event is
// something else (or the order is not pending, or Stripe took another
// amount): processEvent's transaction handles those.
func (s *shopHooks) payPending(ctx context.Context, ev payments.Event) (result string, handled bool, err error) {
	if ev.Type != payments.EventSessionCompleted && ev.Type != payments.EventSessionAsyncSucceeded ||
		ev.Session == nil || !ev.Session.Paid() {
		return "", false, nil
	}
	order, _ := findSessionOrder(s.app, ev.Session)
	if order == nil || order.GetString("status") != shop.StatusPending ||
		ev.Session.AmountTotal != int64(order.GetInt("total_cents")) || ev.Session.Currency != order.GetString("currency") {
		return "", false, nil
	}
	settings, err := LoadSettings(s.app)
	if err != nil {
		return "", false, err
	}
	// Rendered here, from the order as it will be once paid; the writer
	// writes it only if the order is still as read.
	paid := order.Fresh()
	paid.Set("status", shop.StatusPaid)
	paid.Set("paid_at", s.nowDateTime())
	paid.Set("stripe_payment_intent", ev.Session.PaymentIntent)
	paid.Set("stripe_session_id", ev.Session.ID)
	orderEv, err := newOrderEvent(s.app, order.Id, shop.StatusPending, shop.StatusPaid, shop.ActorStripe, "Paid with Stripe.", 0)
	if err != nil {
		return "", false, err
	}
	emails, err := orderEmails(s.app, orderEv, paid, settings)
	if err != nil {
		return "", false, err
	}
	var duplicate bool
	err = s.writer.Do(ctx, s.markPaidOp(paid, ev.ID, ev.Type, ev.Session.ID, ev.Session.PaymentIntent, orderEv, emails, &duplicate))
	switch {
	case errors.Is(err, errOrderChanged):
		return "", false, err
	case err != nil:
		return "", false, fmt.Errorf("process stripe event %s (%s): %w", ev.ID, ev.Type, err)
	case duplicate:
		return resultDuplicate, true, nil
	}
	return resultApplied, true, nil
}

// applyEvent applies one event inside txApp's transaction.
func (s *shopHooks) applyEvent(txApp core.App, ev payments.Event) (eventOutcome, error) {
	switch ev.Type {
	case payments.EventSessionCompleted, payments.EventSessionAsyncSucceeded:
		order, out := findSessionOrder(txApp, ev.Session)
		if order == nil {
			return out, nil
		}
		if !ev.Session.Paid() {
			return eventOutcome{order: order.Id, result: resultIgnored, err: "The payment is not complete yet (an asynchronous method)."}, nil
		}
		return s.markPaid(txApp, order, *ev.Session)

	case payments.EventSessionAsyncFailed:
		order, out := findSessionOrder(txApp, ev.Session)
		if order == nil {
			return out, nil
		}
		if order.GetString("status") != shop.StatusPending || order.GetString("stripe_session_id") != ev.Session.ID {
			return ignored(order, "The order is %s; nothing to do.", order.GetString("status")), nil
		}
		// The customer may try again while the reservation lasts.
		order.Set("stripe_session_id", "")
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("save order %s: %w", order.Id, err)
		}
		err := writeOrderEvent(txApp, order.Id, shop.StatusPending, shop.StatusPending, shop.ActorStripe,
			"The payment failed. You can try again while the order is reserved.", 0)
		return eventOutcome{order: order.Id, result: resultApplied}, err

	case payments.EventSessionExpired:
		order, out := findSessionOrder(txApp, ev.Session)
		if order == nil {
			return out, nil
		}
		if order.GetString("status") != shop.StatusPending || order.GetString("stripe_session_id") != ev.Session.ID {
			return ignored(order, "The order is %s and its session is %q; nothing to do.",
				order.GetString("status"), order.GetString("stripe_session_id")), nil
		}
		_, err := MoveOrder(txApp, order.Id, shop.StatusExpired, shop.ActorStripe, "The checkout session expired.", nil)
		return eventOutcome{order: order.Id, result: resultApplied}, err

	case payments.EventChargeRefunded:
		order := findChargeOrder(txApp, ev.Charge)
		if order == nil {
			return eventOutcome{result: resultIgnored, err: "No order has this payment."}, nil
		}
		return s.applyRefund(txApp, order, ev.Charge.AmountRefunded)
	}
	return eventOutcome{result: resultIgnored, err: "The shop does not act on this event type."}, nil
}

// markPaid records a paid Checkout Session on its order.
func (s *shopHooks) markPaid(txApp core.App, order *core.Record, sess payments.Session) (eventOutcome, error) {
	total, currency := int64(order.GetInt("total_cents")), order.GetString("currency")
	if sess.AmountTotal != total || sess.Currency != currency {
		// Flag an unpaid order for the owner; a paid one keeps its payment.
		if order.GetString("stripe_payment_intent") == "" {
			order.Set("payment_issue", issueAmountMismatch)
			order.Set("stripe_payment_intent", sess.PaymentIntent)
			if err := txApp.Save(order); err != nil {
				return eventOutcome{}, fmt.Errorf("flag order %s: %w", order.Id, err)
			}
		}
		return eventOutcome{order: order.Id, result: resultFailed, err: fmt.Sprintf(
			"Amount mismatch: Stripe took %s, the order totals %s. The order was not marked paid.",
			shop.FormatCents(sess.AmountTotal, sess.Currency), shop.FormatCents(total, currency))}, nil
	}

	switch status := order.GetString("status"); status {
	case shop.StatusPending:
		// Only the writer moves a pending order to paid (payPending): this
		// order kept changing under it. Stripe delivers the event again.
		return eventOutcome{}, &retryLaterError{reason: "order " + order.Id + " keeps changing"}

	case shop.StatusExpired, shop.StatusCancelled:
		return s.latePayment(txApp, order, sess)

	default:
		known := order.GetString("stripe_payment_intent")
		if known == "" || known == sess.PaymentIntent {
			return ignored(order, "The order is already %s.", status), nil
		}
		return eventOutcome{order: order.Id, result: resultFailed, err: fmt.Sprintf(
			"The order was already paid with %s; refund this second payment (%s) in Stripe.", known, sess.PaymentIntent)}, nil
	}
}

// latePayment handles a payment that completed after its order expired or
// was cancelled: the order becomes paid if its stock can be reserved again;
// otherwise the payment is refunded (after commit) or flagged, as the
// settings say. The customer hears about it through an order_events row.
func (s *shopHooks) latePayment(txApp core.App, order *core.Record, sess payments.Session) (eventOutcome, error) {
	status := order.GetString("status")
	if order.GetString("payment_issue") != "" && order.GetString("stripe_payment_intent") == sess.PaymentIntent {
		return ignored(order, "This late payment is handled already (%s).", order.GetString("payment_issue")), nil
	}
	lines, err := OrderLines(order)
	if err != nil {
		return eventOutcome{}, err
	}
	available, err := stockAvailable(txApp, lines)
	if err != nil {
		return eventOutcome{}, err
	}
	if available {
		// Checked first, in this transaction: a failed reservation would
		// leave earlier lines reserved in the transaction we go on with.
		_, err := MoveOrder(txApp, order.Id, shop.StatusPaid, shop.ActorStripe,
			"Paid after the reservation ended; the items were reserved again.", func(r *core.Record) {
				r.Set("stripe_payment_intent", sess.PaymentIntent)
				r.Set("stripe_session_id", sess.ID)
				r.Set("payment_issue", "")
			})
		return eventOutcome{order: order.Id, result: resultApplied}, err
	}

	settings, err := LoadSettings(txApp)
	if err != nil {
		return eventOutcome{}, err
	}
	order.Set("stripe_payment_intent", sess.PaymentIntent)
	order.Set("stripe_session_id", sess.ID)
	if settings.LatePaymentAction == LatePaymentFlag {
		order.Set("payment_issue", issueLateFlagged)
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("flag order %s: %w", order.Id, err)
		}
		err := writeOrderEvent(txApp, order.Id, status, status, shop.ActorStripe,
			"Your payment arrived after the reservation ended and some items are sold out. "+
				"The shop will contact you about a refund or a later delivery.", 0)
		return eventOutcome{order: order.Id, result: resultApplied, err: "Late payment, stock gone: flagged for the owner."}, err
	}

	order.Set("payment_issue", issueLateRefundPending)
	if err := txApp.Save(order); err != nil {
		return eventOutcome{}, fmt.Errorf("flag order %s: %w", order.Id, err)
	}
	orderID := order.Id
	return eventOutcome{
		order: order.Id, result: resultApplied, err: "Late payment, stock gone: refunding.",
		afterCommit: func(ctx context.Context) error { return s.refundLatePayment(ctx, orderID) },
	}, nil
}

// refundLatePayment refunds an order flagged late_payment_refund_pending in
// full and records it. Never call it inside a transaction.
func (s *shopHooks) refundLatePayment(ctx context.Context, orderID string) error {
	order, err := s.app.FindRecordById("orders", orderID)
	if err != nil {
		return fmt.Errorf("find order %s: %w", orderID, err)
	}
	status := order.GetString("status")
	if order.GetString("payment_issue") != issueLateRefundPending || (status != shop.StatusExpired && status != shop.StatusCancelled) {
		return nil
	}
	amount := int64(order.GetInt("total_cents") - order.GetInt("refunded_cents"))
	if amount > 0 {
		ctx, cancel := context.WithTimeout(ctx, stripeTimeout)
		defer cancel()
		_, err := s.stripe.Refund(ctx, payments.RefundRequest{
			PaymentIntent: order.GetString("stripe_payment_intent"), AmountCents: amount, OrderID: orderID,
			IdempotencyKey: "pocketshop-late-refund-" + orderID,
		})
		if err != nil {
			return err
		}
	}
	return s.app.RunInTransaction(func(txApp core.App) error {
		order, err := txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		if order.GetString("payment_issue") != issueLateRefundPending {
			return nil // charge.refunded got here first
		}
		before := order.GetInt("refunded_cents")
		order.Set("refunded_cents", order.GetInt("total_cents"))
		order.Set("payment_issue", issueLateRefunded)
		if err := txApp.Save(order); err != nil {
			return fmt.Errorf("save order %s: %w", orderID, err)
		}
		status := order.GetString("status")
		return writeOrderEvent(txApp, orderID, status, status, shop.ActorStripe,
			"Your payment arrived after the reservation ended and the items were sold out, so it has been refunded in full.",
			order.GetInt("total_cents")-before)
	})
}

// applyRefund records a charge's refunded total on its order. Stripe sends
// the cumulative total, so refunds seen twice or out of order change nothing.
func (s *shopHooks) applyRefund(txApp core.App, order *core.Record, refundedTotal int64) (eventOutcome, error) {
	before := int64(order.GetInt("refunded_cents"))
	if refundedTotal <= before {
		return ignored(order, "The refund is recorded already."), nil
	}
	delta := int(refundedTotal - before)
	total := int64(order.GetInt("total_cents"))
	status := order.GetString("status")
	done := eventOutcome{order: order.Id, result: resultApplied}

	switch {
	case status == shop.StatusPending && order.GetString("payment_issue") != issueAmountMismatch:
		return eventOutcome{}, &retryLaterError{reason: "the order's payment is not recorded yet"}

	case status == shop.StatusPaid || status == shop.StatusFulfilled:
		if refundedTotal >= total {
			if _, err := MoveOrder(txApp, order.Id, shop.StatusRefunded, shop.ActorStripe, "Refunded in full.",
				func(r *core.Record) { r.Set("refunded_cents", refundedTotal) }); err != nil {
				return eventOutcome{}, err
			}
			return done, s.restockIfWanted(txApp, order)
		}
		order.Set("refunded_cents", refundedTotal)
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("save order %s: %w", order.Id, err)
		}
		msg := fmt.Sprintf("Partially refunded: %s.", shop.FormatCents(int64(delta), order.GetString("currency")))
		return done, writeOrderEvent(txApp, order.Id, status, status, shop.ActorStripe, msg, delta)

	default: // refunded, a late payment, or a payment of the wrong amount
		order.Set("refunded_cents", refundedTotal)
		msg := "Your payment has been refunded."
		switch order.GetString("payment_issue") {
		case issueLateRefundPending, issueLateFlagged:
			order.Set("payment_issue", issueLateRefunded)
			msg = "Your payment arrived after the reservation ended and the items were sold out, so it has been refunded."
		}
		if err := txApp.Save(order); err != nil {
			return eventOutcome{}, fmt.Errorf("save order %s: %w", order.Id, err)
		}
		return done, writeOrderEvent(txApp, order.Id, status, status, shop.ActorStripe, msg, delta)
	}
}

// onOrderPaymentRequest guards the payment side of the owner's edits of an
// order. The owner may clear payment_issue once it is handled, not set it.
// Moving a Stripe order to refunded refunds the rest of its payment through
// Stripe before the order is saved; if Stripe refuses, the move fails with
// Stripe's message. Should the save fail after Stripe refunded, Stripe's
// charge.refunded event completes the move.
func (s *shopHooks) onOrderPaymentRequest(e *core.RecordRequestEvent) error {
	issue := e.Record.GetString("payment_issue")
	if issue != "" && issue != e.Record.Original().GetString("payment_issue") {
		return e.BadRequestError("The order could not be saved.", validation.Errors{
			"payment_issue": validation.NewError("payment_issue_clear_only", "The payment issue can only be cleared."),
		})
	}

	from := e.Record.Original().GetString("status")
	to := e.Record.GetString("status")
	if to != shop.StatusRefunded || from == to || e.Record.GetString("payment_method") != "stripe" ||
		(from != shop.StatusPaid && from != shop.StatusFulfilled) {
		return e.Next()
	}
	pi := e.Record.GetString("stripe_payment_intent")
	if pi == "" {
		return e.BadRequestError("This order has no Stripe payment to refund.", nil)
	}
	if s.stripe == nil {
		return e.Error(http.StatusServiceUnavailable, "Payments are not configured: the refund cannot be made.", nil)
	}

	refunded := e.Record.GetInt("refunded_cents")
	total := e.Record.GetInt("total_cents")
	if remaining := total - refunded; remaining > 0 {
		ctx, cancel := context.WithTimeout(e.Request.Context(), stripeTimeout)
		defer cancel()
		_, err := s.stripe.Refund(ctx, payments.RefundRequest{
			PaymentIntent: pi, AmountCents: int64(remaining), OrderID: e.Record.Id,
			IdempotencyKey: fmt.Sprintf("pocketshop-refund-%s-%d", e.Record.Id, refunded),
		})
		if err != nil {
			return stripeAPIError("Stripe could not refund the order.", err)
		}
		e.Record.Set("refunded_cents", total)
	}

	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		// Stripe's charge.refunded may have moved the order (and restocked
		// it) while Stripe was answering: restock only if this save moves it.
		current, err := txApp.FindRecordById("orders", e.Record.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", e.Record.Id, err)
		}
		moves := current.GetString("status") != shop.StatusRefunded
		if err := e.Next(); err != nil || !moves {
			return err
		}
		return s.restockIfWanted(txApp, e.Record)
	})
}

// restockIfWanted puts a refunded order's items back into stock when the
// settings ask for it.
func (s *shopHooks) restockIfWanted(txApp core.App, order *core.Record) error {
	settings, err := LoadSettings(txApp)
	if err != nil || !settings.RestockOnRefund {
		return err
	}
	lines, err := OrderLines(order)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := changeStock(txApp, l.Product, l.Quantity, reasonRestock, order.Id); err != nil {
			return err
		}
	}
	return nil
}

// onOrderClosed expires the open Checkout Session of an order that was
// cancelled or expired here, so that nobody pays for it any more. It runs
// after the commit and calls Stripe in the background: best effort (a late
// payment is still handled by latePayment).
func (s *shopHooks) onOrderClosed(e *core.RecordEvent) error {
	from, to := e.Record.GetString("from_status"), e.Record.GetString("to_status")
	closing := (to == shop.StatusCancelled || to == shop.StatusExpired) && from != to
	if !closing || s.stripe == nil || e.Record.GetString("actor") == shop.ActorStripe {
		return e.Next()
	}
	order, err := e.App.FindRecordById("orders", e.Record.GetString("order"))
	if err != nil {
		return e.Next()
	}
	sessionID := order.GetString("stripe_session_id")
	if sessionID == "" || order.GetString("payment_method") != "stripe" {
		return e.Next()
	}
	go s.expireSession(sessionID, order.Id)
	return e.Next()
}

// expireSession expires a Checkout Session at Stripe, best effort. Run it
// in its own goroutine, never inside a transaction.
func (s *shopHooks) expireSession(sessionID, orderID string) {
	ctx, cancel := context.WithTimeout(context.Background(), stripeTimeout)
	defer cancel()
	if err := s.stripe.ExpireSession(ctx, sessionID); err != nil {
		s.app.Logger().Warn("Could not expire the checkout session of a closed order",
			"order", orderID, "session", sessionID, "error", err.Error())
	}
}

// ReconcilePayments catches up with Stripe for payments the webhook missed.
// It asks Stripe about the Checkout Sessions of unpaid Stripe orders that
// are older than a few minutes (a paid session goes through the webhook's
// code path), retries pending late-payment refunds, completes flagged late
// payments whose stock is back, and processes the events Stripe failed to
// deliver in the last days. It reports how many changed something.
//
// hooks.Register must have been called on app. Without a Stripe key it
// does nothing.
func ReconcilePayments(ctx context.Context, app core.App) (int, error) {
	s, ok := app.Store().Get(paymentsStoreKey).(*shopHooks)
	if !ok {
		return 0, errors.New("reconcile payments: hooks.Register was not called on this app")
	}
	if s.stripe == nil {
		return 0, nil
	}
	return s.reconcile(ctx)
}

// reconcilePaymentsJob is the reconcile-payments scheduled job.
func (s *shopHooks) reconcilePaymentsJob(ctx context.Context) (int, string, error) {
	if s.stripe == nil {
		return 0, "Payments are not configured.", nil
	}
	n, err := s.reconcile(ctx)
	return n, fmt.Sprintf("%d payment(s) reconciled with Stripe.", n), err
}

func (s *shopHooks) reconcile(ctx context.Context) (int, error) {
	now := s.now().UTC()
	processed := 0
	var errs []error
	count := func(result string, err error) {
		if err != nil {
			errs = append(errs, err)
		} else if result == resultApplied || result == resultFailed {
			processed++
		}
	}

	before, _ := types.ParseDateTime(now.Add(-reconcileAfter))
	after, _ := types.ParseDateTime(now.Add(-reconcileSessionsFor))
	orders, err := s.app.FindRecordsByFilter("orders",
		"payment_method = 'stripe' && stripe_session_id != '' && stripe_payment_intent = '' && "+
			"stripe_session_at <= {:before} && stripe_session_at >= {:after} && "+
			"(status = 'pending' || status = 'expired' || status = 'cancelled')",
		"stripe_session_at", 500, 0, dbx.Params{"before": before.String(), "after": after.String()})
	if err != nil {
		return 0, fmt.Errorf("reconcile payments: find unpaid orders: %w", err)
	}
	for _, order := range orders {
		sess, err := s.stripe.GetSession(ctx, order.GetString("stripe_session_id"))
		var refused *payments.Error
		if errors.As(err, &refused) && refused.HTTPStatus == http.StatusNotFound {
			continue // not this account's session (keys changed): nothing to learn
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case sess.Status == payments.SessionComplete && sess.Paid():
			count(s.processEvent(ctx, reconcileEvent(payments.EventSessionCompleted, sess)))
		case sess.Status == payments.SessionExpired && order.GetString("status") == shop.StatusPending:
			count(s.processEvent(ctx, reconcileEvent(payments.EventSessionExpired, sess)))
		}
	}

	pending, err := s.app.FindAllRecords("orders", dbx.HashExp{"payment_issue": issueLateRefundPending})
	if err != nil {
		return processed, fmt.Errorf("reconcile payments: find pending refunds: %w", err)
	}
	for _, order := range pending {
		if err := s.refundLatePayment(ctx, order.Id); err != nil {
			errs = append(errs, err)
		} else {
			processed++
		}
	}

	flagged, err := s.app.FindAllRecords("orders", dbx.HashExp{"payment_issue": issueLateFlagged})
	if err != nil {
		return processed, fmt.Errorf("reconcile payments: find flagged orders: %w", err)
	}
	for _, order := range flagged {
		done, err := s.completeFlagged(order.Id)
		if err != nil {
			errs = append(errs, err)
		} else if done {
			processed++
		}
	}

	events, err := s.stripe.FailedEvents(ctx, now.Add(-failedEventsWindow))
	if err != nil {
		errs = append(errs, err)
	}
	for _, ev := range events {
		count(s.processEvent(ctx, ev))
	}
	return processed, errors.Join(errs...)
}

// completeFlagged makes a flagged late payment's order paid once its stock
// is back.
func (s *shopHooks) completeFlagged(orderID string) (bool, error) {
	var done bool
	err := s.app.RunInTransaction(func(txApp core.App) error {
		order, err := txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		status := order.GetString("status")
		if order.GetString("payment_issue") != issueLateFlagged || (status != shop.StatusExpired && status != shop.StatusCancelled) {
			return nil
		}
		lines, err := OrderLines(order)
		if err != nil {
			return err
		}
		if done, err = stockAvailable(txApp, lines); err != nil || !done {
			return err
		}
		_, err = MoveOrder(txApp, orderID, shop.StatusPaid, shop.ActorStripe,
			"The items are back in stock: your late payment completed the order.",
			func(r *core.Record) { r.Set("payment_issue", "") })
		return err
	})
	return done, err
}

// reconcileEvent stands for an event the shop learnt about by asking Stripe
// rather than by webhook. Its id is derived from the session, so that it is
// applied once however often it is asked.
func reconcileEvent(eventType string, sess payments.Session) payments.Event {
	return payments.Event{
		ID:      fmt.Sprintf("reconcile:%s:%s", sess.ID, sess.Status),
		Type:    eventType,
		Session: &sess,
	}
}

// findSessionOrder finds the order a Checkout Session was created for.
func findSessionOrder(txApp core.App, sess *payments.Session) (*core.Record, eventOutcome) {
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
func findChargeOrder(txApp core.App, ch *payments.Charge) *core.Record {
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

// stockAvailable reports whether every line could be reserved now.
func stockAvailable(txApp core.App, lines []shop.OrderLine) (bool, error) {
	for _, l := range lines {
		p, err := txApp.FindRecordById("products", l.Product)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // deleted: it cannot be reserved
		}
		if err != nil {
			return false, fmt.Errorf("find product %s: %w", l.Product, err)
		}
		if p.GetInt("stock") < l.Quantity {
			return false, nil
		}
	}
	return true, nil
}

func ignored(order *core.Record, format string, args ...any) eventOutcome {
	return eventOutcome{order: order.Id, result: resultIgnored, err: fmt.Sprintf(format, args...)}
}

// stripeAPIError answers a failed Stripe call: Stripe's refusal is a 400
// carrying Stripe's message; anything else (Stripe unreachable) a 502.
func stripeAPIError(message string, err error) error {
	var refused *payments.Error
	if errors.As(err, &refused) && refused.HTTPStatus >= 400 && refused.HTTPStatus < 500 {
		return router.NewBadRequestError(message+" Stripe says: "+refused.Message, nil)
	}
	return router.NewApiError(http.StatusBadGateway, message, err)
}
