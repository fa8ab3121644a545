package shoptest

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// StripeMock starts a stripe-mock server (the version pinned in
// tools/go.mod) on a free loopback port for the test and returns its base
// URL. It uses stripe-mock from <repo>/bin or PATH when present and builds
// it otherwise, so that `go test ./...` works from a fresh clone. Every
// failure to get it fails the test: it never skips.
func StripeMock(tb testing.TB) string {
	tb.Helper()
	bin := stripeMockBinary(tb)

	// -https-addr as well: stripe-mock also serves HTTPS on a fixed port
	// unless told otherwise.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("stripe-mock: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start stripe-mock: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	addr := make(chan string, 1)
	go func() {
		const prefix = "Listening for HTTP at address: "
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, prefix) {
				addr <- strings.TrimSpace(strings.TrimPrefix(line, prefix))
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(2 * time.Minute): // a guard against a hung start, not a timing assertion
		tb.Fatal("stripe-mock did not start listening")
		return ""
	}
}

var (
	stripeMockOnce sync.Once
	stripeMockPath string
	stripeMockErr  error
)

// stripeMockBinary finds or builds stripe-mock like mailpitBinary does.
func stripeMockBinary(tb testing.TB) string {
	tb.Helper()
	stripeMockOnce.Do(func() {
		stripeMockPath, stripeMockErr = findOrBuildTool("stripe-mock", "github.com/stripe/stripe-mock")
	})
	if stripeMockErr != nil {
		tb.Fatalf("stripe-mock is needed by this test: %v", stripeMockErr)
	}
	return stripeMockPath
}
