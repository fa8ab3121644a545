package payments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"pocketshop/hooks/httperr"
	pay "pocketshop/internal/payments"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// stripeWebhook receives Stripe's events: it verifies the signature,
// records each event once in payment_events and applies it to its order in
// the same transaction.
func (m *Manager) stripeWebhook(e *core.RequestEvent) error {
	if m.provider == nil || !m.provider.VerifiesWebhooks() {
		return httperr.Response(shop.Errorf(shop.EUNAVAILABLE, "Stripe webhooks are not configured."))
	}
	body, err := io.ReadAll(http.MaxBytesReader(e.Response, e.Request.Body, maxWebhookBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return httperr.Response(shop.Errorf(shop.ETOOLARGE, "The event is too large."))
		}
		return httperr.Response(&shop.Error{Code: shop.EINVALID, Message: "Failed to read the event.", Cause: err})
	}
	ev, err := m.provider.ParseEvent(body, e.Request.Header.Get("Stripe-Signature"))
	if errors.Is(err, pay.ErrInvalidSignature) {
		return httperr.Response(&shop.Error{Code: shop.EINVALID, Message: "The event's signature is invalid or expired.", Cause: err})
	}
	if err != nil {
		return httperr.Response(&shop.Error{Code: shop.EINVALID, Message: "The event could not be read: " + err.Error(), Cause: err})
	}

	result, err := m.processEvent(e.Request.Context(), ev)
	if err != nil {
		var later *retryLaterError
		if errors.As(err, &later) {
			return httperr.Response(&shop.Error{Code: shop.EUNAVAILABLE, Message: "The event cannot be processed yet.", Cause: err})
		}
		return httperr.Response(err)
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
func (m *Manager) processEvent(ctx context.Context, ev pay.Event) (string, error) {
	// A pending order's paid transition goes through the group-commit
	// writer (paid.go); an order that moves between its read and the
	// writer's check is decided again.
	for range 5 {
		result, handled, err := m.payPending(ctx, ev)
		if errors.Is(err, errOrderChanged) {
			continue
		}
		if handled || err != nil {
			return result, err
		}
		break
	}
	var out eventOutcome
	err := m.app.RunInTransaction(func(txApp core.App) error {
		seen, err := txApp.CountRecords("payment_events", dbx.HashExp{"event_id": ev.ID})
		if err != nil {
			return fmt.Errorf("look up event %s: %w", ev.ID, err)
		}
		if seen > 0 {
			out = eventOutcome{result: resultDuplicate}
			return nil
		}
		out, err = m.applyEvent(txApp, ev)
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
			m.app.Logger().Warn("Stripe call after an event failed; reconciliation will retry",
				"event", ev.ID, "order", out.order, "error", err.Error())
		}
	}
	return out.result, nil
}
