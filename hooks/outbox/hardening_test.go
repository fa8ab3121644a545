package outbox_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/hooks/outbox"
	"pocketshop/internal/shop"
	"pocketshop/internal/shoptest"
)

// hungSMTP accepts connections and never says a word, like a wedged mail
// server. It returns its port and how many connections it took.
func hungSMTP(t *testing.T) (int, func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

// TestHungSMTPServerIsLeftForTheNewSettings: with SMTP pointed at a server
// that accepts and never answers, an attempt gives up after the step
// timeout, and once the owner fixes the mail settings the very next
// attempt uses them: the emails queued meanwhile go to the new server.
func TestHungSMTPServerIsLeftForTheNewSettings(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	s.opts.Timeout = time.Second
	hungPort, hungConns := hungSMTP(t)
	setPort := func(port int) {
		settings, err := s.app.Settings().Clone()
		if err != nil {
			t.Fatal(err)
		}
		settings.SMTP.Port = port
		if err := s.app.Save(settings); err != nil {
			t.Fatal(err)
		}
	}
	setPort(hungPort)

	p := shoptest.CreateProduct(t, s.app, "mug", 1500, 10)
	for i := range 4 {
		s.placeOrder(t, fmt.Sprintf("c%d@example.com", i), "manual", mailItem(p, 1))
	}
	queued := len(s.outbox(t, "status = 'queued'"))

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = outbox.SendDue(context.Background(), s.app, s.opts)
	}()
	for hungConns() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	setPort(s.mp.SMTPPort) // the owner fixes the settings
	select {
	case <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("the pass is still talking to the hung server")
	}
	if n := hungConns(); n != 1 {
		t.Errorf("the hung server got %d connections, want 1 (the attempt before the fix)", n)
	}
	if got := len(s.mp.Messages(t)); got != queued-1 {
		t.Errorf("%d messages reached the fixed server in the same pass, want %d", got, queued-1)
	}
	failed := s.outbox(t, "status = 'queued' && attempts = 1")
	if len(failed) != 1 || failed[0].GetString("last_error") == "" {
		t.Errorf("%d emails waiting for a retry with an error, want 1", len(failed))
	}
}

// TestCustomerEmailsNeverEchoFreeText: an order placed to someone else's
// address cannot use the shop to mail them a message: the customer's
// emails leave out the note (the owner's notification keeps it), and the
// name and address lines read as plain text that no mail client turns
// into a link.
func TestCustomerEmailsNeverEchoFreeText(t *testing.T) {
	t.Parallel()
	s := newMailShop(t)
	p := shoptest.CreateProduct(t, s.app, "mug", 1500, 10)
	lure := "Your account is locked: http://evil.example/login"
	o := shoptest.PlaceOrder(t, s.srv, "", map[string]any{
		"email": "victim@example.org", "payment_method": "manual", "note": lure,
		"items": []map[string]any{{"product": p.Id, "quantity": 1}},
		"shipping_address": map[string]any{"name": "See www.evil.example", "line1": "http://evil.example/login",
			"city": "Springfield", "postal_code": "12345", "country": "US"},
	})
	s.move(t, o["id"].(string), shop.StatusPaid, shop.ActorAdmin, nil)
	s.send(t)

	var customer, owner int
	for _, m := range s.mp.Messages(t) {
		switch strings.Join(m.To, ",") {
		case "victim@example.org":
			customer++
			for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
				for _, bad := range []string{"locked", "evil.example", "http://evil"} {
					if strings.Contains(body, bad) {
						t.Errorf("%q, %s part holds %q:\n%s", m.Subject, part, bad, body)
					}
				}
				if !strings.Contains(body, "Springfield") {
					t.Errorf("%q, %s part lacks the address:\n%s", m.Subject, part, body)
				}
			}
		case mailOwner:
			owner++
			if !strings.Contains(m.Text, "Your account is locked") {
				t.Errorf("the owner's %q lacks the customer's note:\n%s", m.Subject, m.Text)
			}
		}
	}
	if customer != 2 || owner != 1 {
		t.Fatalf("%d customer and %d owner emails, want 2 and 1", customer, owner)
	}
}
