package main

// These tests drive the built binary the way an owner runs it: they build it
// with the same command as `make build` and the Dockerfile, start `serve` on
// a loopback port, and stop it with SIGTERM.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pocketshop/hooks/jobs"
	"pocketshop/internal/config"
	cron "pocketshop/internal/jobs"
	"pocketshop/pb_migrations"

	"github.com/pocketbase/pocketbase/core"
)

const (
	ownerEmail    = "owner@example.com"
	ownerPassword = "owner-password-123"
)

var (
	buildOnce sync.Once
	binPath   string
	builtHere bool // binPath is a temporary build, removed after the run
	buildErr  error
)

// pocketshopBinary is the binary under test: $POCKETSHOP_BIN when set (`make
// test` builds it once for every package that needs it), otherwise built once
// per test run, exactly as `make build` and the Dockerfile do. In -short mode
// (`make check`) the tests that need it are skipped.
func pocketshopBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the built binary: `make test` runs it, `make check` (-short) does not")
	}
	buildOnce.Do(func() {
		if p := os.Getenv("POCKETSHOP_BIN"); p != "" {
			binPath, buildErr = filepath.Abs(p)
			return
		}
		dir, err := os.MkdirTemp("", "pocketshop-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath, builtHere = filepath.Join(dir, "pocketshop"), true
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtHere {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// run runs the binary to completion with a clean shop environment plus env.
func run(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(pocketshopBinary(t), args...)
	cmd.Env = append(shopEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// shopEnv is the test process's environment without the shop's variables.
func shopEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(config.Vars, func(v config.Var) bool { return v.Name == name }) && !strings.HasPrefix(name, cron.EnvPrefix) {
			env = append(env, kv)
		}
	}
	return env
}

// server is a running `pocketshop serve`.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	addr string
	out  *syncBuffer
	done chan error
}

// startServer runs `pocketshop serve` on a free loopback port over dataDir
// and waits until /api/health answers.
func startServer(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	return startServerArgs(t, addr, env, "serve", "--http="+addr, "--dir="+dataDir, "--dev=false")
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServerArgs runs the binary with args, which must make it serve on
// addr, and waits until /api/health answers.
func startServerArgs(t *testing.T, addr string, env []string, args ...string) *server {
	t.Helper()
	s := &server{t: t, addr: addr, url: "http://" + addr, out: &syncBuffer{}, done: make(chan error, 1)}
	s.cmd = exec.Command(pocketshopBinary(t), args...)
	s.cmd.Env = append(shopEnv(), env...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})

	for i := 0; i < 600; i++ {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("server exited before it was ready: %v\n%s", err, s.out)
		default:
		}
		res, err := http.Get(s.url + "/api/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("server not ready after 60s\n%s", s.out)
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	s.wait()
}

// wait waits for the server to exit and fails unless it exited with 0.
func (s *server) wait() {
	s.t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("server exit: %v\n%s", err, s.out)
		}
	case <-time.After(60 * time.Second):
		s.t.Fatalf("server still running 60s after SIGTERM\n%s", s.out)
	}
}

// waitFor polls ok (which must tolerate a server that is restarting) until it
// holds, for up to 60 seconds.
func (s *server) waitFor(ok func() bool) {
	s.t.Helper()
	for i := 0; i < 600; i++ {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("condition not met after 60s\n%s", s.out)
}

// statusOf returns the status of a GET, or 0 when the server does not answer.
func (s *server) statusOf(path, token string) int {
	req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
	req.Header.Set("Authorization", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// call sends a JSON request and decodes a JSON answer into out (when not nil).
func (s *server) call(method, path, token string, body any, out any) int {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	if res.StatusCode >= 300 && out == nil {
		s.t.Logf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}

// ownerToken signs the superuser in.
func (s *server) ownerToken() string {
	s.t.Helper()
	var auth struct{ Token string }
	st := s.call("POST", "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": ownerEmail, "password": ownerPassword}, &auth)
	if st != 200 || auth.Token == "" {
		s.t.Fatalf("superuser sign-in: %d", st)
	}
	return auth.Token
}

// newDataDir returns a fresh data dir with the owner's superuser in it.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pb_data")
	if out, err := run(t, nil, "superuser", "upsert", ownerEmail, ownerPassword, "--dir="+dir); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out)
	}
	return dir
}

func TestHelpListsEveryVariable(t *testing.T) {
	t.Parallel()
	// Help works even when the configuration is bad.
	out, err := run(t, []string{"STRIPE_WEBHOOK_SECRET=nope"}, "--help")
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, v := range config.Vars {
		if !strings.Contains(out, v.Name) {
			t.Errorf("--help does not list %s:\n%s", v.Name, out)
		}
	}
	for _, name := range jobs.Names(jobs.Config{}) {
		if !strings.Contains(out, cron.EnvVar(name)) {
			t.Errorf("--help does not list %s", cron.EnvVar(name))
		}
	}
	for _, want := range []string{"--origins", "backup", "restore"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestReadmeListsEveryVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, deploy, ok := strings.Cut(string(readme), "\n## Deploy")
	if !ok {
		t.Fatal("README.md has no ## Deploy section")
	}
	for _, v := range config.Vars {
		if !strings.Contains(deploy, v.Name) {
			t.Errorf("README's Deploy section does not list %s", v.Name)
		}
	}
	for _, name := range jobs.Names(jobs.Config{}) {
		if !strings.Contains(string(readme), cron.EnvVar(name)) {
			t.Errorf("README does not list %s", cron.EnvVar(name))
		}
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct{ variable, value string }{
		{"STRIPE_SECRET_KEY", "pk_live_publishable"},
		{"STRIPE_WEBHOOK_SECRET", "sk_test_not_a_webhook_secret"},
		{"STRIPE_API_BASE", "localhost:12111"},
		{"PUBLIC_URL", "shop.example.com"},
		{"POCKETSHOP_JOB_PRUNE", "every tuesday"},
	}
	for _, tt := range tests {
		t.Run(tt.variable, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "pb_data")
			out, err := run(t, []string{tt.variable + "=" + tt.value}, "serve", "--http=127.0.0.1:0", "--dir="+dir)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("serve with %s=%q: err %v, want a non-zero exit\n%s", tt.variable, tt.value, err, out)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.variable) {
				t.Fatalf("want one line naming %s, got:\n%s", tt.variable, out)
			}
			if strings.HasPrefix(tt.variable, "STRIPE_S") || strings.HasPrefix(tt.variable, "STRIPE_W") {
				if strings.Contains(out, tt.value) {
					t.Fatalf("the error line shows the secret: %s", out)
				}
			}
			if _, err := os.Stat(dir); err == nil {
				t.Fatalf("a refused start created the data dir %s", dir)
			}
		})
	}
}

// drillCollections are compared record by record across backup and restore.
var drillCollections = []string{
	"products", "orders", "order_events", "stock_movements", "emails",
	"payment_events", "shop_settings", "users", core.CollectionNameSuperusers,
}

// snapshot reads every record of drillCollections from a stopped server's
// data dir, with every field, ordered by id.
func snapshot(t *testing.T, dataDir string) map[string][]map[string]any {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dataDir})
	if err := app.Bootstrap(); err != nil {
		t.Fatalf("open %s: %v", dataDir, err)
	}
	defer app.ResetBootstrapState()
	snap := map[string][]map[string]any{}
	for _, name := range drillCollections {
		records, err := app.FindRecordsByFilter(name, "", "id", 0, 0)
		if err != nil {
			t.Fatalf("read %s in %s: %v", name, dataDir, err)
		}
		for _, r := range records {
			raw, err := json.Marshal(r.FieldsData())
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			snap[name] = append(snap[name], m)
		}
	}
	return snap
}

