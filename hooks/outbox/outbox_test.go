package outbox_test

import (
	"fmt"
	"sync"
	"testing"

	"pocketshop/hooks"
	"pocketshop/hooks/outbox"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestEnqueueEmailConcurrent has many writers queue the same email at once:
// exactly one adds it, the others learn it is already queued, none fails.
func TestEnqueueEmailConcurrent(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})

	const writers = 20
	for round := range 3 {
		key := fmt.Sprintf("order_placed:%d", round)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			added int
			errs  []error
		)
		start := make(chan struct{})
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := outbox.Enqueue(app, outbox.Email{
					To: "ann@example.com", Subject: "Thanks", Kind: "order_placed", DedupeKey: key, Text: "Hi",
				})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					added++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %d errors, e.g. %v", round, len(errs), errs[0])
		}
		if added != 1 {
			t.Fatalf("round %d: %d writers added the email, want 1", round, added)
		}
	}
	if n := shoptest.Count(t, app, "emails"); n != 3 {
		t.Fatalf("%d emails queued, want 3", n)
	}

	// inside a transaction too, and a failure of another kind is an error
	err := app.RunInTransaction(func(txApp core.App) error {
		ok, err := outbox.Enqueue(txApp, outbox.Email{To: "ann@example.com", Kind: "x", DedupeKey: "order_placed:0"})
		if ok || err != nil {
			return fmt.Errorf("queued twice in a transaction: %v %v", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := outbox.Enqueue(app, outbox.Email{Kind: "x", DedupeKey: "no-recipient"}); ok || err == nil {
		t.Fatalf("email without a recipient: %v %v", ok, err)
	}
}
