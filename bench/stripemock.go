package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// stripeMock is a running stripe-mock (built into <repo>/bin by `make
// tools`), the Stripe API the flow scenario's pay route talks to.
type stripeMock struct {
	cmd *exec.Cmd
	url string
}

// startStripeMock starts stripe-mock on a free loopback port.
func startStripeMock(repo string) (*stripeMock, error) {
	bin := filepath.Join(repo, "bin", "stripe-mock")
	if !isExecutable(bin) {
		var err error
		if bin, err = exec.LookPath("stripe-mock"); err != nil {
			return nil, fmt.Errorf("the flow scenario needs stripe-mock: run `make tools` (%w)", err)
		}
	}
	// -https-addr too: stripe-mock serves HTTPS on a fixed port otherwise.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stripe-mock: %w", err)
	}
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
		return &stripeMock{cmd: cmd, url: "http://" + a}, nil
	case <-time.After(startupTimeout):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("stripe-mock did not start listening within %s", startupTimeout)
	}
}

func (m *stripeMock) stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