func sameSnapshot(t *testing.T, what string, want, got map[string][]map[string]any) {
	t.Helper()
	for _, name := range drillCollections {
		if !reflect.DeepEqual(want[name], got[name]) {
			t.Errorf("%s: %s differ\nbefore: %v\nafter:  %v", what, name, want[name], got[name])
		}
	}
}

// TestRestoreDrill places and pays orders, takes a backup through the API,
// wipes the data dir, restores it with `pocketshop restore`, and finds every
// record as it was. Then it does the same with `pocketshop backup`.
func TestRestoreDrill(t *testing.T) {
	t.Parallel()
	dataDir := newDataDir(t)
	srv := startServer(t, dataDir, "PUBLIC_URL=https://shop.example.com")
	token := srv.ownerToken()

	// A fresh shop starts with nightly backups and rate limits on, and
	// takes its Application URL from PUBLIC_URL.
	var settings struct {
		Meta       struct{ AppURL string }
		Backups    struct{ Cron string }
		RateLimits struct{ Enabled bool }
	}
	if st := srv.call("GET", "/api/settings", token, nil, &settings); st != 200 {
		t.Fatalf("settings: %d", st)
	}
	if settings.Meta.AppURL != "https://shop.example.com" || settings.Backups.Cron != pb_migrations.BackupCron || !settings.RateLimits.Enabled {
		t.Fatalf("settings of a new shop = %+v", settings)
	}

	var products []string
	for i, stock := range []int{5, 8} {
		var p struct{ ID string }
		st := srv.call("POST", "/api/collections/products/records", token, map[string]any{
			"name": fmt.Sprint("Mug ", i), "slug": fmt.Sprint("mug-", i), "price_cents": 1500 + i*100,
			"stock": stock, "active": true,
		}, &p)
		if st != 200 {
			t.Fatalf("create product: %d", st)
		}
		products = append(products, p.ID)
	}
	var orders []struct{ ID, Token string }
	for i := 0; i < 3; i++ {
		var o struct{ ID, Token string }
		st := srv.call("POST", "/api/collections/orders/records", "", map[string]any{
			"email": fmt.Sprintf("customer%d@example.com", i), "payment_method": "manual",
			"items": []map[string]any{{"product": products[0], "quantity": 1}, {"product": products[1], "quantity": i + 1}},
		}, &o)
		if st != 200 {
			t.Fatalf("place order: %d", st)
		}
		orders = append(orders, o)
	}
	for _, o := range orders[:2] {
		if st := srv.call("PATCH", "/api/collections/orders/records/"+o.ID, token, map[string]any{"status": "paid"}, &map[string]any{}); st != 200 {
			t.Fatalf("pay order: %d", st)
		}
	}
	if st := srv.call("POST", "/api/shop/orders/"+orders[2].ID+"/cancel?token="+orders[2].Token, "", nil, &map[string]any{}); st != 200 {
		t.Fatalf("cancel order: %d", st)
	}
	// Let the outbox settle: with no SMTP set, the sender notes that on each
	// queued email right after it is queued.
	unsettled := "/api/collections/emails/records?filter=" + url.QueryEscape(`status="queued" && last_error=""`)
	srv.waitFor(func() bool {
		var list struct{ TotalItems int }
		return srv.call("GET", unsettled, token, nil, &list) == 200 && list.TotalItems == 0
	})

	// The owner backs up through the API and downloads the zip.
	if st := srv.call("POST", "/api/backups", token, map[string]any{"name": "drill.zip"}, nil); st != 204 {
		t.Fatalf("POST /api/backups: %d", st)
	}
	var fileToken struct{ Token string }
	if st := srv.call("POST", "/api/files/token", token, nil, &fileToken); st != 200 {
		t.Fatalf("file token: %d", st)
	}
	zipPath := filepath.Join(t.TempDir(), "drill.zip")
	download(t, srv.url+"/api/backups/drill.zip?token="+fileToken.Token, zipPath)
	srv.stop()
	before := snapshot(t, dataDir)
	if len(before["orders"]) != 3 || len(before["stock_movements"]) < 4 || len(before["order_events"]) < 3 || len(before["emails"]) < 3 {
		t.Fatalf("the drill's data is not all there: %d orders, %d movements, %d events, %d emails",
			len(before["orders"]), len(before["stock_movements"]), len(before["order_events"]), len(before["emails"]))
	}

	// A mistake after the backup, undone by the dashboard's restore (the API
	// call it makes): PocketBase swaps the data dir and re-executes itself.
	srv = startServer(t, dataDir)
	var mistake struct{ ID string }
	if st := srv.call("POST", "/api/collections/orders/records", "", map[string]any{
		"email": "mistake@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": products[0], "quantity": 1}},
	}, &mistake); st != 200 {
		t.Fatalf("order after the backup: %d", st)
	}
	token = srv.ownerToken()
	if st := srv.call("POST", "/api/backups/drill.zip/restore", token, nil, nil); st != 204 {
		t.Fatalf("POST /api/backups/drill.zip/restore: %d", st)
	}
	srv.waitFor(func() bool {
		return srv.statusOf("/api/collections/orders/records/"+mistake.ID, token) == http.StatusNotFound
	})
	srv.stop()
	sameSnapshot(t, "after the API restore", before, snapshot(t, dataDir))

	// Disaster: the data dir is gone. Restore the downloaded zip.
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, nil, "restore", zipPath, "--dir="+dataDir); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	sameSnapshot(t, "after restoring the API backup", before, snapshot(t, dataDir))

	// The restored shop works: the owner signs in and a customer orders.
	srv = startServer(t, dataDir)
	if st := srv.call("POST", "/api/collections/orders/records", "", map[string]any{
		"email": "late@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": products[1], "quantity": 1}},
	}, &map[string]any{}); st != 200 {
		t.Fatalf("order on the restored shop: %d", st)
	}
	srv.ownerToken()
	srv.stop()

	// `pocketshop backup`, then `pocketshop restore` into another data dir.
	before = snapshot(t, dataDir)
	if out, err := run(t, nil, "backup", "cli.zip", "--dir="+dataDir); err != nil || !strings.Contains(out, "cli.zip") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	otherDir := filepath.Join(t.TempDir(), "pb_data")
	if out, err := run(t, nil, "restore", filepath.Join(dataDir, "backups", "cli.zip"), "--dir="+otherDir); err != nil {
		t.Fatalf("restore into a new dir: %v\n%s", err, out)
	}
	sameSnapshot(t, "after pocketshop backup and restore", before, snapshot(t, otherDir))

	// Restoring over a shop keeps the shop it replaces as a backup.
	if out, err := run(t, nil, "restore", "cli.zip", "--dir="+dataDir); err != nil {
		t.Fatalf("restore over a shop: %v\n%s", err, out)
	}
	kept, _ := filepath.Glob(filepath.Join(dataDir, "backups", "before_restore_*.zip"))
	if len(kept) != 1 {
		t.Fatalf("want one before_restore zip in backups, found %v", kept)
	}
	sameSnapshot(t, "after restoring over a shop", before, snapshot(t, dataDir))

	// Bad input changes nothing.
	for _, args := range [][]string{{"restore", "missing.zip"}, {"restore", "README.md"}, {"backup", "Bad Name.zip"}} {
		if out, err := run(t, nil, append(args, "--dir="+dataDir)...); err == nil {
			t.Errorf("%v succeeded:\n%s", args, out)
		}
	}
	sameSnapshot(t, "after refused commands", before, snapshot(t, dataDir))
}

