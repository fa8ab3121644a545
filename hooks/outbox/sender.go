package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"pocketshop/internal/mail"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Email statuses, as stored in emails.status.
const (
	emailQueued = "queued"
	emailSent   = "sent"
	emailFailed = "failed"
)

// Outbox defaults; Options override them.
const (
	DefaultSendInterval     = 15 * time.Second
	DefaultMaxEmailAttempts = 12
	DefaultEmailBackoff     = time.Minute
	DefaultMaxEmailBackoff  = 6 * time.Hour
	DefaultEmailLease       = 5 * time.Minute
	DefaultEmailBatch       = 50
)

// ErrMailNotConfigured is returned by SendDue while PocketBase's SMTP
// settings are off or incomplete. The queued emails wait, and their
// last_error says why.
var ErrMailNotConfigured = errors.New("SMTP is not configured: set it in Dashboard > Settings > Mail settings")

// Options tune how the outbox sends. The zero value is valid.
type Options struct {
	// Interval is the pause between two passes of the background sender
	// that runs with `serve`. Zero means DefaultSendInterval; a negative
	// value runs no background sender (something else calls SendDue).
	Interval time.Duration
	// MaxAttempts is how many times an email is tried before it is failed.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles with each
	// failed attempt, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Lease is how long a sender owns an email it is sending. It must be
	// longer than one SMTP conversation (see Timeout).
	Lease time.Duration
	// Timeout bounds each step of the SMTP conversation (mail.DefaultTimeout
	// when zero).
	Timeout time.Duration
	// Batch is how many due emails one query of a pass picks up.
	Batch int
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Interval == 0 {
		o.Interval = DefaultSendInterval
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxEmailAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultEmailBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxEmailBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = mail.DefaultTimeout
	}
	if o.Lease <= 0 {
		o.Lease = DefaultEmailLease
	}
	if o.Batch <= 0 {
		o.Batch = DefaultEmailBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// backoff is the wait after the given number of failed attempts.
func (o Options) backoff(attempts int) time.Duration {
	d := o.Backoff
	for i := 1; i < attempts && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// SendDue sends the queued emails that are due, one at a time, and
// returns how many it sent. Each email is first claimed with a lease, so
// that any number of concurrent passes (or a pass after a crash) send it
// once. A failed attempt is retried with exponential backoff; a permanent
// failure, or the last attempt, marks it failed. A cancelled ctx stops the
// pass after the email in flight. With SMTP not configured it sends nothing,
// records why on the queued emails and returns ErrMailNotConfigured.
func SendDue(ctx context.Context, app core.App, opts Options) (int, error) {
	opts = opts.withDefaults()
	cfg, ok := smtpConfig(app, opts.Timeout)
	if !ok {
		_, err := app.DB().Update("emails",
			dbx.Params{"last_error": ErrMailNotConfigured.Error()},
			dbx.And(dbx.HashExp{"status": emailQueued}, dbx.Not(dbx.HashExp{"last_error": ErrMailNotConfigured.Error()})),
		).Execute()
		if err != nil {
			return 0, fmt.Errorf("note missing SMTP settings on queued emails: %w", err)
		}
		return 0, ErrMailNotConfigured
	}
	sender, err := mail.NewSender(cfg)
	if err != nil {
		return 0, err
	}

	sent := 0
	for {
		ids, err := dueEmails(app, opts.Now(), opts.Batch)
		if err != nil || len(ids) == 0 {
			return sent, err
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return sent, nil
			}
			// The owner may change the mail settings while a pass is
			// under way (typically because the server hangs): every
			// attempt uses the settings as they are now.
			now, ok := smtpConfig(app, opts.Timeout)
			if !ok {
				return sent, ErrMailNotConfigured
			}
			if now != cfg {
				if sender, err = mail.NewSender(now); err != nil {
					return sent, err
				}
				cfg = now
			}
			ok, err := sendEmail(ctx, app, sender, id, opts)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
	}
}

// dueEmails lists queued emails whose time has come and that no sender
// holds, oldest first.
func dueEmails(app core.App, now time.Time, limit int) ([]string, error) {
	var ids []string
	err := app.DB().Select("id").From("emails").
		Where(dbx.NewExp(dueCondition, dbx.Params{"queued": emailQueued, "now": dateString(now)})).
		OrderBy("created ASC", "id ASC").
		Limit(int64(limit)).
		Column(&ids)
	if err != nil {
		return nil, fmt.Errorf("list due emails: %w", err)
	}
	return ids, nil
}

// dueCondition matches queued emails whose time has come ({:now}) and that
// no sender holds.
const dueCondition = "[[status]] = {:queued} AND ([[next_attempt_at]] = '' OR [[next_attempt_at]] <= {:now}) AND ([[lease_until]] = '' OR [[lease_until]] <= {:now})"

// sendEmail claims, sends and records one email. It reports whether this
// call sent it; an error is a failure of the database, not of SMTP.
func sendEmail(ctx context.Context, app core.App, sender *mail.Sender, id string, opts Options) (bool, error) {
	now := opts.Now().UTC()
	lease := dateString(now.Add(opts.Lease))

	// The claim: one conditional UPDATE, so that of several senders exactly
	// one moves the email under its lease. It counts the attempt now, so
	// that an email that crashes its sender still runs out of attempts.
	res, err := app.DB().NewQuery("UPDATE {{emails}} SET [[lease_until]] = {:lease}, [[attempts]] = [[attempts]] + 1, [[updated]] = {:updated} WHERE [[id]] = {:id} AND " + dueCondition).
		Bind(dbx.Params{"lease": lease, "updated": dateString(now), "id": id, "queued": emailQueued, "now": dateString(now)}).
		Execute()
	if err != nil {
		return false, fmt.Errorf("claim email %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil // another sender has it, or it is no longer due
	}

	email, err := app.FindRecordById("emails", id)
	if err != nil {
		return false, fmt.Errorf("load email %s: %w", id, err)
	}

	// Finish the conversation even if ctx is cancelled (shutdown), but
	// never past the lease.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.Lease/2)
	sendErr := sender.Send(sendCtx, email.GetString("to"), mail.Message{
		ID:      messageID(email.Id, app.Settings().Meta.SenderAddress),
		Subject: email.GetString("subject"), HTML: email.GetString("html"), Text: email.GetString("text"),
	})
	cancel()

	done := opts.Now().UTC()
	params := dbx.Params{"lease_until": "", "updated": dateString(done)}
	switch attempts := email.GetInt("attempts"); {
	case sendErr == nil:
		params["status"] = emailSent
		params["sent_at"] = dateString(done)
		params["last_error"] = ""
		params["next_attempt_at"] = ""
	case mail.IsPermanent(sendErr) || attempts >= opts.MaxAttempts:
		params["status"] = emailFailed
		params["last_error"] = errorText(attempts, sendErr)
		params["next_attempt_at"] = ""
	default:
		params["last_error"] = errorText(attempts, sendErr)
		params["next_attempt_at"] = dateString(done.Add(opts.backoff(attempts)))
	}
	res, err = app.DB().Update("emails", params, dbx.HashExp{"id": id, "lease_until": lease}).Execute()
	if err != nil {
		return false, fmt.Errorf("record result of email %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		app.Logger().Warn("Email lease ran out while sending; another sender may send it again", "email", id)
	}
	return sendErr == nil, nil
}

// messageID is the same for every attempt at one outbox email.
func messageID(emailID, senderAddress string) string {
	domain := "pocketshop.local"
	if at := strings.LastIndexByte(senderAddress, '@'); at >= 0 && at < len(senderAddress)-1 {
		domain = senderAddress[at+1:]
	}
	return "email." + emailID + "@" + domain
}

func errorText(attempt int, err error) string {
	s := fmt.Sprintf("attempt %d: %v", attempt, err)
	if len(s) > 5000 {
		s = s[:5000]
	}
	return s
}

// smtpConfig reads PocketBase's mail settings (Dashboard > Settings > Mail
// settings). It reports false when SMTP is off or has no host.
func smtpConfig(app core.App, timeout time.Duration) (mail.Config, bool) {
	s := app.Settings()
	if !s.SMTP.Enabled || s.SMTP.Host == "" || s.Meta.SenderAddress == "" {
		return mail.Config{}, false
	}
	tls := mail.TLSStartTLS
	if s.SMTP.TLS {
		tls = mail.TLSImplicit
	}
	return mail.Config{
		Host: s.SMTP.Host, Port: s.SMTP.Port,
		Username: s.SMTP.Username, Password: s.SMTP.Password, AuthMethod: s.SMTP.AuthMethod,
		TLS: tls, LocalName: s.SMTP.LocalName,
		FromAddress: s.Meta.SenderAddress, FromName: s.Meta.SenderName,
		Timeout: timeout,
	}, true
}

// startSender runs SendDue in the background while the app serves:
// every Interval, and as soon as an email is queued.
func (m *Manager) startSender(se *core.ServeEvent) error {
	if m.stop != nil {
		return se.Next() // already running
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stop, m.done = cancel, make(chan struct{})
	go func() {
		defer close(m.done)
		ticker := time.NewTicker(m.opts.Interval)
		defer ticker.Stop()
		for {
			_, err := SendDue(ctx, se.App, m.opts)
			if err != nil && !errors.Is(err, ErrMailNotConfigured) {
				se.App.Logger().Error("Failed to send emails", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			case <-m.wake:
			}
		}
	}()
	return se.Next()
}

// stopSender stops the background sender and waits for the email in flight.
func (m *Manager) stopSender(e *core.TerminateEvent) error {
	if m.stop != nil {
		m.stop()
		<-m.done
		m.stop = nil
	}
	return e.Next()
}

func dateString(t time.Time) string {
	d, _ := types.ParseDateTime(t.UTC())
	return d.String()
}
