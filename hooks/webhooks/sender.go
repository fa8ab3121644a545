package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"pocketshop/hooks/queue"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Sign returns the Pocketshop-Signature header of body sent at t with
// secret: Stripe's scheme, t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "t.body" keyed with the whole secret, whsec_ included>.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// SendDue sends the due deliveries of app as opts say and returns how many
// were delivered (a 2xx). Each is claimed under a lease first, so that any
// number of concurrent passes send it once at a time; a timeout or any
// other answer is retried with backoff until its retry_until, then failed.
// A cancelled ctx stops the pass after the deliveries in flight.
func SendDue(ctx context.Context, app core.App, opts Options) (int, error) {
	opts = opts.withDefaults()
	return (&Manager{app: app, opts: opts, client: opts.client()}).sendDue(ctx, app)
}

func (m *Manager) sendDue(ctx context.Context, app core.App) (int, error) {
	return m.opts.queue().Drain(ctx, app, m.opts.Parallel, nil, func(ctx context.Context, c *queue.Claim) queue.Result {
		return m.send(ctx, app, c)
	})
}

// outgoing is what a delivery's POST needs.
type outgoing struct {
	Event      string         `db:"event"`
	EventID    string         `db:"event_id"`
	Payload    string         `db:"payload"`
	RetryUntil types.DateTime `db:"retry_until"`
	URL        string         `db:"url"`
	Secret     string         `db:"secret"`
	Active     bool           `db:"active"`
}

// errInactive fails a delivery whose endpoint the owner switched off.
var errInactive = errors.New("the endpoint is not active (activate it, then requeue the delivery)")

// send posts the delivery claim holds and returns the outcome: a failure
// to read it is one too (retried like a receiver's).
func (m *Manager) send(ctx context.Context, app core.App, claim *queue.Claim) queue.Result {
	var d outgoing
	err := app.DB().NewQuery(`SELECT d.[[event]], d.[[event_id]], d.[[payload]], d.[[retry_until]], e.[[url]], e.[[secret]], e.[[active]]
		FROM {{webhook_deliveries}} d JOIN {{webhook_endpoints}} e ON e.[[id]] = d.[[endpoint]]
		WHERE d.[[id]] = {:id}`).Bind(dbx.Params{"id": claim.ID}).One(&d)
	if err != nil {
		return queue.Result{Err: fmt.Errorf("load webhook delivery %s: %w", claim.ID, err)}
	}
	if !d.Active {
		return queue.Result{Err: errInactive, Permanent: true}
	}
	postCtx, cancel := claim.Context(ctx)
	defer cancel()
	status, err := m.post(postCtx, d)
	return queue.Result{Err: err, Deadline: d.RetryUntil.Time(), Fields: dbx.Params{"response_status": status}}
}

// post sends one attempt of delivery d, signed now, and returns the
// receiver's HTTP status (0 when there was no answer) and why the attempt
// failed, if it did: anything but a 2xx.
func (m *Manager) post(ctx context.Context, d outgoing) (int, error) {
	payload := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(payload))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pocketshop-webhooks/1")
	req.Header.Set(eventHeader, d.Event)
	req.Header.Set(deliveryHeader, d.EventID)
	// Signed with the wall clock, whatever m.opts.Now says: the receiver
	// compares the timestamp with its own clock.
	req.Header.Set(signatureHeader, Sign(d.Secret, time.Now(), payload))
	res, err := m.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(res.Body, maxResponseExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)) // lets the connection be reused
	if res.StatusCode < 200 || res.StatusCode > 299 {
		msg := fmt.Sprintf("the receiver answered %d", res.StatusCode)
		if s := strings.TrimSpace(string(excerpt)); s != "" {
			msg += ": " + strings.ToValidUTF8(s, "?")
		}
		return res.StatusCode, errors.New(msg)
	}
	return res.StatusCode, nil
}
