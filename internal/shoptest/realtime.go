package shoptest

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Realtime is a realtime (SSE) subscriber, connected as the JS SDK
// connects: GET /api/realtime, then POST its subscriptions. Each message is
// kept as "<subscription> <action> <record id> <status or stock>".
type Realtime struct {
	mu   sync.Mutex
	msgs []string // "<subscription> <action> <record id> <status or stock>"
	res  *http.Response
}

// Subscribe connects a realtime client to srv (as the holder of token, when
// not empty) and subscribes it to topics ("products", "variants/ID", ...).
func Subscribe(t *testing.T, srv *httptest.Server, token string, topics ...string) *Realtime {
	t.Helper()
	res, err := http.Get(srv.URL + "/api/realtime")
	if err != nil {
		t.Fatal(err)
	}
	c := &Realtime{res: res}
	t.Cleanup(func() { res.Body.Close() })
	connected := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data := strings.TrimSpace(strings.TrimPrefix(line, "data:"))
				if event == "PB_CONNECT" {
					var m struct{ ClientId string }
					_ = json.Unmarshal([]byte(data), &m)
					connected <- m.ClientId
					continue
				}
				var m struct {
					Action string
					Record map[string]any
				}
				_ = json.Unmarshal([]byte(data), &m)
				detail := ""
				if st, ok := m.Record["status"]; ok {
					detail = st.(string)
				} else if st, ok := m.Record["stock"]; ok {
					b, _ := json.Marshal(st)
					detail = string(b)
				}
				c.mu.Lock()
				c.msgs = append(c.msgs, event+" "+m.Action+" "+m.Record["id"].(string)+" "+detail)
				c.mu.Unlock()
			}
		}
	}()
	var clientID string
	select {
	case clientID = <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("realtime: no PB_CONNECT")
	}
	r := Do(t, srv, http.MethodPost, "/api/realtime", token, map[string]any{
		"clientId": clientID, "subscriptions": topics,
	})
	if r.Status != http.StatusNoContent {
		t.Fatalf("realtime subscribe: %d %s", r.Status, r.Raw)
	}
	return c
}

// WaitFor waits until the client received n messages and returns them.
func (c *Realtime) WaitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		got := slices.Clone(c.msgs)
		c.mu.Unlock()
		if len(got) >= n {
			// a moment for any unexpected extra message
			time.Sleep(100 * time.Millisecond)
			c.mu.Lock()
			defer c.mu.Unlock()
			return slices.Clone(c.msgs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Errorf("realtime: got %d messages, want %d: %q", len(c.msgs), n, c.msgs)
	return slices.Clone(c.msgs)
}
