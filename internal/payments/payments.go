// Package payments is pocketshop's Stripe adapter. It speaks Stripe's API
// through stripe-go and hands the shop small types of its own, so that the
// rest of the shop never sees a Stripe type (or Stripe's API version).
//
// It reads no environment variables: the caller passes a Config.
package payments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

// APIVersion is the Stripe API version the shop's requests use and the
// version its webhook endpoint should be created with (see ParseEvent).
const APIVersion = stripe.APIVersion

// Config says how to reach Stripe.
type Config struct {
	// SecretKey is the account's secret API key (sk_...). Without it
	// payments are not configured.
	SecretKey string
	// WebhookSecret is the signing secret of the shop's webhook endpoint
	// (whsec_...). Without it no webhook can be verified.
	WebhookSecret string
	// APIBase, when set, sends every API request to this base URL instead
	// of https://api.stripe.com (stripe-mock in tests).
	APIBase string
}

// Enabled reports whether a secret key is set.
func (c Config) Enabled() bool { return c.SecretKey != "" }

// Provider is what the shop needs from a payment provider.
type Provider interface {
	CreateCheckoutSession(ctx context.Context, req CheckoutRequest) (Session, error)
	GetSession(ctx context.Context, id string) (Session, error)
	ExpireSession(ctx context.Context, id string) error
	Refund(ctx context.Context, req RefundRequest) (Refund, error)
	FailedEvents(ctx context.Context, since time.Time) ([]Event, error)
	ParseEvent(payload []byte, signatureHeader string) (Event, error)
	VerifiesWebhooks() bool
}

// Checkout Session statuses and payment statuses, as Stripe names them.
const (
	SessionOpen     = "open"
	SessionComplete = "complete"
	SessionExpired  = "expired"

	PaymentPaid              = "paid"
	PaymentUnpaid            = "unpaid"
	PaymentNoPaymentRequired = "no_payment_required"
)

// Event types the shop acts on.
const (
	EventSessionCompleted      = "checkout.session.completed"
	EventSessionAsyncSucceeded = "checkout.session.async_payment_succeeded"
	EventSessionAsyncFailed    = "checkout.session.async_payment_failed"
	EventSessionExpired        = "checkout.session.expired"
	EventChargeRefunded        = "charge.refunded"
)

// HandledEventTypes lists the event types the shop acts on; the webhook
// endpoint in Stripe needs only these.
var HandledEventTypes = []string{
	EventSessionCompleted, EventSessionAsyncSucceeded, EventSessionAsyncFailed,
	EventSessionExpired, EventChargeRefunded,
}

// LineItem is one line of a checkout, in the currency's minor unit.
type LineItem struct {
	Name       string
	UnitAmount int64
	Quantity   int64
}

// CheckoutRequest describes a Checkout Session for one order.
type CheckoutRequest struct {
	OrderID        string
	Email          string
	Currency       string
	Lines          []LineItem
	SuccessURL     string
	CancelURL      string
	ExpiresAt      time.Time
	IdempotencyKey string
}

// Session is the part of a Checkout Session the shop uses.
type Session struct {
	ID            string
	URL           string
	Status        string // SessionOpen, SessionComplete, SessionExpired
	PaymentStatus string // PaymentPaid, PaymentUnpaid, PaymentNoPaymentRequired
	PaymentIntent string
	AmountTotal   int64
	Currency      string
	// OrderID is the session's client_reference_id (or metadata.order_id).
	OrderID string
}

// Paid reports whether the session's money has arrived.
func (s Session) Paid() bool {
	return s.PaymentStatus == PaymentPaid || s.PaymentStatus == PaymentNoPaymentRequired
}

// Charge is the part of a charge the shop uses.
type Charge struct {
	ID            string
	PaymentIntent string
	Amount        int64
	// AmountRefunded is the total refunded so far, not this refund's amount:
	// refund events that arrive out of order still leave the right total.
	AmountRefunded int64
	Currency       string
	OrderID        string // metadata.order_id, when Stripe copied it
}

// Event is a Stripe event, decoded into the object the shop needs.
type Event struct {
	ID         string
	Type       string
	APIVersion string
	Created    time.Time
	Session    *Session // checkout.session.* events
	Charge     *Charge  // charge.* events
}

// RefundRequest refunds part or all of a payment.
type RefundRequest struct {
	PaymentIntent  string
	AmountCents    int64
	OrderID        string
	IdempotencyKey string
}

// Refund is a refund Stripe accepted.
type Refund struct {
	ID          string
	AmountCents int64
	Status      string
}

// Error is Stripe's answer to a request it refused, with its message.
type Error struct {
	HTTPStatus int
	Code       string
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("stripe: %s (status %d, code %q)", e.Message, e.HTTPStatus, e.Code)
}

// ErrInvalidSignature is returned by ParseEvent for a payload that Stripe
// did not sign with the webhook secret, or signed too long ago.
var ErrInvalidSignature = errors.New("invalid or expired webhook signature")

