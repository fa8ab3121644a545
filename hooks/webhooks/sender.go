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
	q := m.opts.queue()
	return q.Drain(ctx, app, m.opts.Parallel, func(ctx context.Context, id string) (bool, error) {
		return m.send(ctx, app, q, id)
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

// send claims, posts and records one delivery. It reports whether this
// call delivered it; an error is a failure of the database, not of the
// receiver.
func (m *Manager) send(ctx context.Context, app core.App, q queue.Queue, id string) (bool, error) {
	claim, err := q.Claim(app, id)
	if err != nil || claim == nil {
		return false, err
	}
	var d outgoing
	err = app.DB().NewQuery(`SELECT d.[[event]], d.[[event_id]], d.[[payload]], d.[[retry_until]], e.[[url]], e.[[secret]], e.[[active]]
		FROM {{webhook_deliveries}} d JOIN {{webhook_endpoints}} e ON e.[[id]] = d.[[endpoint]]
		WHERE d.[[id]] = {:id}`).Bind(dbx.Params{"id": id}).One(&d)
	if err != nil {
		return false, fmt.Errorf("load webhook delivery %s: %w", id, err)
	}

	result := queue.Result{Deadline: d.RetryUntil.Time()}
	if !d.Active {
		result.Err, result.Permanent = errInactive, true
	} else {
		postCtx, cancel := claim.Context(ctx)
		status, err := m.post(postCtx, d)
		cancel()
		result.Err = err
		result.Fields = dbx.Params{"response_status": status}
	}
	held, err := claim.Finish(app, result)
	if err != nil {
		return false, err
	}
	if !held {
		app.Logger().Warn("Webhook lease ran out while sending; another sender may send it again", "delivery", id)
	}
	return result.Err == nil, nil
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
