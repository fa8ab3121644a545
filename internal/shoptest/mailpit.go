package shoptest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// startupTimeout bounds how long a test peer may take to start on a busy
// machine. It is a guard against a hang, not a measure of speed.
const startupTimeout = 60 * time.Second

// Mailpit is a real SMTP server (axllent/mailpit, pinned in tools/go.mod)
// on loopback ports, whose inbox the test reads through its HTTP API.
type Mailpit struct {
	SMTPPort int
	APIURL   string

	bin  string
	args []string
	cmd  *exec.Cmd
	mu   sync.Mutex
}

// MailpitMessage is one message in mailpit's inbox.
type MailpitMessage struct {
	ID        string
	MessageID string
	From      string
	To        []string
	Subject   string
	Text      string
	HTML      string
}

// StartMailpit starts a mailpit that accepts any SMTP login, with its
// database in a temporary directory. extraArgs are passed on (e.g.
// "--smtp-allowed-recipients", "@good\\.test$"). It stops when the test ends.
func StartMailpit(tb testing.TB, extraArgs ...string) *Mailpit {
	tb.Helper()
	smtpPort, apiPort := FreePort(tb), FreePort(tb)
	m := &Mailpit{
		SMTPPort: smtpPort,
		APIURL:   fmt.Sprintf("http://127.0.0.1:%d", apiPort),
		bin:      mailpitBinary(tb),
		args: append([]string{
			"--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort),
			"--listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
			"--database", filepath.Join(tb.TempDir(), "mailpit.db"),
			"--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
			"--smtp-disable-rdns", "--disable-version-check", "--quiet",
		}, extraArgs...),
	}
	m.Start(tb)
	tb.Cleanup(func() { m.Stop(tb) })
	return m
}

// Start (re)starts the server on its ports and database, and waits until
// both SMTP and the API answer.
func (m *Mailpit) Start(tb testing.TB) {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		tb.Fatalf("mailpit is already running")
	}
	cmd := exec.Command(m.bin, m.args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start mailpit: %v", err)
	}
	m.cmd = cmd

	deadline := time.Now().Add(startupTimeout)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.SMTPPort), time.Second)
		if err == nil {
			conn.Close()
			res, err := http.Get(m.APIURL + "/api/v1/messages")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit did not start within %s", startupTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (the SMTP server is then "down") and waits
// for it to exit. Its inbox stays in its database for the next Start.
func (m *Mailpit) Stop(tb testing.TB) {
	tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(startupTimeout):
		_ = m.cmd.Process.Kill()
		<-done
	}
	m.cmd = nil
}

// Configure points app's mail settings (as the owner sets them in
// Dashboard > Settings > Mail settings) at this server.
func (m *Mailpit) Configure(app core.App) {
	s := app.Settings()
	s.Meta.AppURL = "https://shop.example.com"
	s.Meta.SenderName = "Test Shop"
	s.Meta.SenderAddress = "shop@example.com"
	s.SMTP.Enabled = true
	s.SMTP.Host = "127.0.0.1"
	s.SMTP.Port = m.SMTPPort
	s.SMTP.Username = "shop"
	s.SMTP.Password = "smtp-password"
	s.SMTP.TLS = false
}

// Messages returns every message in the inbox, oldest first.
func (m *Mailpit) Messages(tb testing.TB) []MailpitMessage {
	tb.Helper()
	var list struct {
		Messages []struct{ ID string }
	}
	m.getJSON(tb, "/api/v1/messages?limit=1000", &list)
	out := make([]MailpitMessage, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists newest first
		var full struct {
			ID        string
			MessageID string
			From      struct{ Address string }
			To        []struct{ Address string }
			Subject   string
			Text      string
			HTML      string
		}
		m.getJSON(tb, "/api/v1/message/"+list.Messages[i].ID, &full)
		msg := MailpitMessage{ID: full.ID, MessageID: full.MessageID, From: full.From.Address, Subject: full.Subject, Text: full.Text, HTML: full.HTML}
		for _, to := range full.To {
			msg.To = append(msg.To, to.Address)
		}
		out = append(out, msg)
	}
	return out
}

func (m *Mailpit) getJSON(tb testing.TB, path string, out any) {
	tb.Helper()
	res, err := http.Get(m.APIURL + path)
	if err != nil {
		tb.Fatalf("mailpit GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("mailpit GET %s: status %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		tb.Fatalf("mailpit GET %s: decode: %v", path, err)
	}
}

var (
	mailpitOnce sync.Once
	mailpitPath string
	mailpitErr  error
)

// mailpitBinary finds mailpit in <repo>/bin (`make tools`) or on PATH, or
// builds the pinned version from tools/go.mod into the user's cache. A
// missing mailpit fails the test: it is never skipped.
func mailpitBinary(tb testing.TB) string {
	tb.Helper()
	mailpitOnce.Do(func() { mailpitPath, mailpitErr = findOrBuildTool("mailpit", "github.com/axllent/mailpit") })
	if mailpitErr != nil {
		tb.Fatalf("mailpit: %v", mailpitErr)
	}
	return mailpitPath
}

func findOrBuildTool(name, pkg string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if p := filepath.Join(root, "bin", name); isExecutable(p) {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// Keyed by the pinned versions, so a changed pin builds afresh.
	sum, err := os.ReadFile(filepath.Join(root, "tools", "go.sum"))
	if err != nil {
		return "", fmt.Errorf("read tools/go.sum: %w", err)
	}
	h := sha256.Sum256(sum)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pocketshop-test-tools", hex.EncodeToString(h[:6]))
	p := filepath.Join(dir, name)
	if isExecutable(p) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build next to the target and rename, so that a concurrent test
	// process never runs a half-written binary.
	tmp := p + ".tmp" + strconv.Itoa(os.Getpid())
	out, err := exec.Command("go", "build", "-C", filepath.Join(root, "tools"), "-o", tmp, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", pkg, err, out)
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", err
	}
	return p, nil
}

// repoRoot is the directory of pocketshop's go.mod, found from the test's
// working directory (its package directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no tools/go.mod above the working directory")
		}
		dir = parent
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// FreePort returns a loopback TCP port with nothing listening on it (a
// moment ago): a port for a peer to listen on, or a server that is down.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
