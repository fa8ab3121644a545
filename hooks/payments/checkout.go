package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"pocketshop/hooks/httperr"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/settings"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// payOrder starts paying a pending order: for Stripe it creates (or reuses
// the open) Checkout Session and answers {url}; for a manual payment it
// answers {instructions} from the shop settings.
func (m *Manager) payOrder(e *core.RequestEvent) error {
	order, err := orders.FindAccessible(e)
	if err != nil {
		return err
	}
	if st := order.GetString("status"); st != shop.StatusPending {
		return httperr.Response(shop.Errorf(shop.EINVALID, "Only a pending order can be paid; this order is %s.", st))
	}
	if !order.GetDateTime("expires_at").Time().After(m.now()) {
		return httperr.Response(shop.Errorf(shop.EINVALID, "The order's reservation has ended; please place the order again."))
	}

	if order.GetString("payment_method") == "manual" {
		s, err := settings.Load(e.App)
		if err != nil {
			return httperr.Response(err)
		}
		return e.JSON(http.StatusOK, map[string]string{"instructions": s.ManualPaymentInstructions})
	}
	if m.provider == nil {
		return httperr.Response(shop.Errorf(shop.EUNAVAILABLE, "Payments are not configured."))
	}

	ctx, cancel := context.WithTimeout(e.Request.Context(), stripeTimeout)
	defer cancel()
	checkout, err := m.checkoutURL(ctx, e.App, order)
	if err != nil {
		return httperr.Response(err)
	}
	return e.JSON(http.StatusOK, map[string]string{"url": checkout})
}

// checkoutURL returns the URL of the order's open Checkout Session,
// creating one when there is none.
func (m *Manager) checkoutURL(ctx context.Context, app core.App, order *core.Record) (string, error) {
	prev := order.GetString("stripe_session_id")
	if prev != "" {
		sess, err := m.provider.GetSession(ctx, prev)
		var refused *pay.Error
		switch {
		case errors.As(err, &refused) && refused.HTTPStatus == http.StatusNotFound:
			// Unknown to this Stripe account (e.g. test keys swapped for
			// live ones): start a new session.
			sess = pay.Session{Status: pay.SessionExpired}
		case err != nil:
			return "", providerError("Stripe could not be reached; please try again.", err)
		}
		switch {
		case sess.Status == pay.SessionOpen:
			return sess.URL, nil
		case sess.Status == pay.SessionComplete && sess.Paid():
			// Paid, and the webhook has not told us yet: record it now.
			if _, err := m.processEvent(ctx, reconcileEvent(pay.EventSessionCompleted, sess)); err != nil {
				return "", err
			}
			return "", shop.Errorf(shop.EINVALID, "The order has already been paid.")
		case sess.Status == pay.SessionComplete:
			return "", shop.Errorf(shop.EINVALID, "The order's payment is being processed.")
		}
		// The session expired: start a new one.
	}

	expiresAt, err := m.holdForCheckout(app, order.Id)
	if err != nil {
		return "", err
	}
	lines, err := orders.Lines(order)
	if err != nil {
		return "", err
	}
	req := pay.CheckoutRequest{
		OrderID:   order.Id,
		Email:     order.GetString("email"),
		Currency:  order.GetString("currency"),
		ExpiresAt: expiresAt,
		// The key changes only with what the session is made of, so that
		// concurrent calls get the same session from Stripe.
		IdempotencyKey: fmt.Sprintf("pocketshop-checkout-%s-%s-%d", order.Id, prev, expiresAt.Unix()),
	}
	for _, l := range lines {
		req.Lines = append(req.Lines, pay.LineItem{Name: l.Name, UnitAmount: l.UnitPriceCents, Quantity: int64(l.Quantity)})
	}
	if shipping := order.GetInt("shipping_cents"); shipping > 0 {
		req.Lines = append(req.Lines, pay.LineItem{Name: "Shipping", UnitAmount: int64(shipping), Quantity: 1})
	}
	// Back to the order's page in the storefront, as the emails link it.
	page := settings.AppURL(app) + "/order.html?" + url.Values{"id": {order.Id}, "token": {order.GetString("token")}}.Encode()
	req.SuccessURL = page + "&checkout=success"
	req.CancelURL = page + "&checkout=cancelled"

	sess, err := m.provider.CreateCheckoutSession(ctx, req)
	if err != nil {
		return "", providerError("Stripe could not start the checkout.", err)
	}

	err = app.RunInTransaction(func(txApp core.App) error {
		fresh, err := txApp.FindRecordById("orders", order.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", order.Id, err)
		}
		if fresh.GetString("status") != shop.StatusPending {
			// Cancelled or expired meanwhile: nobody should pay this session.
			go m.expireSession(sess.ID, order.Id)
			return errNoLongerPending
		}
		fresh.Set("stripe_session_id", sess.ID)
		fresh.Set("stripe_session_at", m.now().UTC())
		return txApp.Save(fresh)
	})
	if err != nil {
		return "", err
	}
	return sess.URL, nil
}

// errNoLongerPending answers a payment started for an order that was
// cancelled or expired meanwhile.
var errNoLongerPending = shop.Errorf(shop.EINVALID, "The order is no longer pending.")

// holdForCheckout makes sure the order's reservation lasts as long as a
// Checkout Session must, and returns when the session should expire.
func (m *Manager) holdForCheckout(app core.App, orderID string) (time.Time, error) {
	var expiresAt time.Time
	err := app.RunInTransaction(func(txApp core.App) error {
		order, err := txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		if order.GetString("status") != shop.StatusPending {
			return errNoLongerPending
		}
		expiresAt = order.GetDateTime("expires_at").Time()
		now := m.now().UTC()
		if expiresAt.Sub(now) >= checkoutMinLifetime {
			return nil
		}
		expiresAt = now.Add(checkoutExtendTo).Truncate(time.Second)
		order.Set("expires_at", expiresAt)
		return txApp.Save(order)
	})
	return expiresAt, err
}

// onOrderClosed expires the open Checkout Session of an order that was
// cancelled or expired here, so that nobody pays for it any more. It runs
// after the commit and calls Stripe in the background: best effort (a late
// payment is still handled by Manager.latePayment).
func (m *Manager) onOrderClosed(e *core.RecordEvent) error {
	from, to := e.Record.GetString("from_status"), e.Record.GetString("to_status")
	closing := (to == shop.StatusCancelled || to == shop.StatusExpired) && from != to
	if !closing || m.provider == nil || e.Record.GetString("actor") == shop.ActorStripe {
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
	go m.expireSession(sessionID, order.Id)
	return e.Next()
}

// expireSession expires a Checkout Session at Stripe, best effort. Run it
// in its own goroutine, never inside a transaction.
func (m *Manager) expireSession(sessionID, orderID string) {
	ctx, cancel := context.WithTimeout(context.Background(), stripeTimeout)
	defer cancel()
	if err := m.provider.ExpireSession(ctx, sessionID); err != nil {
		m.app.Logger().Warn("Could not expire the checkout session of a closed order",
			"order", orderID, "session", sessionID, "error", err.Error())
	}
}
