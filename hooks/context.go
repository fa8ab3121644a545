package hooks

import (
	"context"

	"pocketshop/internal/shop"
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

func movementFrom(ctx context.Context) (movementInfo, bool) {
	if ctx == nil {
		return movementInfo{}, false
	}
	m, ok := ctx.Value(movementKey).(movementInfo)
	return m, ok
}
