package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pocketshop/internal/groupcommit"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// newApp is a test app with a "notes" collection (a unique text field
// "key", a number "n") and a writer over it.
func newApp(t *testing.T) (*tests.TestApp, *groupcommit.Writer, *core.Collection) {
	t.Helper()
	app, err := tests.NewTestApp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	col := core.NewBaseCollection("notes")
	col.Fields.Add(&core.TextField{Name: "key"}, &core.NumberField{Name: "n"},
		&core.AutodateField{Name: "created", OnCreate: true}, &core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true})
	col.AddIndex("idx_notes_key", true, "key", "")
	if err := app.Save(col); err != nil {
		t.Fatal(err)
	}
	w := groupcommit.New(app)
	t.Cleanup(w.Close)
	return app, w, col
}

func note(col *core.Collection, key string, n int) *core.Record {
	r := core.NewRecord(col)
	r.Set("key", key)
	r.Set("n", n)
	return r
}

func insertOp(col *core.Collection, key string, n int) groupcommit.Op {
	return func(tx *groupcommit.Tx) error {
		_, err := tx.Insert(note(col, key, n), false)
		return err
	}
}

func count(t *testing.T, app core.App) int {
	t.Helper()
	n, err := app.CountRecords("notes")
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// holdWriter blocks the writer in an Op until release is called, so that
// the Ops done meanwhile queue up and commit together in the next batch.
func holdWriter(t *testing.T, w *groupcommit.Writer) (release func()) {
	t.Helper()
	held, gate := make(chan struct{}), make(chan struct{})
	go func() {
		_ = w.Do(context.Background(), func(tx *groupcommit.Tx) error {
			close(held)
			<-gate
			return nil
		})
	}()
	<-held
	return func() { close(gate) }
}

// doAll runs ops concurrently while the writer is held, so that they share
// a batch, and returns their errors in order.
func doAll(t *testing.T, w *groupcommit.Writer, ops ...groupcommit.Op) []error {
	t.Helper()
	release := holdWriter(t, w)
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.Do(context.Background(), op)
		}()
	}
	// The Ops are queued behind the held one within a moment; should one
	// be late it lands in a later batch and the outcome is the same.
	time.Sleep(200 * time.Millisecond)
	release()
	wg.Wait()
	return errs
}

func TestBatchCommitsEveryOpAndFiresItsHooks(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	var created atomic.Int32
	var seen atomic.Int32
	app.OnRecordAfterCreateSuccess("notes").BindFunc(func(e *core.RecordEvent) error {
		created.Add(1)
		// after the COMMIT: the row is there for another connection
		if _, err := e.App.FindRecordById("notes", e.Record.Id); err == nil && !e.Record.IsNew() {
			seen.Add(1)
		}
		return e.Next()
	})
	var ops []groupcommit.Op
	for i := range 20 {
		ops = append(ops, insertOp(col, fmt.Sprintf("k%d", i), i))
	}
	for i, err := range doAll(t, w, ops...) {
		if err != nil {
			t.Errorf("op %d: %v", i, err)
		}
	}
	if n := count(t, app); n != 20 {
		t.Errorf("rows: %d, want 20", n)
	}
	if created.Load() != 20 || seen.Load() != 20 {
		t.Errorf("after-create hooks: %d fired, %d saw their committed row; want 20, 20", created.Load(), seen.Load())
	}
	r, err := app.FindFirstRecordByData("notes", "key", "k7")
	if err != nil || r.GetInt("n") != 7 || r.GetDateTime("created").IsZero() || len(r.Id) != 15 {
		t.Errorf("stored row: %v %v", r, err)
	}
}

func TestRefusedOpWritesNothingAndOthersCommit(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	refuse := errors.New("no stock")
	errs := doAll(t, w,
		insertOp(col, "a", 1),
		func(tx *groupcommit.Tx) error { return groupcommit.Refuse(refuse) },
		insertOp(col, "b", 2),
	)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], refuse) {
		t.Errorf("errors: %v", errs)
	}
	var r *groupcommit.Refusal
	if errors.As(errs[1], &r) {
		t.Errorf("the request gets its reason, not the wrapper: %v", errs[1])
	}
	if n := count(t, app); n != 2 {
		t.Errorf("rows: %d, want 2", n)
	}
}

func TestFailingOpIsRetriedAloneAndOthersCommit(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	if _, err := app.DB().NewQuery("INSERT INTO notes (id, key, n, created, updated) VALUES ('taken000000000a', 'taken', 0, '', '')").Execute(); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	errs := doAll(t, w,
		insertOp(col, "a", 1),
		func(tx *groupcommit.Tx) error {
			runs.Add(1)
			// writes, then breaks the unique index: the batch rolls back
			if _, err := tx.Insert(note(col, "c", 3), false); err != nil {
				return err
			}
			_, err := tx.Insert(note(col, "taken", 9), false)
			return err
		},
		func(tx *groupcommit.Tx) error { panic("bug") },
		insertOp(col, "b", 2),
	)
	if errs[0] != nil || errs[3] != nil || errs[1] == nil || errs[2] == nil {
		t.Errorf("errors: %v", errs)
	}
	if n := count(t, app); n != 3 { // taken, a, b
		t.Errorf("rows: %d, want 3", n)
	}
	if _, err := app.FindFirstRecordByData("notes", "key", "c"); err == nil {
		t.Error("the failing op's first write was kept")
	}
	if runs.Load() < 2 {
		t.Errorf("the failing op ran %d times; want its batch run and its own run", runs.Load())
	}
}

