// Package queue is the machinery the shop's outboxes share: the emails
// (hooks/outbox) and the webhook deliveries (hooks/webhooks) are rows of a
// table, written in the transaction of the change they report and sent
// later by a background worker. A row is claimed under a lease before it is
// sent, so that any number of workers (or a worker after a crash) send it
// once at a time; a failed attempt is retried with exponential backoff.
//
// A table used as a queue has the columns status (queued, sent, failed),
// attempts, next_attempt_at, lease_until, last_error and updated, plus a
// date column for when it was sent (Queue.SentField).
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Row statuses, as stored in the status column.
const (
	Queued = "queued"
	Sent   = "sent"
	Failed = "failed"
)

// Queue is one outbox table and how its rows are retried.
type Queue struct {
	// Table is the collection's table, e.g. "emails".
	Table string
	// SentField is the date column written when a row is sent.
	SentField string
	// Backoff is the wait before the first retry; it doubles with each
	// failed attempt, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Jitter spreads each wait at random over [wait/2, wait], so that the
	// retries of many rows that failed together (a receiver's outage) do
	// not all come back at the same moment.
	Jitter bool
	// MaxAttempts fails a row after that many attempts; 0 means no limit
	// (the caller's Result.Deadline ends the retries).
	MaxAttempts int
	// Lease is how long a claim holds a row: longer than one attempt.
	Lease time.Duration
	// Batch is how many due rows one query lists.
	Batch int
	// Now is the clock.
	Now func() time.Time
}

// BackoffAfter is the wait after the given number of failed attempts.
func (q Queue) BackoffAfter(attempts int) time.Duration {
	d := q.Backoff
	for i := 1; i < attempts && d < q.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.MaxBackoff)
	if q.Jitter && d > 1 {
		d = d/2 + rand.N(d/2+1)
	}
	return d
}

// dueCondition matches queued rows whose time has come ({:now}) and that
// no worker holds.
const dueCondition = "[[status]] = {:queued} AND ([[next_attempt_at]] = '' OR [[next_attempt_at]] <= {:now}) AND ([[lease_until]] = '' OR [[lease_until]] <= {:now})"

// Due lists up to Batch queued rows whose time has come and that no worker
// holds, oldest first.
func (q Queue) Due(app core.App) ([]string, error) {
	var ids []string
	err := app.DB().Select("id").From(q.Table).
		Where(dbx.NewExp(dueCondition, dbx.Params{"queued": Queued, "now": DateString(q.Now())})).
		OrderBy("created ASC", "id ASC").
		Limit(int64(q.Batch)).
		Column(&ids)
	if err != nil {
		return nil, fmt.Errorf("list due %s: %w", q.Table, err)
	}
	return ids, nil
}

// Drain hands every due row to send, batch after batch, until none is due
// or ctx is cancelled, with up to `parallel` sends at once. send reports
// whether it sent the row; an error (of the database, not of the
// receiver) stops the drain. Drain returns how many rows were sent.
func (q Queue) Drain(ctx context.Context, app core.App, parallel int, send func(ctx context.Context, id string) (bool, error)) (int, error) {
	parallel = max(parallel, 1)
	sent := 0
	for {
		ids, err := q.Due(app)
		if err != nil || len(ids) == 0 {
			return sent, err
		}
		var (
			mu       sync.Mutex
			firstErr error
			wg       sync.WaitGroup
			slots    = make(chan struct{}, parallel)
		)
		for _, id := range ids {
			if ctx.Err() != nil {
				break
			}
			mu.Lock()
			stop := firstErr != nil
			mu.Unlock()
			if stop {
				break
			}
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				ok, err := send(ctx, id)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if ok {
					sent++
				}
			}()
		}
		wg.Wait()
		if firstErr != nil || ctx.Err() != nil {
			return sent, firstErr
		}
	}
}

// Claim is a worker's hold on one row, for one attempt.
type Claim struct {
	ID string
	// Attempts counts this attempt.
	Attempts int

	q     Queue
	lease string
}

