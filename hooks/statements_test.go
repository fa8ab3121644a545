package hooks_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/internal/payments"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/dbx"
)

// statementLog counts the SQL statements run on the app's write connection
// (PocketBase's nonconcurrent DB, where every transaction runs) and on its
// read pool.
type statementLog struct {
	mu            sync.Mutex
	writes, reads []string
}

func logStatements(t *testing.T, s *checkoutShop) *statementLog {
	t.Helper()
	l := &statementLog{}
	w, okW := s.app.NonconcurrentDB().(*dbx.DB)
	r, okR := s.app.ConcurrentDB().(*dbx.DB)
	if !okW || !okR {
		t.Skip("the app's databases are not *dbx.DB")
	}
	add := func(list *[]string, q string) {
		l.mu.Lock()
		*list = append(*list, strings.Join(strings.Fields(q), " "))
		l.mu.Unlock()
	}
	w.QueryLogFunc = func(_ context.Context, _ time.Duration, q string, _ *sql.Rows, _ error) { add(&l.writes, q) }
	w.ExecLogFunc = func(_ context.Context, _ time.Duration, q string, _ sql.Result, _ error) { add(&l.writes, q) }
	if r != w {
		r.QueryLogFunc = func(_ context.Context, _ time.Duration, q string, _ *sql.Rows, _ error) { add(&l.reads, q) }
		r.ExecLogFunc = func(_ context.Context, _ time.Duration, q string, _ sql.Result, _ error) { add(&l.reads, q) }
	}
	return l
}

func (l *statementLog) take() (writes, reads []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	writes, reads, l.writes, l.reads = l.writes, l.reads, nil, nil
	return writes, reads
}

// TestStatementsPerCheckout reports how many SQL statements an order of two
// lines, its pay route and its paid webhook run on the write connection
// (README, Performance). It measures; it asserts only that they succeed.
func TestStatementsPerCheckout(t *testing.T) {
	t.Parallel()
	s := newCheckoutShopWith(t, payments.NewMemory(testWebhookSecret))
	// warm the caches (settings, collections) with a first order
	shoptest.PlaceOrder(t, s.srv, "", map[string]any{"email": "warm@example.com", "payment_method": "stripe",
		"items": []map[string]any{{"product": s.pen.Id, "quantity": 1}}})
	l := logStatements(t, s)

	placed := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "stripe",
		"items": []map[string]any{{"product": s.pen.Id, "quantity": 1}, {"product": s.mug.Id, "quantity": 1}},
	})
	createW, createR := l.take()
	pay := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+placed["id"].(string)+"/pay?token="+placed["token"].(string), "", nil)
	if pay.Status != http.StatusOK {
		t.Fatalf("pay: %d %s", pay.Status, pay.Raw)
	}
	payW, payR := l.take()
	order, err := s.app.FindRecordById("orders", placed["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	l.take()
	if status, body := deliver(t, s.srv, event("evt_count_1", "checkout.session.completed", paidSession(order))); status != http.StatusOK {
		t.Fatalf("webhook: %d %s", status, body)
	}
	paidW, paidR := l.take()
	t.Logf("order create (2 lines): %d statements on the write connection, %d reads", len(createW), len(createR))
	t.Logf("pay route (a new Checkout Session): %d statements on the write connection, %d reads", len(payW), len(payR))
	t.Logf("paid webhook: %d statements on the write connection, %d reads", len(paidW), len(paidR))
	if testing.Verbose() {
		all := append([]string{"-- create"}, createW...)
		all = append(append(all, "-- pay"), payW...)
		all = append(append(all, "-- paid"), paidW...)
		for _, q := range all {
			t.Log(q[:min(len(q), 160)])
		}
	}
}
