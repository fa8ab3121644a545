package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/hooks/orders"
	"pocketshop/hooks/outbox"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// mailShop is a shop whose mail settings point at a real SMTP server.
type mailShop struct {
	app   *tests.TestApp
	srv   *httptest.Server
	mp    *shoptest.Mailpit
	clock *shoptest.Clock
	opts  outbox.Options
}

const mailOwner = "owner@shop.test"

func newMailShop(t *testing.T, mailpitArgs ...string) *mailShop {
	t.Helper()
	clock := shoptest.NewClock(time.Now().UTC())
	opts := outbox.Options{Interval: -1, Now: clock.Now, MaxAttempts: 4}
	app := shoptest.NewApp(t, hooks.Deps{Now: clock.Now, Outbox: opts})
	mp := shoptest.StartMailpit(t, mailpitArgs...)
	mp.Configure(app)

	settings, err := app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	settings.Set("owner_email", mailOwner)
	settings.Set("shop_name", "Ann & Bob's <Shop>")
	if err := app.Save(settings); err != nil {
		t.Fatalf("save settings: %v", err)
	}
	return &mailShop{app: app, srv: shoptest.Serve(t, app), mp: mp, clock: clock, opts: opts}
}

func (s *mailShop) send(t *testing.T) int {
	t.Helper()
	n, err := outbox.SendDue(context.Background(), s.app, s.opts)
	if err != nil {
		t.Fatalf("send due emails: %v", err)
	}
	return n
}

func (s *mailShop) placeOrder(t *testing.T, email, method string, items ...map[string]any) *core.Record {
	t.Helper()
	body := map[string]any{"email": email, "payment_method": method, "items": items}
	res := shoptest.PlaceOrder(t, s.srv, "", body)
	return s.order(t, res["id"].(string))
}

func (s *mailShop) order(t *testing.T, id string) *core.Record {
	t.Helper()
	o, err := s.app.FindRecordById("orders", id)
	if err != nil {
		t.Fatalf("find order: %v", err)
	}
	return o
}

func (s *mailShop) move(t *testing.T, orderID, to, actor string, mutate func(*core.Record)) {
	t.Helper()
	if _, err := orders.Move(s.app, orderID, to, actor, "", mutate); err != nil {
		t.Fatalf("move order to %s: %v", to, err)
	}
}

func (s *mailShop) outbox(t *testing.T, filter string) []*core.Record {
	t.Helper()
	rows, err := s.app.FindRecordsByFilter("emails", filter, "created", 0, 0)
	if err != nil {
		t.Fatalf("list outbox: %v", err)
	}
	return rows
}

func mailItem(p *core.Record, qty int) map[string]any {
	return map[string]any{"product": p.Id, "quantity": qty}
}

func mailOrderLink(o *core.Record) string {
	return "https://shop.example.com/order.html?id=" + o.Id + "&token=" + o.GetString("token")
}

// wantMail is one message expected in the inbox.
type wantMail struct {
	to, subject string
	text, html  []string // substrings each part must contain
}

// checkInbox asserts that the inbox holds exactly the wanted messages, each
// once, and that no HTML part carries unescaped customer markup.
func checkInbox(t *testing.T, mp *shoptest.Mailpit, want []wantMail) {
	t.Helper()
	got := mp.Messages(t)
	byKey := map[string][]shoptest.MailpitMessage{}
	for _, m := range got {
		byKey[strings.Join(m.To, ",")+" | "+m.Subject] = append(byKey[strings.Join(m.To, ",")+" | "+m.Subject], m)
		if strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "<b>") {
			t.Errorf("%q: HTML part holds unescaped markup:\n%s", m.Subject, m.HTML)
		}
		if m.From != "shop@example.com" {
			t.Errorf("%q: from %q, want the sender address of the mail settings", m.Subject, m.From)
		}
	}
	for _, w := range want {
		key := w.to + " | " + w.subject
		ms := byKey[key]
		if len(ms) != 1 {
			t.Errorf("%s: %d messages, want 1", key, len(ms))
			continue
		}
		for _, s := range w.text {
			if !strings.Contains(ms[0].Text, s) {
				t.Errorf("%s: text part lacks %q:\n%s", key, s, ms[0].Text)
			}
		}
		for _, s := range w.html {
			if !strings.Contains(ms[0].HTML, s) {
				t.Errorf("%s: HTML part lacks %q:\n%s", key, s, ms[0].HTML)
			}
		}
	}
	if len(got) != len(want) {
		var subjects []string
		for _, m := range got {
			subjects = append(subjects, strings.Join(m.To, ",")+" | "+m.Subject)
		}
		t.Errorf("inbox holds %d messages, want %d:\n%s", len(got), len(want), strings.Join(subjects, "\n"))
	}
}

