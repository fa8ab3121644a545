package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// faultConfig sizes the fault suite.
type faultConfig struct {
	Products    int           // catalog size
	Duration    time.Duration // checkout load per fault
	Concurrency int           // clients of that load
	Webhooks    int           // orders whose webhook is delivered 3 times
	Racers      int           // clients racing for the last units
	Units       int           // units left
	Sync        string        // synchronous mode of the shop
}

// faultResult is one fault's checks.
type faultResult struct {
	Name   string  `json:"name"`
	Checks []check `json:"checks"`
}

// runFaults runs every fault against the shop, each on a fresh data dir.
func runFaults(ctx context.Context, cfg faultConfig, shop target, repo, workDir string, w io.Writer) ([]faultResult, error) {
	faults := []struct {
		name string
		fn   func(context.Context, faultConfig, target, string, string) ([]check, error)
	}{
		{"kill -9 under checkout load, restart", faultKill},
		{"each webhook delivered 3 times, concurrently and shuffled", faultWebhookRedelivered},
		{fmt.Sprintf("%d clients race for the last %d units", cfg.Racers, cfg.Units), faultLastUnits},
		{"SMTP server stopped and started during load", faultSMTP},
		{fmt.Sprintf("owner's stock+/stock- modifiers race %d orders", cfg.Racers), faultStockModifiers},
		{"jobs run expire-reservations in a second process under checkout load", faultJobsBeside},
		{"webhook receiver down, kill -9 with deliveries queued, restart, receiver back", faultWebhookOutage},
	}
	var out []faultResult
	for i, f := range faults {
		dir := filepath.Join(workDir, fmt.Sprintf("fault%d", i+1))
		fmt.Fprintf(w, "fault: %s\n", f.name)
		checks, err := f.fn(ctx, cfg, shop, repo, dir)
		if err != nil {
			checks = append(checks, check{"run", fail, err.Error()})
		}
		for _, c := range checks {
			fmt.Fprintln(w, c)
		}
		out = append(out, faultResult{Name: f.name, Checks: checks})
	}
	return out, nil
}

// startShop prepares a fresh shop with a catalog and serves it.
func startShop(ctx context.Context, cfg faultConfig, shop target, dir string, conns int) (*world, error) {
	srv, err := newServer(shop, dir, cfg.Sync)
	if err != nil {
		return nil, err
	}
	products, err := seedProducts(srv.dbPath(), cfg.Products, 1_000_000, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		srv.close()
		return nil, err
	}
	if err := srv.start(); err != nil {
		srv.close()
		return nil, err
	}
	wd := newWorld(srv, products, conns)
	wd.probeWebhook(ctx)
	return wd, nil
}