// Stripe is the Provider backed by Stripe's API.
type Stripe struct {
	api           *client.API
	webhookSecret string
}

var _ Provider = (*Stripe)(nil)

// New returns a Stripe client for cfg. It keeps its own backends, so that
// clients with different configs can live in one process (tests).
func New(cfg Config) *Stripe {
	backendCfg := &stripe.BackendConfig{
		// Errors are returned to the shop, which reports them itself.
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(2),
	}
	if cfg.APIBase != "" {
		backendCfg.URL = stripe.String(strings.TrimRight(cfg.APIBase, "/"))
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, backendCfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, backendCfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, backendCfg),
	}
	api := &client.API{}
	api.Init(cfg.SecretKey, backends)
	return &Stripe{api: api, webhookSecret: cfg.WebhookSecret}
}

// CreateCheckoutSession creates a one-off payment Checkout Session. The
// order id goes in client_reference_id and in the metadata of the session
// and of its PaymentIntent, so that every later event leads back to it.
func (s *Stripe) CreateCheckoutSession(ctx context.Context, req CheckoutRequest) (Session, error) {
	meta := map[string]string{"order_id": req.OrderID}
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(req.OrderID),
		Metadata:          meta,
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta},
		SuccessURL:        stripe.String(req.SuccessURL),
		CancelURL:         stripe.String(req.CancelURL),
		ExpiresAt:         stripe.Int64(req.ExpiresAt.Unix()),
	}
	if req.Email != "" {
		p.CustomerEmail = stripe.String(req.Email)
	}
	for _, l := range req.Lines {
		p.LineItems = append(p.LineItems, &stripe.CheckoutSessionLineItemParams{
			Quantity: stripe.Int64(l.Quantity),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(req.Currency),
				UnitAmount:  stripe.Int64(l.UnitAmount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(l.Name)},
			},
		})
	}
	p.Context = ctx
	p.SetIdempotencyKey(req.IdempotencyKey)
	cs, err := s.api.CheckoutSessions.New(p)
	if err != nil {
		return Session{}, fmt.Errorf("create checkout session for order %s: %w", req.OrderID, stripeError(err))
	}
	return sessionFrom(cs), nil
}

// GetSession retrieves a Checkout Session.
func (s *Stripe) GetSession(ctx context.Context, id string) (Session, error) {
	p := &stripe.CheckoutSessionParams{}
	p.Context = ctx
	cs, err := s.api.CheckoutSessions.Get(id, p)
	if err != nil {
		return Session{}, fmt.Errorf("retrieve checkout session %s: %w", id, stripeError(err))
	}
	return sessionFrom(cs), nil
}

// ExpireSession expires an open Checkout Session, so that nobody can pay it.
func (s *Stripe) ExpireSession(ctx context.Context, id string) error {
	p := &stripe.CheckoutSessionExpireParams{}
	p.Context = ctx
	p.SetIdempotencyKey("expire-" + id)
	if _, err := s.api.CheckoutSessions.Expire(id, p); err != nil {
		return fmt.Errorf("expire checkout session %s: %w", id, stripeError(err))
	}
	return nil
}

// Refund refunds AmountCents of a PaymentIntent.
func (s *Stripe) Refund(ctx context.Context, req RefundRequest) (Refund, error) {
	p := &stripe.RefundParams{
		PaymentIntent: stripe.String(req.PaymentIntent),
		Amount:        stripe.Int64(req.AmountCents),
		Metadata:      map[string]string{"order_id": req.OrderID},
	}
	p.Context = ctx
	p.SetIdempotencyKey(req.IdempotencyKey)
	r, err := s.api.Refunds.New(p)
	if err != nil {
		return Refund{}, fmt.Errorf("refund order %s: %w", req.OrderID, stripeError(err))
	}
	return Refund{ID: r.ID, AmountCents: r.Amount, Status: string(r.Status)}, nil
}

// FailedEvents lists the events of the handled types created since `since`
// whose delivery to a webhook endpoint has not succeeded (yet), oldest first.
func (s *Stripe) FailedEvents(ctx context.Context, since time.Time) ([]Event, error) {
	p := &stripe.EventListParams{
		DeliverySuccess: stripe.Bool(false),
		CreatedRange:    &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()},
	}
	for _, t := range HandledEventTypes {
		p.Types = append(p.Types, stripe.String(t))
	}
	p.Context = ctx
	var out []Event
	it := s.api.Events.List(p)
	for it.Next() {
		ev, err := eventFrom(it.Event())
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("list failed events: %w", stripeError(err))
	}
	// Stripe lists newest first; process in the order they happened.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// VerifiesWebhooks reports whether a webhook secret is set.
func (s *Stripe) VerifiesWebhooks() bool { return s.webhookSecret != "" }