func TestEmailTriggersSendExpectedMessages(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)

	// Order A (manual): placed, paid, fulfilled, refunded in full. Its
	// customer's name and note carry markup that must arrive escaped.
	res := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual", "items": []any{mailItem(mug, 2)},
		"shipping_address": map[string]any{
			"name": "Ann <b>Lee</b>", "line1": "1 Main St", "city": "Springfield",
			"postal_code": "12345", "country": "US",
		},
		"note": `<script>alert("x")</script> & leave at the door`,
	})
	a := s.order(t, res["id"].(string))
	s.move(t, a.Id, shop.StatusPaid, shop.ActorAdmin, nil)
	// The same move reported twice (e.g. by a retried webhook) queues one email.
	dup := core.NewRecord(mailCollection(t, s.app, "order_events"))
	dup.Load(map[string]any{"order": a.Id, "from_status": "pending", "to_status": "paid", "actor": "stripe"})
	if err := s.app.Save(dup); err != nil {
		t.Fatalf("duplicate event: %v", err)
	}
	s.move(t, a.Id, shop.StatusFulfilled, shop.ActorAdmin, func(o *core.Record) { o.Set("tracking_number", "1Z<999>") })
	s.move(t, a.Id, shop.StatusRefunded, shop.ActorAdmin, func(o *core.Record) { o.Set("refunded_cents", 3500) })

	// Order B (Stripe): placed, paid, then a partial refund of $5.00.
	b := s.placeOrder(t, "bob@example.com", "stripe", mailItem(mug, 1))
	s.move(t, b.Id, shop.StatusPaid, shop.ActorAdmin, nil)
	b = s.order(t, b.Id)
	b.Set("refunded_cents", 500)
	if err := s.app.Save(b); err != nil {
		t.Fatalf("save refund: %v", err)
	}
	refund := core.NewRecord(mailCollection(t, s.app, "order_events"))
	refund.Load(map[string]any{"order": b.Id, "from_status": "paid", "to_status": "paid", "actor": "stripe", "amount_cents": 500})
	if err := s.app.Save(refund); err != nil {
		t.Fatalf("refund event: %v", err)
	}

	// Order C is cancelled by its guest, order D expires.
	c := s.placeOrder(t, "cat@example.com", "manual", mailItem(mug, 1))
	cancel := shoptest.Do(t, s.srv, http.MethodPost, "/api/shop/orders/"+c.Id+"/cancel?token="+c.GetString("token"), "", nil)
	if cancel.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", cancel.Status, cancel.Raw)
	}
	d := s.placeOrder(t, "dan@example.com", "manual", mailItem(mug, 1))
	s.move(t, d.Id, shop.StatusExpired, shop.ActorSystem, nil)

	want := []wantMail{
		{to: "ann@example.com", subject: "We received your order #1001",
			text: []string{"Hello Ann <b>Lee</b>,", "2 x mug at $15.00: $30.00", "Shipping: $5.00", "Total:    $35.00",
				"Pay by bank transfer", "Amount to pay: $35.00. Reference: 1001.", mailOrderLink(a)},
			// the note goes to the owner only (TestCustomerEmailsNeverEchoFreeText)
			html: []string{"Ann &lt;b&gt;Lee&lt;/b&gt;",
				"Ann &amp; Bob&#39;s &lt;Shop&gt;", "Pay by bank transfer", "<strong>$35.00</strong>",
				`href="https://shop.example.com/order.html?id=` + a.Id + `&amp;token=` + a.GetString("token") + `"`}},
		{to: "ann@example.com", subject: "Receipt for order #1001",
			text: []string{"This is your receipt.", "Paid: $35.00.", "Springfield", mailOrderLink(a)},
			html: []string{"<td align=\"right\">$30.00</td>", "Ann &lt;b&gt;Lee&lt;/b&gt;"}},
		{to: mailOwner, subject: "Paid order #1001: $35.00",
			text: []string{"Order #1001 from ann@example.com is paid ($35.00, manual)", `Customer's note: <script>`, "https://shop.example.com/_/"},
			html: []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"}},
		{to: "ann@example.com", subject: "Order #1001 is on its way",
			text: []string{"Tracking number: 1Z<999>"},
			html: []string{"1Z&lt;999&gt;"}},
		{to: "ann@example.com", subject: "Order #1001 was refunded",
			text: []string{"$35.00 is on its way back to you"},
			html: []string{"<strong>$35.00</strong> is on its way back"}},
		{to: "bob@example.com", subject: "We received your order #1002",
			text: []string{"Your order is waiting for payment", "Total:    $20.00", mailOrderLink(b)},
			html: []string{"waiting for payment"}},
		{to: "bob@example.com", subject: "Receipt for order #1002",
			text: []string{"Paid: $20.00."}},
		{to: mailOwner, subject: "Paid order #1002: $20.00",
			text: []string{"from bob@example.com is paid ($20.00, stripe)"}},
		{to: "bob@example.com", subject: "Refund of $5.00 for order #1002",
			text: []string{"We refunded $5.00 of your order #1002. Refunded so far: $5.00 of $20.00."},
			html: []string{"<strong>$5.00</strong>"}},
		{to: "cat@example.com", subject: "We received your order #1003"},
		{to: "cat@example.com", subject: "Order #1003 was cancelled",
			text: []string{"was cancelled and its items were released", mailOrderLink(c)}},
		{to: "dan@example.com", subject: "We received your order #1004"},
		{to: "dan@example.com", subject: "Order #1004 expired",
			text: []string{"did not receive the payment for order #1004 in time"}},
	}

	if n := s.send(t); n != len(want) {
		t.Errorf("sent %d, want %d", n, len(want))
	}
	if n := s.send(t); n != 0 {
		t.Errorf("second pass sent %d, want 0", n)
	}
	checkInbox(t, s.mp, want)

	for _, e := range s.outbox(t, "") {
		if e.GetString("status") != "sent" || e.GetString("sent_at") == "" || e.GetInt("attempts") != 1 || e.GetString("last_error") != "" {
			t.Errorf("email %s: status %q, sent_at %q, attempts %d, last_error %q; want sent once",
				e.GetString("dedupe_key"), e.GetString("status"), e.GetString("sent_at"), e.GetInt("attempts"), e.GetString("last_error"))
		}
	}
	paid := s.outbox(t, "dedupe_key = 'order:"+a.Id+":paid'")
	if len(paid) != 1 || paid[0].GetString("kind") != "order_paid" {
		t.Fatalf("paid email of order A: %d rows, want 1 with kind order_paid", len(paid))
	}
	// Every attempt at an outbox email carries the same Message-ID.
	var found bool
	for _, m := range s.mp.Messages(t) {
		found = found || m.MessageID == "email."+paid[0].Id+"@example.com"
	}
	if !found {
		t.Errorf("no message has the Message-ID of outbox email %s", paid[0].Id)
	}
}