func download(t *testing.T, url, path string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("download %s: %d", url, res.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, res.Body); err != nil {
		t.Fatal(err)
	}
}

// TestServeFinishesRequestsInFlightOnSIGTERM sends SIGTERM while an order's
// body is still arriving: the server stops accepting connections, ends
// realtime streams, and still answers the order before it exits with 0.
func TestServeFinishesRequestsInFlightOnSIGTERM(t *testing.T) {
	t.Parallel()
	dataDir := newDataDir(t)
	srv := startServer(t, dataDir)
	token := srv.ownerToken()
	var p struct{ ID string }
	if st := srv.call("POST", "/api/collections/products/records", token, map[string]any{
		"name": "Mug", "slug": "mug", "price_cents": 1500, "stock": 5, "active": true,
	}, &p); st != 200 {
		t.Fatalf("create product: %d", st)
	}

	// A realtime subscriber, which would otherwise hold the shutdown open.
	sse, err := http.Get(srv.url + "/api/realtime")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	sseLines := bufio.NewReader(sse.Body)
	for i := 0; ; i++ {
		line, err := sseLines.ReadString('\n')
		if err != nil || i == 10 {
			t.Fatalf("realtime connect: %q %v", line, err)
		}
		if strings.Contains(line, "PB_CONNECT") {
			break
		}
	}

	body, _ := json.Marshal(map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": p.ID, "quantity": 2}},
	})
	// The order's request: with "Expect: 100-continue" the server answers
	// "100 Continue" once its handler starts reading the body, so the
	// request is in flight, not waiting to be accepted, when SIGTERM comes.
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	answers := bufio.NewReader(conn)
	fmt.Fprintf(conn, "POST /api/collections/orders/records HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", srv.addr, len(body))
	if res, err := http.ReadResponse(answers, nil); err != nil || res.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue, got %v %v", res, err)
	}
	half := len(body) / 2
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New connections are refused once the shutdown has begun.
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			break
		}
		c.Close()
		if i == 600 {
			t.Fatal("the server still accepts connections 60s after SIGTERM")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The realtime stream ends while the order is still in flight.
	if _, err := io.Copy(io.Discard, sseLines); err != nil {
		t.Logf("realtime stream ended with %v", err)
	}
	// Longer than the one second PocketBase alone would wait.
	time.Sleep(2 * time.Second)

	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("finish the order's body: %v", err)
	}
	res, err := http.ReadResponse(answers, nil)
	if err != nil {
		t.Fatalf("read the order's answer: %v\n%s", err, srv.out)
	}
	raw, _ := io.ReadAll(res.Body)
	var order struct{ ID, Status string }
	_ = json.Unmarshal(raw, &order)
	if res.StatusCode != 200 || order.Status != "pending" {
		t.Fatalf("order in flight during shutdown: %d %s", res.StatusCode, raw)
	}
	srv.wait()

	snap := snapshot(t, dataDir)
	if len(snap["orders"]) != 1 || snap["orders"][0]["id"] != order.ID {
		t.Fatalf("the order answered during shutdown is not stored: %v", snap["orders"])
	}
	if got := snap["products"][0]["stock"]; got != float64(3) {
		t.Fatalf("stock after the order = %v, want 3", got)
	}
}

