package hooks

import (
	"context"

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

func movementFrom(ctx context.Context) (movementInfo, bool) {
	if ctx == nil {
		return movementInfo{}, false
	}
	m, ok := ctx.Value(movementKey).(movementInfo)
	return m, ok
}

// restoreApp gives a record event back the app it came with. A hook that
// runs the save in its own transaction sets e.App to the transaction's app;
// PocketBase passes e.App on to the after-success hooks (realtime, ...),
// which run after the commit, when that app can no longer query. Use it as
// `defer restoreApp(e, e.App)` before e.App is replaced.
func restoreApp(e *core.RecordEvent, app core.App) {
	e.App = app
}
