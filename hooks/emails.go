package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"pocketshop/internal/mail"
	"pocketshop/internal/shop"

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

// Outbox defaults; OutboxOptions override them.
const (
	DefaultSendInterval     = 15 * time.Second
	DefaultMaxEmailAttempts = 12
	DefaultEmailBackoff     = time.Minute
	DefaultMaxEmailBackoff  = 6 * time.Hour
	DefaultEmailLease       = 5 * time.Minute
	DefaultEmailBatch       = 50
)

// ErrMailNotConfigured is returned by SendDueEmails while PocketBase's SMTP
// settings are off or incomplete. The queued emails wait, and their
// last_error says why.
var ErrMailNotConfigured = errors.New("SMTP is not configured: set it in Dashboard > Settings > Mail settings")

// OutboxOptions tune how the outbox sends. The zero value is valid.
type OutboxOptions struct {
	// Interval is the pause between two passes of the background sender
	// that runs with `serve`. Zero means DefaultSendInterval; a negative
	// value runs no background sender (something else calls SendDueEmails).
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

func (o OutboxOptions) withDefaults() OutboxOptions {
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
func (o OutboxOptions) backoff(attempts int) time.Duration {
	d := o.Backoff
	for i := 1; i < attempts && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// emailHooks queues the shop's emails and, in `serve`, sends them.
type emailHooks struct {
	opts OutboxOptions
	// wake asks the background sender for a pass now, e.g. after an email
	// was queued. It holds at most one request.
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// bindEmailHooks queues an email after each order event and low stock
// crossing is committed, lets the owner retry a failed email from the
// dashboard, and runs the sender in the background of `serve`.
func newEmailHooks(opts OutboxOptions) *emailHooks {
	return &emailHooks{opts: opts.withDefaults(), wake: make(chan struct{}, 1)}
}

func bindEmailHooks(app core.App, h *emailHooks) {
	app.OnRecordCreate("order_events").BindFunc(h.onOrderEvent)
	app.OnRecordAfterCreateSuccess("stock_movements").BindFunc(h.onStockMovement)
	app.OnRecordAfterCreateSuccess("emails").BindFunc(h.onEmailQueued)
	app.OnRecordUpdate("emails").BindFunc(onEmailRequeue)
	if h.opts.Interval > 0 {
		app.OnServe().BindFunc(h.startSender)
		app.OnTerminate().BindFunc(h.stopSender)
	}
}

// onOrderEvent queues the customer's (and on payment the owner's) email for
// an order event, in the transaction that saves the event: the email
// commits with the order change or not at all, so a crash right after the
// commit (kill -9 in bench/) cannot lose a receipt. An email that cannot be
// queued is logged: the order change must not fail because of it.
func (h *emailHooks) onOrderEvent(e *core.RecordEvent) error {
	if err := e.Next(); err != nil {
		return err
	}
	if err := h.queueOrderEmails(e.App, e.Record); err != nil {
		e.App.Logger().Error("Failed to queue order email", "event", e.Record.Id, "error", err)
	}
	return nil
}

func (h *emailHooks) queueOrderEmails(app core.App, ev *core.Record) error {
	order, err := app.FindRecordById("orders", ev.GetString("order"))
	if err != nil {
		return fmt.Errorf("find order of event %s: %w", ev.Id, err)
	}
	settings, err := LoadSettings(app)
	if err != nil {
		return err
	}
	emails, err := orderEmails(app, ev, order, settings)
	if err != nil {
		return err
	}
	for _, m := range emails {
		if _, err := EnqueueEmail(app, m); err != nil {
			return err
		}
	}
	return nil
}

// orderEmails renders the emails (none, one, or the customer's and the
// owner's) that order event ev of order sends.
func orderEmails(app core.App, ev, order *core.Record, settings Settings) ([]Email, error) {
	from, to := ev.GetString("from_status"), ev.GetString("to_status")
	amount := int64(ev.GetInt("amount_cents"))

	var kind, key string
	switch {
	case from == "" && to == shop.StatusPending:
		kind, key = mail.KindOrderPlaced, "placed"
	case from == to && ev.GetString("actor") == shop.ActorStripe &&
		(to == shop.StatusPending || to == shop.StatusExpired || to == shop.StatusCancelled):
		// A payment that failed, or arrived after the order expired: the
		// event's message says what became of it (hooks/payments.go).
		kind, key = mail.KindOrderPaymentUpdate, "payment:"+ev.Id
	case from == to && amount > 0:
		// A partial refund; each one is its own event and its own email.
		kind, key = mail.KindOrderPartiallyRefunded, "refund:"+ev.Id
	case from == to:
		return nil, nil
	case to == shop.StatusPaid:
		kind, key = mail.KindOrderPaid, "paid"
	case to == shop.StatusFulfilled:
		kind, key = mail.KindOrderFulfilled, "fulfilled"
	case to == shop.StatusCancelled:
		kind, key = mail.KindOrderCancelled, "cancelled"
	case to == shop.StatusExpired:
		kind, key = mail.KindOrderExpired, "expired"
	case to == shop.StatusRefunded:
		kind, key = mail.KindOrderRefunded, "refunded"
	default:
		return nil, nil
	}

	data, err := orderEmailData(app, order, settings)
	if err != nil {
		return nil, err
	}
	data.AmountCents = amount
	data.Message = ev.GetString("message")
	if kind == mail.KindOrderRefunded && amount == 0 {
		data.AmountCents = data.Order.RefundedCents
		if data.AmountCents == 0 {
			data.AmountCents = data.Order.TotalCents
		}
	}

	prefix := "order:" + order.Id + ":"
	m, err := renderEmail(kind, data.Order.Email, prefix+key, order.Id, data)
	if err != nil {
		return nil, err
	}
	out := []Email{m}
	if kind == mail.KindOrderPaid && settings.OwnerEmail != "" {
		m, err := renderEmail(mail.KindOwnerOrderPaid, settings.OwnerEmail, prefix+"paid:owner", order.Id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// onStockMovement tells the owner when a product's stock crosses its low
// stock threshold going down: once per crossing, however many orders follow
// while it stays low.
func (h *emailHooks) onStockMovement(e *core.RecordEvent) error {
	if err := h.queueLowStock(e.App, e.Record); err != nil {
		e.App.Logger().Error("Failed to queue low stock email", "movement", e.Record.Id, "error", err)
	}
	return e.Next()
}

func (h *emailHooks) queueLowStock(app core.App, mv *core.Record) error {
	after := mv.GetInt("stock_after")
	before := after - mv.GetInt("delta")
	product, err := app.FindRecordById("products", mv.GetString("product"))
	if err != nil {
		return fmt.Errorf("find product of stock movement %s: %w", mv.Id, err)
	}
	threshold := product.GetInt("low_stock_threshold")
	if !(after <= threshold && threshold < before) {
		return nil
	}
	settings, err := LoadSettings(app)
	if err != nil {
		return err
	}
	if settings.OwnerEmail == "" {
		return nil
	}
	data := mail.Data{
		ShopName: settings.ShopName,
		Product: mail.Product{
			ID: product.Id, Name: product.GetString("name"), SKU: product.GetString("sku"),
			Stock: after, Threshold: threshold,
		},
		DashboardURL: appURL(app) + "/_/",
	}
	m, err := renderEmail(mail.KindLowStock, settings.OwnerEmail, "low_stock:"+product.Id+":"+mv.Id, "", data)
	if err != nil {
		return err
	}
	_, err = EnqueueEmail(app, m)
	return err
}

// renderEmail renders an email for the outbox.
func renderEmail(kind, to, dedupeKey, orderID string, data mail.Data) (Email, error) {
	m, err := mail.Render(kind, data)
	if err != nil {
		return Email{}, err
	}
	return Email{
		To: to, Subject: m.Subject, Kind: kind, OrderID: orderID,
		DedupeKey: dedupeKey, HTML: m.HTML, Text: m.Text,
	}, nil
}

// onEmailQueued wakes the background sender once a queued email is
// committed (before, it could not see it), whoever queued it: a record
// save or the group-commit writer. Without SMTP settings a pass only notes
// that on the queued emails, a write for every email queued (bench/ saw
// it): the next tick does it.
func (h *emailHooks) onEmailQueued(e *core.RecordEvent) error {
	if e.Record.GetString("status") == emailQueued {
		if _, ok := smtpConfig(e.App, 0); ok {
			h.wakeSender()
		}
	}
	return e.Next()
}

// wakeSender asks the background sender for a pass now.
func (h *emailHooks) wakeSender() {
	select {
	case h.wake <- struct{}{}:
	default: // a pass is already requested
	}
}

// orderEmailData collects what the order emails show.
func orderEmailData(app core.App, order *core.Record, settings Settings) (mail.Data, error) {
	lines, err := OrderLines(order)
	if err != nil {
		return mail.Data{}, err
	}
	var addr map[string]string
	if err := order.UnmarshalJSONField("shipping_address", &addr); err != nil {
		return mail.Data{}, fmt.Errorf("decode address of order %s: %w", order.Id, err)
	}
	currency := order.GetString("currency")
	if currency == "" {
		currency = settings.Currency
	}
	base := appURL(app)
	return mail.Data{
		ShopName: settings.ShopName,
		Order: mail.Order{
			ID:            order.Id,
			Number:        order.GetInt("number"),
			Email:         order.GetString("email"),
			PaymentMethod: order.GetString("payment_method"),
			Address: mail.Address{
				Name: addr["name"], Line1: addr["line1"], Line2: addr["line2"],
				City: addr["city"], PostalCode: addr["postal_code"], Country: addr["country"],
			},
			Note:           order.GetString("note"),
			Lines:          lines,
			SubtotalCents:  int64(order.GetInt("subtotal_cents")),
			ShippingCents:  int64(order.GetInt("shipping_cents")),
			TotalCents:     int64(order.GetInt("total_cents")),
			RefundedCents:  int64(order.GetInt("refunded_cents")),
			Currency:       currency,
			TrackingNumber: order.GetString("tracking_number"),
			URL: base + "/order.html?id=" + url.QueryEscape(order.Id) +
				"&token=" + url.QueryEscape(order.GetString("token")),
		},
		PaymentInstructions: settings.ManualPaymentInstructions,
		DashboardURL:        base + "/_/",
	}, nil
}

func appURL(app core.App) string {
	return strings.TrimRight(app.Settings().Meta.AppURL, "/")
}

// onEmailRequeue gives an email the owner sets back to "queued" in the
// dashboard a fresh set of attempts, due now.
func onEmailRequeue(e *core.RecordEvent) error {
	if e.Record.GetString("status") == emailQueued && e.Record.Original().GetString("status") != emailQueued {
		e.Record.Set("attempts", 0)
		e.Record.Set("next_attempt_at", "")
		e.Record.Set("lease_until", "")
	}
	return e.Next()
}

// SendDueEmails sends the queued emails that are due, one at a time, and
// returns how many it sent. Each email is first claimed with a lease, so
// that any number of concurrent passes (or a pass after a crash) send it
// once. A failed attempt is retried with exponential backoff; a permanent
// failure, or the last attempt, marks it failed. A cancelled ctx stops the
// pass after the email in flight. With SMTP not configured it sends nothing,
// records why on the queued emails and returns ErrMailNotConfigured.
func SendDueEmails(ctx context.Context, app core.App, opts OutboxOptions) (int, error) {
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
func sendEmail(ctx context.Context, app core.App, sender *mail.Sender, id string, opts OutboxOptions) (bool, error) {
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

// startSender runs SendDueEmails in the background while the app serves:
// every Interval, and as soon as an email is queued.
func (h *emailHooks) startSender(se *core.ServeEvent) error {
	if h.stop != nil {
		return se.Next() // already running
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		ticker := time.NewTicker(h.opts.Interval)
		defer ticker.Stop()
		for {
			_, err := SendDueEmails(ctx, se.App, h.opts)
			if err != nil && !errors.Is(err, ErrMailNotConfigured) {
				se.App.Logger().Error("Failed to send emails", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			case <-h.wake:
			}
		}
	}()
	return se.Next()
}

// stopSender stops the background sender and waits for the email in flight.
func (h *emailHooks) stopSender(e *core.TerminateEvent) error {
	if h.stop != nil {
		h.stop()
		<-h.done
		h.stop = nil
	}
	return e.Next()
}

func dateString(t time.Time) string {
	d, _ := types.ParseDateTime(t.UTC())
	return d.String()
}
