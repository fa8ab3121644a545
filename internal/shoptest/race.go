package shoptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// RaceClient allows as many connections as a race test has clients, and a
// generous timeout so that a deadlock fails the test instead of hanging it.
func RaceClient(srv *httptest.Server) *http.Client {
	c := srv.Client()
	c.Timeout = 2 * time.Minute
	return c
}

// Send is a goroutine-safe JSON request: it returns errors instead of
// failing the test, so many goroutines can call it at once.
func Send(client *http.Client, method, url, token string, body any) (int, string, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), err
}

// RunAll starts n requests at once and returns the answers that were not
// the wanted status, one line each.
func RunAll(n int, do func(i int) (int, string, error), want int) []string {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, err := do(i)
			if err != nil || status != want {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%d %s %v", status, body, err))
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return failures
}
