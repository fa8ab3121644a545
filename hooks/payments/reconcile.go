package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"pocketshop/hooks/orders"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Reconcile catches up with Stripe for payments the webhook missed.
// It asks Stripe about the Checkout Sessions of unpaid Stripe orders that
// are older than a few minutes (a paid session goes through the webhook's
// code path), retries pending late-payment refunds, completes flagged late
// payments whose stock is back, and processes the events Stripe failed to
// deliver in the last days. It reports how many changed something.
//
// hooks.Register must have been called on app. Without a Stripe key it
// does nothing.
func Reconcile(ctx context.Context, app core.App) (int, error) {
	m, ok := app.Store().Get(storeKey).(*Manager)
	if !ok {
		return 0, errors.New("reconcile payments: hooks.Register was not called on this app")
	}
	if m.provider == nil {
		return 0, nil
	}
	return m.reconcile(ctx)
}

// ReconcileJob is the reconcile-payments scheduled job.
func (m *Manager) ReconcileJob(ctx context.Context) (int, string, error) {
	if m.provider == nil {
		return 0, "Payments are not configured.", nil
	}
	n, err := m.reconcile(ctx)
	return n, fmt.Sprintf("%d payment(s) reconciled with Stripe.", n), err
}

func (m *Manager) reconcile(ctx context.Context) (int, error) {
	now := m.now().UTC()
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
	orders, err := m.app.FindRecordsByFilter("orders",
		"payment_method = 'stripe' && stripe_session_id != '' && stripe_payment_intent = '' && "+
			"stripe_session_at <= {:before} && stripe_session_at >= {:after} && "+
			"(status = 'pending' || status = 'expired' || status = 'cancelled')",
		"stripe_session_at", 500, 0, dbx.Params{"before": before.String(), "after": after.String()})
	if err != nil {
		return 0, fmt.Errorf("reconcile payments: find unpaid orders: %w", err)
	}
	for _, order := range orders {
		sess, err := m.provider.GetSession(ctx, order.GetString("stripe_session_id"))
		var refused *pay.Error
		if errors.As(err, &refused) && refused.HTTPStatus == http.StatusNotFound {
			continue // not this account's session (keys changed): nothing to learn
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case sess.Status == pay.SessionComplete && sess.Paid():
			count(m.processEvent(ctx, reconcileEvent(pay.EventSessionCompleted, sess)))
		case sess.Status == pay.SessionExpired && order.GetString("status") == shop.StatusPending:
			count(m.processEvent(ctx, reconcileEvent(pay.EventSessionExpired, sess)))
		}
	}

	pending, err := m.app.FindAllRecords("orders", dbx.HashExp{"payment_issue": shop.IssueLateRefundPending})
	if err != nil {
		return processed, fmt.Errorf("reconcile payments: find pending refunds: %w", err)
	}
	for _, order := range pending {
		if err := m.refundLatePayment(ctx, order.Id); err != nil {
			errs = append(errs, err)
		} else {
			processed++
		}
	}

	flagged, err := m.app.FindAllRecords("orders", dbx.HashExp{"payment_issue": shop.IssueLateFlagged})
	if err != nil {
		return processed, fmt.Errorf("reconcile payments: find flagged orders: %w", err)
	}
	for _, order := range flagged {
		done, err := m.completeFlagged(order.Id)
		if err != nil {
			errs = append(errs, err)
		} else if done {
			processed++
		}
	}

	events, err := m.provider.FailedEvents(ctx, now.Add(-failedEventsWindow))
	if err != nil {
		errs = append(errs, err)
	}
	for _, ev := range events {
		count(m.processEvent(ctx, ev))
	}
	return processed, errors.Join(errs...)
}

// completeFlagged makes a flagged late payment's order paid once its stock
// is back.
func (m *Manager) completeFlagged(orderID string) (bool, error) {
	var done bool
	err := m.app.RunInTransaction(func(txApp core.App) error {
		order, err := txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		status := order.GetString("status")
		if order.GetString("payment_issue") != shop.IssueLateFlagged || (status != shop.StatusExpired && status != shop.StatusCancelled) {
			return nil
		}
		lines, err := orders.Lines(order)
		if err != nil {
			return err
		}
		if done, err = orders.StockAvailable(txApp, lines); err != nil || !done {
			return err
		}
		_, err = orders.Move(txApp, orderID, shop.StatusPaid, shop.ActorStripe,
			"The items are back in stock: your late payment completed the order.",
			func(r *core.Record) { r.Set("payment_issue", "") })
		return err
	})
	return done, err
}

// reconcileEvent stands for an event the shop learnt about by asking Stripe
// rather than by webhook. Its id is derived from the session, so that it is
// applied once however often it is asked.
func reconcileEvent(eventType string, sess pay.Session) pay.Event {
	return pay.Event{
		ID:      fmt.Sprintf("reconcile:%s:%s", sess.ID, sess.Status),
		Type:    eventType,
		Session: &sess,
	}
}