// TestLintDockerfile checks the Dockerfile by rules, without Docker (the
// image's command line is run by TestDockerCommandLineServes):
//   - the binary is built with `make build`'s command;
//   - every FROM names a tag other than latest (hadolint DL3006, DL3007);
//   - apk add uses --no-cache (DL3019);
//   - the last USER is not root (DL3002);
//   - ENTRYPOINT and CMD are in exec (JSON) form (DL3025), so SIGTERM
//     reaches pocketshop and not a shell;
//   - there is a VOLUME, EXPOSE 8090 and a HEALTHCHECK on /api/health.
func TestLintDockerfile(t *testing.T) {
	t.Parallel()
	docker, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(makefile), "CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) .") {
		t.Error("Makefile's build target changed: update the Dockerfile and this test together")
	}
	if !strings.Contains(string(docker), "CGO_ENABLED=0 go build -trimpath -o /out/pocketshop .") {
		t.Error("the Dockerfile does not build the binary as `make build` does")
	}
	var lastUser string
	// Continuation lines are joined, so that a RUN over several lines is one.
	for _, line := range strings.Split(strings.ReplaceAll(string(docker), "\\\n", " "), "\n") {
		instr, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			image, _, _ := strings.Cut(rest, " ")
			if _, tag, ok := strings.Cut(image, ":"); !ok || tag == "latest" {
				t.Errorf("%s: pin the image's tag (DL3006, DL3007)", line)
			}
		case "RUN":
			if strings.Contains(rest, "apk add") && !strings.Contains(rest, "--no-cache") {
				t.Errorf("%s: apk add without --no-cache (DL3019)", line)
			}
		case "USER":
			lastUser = rest
		case "ENTRYPOINT", "CMD":
			if !strings.HasPrefix(rest, "[") {
				t.Errorf("%s: use the exec form (DL3025)", line)
			}
		}
	}
	if lastUser == "" || lastUser == "root" || strings.HasPrefix(lastUser, "root:") || strings.HasPrefix(lastUser, "0") {
		t.Errorf("the image runs as %q: the last USER must not be root (DL3002)", lastUser)
	}
	for _, want := range []string{"VOLUME ", "EXPOSE 8090", "HEALTHCHECK", "/api/health"} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("the Dockerfile has no %s", strings.TrimSpace(want))
		}
	}
}