func TestEmailsOfRolledBackChangesAreNeverQueued(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 3) // low stock threshold 2
	vase := shoptest.CreateProduct(t, s.app, "vase", 4000, 1)

	// The mug line would cross the low stock threshold (3 -> 1), but the
	// vase line fails and the whole order rolls back.
	res := shoptest.Do(t, s.srv, http.MethodPost, "/api/collections/orders/records", "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual", "items": []any{mailItem(mug, 2), mailItem(vase, 5)},
	})
	if res.Status != http.StatusBadRequest {
		t.Fatalf("order: %d %s, want 400", res.Status, res.Raw)
	}

	// A payment whose transaction fails after the order event was written.
	o := s.placeOrder(t, "bob@example.com", "manual", mailItem(vase, 1))
	err := s.app.RunInTransaction(func(txApp core.App) error {
		if _, err := orders.Move(txApp, o.Id, shop.StatusPaid, shop.ActorAdmin, "", nil); err != nil {
			return err
		}
		return errors.New("something later in the same transaction failed")
	})
	if err == nil {
		t.Fatal("transaction did not fail")
	}

	rows := s.outbox(t, "")
	if len(rows) != 1 || rows[0].GetString("kind") != "order_placed" {
		for _, r := range rows {
			t.Logf("queued: %s", r.GetString("dedupe_key"))
		}
		t.Fatalf("outbox holds %d emails, want only the placed email of the committed order", len(rows))
	}
	if n := s.send(t); n != 1 {
		t.Errorf("sent %d, want 1", n)
	}
	checkInbox(t, s.mp, []wantMail{{to: "bob@example.com", subject: "We received your order #1001"}})
}

