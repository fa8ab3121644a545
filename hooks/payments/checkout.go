package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"pocketshop/hooks/httperr"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/settings"
	"pocketshop/internal/groupcommit"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/routine"
	"github.com/pocketbase/pocketbase/tools/types"
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
	if order.GetInt("total_cents") == 0 {
		// Stripe Checkout cannot take a payment of nothing (a 100% code).
		return httperr.Response(shop.Errorf(shop.EINVALID, "This order has nothing to pay: the shop will confirm it."))
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

	expiresAt, err := m.holdForCheckout(ctx, order.Id)
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
	charge, err := chargeLines(order, lines)
	if err != nil {
		return "", err
	}
	for _, c := range charge {
		req.Lines = append(req.Lines, pay.LineItem{Name: c.Name, UnitAmount: c.UnitAmountCents, Quantity: c.Quantity})
	}
	// Back to the order's page in the storefront, as the emails link it.
	page := settings.AppURL(app) + "/order.html?" + url.Values{"id": {order.Id}, "token": {order.GetString("token")}}.Encode()
	req.SuccessURL = page + "&checkout=success"
	req.CancelURL = page + "&checkout=cancelled"

	sess, err := m.provider.CreateCheckoutSession(ctx, req)
	if err != nil {
		return "", providerError("Stripe could not start the checkout.", err)
	}

	// Through the writer, like every write on the way to paid: one
	// conditional UPDATE instead of a record save.
	err = m.writer.Do(ctx, m.orderUpdateOp(order.Id,
		"[[stripe_session_id]] = {:session}, [[stripe_session_at]] = {:at}",
		dbx.Params{"session": sess.ID, "at": dateString(m.now().UTC())}, nil))
	if errors.Is(err, errNoLongerPending) {
		// Cancelled or expired meanwhile: nobody should pay this session.
		routine.FireAndForget(func() { m.expireSession(sess.ID, order.Id) })
	}
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
func (m *Manager) holdForCheckout(ctx context.Context, orderID string) (time.Time, error) {
	now := m.now().UTC()
	extended := now.Add(checkoutExtendTo).Truncate(time.Second)
	var expiresAt time.Time
	err := m.writer.Do(ctx, m.orderUpdateOp(orderID, "[[expires_at]] = {:exp}",
		dbx.Params{"exp": ""}, func(current *core.Record, params dbx.Params) bool {
			expiresAt = current.GetDateTime("expires_at").Time()
			switch left := expiresAt.Sub(now); {
			case left > settings.CheckoutMaxLifetime:
				// Held longer than a session may live (an order placed
				// before the hold was bounded, or switched to card): the
				// hold ends with the session, not after it.
				expiresAt = now.Add(settings.CheckoutMaxLifetime).Truncate(time.Second)
			case left >= checkoutMinLifetime:
				return false
			default:
				expiresAt = extended
			}
			params["exp"] = dateString(expiresAt)
			return true
		}))
	return expiresAt, err
}

// dateString is t as PocketBase stores a date.
func dateString(t time.Time) string {
	dt, _ := types.ParseDateTime(t)
	return dt.String()
}

// orderUpdateOp sets fields of a pending order with one UPDATE ... RETURNING
// (set: "[[field]] = {:param}, ..."; updated is set too), refusing with
// errNoLongerPending when the order is not pending. decide, when not nil,
// sees the order as stored and may change params or skip the write (false).
// The update fires the order's after-update hooks, not its before-save
// ones: these writes move no status.
func (m *Manager) orderUpdateOp(orderID, set string, params dbx.Params, decide func(current *core.Record, params dbx.Params) bool) groupcommit.Op {
	return func(tx *groupcommit.Tx) error {
		var row dbx.NullStringMap
		err := tx.Query("SELECT * FROM {{orders}} WHERE [[id]] = {:id}", dbx.Params{"id": orderID}).One(&row)
		if errors.Is(err, sql.ErrNoRows) {
			return groupcommit.Refuse(errNoLongerPending)
		}
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		col, err := tx.App.FindCachedCollectionByNameOrId("orders")
		if err != nil {
			return err
		}
		current, err := groupcommit.RecordFromRow(col, row)
		if err != nil {
			return err
		}
		if current.GetString("status") != shop.StatusPending {
			return groupcommit.Refuse(errNoLongerPending)
		}
		p := dbx.Params{"id": orderID, "pending": shop.StatusPending, "now": groupcommit.Now()}
		for k, v := range params {
			p[k] = v
		}
		if decide != nil && !decide(current, p) {
			return nil
		}
		_, err = tx.UpdateReturning(col, "UPDATE {{orders}} SET "+set+", [[updated]] = {:now} WHERE [[id]] = {:id} AND [[status]] = {:pending}", p)
		return err
	}
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
	routine.FireAndForget(func() { m.expireSession(sessionID, order.Id) })
	return e.Next()
}

// expireSession expires a Checkout Session at Stripe, best effort. Run it
// in its own goroutine (routine.FireAndForget: a panic is logged, not
// fatal), after the commit, never inside a transaction.
func (m *Manager) expireSession(sessionID, orderID string) {
	ctx, cancel := context.WithTimeout(context.Background(), stripeTimeout)
	defer cancel()
	if err := m.provider.ExpireSession(ctx, sessionID); err != nil {
		m.app.Logger().Warn("Could not expire the checkout session of a closed order",
			"order", orderID, "session", sessionID, "error", err.Error())
	}
}

// chargeLines are the Checkout Session's line items of order: its stored
// lines with their discounts, shipping and tax, adding up to exactly its
// total_cents (shop.ChargeLines; README, "Pricing rules").
func chargeLines(order *core.Record, lines []shop.OrderLine) ([]shop.ChargeLine, error) {
	var taxLines []shop.TaxLine
	if err := order.UnmarshalJSONField("tax_lines", &taxLines); err != nil {
		return nil, fmt.Errorf("decode tax lines of order %s: %w", order.Id, err)
	}
	totals := shop.Totals{
		SubtotalCents: int64(order.GetInt("subtotal_cents")), DiscountCents: int64(order.GetInt("discount_cents")),
		ShippingCents: int64(order.GetInt("shipping_cents")), TaxCents: int64(order.GetInt("tax_cents")),
		TotalCents: int64(order.GetInt("total_cents")), TaxLines: taxLines,
	}
	charge, err := shop.ChargeLines(lines, totals, order.GetString("shipping_rate_name"))
	if err != nil {
		return nil, fmt.Errorf("checkout of order %s: %w", order.Id, err)
	}
	return charge, nil
}