// TestDockerCommandLineServes runs the binary with the image's ENTRYPOINT and
// CMD (a temp dir for /pb_data, a free loopback port for 0.0.0.0:8090) and
// asks the HEALTHCHECK's URL.
func TestDockerCommandLineServes(t *testing.T) {
	t.Parallel()
	docker, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(docker), "\n") {
		for _, instr := range []string{"ENTRYPOINT ", "CMD "} {
			if rest, ok := strings.CutPrefix(line, instr); ok {
				var words []string
				if err := json.Unmarshal([]byte(rest), &words); err != nil {
					t.Fatalf("%s is not in exec form: %v", line, err)
				}
				args = append(args, words...)
			}
		}
	}
	if len(args) < 2 || args[0] != "pocketshop" {
		t.Fatalf("ENTRYPOINT and CMD = %q, want pocketshop and its arguments", args)
	}
	addr, dir := freeAddr(t), filepath.Join(t.TempDir(), "pb_data")
	replacer := strings.NewReplacer("/pb_data", dir, "0.0.0.0:8090", addr)
	for i := range args {
		args[i] = replacer.Replace(args[i])
	}
	srv := startServerArgs(t, addr, nil, args[1:]...)
	if _, err := os.Stat(filepath.Join(dir, "data.db")); err != nil {
		t.Fatalf("the data is not in the volume's dir: %v", err)
	}
	srv.stop()
}

