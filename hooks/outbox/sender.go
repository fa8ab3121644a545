package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"pocketshop/hooks/queue"
	"pocketshop/internal/mail"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
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

// queue is the emails table as a queue (hooks/queue) with these options.
func (o Options) queue() queue.Queue {
	return queue.Queue{
		Table: "emails", SentField: "sent_at",
		Backoff: o.Backoff, MaxBackoff: o.MaxBackoff, MaxAttempts: o.MaxAttempts,
		Lease: o.Lease, Batch: o.Batch, Now: o.Now,
	}
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
			dbx.And(dbx.HashExp{"status": queue.Queued}, dbx.Not(dbx.HashExp{"last_error": ErrMailNotConfigured.Error()})),
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
	q := opts.queue()
	return q.Drain(ctx, app, 1, func(ctx context.Context, id string) (bool, error) {
		// The owner may change the mail settings while a pass is under way
		// (typically because the server hangs): every attempt uses the
		// settings as they are now.
		now, ok := smtpConfig(app, opts.Timeout)
		if !ok {
			return false, ErrMailNotConfigured
		}
		if now != cfg {
			if sender, err = mail.NewSender(now); err != nil {
				return false, err
			}
			cfg = now
		}
		return sendEmail(ctx, app, q, sender, id)
	})
}

// sendEmail claims, sends and records one email. It reports whether this
// call sent it; an error is a failure of the database, not of SMTP.
func sendEmail(ctx context.Context, app core.App, q queue.Queue, sender *mail.Sender, id string) (bool, error) {
	claim, err := q.Claim(app, id)
	if err != nil || claim == nil {
		return false, err
	}
	email, err := app.FindRecordById("emails", id)
	if err != nil {
		return false, fmt.Errorf("load email %s: %w", id, err)
	}

	sendCtx, cancel := claim.Context(ctx)
	sendErr := sender.Send(sendCtx, email.GetString("to"), mail.Message{
		ID:      messageID(email.Id, app.Settings().Meta.SenderAddress),
		Subject: email.GetString("subject"), HTML: email.GetString("html"), Text: email.GetString("text"),
	})
	cancel()

	held, err := claim.Finish(app, queue.Result{Err: sendErr, Permanent: mail.IsPermanent(sendErr)})
	if err != nil {
		return false, err
	}
	if !held {
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