// faultKill kills the server with SIGKILL in the middle of checkout load,
// restarts it, takes more orders and checks that nothing acknowledged was
// lost.
func faultKill(ctx context.Context, cfg faultConfig, shop target, _ string, dir string) ([]check, error) {
	wd, err := startShop(ctx, cfg, shop, dir, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	defer wd.srv.close()

	done := make(chan loadResult, 1)
	go func() { done <- runLoad(ctx, cfg.Concurrency, cfg.Duration, 1, wd.checkoutShop) }()
	time.Sleep(cfg.Duration / 2)
	wd.seen.mu.Lock()
	before := len(wd.seen.orders)
	wd.seen.mu.Unlock()
	if err := wd.srv.kill(); err != nil {
		return nil, fmt.Errorf("kill -9: %w", err)
	}
	<-done

	if err := wd.srv.start(); err != nil {
		return []check{{"restart after kill -9", fail, err.Error()}}, nil
	}
	wd.c = newClient(wd.srv.url, cfg.Concurrency)
	after := runLoad(ctx, cfg.Concurrency, cfg.Duration/4+time.Second, 2, wd.checkoutShop)
	checks := []check{{"restart after kill -9", pass, fmt.Sprintf("%d orders acknowledged before the kill, %d checkouts after the restart", before, after.Ops)}}
	if after.Ops == 0 || len(after.Errors) > 0 {
		checks[0] = check{"restart after kill -9", fail, fmt.Sprintf("after the restart: %d checkouts, errors %v", after.Ops, after.Errors)}
	}
	if err := wd.srv.stop(); err != nil {
		return checks, err
	}
	return append(checks, checkInvariants(wd.srv.dbPath(), wd.seen, wd.webhook)...), nil
}

// faultWebhookRedelivered delivers each order's checkout.session.completed event
// three times, all deliveries shuffled and concurrent: each order is paid
// once, with one payment_events row and one receipt.
func faultWebhookRedelivered(ctx context.Context, cfg faultConfig, shop target, _ string, dir string) ([]check, error) {
	wd, err := startShop(ctx, cfg, shop, dir, 16)
	if err != nil {
		return nil, err
	}
	defer wd.srv.close()
	if !wd.webhook {
		return []check{{"one effect per event", skip, "webhook: not available"}}, nil
	}

	rng := rand.New(rand.NewPCG(3, 3))
	var deliveries []stripeEvent
	for range cfg.Webhooks {
		o, kind := wd.placeOrder(ctx, rng, wd.pickLines(rng))
		if kind != "" {
			return nil, fmt.Errorf("place order: %s", kind)
		}
		ev := sessionCompleted(o, rng)
		deliveries = append(deliveries, ev, ev, ev)
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	var mu sync.Mutex
	errs := map[string]int{}
	var wg sync.WaitGroup
	queue := make(chan stripeEvent)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range queue {
				if kind := wd.deliver(ctx, ev); kind != "" {
					mu.Lock()
					errs[kind]++
					mu.Unlock()
				}
			}
		}()
	}
	for _, ev := range deliveries {
		queue <- ev
	}
	close(queue)
	wg.Wait()

	checks := []check{{"every delivery answered 2xx", pass, fmt.Sprintf("%d deliveries of %d events", len(deliveries), cfg.Webhooks)}}
	if len(errs) > 0 {
		checks[0] = check{"every delivery answered 2xx", fail, fmt.Sprint(errs)}
	}
	if err := wd.srv.stop(); err != nil {
		return checks, err
	}
	db, err := openDB(wd.srv.dbPath())
	if err != nil {
		return checks, err
	}
	var events, paidMoves int
	err = db.QueryRow(`SELECT COUNT(*) FROM payment_events`).Scan(&events)
	if err == nil {
		err = db.QueryRow(`SELECT COUNT(*) FROM order_events WHERE to_status = 'paid' AND from_status != 'paid'`).Scan(&paidMoves)
	}
	db.Close()
	c := check{"one effect per event", pass, fmt.Sprintf("%d payment_events rows, %d moves to paid", events, paidMoves)}
	if err != nil || events != cfg.Webhooks || paidMoves != cfg.Webhooks {
		c.Status, c.Detail = fail, fmt.Sprintf("want %d of each: %s %v", cfg.Webhooks, c.Detail, err)
	}
	checks = append(checks, c)
	return append(checks, checkInvariants(wd.srv.dbPath(), wd.seen, wd.webhook)...), nil
}

// faultLastUnits has Racers clients order one unit each of a product with
// Units left, all at once: exactly Units win, the rest are told it is sold
// out, and stock ends at 0.
func faultLastUnits(ctx context.Context, cfg faultConfig, shop target, _ string, dir string) ([]check, error) {
	wd, err := startShop(ctx, cfg, shop, dir, cfg.Racers)
	if err != nil {
		return nil, err
	}
	defer wd.srv.close()

	var p struct {
		ID string `json:"id"`
	}
	st, raw, err := wd.c.do(ctx, http.MethodPost, "/api/collections/products/records", wd.srv.token, map[string]any{
		"name": "The last units", "slug": "the-last-units", "price_cents": 1999, "stock": cfg.Units, "active": true,
	}, &p)
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("create product: %d %s %v", st, raw, err)
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := range cfg.Racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(5, uint64(i)))
			<-start
			_, kind := wd.placeOrder(ctx, rng, []map[string]any{{"product": p.ID, "quantity": 1}})
			if kind == "" {
				kind = "won"
			}
			mu.Lock()
			outcomes[kind]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()

	c := check{fmt.Sprintf("exactly %d of %d win", cfg.Units, cfg.Racers), pass, fmt.Sprint(outcomes)}
	if outcomes["won"] != cfg.Units || outcomes["order: 400 out of stock"] != cfg.Racers-cfg.Units {
		c.Status = fail
	}
	if err := wd.srv.stop(); err != nil {
		return []check{c}, err
	}
	db, err := openDB(wd.srv.dbPath())
	if err != nil {
		return []check{c}, err
	}
	var stock int
	err = db.QueryRow(`SELECT stock FROM products WHERE id = ?`, p.ID).Scan(&stock)
	db.Close()
	s := check{"stock ends at 0", pass, ""}
	if err != nil || stock != 0 {
		s = check{"stock ends at 0", fail, fmt.Sprintf("stock %d %v", stock, err)}
	}
	return append([]check{c, s}, checkInvariants(wd.srv.dbPath(), wd.seen, wd.webhook)...), nil
}