// ParseEvent verifies a webhook's Stripe-Signature header against the
// webhook secret (rejecting signatures older than stripe-go's 5 minute
// tolerance) and decodes the event.
//
// Events rendered with another API version than APIVersion are accepted
// (IgnoreAPIVersionMismatch): the shop decodes only the few fields it needs
// (ids, statuses, amounts, currency, metadata), which are the same in every
// API version since 2020, and rejecting them would make Stripe retry and
// finally disable the endpoint after an account upgrade. Create the
// endpoint with APIVersion all the same, so payloads match what stripe-go
// expects.
func (s *Stripe) ParseEvent(payload []byte, signatureHeader string) (Event, error) {
	return parseWebhook(payload, signatureHeader, s.webhookSecret)
}

// parseWebhook verifies and decodes a webhook signed with secret (see
// Stripe.ParseEvent).
func parseWebhook(payload []byte, signatureHeader, secret string) (Event, error) {
	if secret == "" {
		return Event{}, errors.New("no webhook secret is configured")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, signatureHeader, secret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		if errors.Is(err, webhook.ErrNotSigned) || errors.Is(err, webhook.ErrInvalidHeader) ||
			errors.Is(err, webhook.ErrNoValidSignature) || errors.Is(err, webhook.ErrTooOld) {
			return Event{}, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
		}
		return Event{}, fmt.Errorf("decode webhook event: %w", err)
	}
	// stripe-go refuses signatures older than its tolerance only: one
	// dated ahead (a replay prepared with a leaked secret, or a broken
	// clock) is refused here with the same tolerance.
	if at, ok := signedAt(signatureHeader); !ok || at.After(time.Now().Add(webhook.DefaultTolerance)) {
		return Event{}, fmt.Errorf("%w: signed at a time more than %v ahead", ErrInvalidSignature, webhook.DefaultTolerance)
	}
	if ev.ID == "" {
		return Event{}, errors.New("the event has no id")
	}
	return eventFrom(&ev)
}

// signedAt reads the timestamp (t=) of a Stripe-Signature header.
func signedAt(header string) (time.Time, bool) {
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(sec, 0), err == nil
		}
	}
	return time.Time{}, false
}

// eventFrom decodes the event's object into the shop's types.
func eventFrom(ev *stripe.Event) (Event, error) {
	out := Event{ID: ev.ID, Type: string(ev.Type), APIVersion: ev.APIVersion, Created: time.Unix(ev.Created, 0).UTC()}
	if ev.Data == nil {
		return out, nil
	}
	var err error
	switch {
	case strings.HasPrefix(out.Type, "checkout.session."):
		var obj sessionJSON
		err = json.Unmarshal(ev.Data.Raw, &obj)
		s := obj.session()
		out.Session = &s
	case strings.HasPrefix(out.Type, "charge."):
		var obj chargeJSON
		err = json.Unmarshal(ev.Data.Raw, &obj)
		out.Charge = &Charge{
			ID: obj.ID, PaymentIntent: obj.PaymentIntent.ID, Amount: obj.Amount,
			AmountRefunded: obj.AmountRefunded, Currency: obj.Currency, OrderID: obj.Metadata["order_id"],
		}
	}
	if err != nil {
		return Event{}, fmt.Errorf("decode %s event %s: %w", out.Type, out.ID, err)
	}
	return out, nil
}

// expandable is an id that Stripe may send as a string or, expanded, as an
// object with an id.
type expandable struct{ ID string }

func (x *expandable) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		x.ID = obj.ID
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &x.ID)
}

type sessionJSON struct {
	ID                string            `json:"id"`
	URL               string            `json:"url"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"payment_status"`
	PaymentIntent     expandable        `json:"payment_intent"`
	AmountTotal       int64             `json:"amount_total"`
	Currency          string            `json:"currency"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
}

func (j sessionJSON) session() Session {
	orderID := j.ClientReferenceID
	if orderID == "" {
		orderID = j.Metadata["order_id"]
	}
	return Session{
		ID: j.ID, URL: j.URL, Status: j.Status, PaymentStatus: j.PaymentStatus,
		PaymentIntent: j.PaymentIntent.ID, AmountTotal: j.AmountTotal,
		Currency: strings.ToLower(j.Currency), OrderID: orderID,
	}
}

type chargeJSON struct {
	ID             string            `json:"id"`
	PaymentIntent  expandable        `json:"payment_intent"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	Metadata       map[string]string `json:"metadata"`
}

func sessionFrom(cs *stripe.CheckoutSession) Session {
	s := Session{
		ID: cs.ID, URL: cs.URL, Status: string(cs.Status), PaymentStatus: string(cs.PaymentStatus),
		AmountTotal: cs.AmountTotal, Currency: strings.ToLower(string(cs.Currency)),
		OrderID: cs.ClientReferenceID,
	}
	if s.OrderID == "" {
		s.OrderID = cs.Metadata["order_id"]
	}
	if cs.PaymentIntent != nil {
		s.PaymentIntent = cs.PaymentIntent.ID
	}
	return s
}

// stripeError turns Stripe's refusal into an *Error carrying its message.
func stripeError(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return &Error{HTTPStatus: se.HTTPStatusCode, Code: string(se.Code), Message: se.Msg}
	}
	return err
}
