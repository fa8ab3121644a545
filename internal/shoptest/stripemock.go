package shoptest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// StripeMock starts a stripe-mock server (the version pinned in
// tools/go.mod) on a free loopback port for the test and returns its base
// URL. It uses stripe-mock from PATH or <repo>/bin when present and builds
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

func stripeMockBinary(tb testing.TB) string {
	tb.Helper()
	stripeMockOnce.Do(func() { stripeMockPath, stripeMockErr = findOrBuildStripeMock() })
	if stripeMockErr != nil {
		tb.Fatalf("stripe-mock is needed by this test and could not be built: %v", stripeMockErr)
	}
	return stripeMockPath
}

func findOrBuildStripeMock() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if p := filepath.Join(root, "bin", "stripe-mock"); isFile(p) {
		return p, nil
	}

	// Build once per tools/go.mod version into a cache shared by test runs.
	mod, err := os.ReadFile(filepath.Join(root, "tools", "go.mod"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(mod)
	dir := filepath.Join(os.TempDir(), "pocketshop-tools-"+hex.EncodeToString(sum[:8]))
	p := filepath.Join(dir, "stripe-mock")
	if isFile(p) {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	build := exec.Command("go", "build", "-C", filepath.Join(root, "tools"), "-o", tmp, "github.com/stripe/stripe-mock")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build stripe-mock: %v\n%s", err, out)
	}
	// Rename is atomic: parallel test binaries never run a half-written file.
	if err := os.Rename(filepath.Join(tmp, "stripe-mock"), p); err != nil {
		return "", err
	}
	return p, nil
}

// repoRoot finds the directory of pocketshop's go.mod above the working
// directory (a package's directory under `go test`).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(mod), "module pocketshop\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no pocketshop go.mod above the working directory")
		}
		dir = parent
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