// Claim leases row id for one attempt if it is still due and no other
// worker holds it; it returns nil when it is not. The claim is one
// conditional UPDATE, so that of several workers exactly one gets the row,
// and it counts the attempt now, so that a row that crashes its worker
// still runs out of attempts.
func (q Queue) Claim(app core.App, id string) (*Claim, error) {
	now := q.Now().UTC()
	c := &Claim{ID: id, q: q, lease: DateString(now.Add(q.Lease))}
	var row struct {
		Attempts int `db:"attempts"`
	}
	err := app.DB().NewQuery("UPDATE {{" + q.Table + "}} SET [[lease_until]] = {:lease}, [[attempts]] = [[attempts]] + 1, [[updated]] = {:updated} WHERE [[id]] = {:id} AND " + dueCondition + " RETURNING [[attempts]]").
		Bind(dbx.Params{"lease": c.lease, "updated": DateString(now), "id": id, "queued": Queued, "now": DateString(now)}).
		One(&row)
	if err != nil {
		if isNoRows(err) {
			return nil, nil // another worker has it, or it is no longer due
		}
		return nil, fmt.Errorf("claim %s %s: %w", q.Table, id, err)
	}
	c.Attempts = row.Attempts
	return c, nil
}

// Context bounds an attempt by the claim's lease: it finishes even when ctx
// is cancelled (shutdown), but never runs past half the lease.
func (c *Claim) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.q.Lease/2)
}

// Result is the outcome of one attempt.
type Result struct {
	// Err is why the attempt failed; nil means the row was sent.
	Err error
	// Permanent says retrying cannot help: the row fails now.
	Permanent bool
	// Deadline, when set, fails the row rather than retry it after then.
	Deadline time.Time
	// Fields are more columns to write with the outcome.
	Fields dbx.Params
}

// Finish records the attempt's outcome and releases the lease: sent, or
// failed (a permanent error, the last attempt, or a retry that would come
// after the deadline), or queued again after a backoff. It reports false
// when the lease had run out and another worker may have the row (the
// outcome is not written then).
func (c *Claim) Finish(app core.App, r Result) (bool, error) {
	done := c.q.Now().UTC()
	params := dbx.Params{"lease_until": "", "updated": DateString(done)}
	for k, v := range r.Fields {
		params[k] = v
	}
	next := done.Add(c.q.BackoffAfter(c.Attempts))
	switch {
	case r.Err == nil:
		params["status"] = Sent
		params[c.q.SentField] = DateString(done)
		params["last_error"] = ""
		params["next_attempt_at"] = ""
	case r.Permanent || (c.q.MaxAttempts > 0 && c.Attempts >= c.q.MaxAttempts) ||
		(!r.Deadline.IsZero() && next.After(r.Deadline)):
		params["status"] = Failed
		params["last_error"] = ErrorText(c.Attempts, r.Err)
		params["next_attempt_at"] = ""
	default:
		params["last_error"] = ErrorText(c.Attempts, r.Err)
		params["next_attempt_at"] = DateString(next)
	}
	res, err := app.DB().Update(c.q.Table, params, dbx.HashExp{"id": c.ID, "lease_until": c.lease}).Execute()
	if err != nil {
		return false, fmt.Errorf("record result of %s %s: %w", c.q.Table, c.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ErrorText is last_error for a failed attempt.
func ErrorText(attempt int, err error) string {
	s := fmt.Sprintf("attempt %d: %v", attempt, err)
	if len(s) > 5000 {
		s = s[:5000]
	}
	return s
}

// DateString is t as PocketBase stores a date.
func DateString(t time.Time) string {
	d, _ := types.ParseDateTime(t.UTC())
	return d.String()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Requeue prepares r, a row being saved, for the owner's requeue: when its
// status goes back to queued it gets a fresh set of attempts, due now, and
// Requeue reports true. Bind it (or a hook calling it) to the table's
// OnRecordUpdate.
func Requeue(r *core.Record) bool {
	if r.GetString("status") != Queued || r.Original().GetString("status") == Queued {
		return false
	}
	r.Set("attempts", 0)
	r.Set("next_attempt_at", "")
	r.Set("lease_until", "")
	return true
}
