// Package groupcommit carries the shop's hot writes (order create, the
// Stripe paid transition) to SQLite in group commits: one goroutine owns
// PocketBase's write connection for them and runs the work of many waiting
// requests in one transaction, so that one fsync and one connection hand-off
// serve them all.
//
// A request hands the Writer an Op: work prepared before it queues (parsed,
// priced, validated, rendered) that only has to check and write. The Writer
// runs the Ops of a batch one after the other in one app.RunInTransaction.
// An Op must make every check before its first write and return a Refusal
// when one fails: then nothing of it was written, the batch goes on, and no
// savepoint is needed. Any other error from an Op rolls the batch back and
// re-runs its Ops one per transaction, so that only the failing one fails.
// A failed COMMIT fails every Op of the batch: none was acknowledged.
//
// The Ops write with plain SQL (Tx.Insert, Tx.Updated): PocketBase's record
// saves, their validation and their before-save hooks (OnRecordCreate,
// OnRecordUpdate, OnModelValidate, ...) do not run for these rows. After
// the COMMIT, Writer.Do fires PocketBase's after-success hooks for every
// row its Op wrote, as a record save in a transaction would: the model
// hooks OnModelAfterCreateSuccess / OnModelAfterUpdateSuccess and through
// them the record hooks OnRecordAfterCreateSuccess /
// OnRecordAfterUpdateSuccess, which feed realtime subscriptions. They run
// in the request's goroutine before Do returns, never in the writer's.
//
// Every other write (the dashboard, jobs, rarer order moves) still goes
// through PocketBase's one nonconcurrent connection, which the Writer's
// transactions take like any other: they are serialized with it, never a
// second writer.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// DefaultMaxBatch bounds how many Ops one transaction carries, so that a
// long queue cannot hold the connection for one long transaction.
const DefaultMaxBatch = 64

// ErrClosed is returned by Do once the Writer has been closed.
var ErrClosed = errors.New("groupcommit: the writer is closed")

// Op is one request's work: checks, then plain SQL writes through tx.
// It may be run more than once (a batch re-run), each time in a fresh
// transaction: it must not keep state between runs. It must use tx.App
// only: the app outside holds no connection while the batch holds the only
// write connection (a save through it would wait for ever).
type Op func(tx *Tx) error

// Refusal is an Op's answer "no" to its request, given before its first
// write. Refuse wraps the reason.
type Refusal struct{ Err error }

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// Refuse marks err as a refusal: the Op wrote nothing.
func Refuse(err error) error { return &Refusal{Err: err} }

// Writer runs Ops in group commits. The zero value is not usable: call New.
type Writer struct {
	app      core.App
	maxBatch int

	mu      sync.Mutex
	closed  bool
	started bool
	queue   chan *request
	done    chan struct{}
}

// request is one Do waiting for its batch.
type request struct {
	op     Op
	result chan outcome
}

type outcome struct {
	tx  *Tx
	err error
}

// New returns a Writer over app. Its goroutine starts with the first Do.
func New(app core.App) *Writer {
	return &Writer{app: app, maxBatch: DefaultMaxBatch, queue: make(chan *request, 4096), done: make(chan struct{})}
}

// Do runs op in the next group commit and returns once it is committed (or
// refused, or failed), after firing the after-success hooks of the rows it
// wrote, with ctx. A request's ctx ending does not stop its Op, as it would
// not stop a transaction PocketBase runs for it: a request in flight when
// the server shuts down (which cancels request contexts) still completes.
func (w *Writer) Do(ctx context.Context, op Op) error {
	req := &request{op: op, result: make(chan outcome, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if !w.started {
		w.started = true
		go w.loop()
	}
	w.queue <- req
	w.mu.Unlock()

	// Wait for the outcome whatever ctx does: the Op may commit.
	out := <-req.result
	if out.err != nil {
		return out.err
	}
	return out.tx.fireAfterSuccess(ctx, w.app)
}

// Close stops taking Ops, runs the ones already queued and waits for the
// writer's goroutine to end.
func (w *Writer) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	started := w.started
	close(w.queue)
	w.mu.Unlock()
	if started {
		<-w.done
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	for first := range w.queue {
		batch := []*request{first}
	fill:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		w.run(batch)
	}
}

// run commits a batch; on an Op's unexpected error it re-runs the batch's
// Ops one per transaction.
func (w *Writer) run(batch []*request) {
	live := batch
	outs := make([]outcome, len(live))
	var opErr error
	err := w.app.RunInTransaction(func(txApp core.App) error {
		if err := lockForWrite(txApp); err != nil {
			return err
		}
		// prepared statements live as long as the transaction
		stmts := map[string]*dbx.Query{}
		for i, r := range live {
			tx := &Tx{App: txApp, stmts: stmts}
			err := runOp(r.op, tx)
			var refused *Refusal
			switch {
			case err == nil:
				outs[i] = outcome{tx: tx}
			case errors.As(err, &refused):
				outs[i] = outcome{err: refused.Err}
			default:
				opErr = err
				return err
			}
		}
		return nil
	})
	switch {
	case err == nil:
		for i, r := range live {
			r.result <- outs[i]
		}
	case opErr != nil && len(live) > 1:
		for _, r := range live {
			w.run([]*request{r})
		}
	case opErr != nil:
		live[0].result <- outcome{err: opErr}
	default:
		// The COMMIT (or BEGIN) failed: nothing of the batch is stored.
		for _, r := range live {
			r.result <- outcome{err: fmt.Errorf("groupcommit: commit of %d writes: %w", len(live), err)}
		}
	}
}

// writeLockSQL is a write that changes nothing (no row matches), run first
// in every batch's transaction to take SQLite's write lock, as BEGIN
// IMMEDIATE would (dbx begins transactions DEFERRED). PocketBase's
// _collections table exists in every app.
const writeLockSQL = "UPDATE {{_collections}} SET [[id]] = [[id]] WHERE 0"

// lockForWrite takes SQLite's write lock for txApp's transaction before
// any Op reads. While a transaction has read nothing, SQLite waits for a
// lock another connection holds (busy_timeout); once it has read, a write
// that finds the lock taken fails at once with SQLITE_BUSY, since waiting
// could deadlock. Under load another connection to the file does hold it
// for moments (the order tests met it: "next order number: database is
// locked", after the Op had read the stock), and every Op of the batch
// and of its one-by-one re-run failed, each request answering 500.
func lockForWrite(txApp core.App) error {
	if _, err := txApp.DB().NewQuery(writeLockSQL).Execute(); err != nil {
		return fmt.Errorf("groupcommit: take the write lock: %w", err)
	}
	return nil
}

// runOp runs op, turning a panic into an error so that one bad Op cannot
// take the writer (and the server) down.
func runOp(op Op, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("groupcommit: op panicked: %v", p)
		}
	}()
	return op(tx)
}

// storeKey is where For keeps an app's Writer in the app's store.
const storeKey = "pocketshop.groupcommit.writer"

// For returns app's Writer, creating it on first use: one per app, so that
// every component (and a second set of them, as the `jobs run` command
// builds) hands its writes to the same goroutine.
func For(app core.App) *Writer {
	return app.Store().GetOrSet(storeKey, func() any { return New(app) }).(*Writer)
}
