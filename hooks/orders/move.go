package orders

import (
	"context"
	"fmt"

	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

type ctxKey int

const (
	moveKey ctxKey = iota
	movementKey
)

// moveInfo says who moves an order to a new status and why. Saves without
// it come from the records API or the dashboard, so they count as the admin.
type moveInfo struct {
	actor   string
	message string
}

func withMove(ctx context.Context, actor, message string) context.Context {
	return context.WithValue(ctx, moveKey, moveInfo{actor: actor, message: message})
}

func moveFrom(ctx context.Context) moveInfo {
	if ctx != nil {
		if m, ok := ctx.Value(moveKey).(moveInfo); ok {
			return m
		}
	}
	return moveInfo{actor: shop.ActorAdmin}
}

// movementInfo labels a stock change made by the shop itself (an order's
// reservation or release). Stock changes without it are the owner's edits.
type movementInfo struct {
	reason string
	order  string
}

func withMovement(ctx context.Context, reason, order string) context.Context {
	return context.WithValue(ctx, movementKey, movementInfo{reason: reason, order: order})
}

// WithStockAdjust labels the stock changes of the saves made with ctx as
// "adjust" movements whichever way they go (a CSV import sets counted
// stock); without a label an increase is booked as a "restock".
func WithStockAdjust(ctx context.Context) context.Context {
	return withMovement(ctx, reasonAdjust, "")
}

func movementFrom(ctx context.Context) (movementInfo, bool) {
	if ctx == nil {
		return movementInfo{}, false
	}
	m, ok := ctx.Value(movementKey).(movementInfo)
	return m, ok
}

// Move moves an order to status `to` on behalf of actor, with the same
// checks and effects as any other writer gets (see Manager.onOrderUpdate). mutate,
// when not nil, changes other fields of the freshly loaded order first.
func Move(app core.App, orderID, to, actor, message string, mutate func(*core.Record)) (*core.Record, error) {
	var order *core.Record
	err := app.RunInTransaction(func(txApp core.App) error {
		var err error
		order, err = txApp.FindRecordById("orders", orderID)
		if err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		if mutate != nil {
			mutate(order)
		}
		order.Set("status", to)
		return txApp.SaveWithContext(withMove(context.Background(), actor, message), order)
	})
	if err != nil {
		return nil, err
	}
	return order, nil
}

// Lines decodes an order's stored items.
func Lines(order *core.Record) ([]shop.OrderLine, error) {
	var lines []shop.OrderLine
	if err := order.UnmarshalJSONField("items", &lines); err != nil {
		return nil, fmt.Errorf("decode items of order %s: %w", order.Id, err)
	}
	return lines, nil
}

// WriteEvent adds a row to an order's timeline; amountCents is the money
// the event moved (a refund), or 0.
func WriteEvent(txApp core.App, orderID, from, to, actor, message string, amountCents int) error {
	col, err := txApp.FindCachedCollectionByNameOrId("order_events")
	if err != nil {
		return err
	}
	ev := core.NewRecord(col)
	ev.Set("order", orderID)
	ev.Set("from_status", from)
	ev.Set("to_status", to)
	ev.Set("actor", actor)
	ev.Set("message", message)
	ev.Set("amount_cents", amountCents)
	if err := txApp.Save(ev); err != nil {
		return fmt.Errorf("write event of order %s: %w", orderID, err)
	}
	return nil
}