// faultSMTP stops the SMTP server (mailpit) a third into checkout load and
// starts it again two thirds in; once the outbox has drained, every queued
// email must have reached mailpit exactly once (by its Message-ID).
func faultSMTP(ctx context.Context, cfg faultConfig, shop target, repo, dir string) ([]check, error) {
	const name = "every email delivered exactly once"
	wd, err := startShop(ctx, cfg, shop, dir, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	defer wd.srv.close()

	// The outbox sender is there when placing an order queues an email.
	o, kind := wd.placeOrder(ctx, rand.New(rand.NewPCG(9, 9)), wd.pickLines(rand.New(rand.NewPCG(9, 9))))
	if kind != "" {
		return nil, fmt.Errorf("place order: %s", kind)
	}
	if n, err := wd.countEmails(ctx, fmt.Sprintf("order='%s'", o.ID)); err != nil || n == 0 {
		return []check{{name, skip, "outbox sender not available (placing an order queued no email)"}}, nil
	}

	mp, err := startMailpit(repo, filepath.Join(dir, "mailpit"))
	if err != nil {
		return nil, err
	}
	defer mp.stop()
	err = wd.srv.patchSettings(map[string]any{
		"meta": map[string]any{"senderName": "Bench Shop", "senderAddress": "shop@example.com"},
		"smtp": map[string]any{"enabled": true, "host": "127.0.0.1", "port": mp.smtpPort,
			"username": "shop", "password": "smtp-password", "authMethod": "PLAIN"},
	})
	if err != nil {
		return nil, err
	}

	done := make(chan loadResult, 1)
	go func() { done <- runLoad(ctx, cfg.Concurrency, cfg.Duration, 4, wd.checkoutShop) }()
	time.Sleep(cfg.Duration / 3)
	mp.stop()
	time.Sleep(cfg.Duration / 3)
	if err := mp.start(); err != nil {
		return nil, err
	}
	load := <-done

	// A failed attempt waits for its backoff (a minute at first). Make the
	// waiting emails due now, as time passing would.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		queued, err := wd.countEmails(ctx, "status='queued'")
		if err != nil {
			return nil, err
		}
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			return []check{{name, fail, fmt.Sprintf("%d emails still queued after 2 minutes", queued)}}, nil
		}
		if err := wd.nudgeEmails(ctx); err != nil {
			return nil, err
		}
		time.Sleep(time.Second)
	}
	if err := wd.srv.stop(); err != nil {
		return nil, err
	}

	db, err := openDB(wd.srv.dbPath())
	if err != nil {
		return nil, err
	}
	ids, err := column(db, `SELECT id FROM emails WHERE status = 'sent'`)
	var notSent int
	if err == nil {
		err = db.QueryRow(`SELECT COUNT(*) FROM emails WHERE status != 'sent'`).Scan(&notSent)
	}
	db.Close()
	if err != nil {
		return nil, err
	}
	got, err := mp.messageIDs()
	if err != nil {
		return nil, err
	}
	var wrong []string
	for _, id := range ids {
		if n := got["email."+id+"@example.com"]; n != 1 {
			wrong = append(wrong, fmt.Sprintf("email %s arrived %d times", id, n))
		}
	}
	if notSent > 0 {
		wrong = append(wrong, fmt.Sprintf("%d emails not sent", notSent))
	}
	c := check{name, pass, fmt.Sprintf("%d emails, %d checkouts (%d errors while SMTP was down: %v)", len(ids), load.Ops, len(load.Errors), load.Errors)}
	if len(wrong) > 0 {
		c = check{name, fail, summarize(wrong)}
	}
	return append([]check{c}, checkInvariants(wd.srv.dbPath(), wd.seen, wd.webhook)...), nil
}

// countEmails counts outbox emails matching a filter, as the owner.
func (w *world) countEmails(ctx context.Context, filter string) (int, error) {
	var list struct {
		TotalItems int `json:"totalItems"`
	}
	st, raw, err := w.c.do(ctx, http.MethodGet, "/api/collections/emails/records?perPage=1&filter="+url.QueryEscape(filter), w.srv.token, nil, &list)
	if err != nil || st != http.StatusOK {
		return 0, fmt.Errorf("count emails: %d %s %v", st, raw, err)
	}
	return list.TotalItems, nil
}