func TestEmailsSurviveSMTPOutageAndArriveOnce(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	s.opts.MaxAttempts = 10
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)

	var want []wantMail
	place := func(i int) {
		email := fmt.Sprintf("c%d@example.com", i)
		s.placeOrder(t, email, "manual", mailItem(mug, 1))
		want = append(want, wantMail{to: email, subject: fmt.Sprintf("We received your order #%d", 1000+i)})
	}
	place(1)
	if n := s.send(t); n != 1 {
		t.Fatalf("sent %d before the outage, want 1", n)
	}

	s.mp.Stop(t) // the SMTP server goes down
	place(2)
	place(3)
	if n := s.send(t); n != 0 {
		t.Fatalf("sent %d during the outage, want 0", n)
	}
	for _, e := range s.outbox(t, "status = 'queued'") {
		if e.GetInt("attempts") != 1 || e.GetString("last_error") == "" {
			t.Errorf("%s: attempts %d, last_error %q after one failure", e.GetString("to"), e.GetInt("attempts"), e.GetString("last_error"))
		}
		wantNext := s.clock.Now().Add(outbox.DefaultEmailBackoff).UTC()
		if got := e.GetDateTime("next_attempt_at").Time(); !got.Equal(wantNext.Truncate(time.Millisecond)) {
			t.Errorf("%s: next attempt at %s, want %s", e.GetString("to"), got, wantNext)
		}
	}

	// Still down a minute later: the second failure doubles the wait.
	s.clock.Advance(outbox.DefaultEmailBackoff)
	place(4)
	if n := s.send(t); n != 0 {
		t.Fatalf("sent %d during the outage, want 0", n)
	}
	if got := s.outbox(t, "attempts = 2"); len(got) != 2 {
		t.Errorf("%d emails tried twice, want 2", len(got))
	}

	s.mp.Start(t) // back up
	if n := s.send(t); n != 0 {
		t.Errorf("sent %d before any backoff ended, want 0", n)
	}
	s.clock.Advance(2 * outbox.DefaultEmailBackoff)
	if n := s.send(t); n != 3 {
		t.Errorf("sent %d after the outage, want 3", n)
	}
	if n := s.send(t); n != 0 {
		t.Errorf("sent %d on the next pass, want 0", n)
	}
	checkInbox(t, s.mp, want)
}

func TestBadRecipientFailsWithoutBlockingOthers(t *testing.T) {
	t.Parallel()
	// This server refuses every recipient outside good.test with a 550.
	s := newMailShop(t, "--smtp-allowed-recipients", `@(good|shop)\.test$`)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)
	s.placeOrder(t, "ann@good.test", "manual", mailItem(mug, 1))
	bad := s.placeOrder(t, "nobody@bad.test", "manual", mailItem(mug, 1))
	s.placeOrder(t, "cat@good.test", "manual", mailItem(mug, 1))

	if n := s.send(t); n != 2 {
		t.Errorf("sent %d, want 2", n)
	}
	rows := s.outbox(t, "order = '"+bad.Id+"'")
	if len(rows) != 1 {
		t.Fatalf("%d emails for the bad order, want 1", len(rows))
	}
	if e := rows[0]; e.GetString("status") != "failed" || e.GetInt("attempts") != 1 || !strings.Contains(e.GetString("last_error"), "nobody@bad.test") {
		t.Errorf("bad recipient: status %q, attempts %d, last_error %q; want failed at once, naming the recipient",
			e.GetString("status"), e.GetInt("attempts"), e.GetString("last_error"))
	}
	checkInbox(t, s.mp, []wantMail{
		{to: "ann@good.test", subject: "We received your order #1001"},
		{to: "cat@good.test", subject: "We received your order #1003"},
	})
}