// TestSystemdUnit has systemd check the unit where systemd-analyze is
// installed (Debian 12: the systemd package): `verify` must print nothing (it
// warns about unknown keys and bad values, and about an ExecStart that is not
// executable, so the test's own binary stands in for pocketshop), and
// `security --offline` must rate its exposure at most 3.5 (3.4 "OK" today) so
// that hardening is not dropped unnoticed. Without systemd-analyze only the
// lint part runs: the unit keeps its data dir, writable path and hardening
// together.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("deploy/pocketshop.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{
		"User=pocketshop", "EnvironmentFile=/etc/pocketshop/pocketshop.env",
		"Restart=on-failure", "KillSignal=SIGTERM", "NoNewPrivileges=true", "ProtectSystem=strict",
		"ReadWritePaths=/var/lib/pocketshop\n", "StateDirectory=pocketshop\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit has no %q", strings.TrimSpace(want))
		}
	}
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimPrefix(line, "#")
		if strings.HasPrefix(line, "ExecStart=") && !strings.Contains(line, " --dir=/var/lib/pocketshop/pb_data") {
			t.Errorf("%s does not keep its data under ReadWritePaths", line)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: only the lint checks ran")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pocketshop.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/pocketshop", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=35", "--no-pager", path).CombinedOutput(); err != nil {
		// The table lists every setting; the last line has the rating.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Errorf("systemd-analyze security --threshold=35: %v: %s (run it on deploy/pocketshop.service for the table)", err, lines[len(lines)-1])
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestEnvExampleLoads keeps deploy/pocketshop.env.example in step with the
// variables the binary reads.
func TestEnvExampleLoads(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("deploy/pocketshop.env.example")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !slices.ContainsFunc(config.Vars, func(v config.Var) bool { return v.Name == name }) {
			t.Errorf("env example line %q is not a variable pocketshop reads", line)
		}
		env[name] = value
	}
	for _, v := range config.Vars {
		if !strings.Contains(string(raw), v.Name+"=") {
			t.Errorf("env example does not mention %s", v.Name)
		}
	}
	if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
		t.Errorf("the env example does not load: %v", err)
	}
}