// nudgeEmails makes the queued emails due now, as the owner could in the
// dashboard.
func (w *world) nudgeEmails(ctx context.Context) error {
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	st, raw, err := w.c.do(ctx, http.MethodGet, "/api/collections/emails/records?perPage=500&skipTotal=1&filter="+
		url.QueryEscape("status='queued' && next_attempt_at!=''"), w.srv.token, nil, &list)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("list queued emails: %d %s %v", st, raw, err)
	}
	for _, e := range list.Items {
		st, raw, err := w.c.do(ctx, http.MethodPatch, "/api/collections/emails/records/"+e.ID, w.srv.token,
			map[string]any{"next_attempt_at": ""}, nil)
		if err != nil || st != http.StatusOK {
			return fmt.Errorf("make email %s due: %d %s %v", e.ID, st, raw, err)
		}
	}
	return nil
}

// mailpit is a real SMTP server (pinned in tools/go.mod) whose database
// survives its restarts.
type mailpit struct {
	bin, db  string
	smtpPort int
	apiURL   string
	cmd      *exec.Cmd
}

// startMailpit builds mailpit from tools/go.mod (or finds it in bin/) and
// starts it.
func startMailpit(repo, dir string) (*mailpit, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Join(repo, "bin", "mailpit")
	if _, err := os.Stat(bin); err != nil {
		bin = filepath.Join(dir, "mailpit")
		cmd := exec.Command("go", "build", "-C", filepath.Join(repo, "tools"), "-o", bin, "github.com/axllent/mailpit")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build mailpit from tools/go.mod: %w\n%s", err, out)
		}
	}
	smtpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &mailpit{bin: bin, db: filepath.Join(dir, "mailpit.db"), smtpPort: smtpPort, apiURL: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	return m, m.start()
}

func (m *mailpit) start() error {
	m.cmd = exec.Command(m.bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", m.smtpPort), "--listen", strings.TrimPrefix(m.apiURL, "http://"),
		"--database", m.db, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--smtp-disable-rdns",
		"--disable-version-check", "--quiet")
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("start mailpit: %w", err)
	}
	deadline := time.Now().Add(startupTimeout)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.smtpPort), time.Second); err == nil {
			conn.Close()
			if res, err := http.Get(m.apiURL + "/api/v1/messages"); err == nil {
				res.Body.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("mailpit did not start within %s", startupTimeout)
}

func (m *mailpit) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	_ = m.cmd.Wait()
	m.cmd = nil
}

// messageIDs counts the messages in mailpit by Message-ID.
func (m *mailpit) messageIDs() (map[string]int, error) {
	c := newClient(m.apiURL, 1)
	var page struct {
		Total    int `json:"total"`
		Messages []struct {
			MessageID string
		} `json:"messages"`
	}
	st, raw, err := c.do(context.Background(), http.MethodGet, "/api/v1/messages?limit=100000", "", nil, &page)
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("list mailpit messages: %d %s %v", st, raw, err)
	}
	out := map[string]int{}
	for _, msg := range page.Messages {
		out[strings.Trim(msg.MessageID, "<>")]++
	}
	return out, nil
}