func TestConcurrentSendersSendEachEmailOnce(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	const emails, senders = 24, 3
	var want []wantMail
	for i := range emails {
		to := fmt.Sprintf("c%d@example.com", i)
		subject := fmt.Sprintf("Message %d", i)
		if _, err := outbox.Enqueue(s.app, outbox.Email{To: to, Subject: subject, Kind: "test",
			DedupeKey: fmt.Sprintf("test:%d", i), HTML: "<p>hi</p>", Text: "hi"}); err != nil {
			t.Fatalf("enqueue: %v", err)
		}
		want = append(want, wantMail{to: to, subject: subject})
	}

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		total int
	)
	for range senders {
		wg.Go(func() {
			<-start
			n, err := outbox.SendDue(context.Background(), s.app, s.opts)
			if err != nil {
				t.Errorf("sender: %v", err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	if total != emails {
		t.Errorf("senders sent %d in all, want %d", total, emails)
	}
	if sent := s.outbox(t, "status = 'sent' && attempts = 1"); len(sent) != emails {
		t.Errorf("%d emails sent on their first attempt, want %d", len(sent), emails)
	}
	checkInbox(t, s.mp, want)
}

func TestLowStockEmailOncePerCrossing(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 6) // low stock threshold 2

	s.placeOrder(t, "a@example.com", "manual", mailItem(mug, 3))      // 6 -> 3: above
	b := s.placeOrder(t, "b@example.com", "manual", mailItem(mug, 1)) // 3 -> 2: crosses
	c := s.placeOrder(t, "c@example.com", "manual", mailItem(mug, 1)) // 2 -> 1: still low
	s.move(t, b.Id, shop.StatusCancelled, shop.ActorAdmin, nil)       // 1 -> 2
	s.move(t, c.Id, shop.StatusCancelled, shop.ActorAdmin, nil)       // 2 -> 3: above again
	s.placeOrder(t, "d@example.com", "manual", mailItem(mug, 1))      // 3 -> 2: crosses again

	// The owner lowering the stock in the dashboard counts too (2 -> 0 is
	// no new crossing; 10 -> 1 after a restock is).
	p, _ := s.app.FindRecordById("products", mug.Id)
	p.Set("stock", 0)
	if err := s.app.Save(p); err != nil {
		t.Fatalf("adjust stock: %v", err)
	}
	p.Set("stock", 10)
	if err := s.app.Save(p); err != nil {
		t.Fatalf("restock: %v", err)
	}
	p.Set("stock", 1)
	if err := s.app.Save(p); err != nil {
		t.Fatalf("adjust stock: %v", err)
	}

	if got := s.outbox(t, "kind = 'low_stock'"); len(got) != 3 {
		t.Fatalf("%d low stock emails, want 3 (one per crossing)", len(got))
	}
	s.send(t)
	var lowStock []shoptest.MailpitMessage
	for _, m := range s.mp.Messages(t) {
		if strings.HasPrefix(m.Subject, "Low stock") {
			lowStock = append(lowStock, m)
		}
	}
	wantSubjects := []string{"Low stock: mug (2 left)", "Low stock: mug (2 left)", "Low stock: mug (1 left)"}
	if len(lowStock) != len(wantSubjects) {
		t.Fatalf("%d low stock messages, want %d", len(lowStock), len(wantSubjects))
	}
	for i, m := range lowStock {
		if m.Subject != wantSubjects[i] || strings.Join(m.To, ",") != mailOwner ||
			!strings.Contains(m.Text, "low stock threshold is 2") || !strings.Contains(m.HTML, "<strong>mug</strong>") {
			t.Errorf("low stock message %d: to %v, subject %q, text:\n%s", i, m.To, m.Subject, m.Text)
		}
	}
}

func TestFailedEmailRetriesWhenOwnerRequeuesIt(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	s.opts.MaxAttempts = 2
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)

	s.mp.Stop(t)
	o := s.placeOrder(t, "ann@example.com", "manual", mailItem(mug, 1))
	s.send(t)
	s.clock.Advance(time.Hour)
	s.send(t)
	rows := s.outbox(t, "order = '"+o.Id+"'")
	if len(rows) != 1 || rows[0].GetString("status") != "failed" || rows[0].GetInt("attempts") != 2 {
		t.Fatalf("after the last attempt: %d rows, status %q, attempts %d; want failed after 2", len(rows), rows[0].GetString("status"), rows[0].GetInt("attempts"))
	}
	s.clock.Advance(24 * time.Hour)
	if n := s.send(t); n != 0 {
		t.Fatalf("a failed email was sent again (%d)", n)
	}

	// The owner sets it back to queued in the dashboard.
	res := shoptest.Do(t, s.srv, http.MethodPatch, "/api/collections/emails/records/"+rows[0].Id,
		shoptest.SuperuserToken(t, s.app), map[string]any{"status": "queued"})
	if res.Status != http.StatusOK || res.Body["attempts"] != float64(0) || res.Body["next_attempt_at"] != "" {
		t.Fatalf("requeue: %d %s; want queued with attempts reset", res.Status, res.Raw)
	}
	s.mp.Start(t)
	if n := s.send(t); n != 1 {
		t.Fatalf("sent %d after the requeue, want 1", n)
	}
	checkInbox(t, s.mp, []wantMail{{to: "ann@example.com", subject: "We received your order #1001"}})
}

func TestEmailsWaitWhileSMTPIsNotConfigured(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	s.app.Settings().SMTP.Enabled = false
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)
	s.placeOrder(t, "ann@example.com", "manual", mailItem(mug, 1))

	n, err := outbox.SendDue(context.Background(), s.app, s.opts)
	if n != 0 || !errors.Is(err, outbox.ErrMailNotConfigured) {
		t.Fatalf("send without SMTP: %d, %v; want 0, ErrMailNotConfigured", n, err)
	}
	rows := s.outbox(t, "")
	if len(rows) != 1 || rows[0].GetString("status") != "queued" || rows[0].GetInt("attempts") != 0 ||
		!strings.Contains(rows[0].GetString("last_error"), "Settings > Mail settings") {
		t.Fatalf("outbox without SMTP: %d rows, status %q, attempts %d, last_error %q",
			len(rows), rows[0].GetString("status"), rows[0].GetInt("attempts"), rows[0].GetString("last_error"))
	}

	s.app.Settings().SMTP.Enabled = true
	if n := s.send(t); n != 1 {
		t.Fatalf("sent %d once SMTP is set, want 1", n)
	}
	if e := s.outbox(t, "")[0]; e.GetString("status") != "sent" || e.GetString("last_error") != "" {
		t.Errorf("after sending: status %q, last_error %q", e.GetString("status"), e.GetString("last_error"))
	}
}

func TestSenderRunsInTheBackgroundOfServe(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{Outbox: outbox.Options{Interval: time.Hour}})
	mp := shoptest.StartMailpit(t)
	mp.Configure(app)
	srv := shoptest.Serve(t, app) // starts the sender, as `serve` does
	mug := shoptest.CreateProduct(t, app, "mug", 1500, 100)

	// Queuing an email wakes the sender: no need to wait for the interval.
	shoptest.PlaceOrder(t, srv, "", map[string]any{"email": "ann@example.com", "payment_method": "manual", "items": []any{mailItem(mug, 1)}})
	deadline := time.Now().Add(time.Minute)
	for len(mp.Messages(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the background sender sent nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Terminating the app stops the sender (and waits for it).
	if err := app.OnTerminate().Trigger(&core.TerminateEvent{App: app}); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	checkInbox(t, mp, []wantMail{{to: "ann@example.com", subject: "We received your order #1001"}})
}

func mailCollection(t *testing.T, app core.App, name string) *core.Collection {
	t.Helper()
	c, err := app.FindCachedCollectionByNameOrId(name)
	if err != nil {
		t.Fatalf("collection %s: %v", name, err)
	}
	return c
}

func TestCancelledPassLeavesEmailsQueued(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)
	s.placeOrder(t, "ann@example.com", "manual", mailItem(mug, 1))

	// A stopped sender does not start another email.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := outbox.SendDue(ctx, s.app, s.opts)
	if n != 0 || err != nil {
		t.Fatalf("cancelled pass: %d, %v; want 0, nil", n, err)
	}
	if e := s.outbox(t, "")[0]; e.GetString("status") != "queued" || e.GetInt("attempts") != 0 || e.GetString("lease_until") != "" {
		t.Fatalf("after a cancelled pass: status %q, attempts %d, lease %q; want untouched",
			e.GetString("status"), e.GetInt("attempts"), e.GetString("lease_until"))
	}
	if n := s.send(t); n != 1 {
		t.Fatalf("next pass sent %d, want 1", n)
	}
}

func TestEmailLeasedByACrashedSenderWaitsForTheLease(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	mug := shoptest.CreateProduct(t, s.app, "mug", 1500, 100)
	s.placeOrder(t, "ann@example.com", "manual", mailItem(mug, 1))

	// A sender claimed the email and died before recording the result.
	e := s.outbox(t, "")[0]
	e.Set("attempts", 1)
	e.Set("lease_until", s.clock.Now().Add(outbox.DefaultEmailLease))
	if err := s.app.Save(e); err != nil {
		t.Fatalf("leave a claim behind: %v", err)
	}

	if n := s.send(t); n != 0 {
		t.Fatalf("sent %d while another sender's lease runs, want 0", n)
	}
	s.clock.Advance(outbox.DefaultEmailLease)
	if n := s.send(t); n != 1 {
		t.Fatalf("sent %d once the lease ran out, want 1", n)
	}
	if e := s.outbox(t, "")[0]; e.GetString("status") != "sent" || e.GetInt("attempts") != 2 {
		t.Errorf("status %q, attempts %d; want sent on the second attempt", e.GetString("status"), e.GetInt("attempts"))
	}
}
