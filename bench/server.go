package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The secrets the benchmark gives the shop. They sign nothing real: the
// Stripe client points at a closed port, so nothing leaves the machine.
const (
	stripeSecretKey     = "sk_test_pocketshop_bench"
	stripeWebhookSecret = "whsec_pocketshop_bench_secret"
	superuserEmail      = "bench@example.com"
	superuserPassword   = "bench-password-123"
)

// startupTimeout bounds how long a server may take to start on a busy
// machine: a guard against a hang, not a measurement.
const startupTimeout = 90 * time.Second

// target is a binary under test.
type target struct {
	Name string // "pocketshop" or "bare"
	Bin  string
	Shop bool // has pocketshop's hooks and routes
}

// buildBinaries builds ./pocketshop and bench/barepb from the module at repo
// into dir.
func buildBinaries(repo, dir string) (shop, bare target, err error) {
	shop = target{Name: "pocketshop", Bin: filepath.Join(dir, "pocketshop"), Shop: true}
	bare = target{Name: "bare", Bin: filepath.Join(dir, "barepb")}
	for _, b := range []struct{ out, pkg string }{{shop.Bin, "."}, {bare.Bin, "./bench/barepb"}} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", b.out, b.pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return shop, bare, fmt.Errorf("build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return shop, bare, nil
}

// repoRoot finds the module root (the directory with go.mod declaring
// pocketshop) from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module pocketshop\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the pocketshop module")
		}
		dir = parent
	}
}

// server is one running (or stopped) server process on a data dir.
type server struct {
	t    target
	dir  string // data dir
	sync string // "normal" or "full"
	port int
	url  string
	cmd  *exec.Cmd
	done chan error
	log  *os.File

	token string // superuser token, after login
}

// newServer prepares a fresh data dir for t: migrations applied and a
// superuser, nothing served yet.
func newServer(t target, dir, sync string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &server{t: t, dir: dir, sync: sync}
	if err := s.cli("migrate", "up"); err != nil {
		return nil, err
	}
	if err := s.cli("superuser", "upsert", superuserEmail, superuserPassword); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *server) env() []string {
	env := append(os.Environ(),
		"POCKETSHOP_SQLITE_SYNC="+s.sync,
		"STRIPE_SECRET_KEY="+stripeSecretKey,
		"STRIPE_WEBHOOK_SECRET="+stripeWebhookSecret,
		"STRIPE_API_BASE=http://127.0.0.1:9", // discard port: no Stripe calls leave the machine
	)
	return env
}

func (s *server) cli(args ...string) error {
	cmd := exec.Command(s.t.Bin, append(args, "--dir", s.dir)...)
	cmd.Env = s.env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", s.t.Name, strings.Join(args, " "), err, out)
	}
	return nil
}

// dbPath is the server's data database.
func (s *server) dbPath() string { return filepath.Join(s.dir, "data.db") }

// start serves on a free loopback port and waits until it answers and the
// superuser is signed in. extraEnv is added to the environment.
func (s *server) start(extraEnv ...string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	if s.log == nil {
		if s.log, err = os.OpenFile(filepath.Join(filepath.Dir(s.dir), filepath.Base(s.dir)+".log"),
			os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command(s.t.Bin, "serve", "--http", fmt.Sprintf("127.0.0.1:%d", port), "--dir", s.dir)
	cmd.Env = append(s.env(), extraEnv...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.t.Name, err)
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()

	deadline := time.Now().Add(startupTimeout)
	for {
		res, err := http.Get(s.url + "/api/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-s.done:
			s.cmd = nil
			return fmt.Errorf("%s exited while starting: %v (log: %s)", s.t.Name, err, s.log.Name())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.kill()
			return fmt.Errorf("%s did not answer within %s", s.t.Name, startupTimeout)
		}
	}
	return s.login()
}

// login signs the superuser in and turns PocketBase's rate limiter off: the
// load comes from one IP, and the limiter is the owner's choice, not what
// is measured.
func (s *server) login() error {
	c := newClient(s.url, 4)
	var auth struct {
		Token string `json:"token"`
	}
	st, raw, err := c.do(context.Background(), http.MethodPost, "/api/collections/_superusers/auth-with-password", "",
		map[string]string{"identity": superuserEmail, "password": superuserPassword}, &auth)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("superuser login on %s: %d %s %v", s.t.Name, st, raw, err)
	}
	s.token = auth.Token
	return s.patchSettings(map[string]any{"rateLimits": map[string]any{"enabled": false}})
}

// patchSettings changes PocketBase's settings as the owner would in the
// dashboard.
func (s *server) patchSettings(body any) error {
	st, raw, err := newClient(s.url, 1).do(context.Background(), http.MethodPatch, "/api/settings", s.token, body, nil)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("update settings on %s: %d %s %v", s.t.Name, st, raw, err)
	}
	return nil
}

// stop ends the server gracefully.
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// kill ends the server with SIGKILL: no shutdown hooks, no final sync.
func (s *server) kill() error {
	if s.cmd == nil {
		return nil
	}
	err := s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
	return err
}

// close stops the server and closes its log.
func (s *server) close() {
	_ = s.stop()
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
}

// resetPeakRSS resets the kernel's peak resident set size of the server
// (VmHWM), so that the next peakRSS covers one run.
func (s *server) resetPeakRSS() {
	if s.cmd != nil {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
	}
}

// peakRSS is the server's peak resident set size in bytes (VmHWM).
func (s *server) peakRSS() int64 {
	if s.cmd == nil {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// client is a JSON HTTP client for one server.
type client struct {
	base string
	http *http.Client
}

func newClient(base string, conns int) *client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends body (JSON, or raw bytes) and decodes a 2xx answer into out.
func (c *client) do(ctx context.Context, method, path, token string, body, out any, header ...string) (int, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, raw, err
	}
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, raw, fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, raw, nil
}