// faultStockModifiers has the owner add and take units with the records
// API's "stock+" / "stock-" modifiers while cfg.Racers buyers order the same
// product: each modifier must move the stock by exactly its amount, whatever
// the orders reserved meanwhile (no phantom stock), and the ledger balance.
func faultStockModifiers(ctx context.Context, cfg faultConfig, shop target, _ string, dir string) ([]check, error) {
	const start = 100_000
	adds, takes := cfg.Racers/2, cfg.Racers/4
	wd, err := startShop(ctx, cfg, shop, dir, cfg.Racers+adds+takes)
	if err != nil {
		return nil, err
	}
	defer wd.srv.close()

	var p struct {
		ID string `json:"id"`
	}
	st, raw, err := wd.c.do(ctx, http.MethodPost, "/api/collections/products/records", wd.srv.token, map[string]any{
		"name": "Restocked while selling", "slug": "restocked-while-selling", "price_cents": 1999, "stock": start, "active": true,
	}, &p)
	if err != nil || st != http.StatusOK {
		return nil, fmt.Errorf("create product: %d %s %v", st, raw, err)
	}

	begin := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	count := func(kind string) {
		mu.Lock()
		outcomes[kind]++
		mu.Unlock()
	}
	for i := range cfg.Racers + adds + takes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			switch {
			case i < cfg.Racers:
				_, kind := wd.placeOrder(ctx, rand.New(rand.NewPCG(9, uint64(i))), []map[string]any{{"product": p.ID, "quantity": 1}})
				if kind == "" {
					kind = "ordered"
				}
				count(kind)
			default:
				mod := "stock+"
				if i >= cfg.Racers+adds {
					mod = "stock-"
				}
				st, raw, err := wd.c.do(ctx, http.MethodPatch, "/api/collections/products/records/"+p.ID, wd.srv.token,
					map[string]any{mod: 1}, nil)
				if kind := errKind(mod, st, raw, err); kind != "" {
					count(kind)
				} else {
					count(mod)
				}
			}
		}()
	}
	close(begin)
	wg.Wait()

	c := check{"every order and modifier accepted", pass, fmt.Sprint(outcomes)}
	if outcomes["ordered"] != cfg.Racers || outcomes["stock+"] != adds || outcomes["stock-"] != takes {
		c.Status = fail
	}
	if err := wd.srv.stop(); err != nil {
		return []check{c}, err
	}
	db, err := openDB(wd.srv.dbPath())
	if err != nil {
		return []check{c}, err
	}
	var stock int
	err = db.QueryRow(`SELECT stock FROM products WHERE id = ?`, p.ID).Scan(&stock)
	db.Close()
	want := start - outcomes["ordered"] + outcomes["stock+"] - outcomes["stock-"]
	s := check{"stock moved by exactly the orders and modifiers", pass, fmt.Sprintf("stock %d", stock)}
	if err != nil || stock != want {
		s = check{"stock moved by exactly the orders and modifiers", fail, fmt.Sprintf("stock %d, want %d %v", stock, want, err)}
	}
	return append([]check{c, s}, checkInvariants(wd.srv.dbPath(), wd.seen, wd.webhook)...), nil
}

// faultJobsBeside runs `pocketshop jobs run expire-reservations` as a second
// process while the server takes checkouts and webhooks: the job must
// expire every due order and no request may fail (SQLite write transactions
// that start as readers fail with SQLITE_BUSY_SNAPSHOT across processes).
func faultJobsBeside(ctx context.Context, cfg faultConfig, shop target, _ string, dir string) ([]check, error) {
	const due = 100
	wd, err := startShop(ctx, cfg, shop, dir, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	defer wd.srv.close()

	rng := rand.New(rand.NewPCG(11, 11))
	var ids []string
	for range due {
		o, kind := wd.placeOrder(ctx, rng, wd.pickLines(rng))
		if kind != "" {
			return nil, fmt.Errorf("place an order to expire: %s", kind)
		}
		ids = append(ids, o.ID)
	}
	db, err := openDB(wd.srv.dbPath())
	if err != nil {
		return nil, err
	}
	_, err = db.Exec(`UPDATE orders SET expires_at = '2000-01-01 00:00:00.000Z' WHERE id IN ('` + strings.Join(ids, "','") + `')`)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("backdate the reservations: %w", err)
	}

	loadCtx, stopLoad := context.WithCancel(ctx)
	done := make(chan loadResult, 1)
	go func() { done <- runLoad(loadCtx, cfg.Concurrency, 10*time.Minute, 3, wd.checkoutShop) }()
	time.Sleep(cfg.Duration / 4) // the load is under way
	jobErr := wd.srv.cli("jobs", "run", "expire-reservations")
	time.Sleep(cfg.Duration / 4)
	stopLoad()
	load := <-done

	job := check{fmt.Sprintf("the job expires all %d due orders", due), pass, ""}
	if jobErr != nil {
		job = check{job.Name, fail, firstLines(jobErr.Error(), 5)}
	}
	c := check{"no request fails beside the job", pass, fmt.Sprintf("%d checkouts", load.Ops)}
	if load.Ops == 0 || len(load.Errors) > 0 {
		c = check{c.Name, fail, fmt.Sprintf("%d checkouts, errors %v", load.Ops, load.Errors)}
	}
	if err := wd.srv.stop(); err != nil {
		return []check{job, c}, err
	}
	db, err = openDB(wd.srv.dbPath())
	if err != nil {
		return []check{job, c}, err
	}
	var expired int
	err = db.QueryRow(`SELECT COUNT(*) FROM orders WHERE status = 'expired'`).Scan(&expired)
	db.Close()
	if err != nil || expired != due {
		job = check{job.Name, fail, fmt.Sprintf("%d expired %v; %s", expired, err, job.Detail)}
	}
	return append([]check{job, c}, checkInvariants(wd.srv.dbPath(), wd.seen, wd.webhook)...), nil
}

// firstLines keeps the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], " / ")
}
