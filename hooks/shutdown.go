package hooks

import (
	"context"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// ShutdownGrace is how long `serve` lets requests in flight finish after
// SIGTERM or SIGINT before it closes the database. PocketBase alone allows
// one second, less than a Stripe call may take.
const ShutdownGrace = 10 * time.Second

// bindGracefulShutdown makes `serve` stop taking new connections on SIGTERM
// or SIGINT and wait up to ShutdownGrace for the requests in flight.
func bindGracefulShutdown(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		srv := se.Server
		if srv == nil {
			return se.Next() // a test server (shoptest.Serve) has no http.Server
		}
		app.OnTerminate().Bind(&hook.Handler[*core.TerminateEvent]{
			Id: "shopGracefulShutdown",
			// before PocketBase's own handler (-9999), which cancels every
			// request's context and gives the server one second
			Priority: -10000,
			Func: func(te *core.TerminateEvent) error {
				// A restart (after a restore from the dashboard) keeps
				// PocketBase's own timing: it holds `serve` open only from
				// its own handler on, and waiting here first would let the
				// process exit before it re-executes itself.
				if te.IsRestart {
					return te.Next()
				}
				// Realtime (SSE) connections never end by themselves:
				// closing their clients ends them, so that waiting is only
				// for real requests.
				broker := te.App.SubscriptionsBroker()
				for id := range broker.Clients() {
					broker.Unregister(id)
				}
				ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					te.App.Logger().Warn("Requests still running after the shutdown grace period", "grace", ShutdownGrace.String(), "error", err)
				}
				return te.Next()
			},
		})
		return se.Next()
	})
}
