// Package txn runs a hook's work in a database transaction.
package txn

import "github.com/pocketbase/pocketbase/core"

// Run runs fn in a transaction of *app with *app set to the transaction's
// app, so that the save fn triggers (e.Next()) joins the transaction, and
// puts the original app back afterwards: PocketBase hands the event's app
// on to the after-success hooks (realtime, ...), which run after the commit,
// when the transaction's app can no longer query. Pass &e.App of a record
// or request event.
func Run(app *core.App, fn func(txApp core.App) error) error {
	original := *app
	defer func() { *app = original }()
	return original.RunInTransaction(func(txApp core.App) error {
		*app = txApp
		return fn(txApp)
	})
}