func TestFailedCommitFailsTheWholeBatch(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	// A deferred foreign key is checked at COMMIT: an op that breaks it
	// makes the COMMIT fail, not its own statement.
	for _, q := range []string{
		"CREATE TABLE parents (id TEXT PRIMARY KEY)",
		"CREATE TABLE children (parent TEXT REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)",
	} {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	var fk struct {
		On int `db:"foreign_keys"`
	}
	if err := app.DB().NewQuery("PRAGMA foreign_keys").One(&fk); err != nil || fk.On != 1 {
		t.Skipf("foreign keys are off in this PocketBase (%v): no way to fail a COMMIT here", err)
	}
	errs := doAll(t, w,
		insertOp(col, "a", 1),
		func(tx *groupcommit.Tx) error {
			_, err := tx.App.DB().NewQuery("INSERT INTO children (parent) VALUES ('nobody')").Execute()
			return err
		},
		insertOp(col, "b", 2),
	)
	for i, err := range errs {
		if err == nil {
			t.Errorf("op %d: acknowledged although its batch was not committed", i)
		}
	}
	if n := count(t, app); n != 0 {
		t.Errorf("rows: %d, want 0", n)
	}
}

func TestUpdateReturningFiresUpdateHooks(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	if err := app.Save(note(col, "a", 5)); err != nil {
		t.Fatal(err)
	}
	var updated []int
	app.OnRecordAfterUpdateSuccess("notes").BindFunc(func(e *core.RecordEvent) error {
		updated = append(updated, e.Record.GetInt("n"))
		return e.Next()
	})
	take := func(q int) groupcommit.Op {
		return func(tx *groupcommit.Tx) error {
			r, err := tx.UpdateReturning(col, "UPDATE {{notes}} SET [[n]] = [[n]] - {:q}, [[updated]] = {:now} WHERE [[key]] = 'a' AND [[n]] >= {:q}",
				dbx.Params{"q": q, "now": groupcommit.Now()})
			if err != nil {
				return err
			}
			if r == nil {
				return groupcommit.Refuse(errors.New("not enough"))
			}
			return nil
		}
	}
	if err := w.Do(context.Background(), take(3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Do(context.Background(), take(3)); err == nil || err.Error() != "not enough" {
		t.Errorf("second take: %v", err)
	}
	if len(updated) != 1 || updated[0] != 2 {
		t.Errorf("update hooks saw %v, want [2]", updated)
	}
}

func TestCancelledRequestStillRunsAndCloseDrains(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	release := holdWriter(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { cancelled <- w.Do(ctx, insertOp(col, "x", 1)) }()
	queued := make(chan error, 1)
	go func() { queued <- w.Do(context.Background(), insertOp(col, "y", 1)) }()
	time.Sleep(200 * time.Millisecond)
	cancel() // e.g. the server shutting down under a request in flight
	release()
	if err := <-cancelled; err != nil {
		t.Errorf("request whose context ended: %v", err)
	}
	w.Close()
	if err := <-queued; err != nil {
		t.Errorf("queued before Close: %v", err)
	}
	if err := w.Do(context.Background(), insertOp(col, "z", 1)); !errors.Is(err, groupcommit.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if n := count(t, app); n != 2 {
		t.Errorf("rows: %d, want 2", n)
	}
}

// TestOpWaitsForAnotherConnectionsWriteLock: an Op that reads before it
// writes (every order does: stock, then its number) must wait while another
// connection to the database holds SQLite's write lock for a moment, not
// fail. A transaction that has read can no longer wait for the lock (SQLite
// answers SQLITE_BUSY at once, busy_timeout or not), so the writer takes
// the lock before its Ops read. The holder here is a second connection;
// under load TestLastUnitsUnderConcurrency met the same SQLITE_BUSY
// ("next order number: database is locked") and answered orders 500.
func TestOpWaitsForAnotherConnectionsWriteLock(t *testing.T) {
	t.Parallel()
	app, w, col := newApp(t)
	if _, err := app.DB().Insert("notes", dbx.Params{"id": "seed00000000000", "key": "seed", "n": 1}).Execute(); err != nil {
		t.Fatal(err)
	}

	other, err := core.DefaultDBConnect(filepath.Join(app.DataDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.DB().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := conn.ExecContext(context.Background(), "ROLLBACK")
		released <- err
	}()

	err = w.Do(context.Background(), func(tx *groupcommit.Tx) error {
		var n int
		if err := tx.Query("SELECT [[n]] FROM {{notes}} WHERE [[key]] = 'seed'", nil).Row(&n); err != nil {
			return err
		}
		_, err := tx.Insert(note(col, "after-read", n+1), false)
		return err
	})
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("Op failed while another connection held the write lock: %v", err)
	}
	if got := count(t, app); got != 2 {
		t.Fatalf("%d notes, want 2", got)
	}
}
