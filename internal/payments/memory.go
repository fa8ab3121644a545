package payments

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Memory is a Provider that keeps its sessions, refunds and events in
// memory, for the shop's unit tests: a test sets what "Stripe" knows
// (SetSession, AddFailedEvent), makes it refuse (RefuseRefunds) and watches
// what the shop asked (Refunds, Expired). Webhooks are verified with the
// same signature check as Stripe's, so tests sign events as Stripe does.
// The Stripe adapter itself is tested against stripe-mock.
type Memory struct {
	webhookSecret string
	expired       chan string

	mu          sync.Mutex
	sessions    map[string]Session
	byKey       map[string]string // idempotency key -> session id
	events      []Event
	refunds     []RefundRequest
	refuseWith  string
	beforeReply func()
}

var _ Provider = (*Memory)(nil)

// NewMemory returns an empty Memory whose webhooks are signed with
// webhookSecret ("" verifies none).
func NewMemory(webhookSecret string) *Memory {
	return &Memory{
		webhookSecret: webhookSecret,
		expired:       make(chan string, 16),
		sessions:      map[string]Session{},
		byKey:         map[string]string{},
	}
}

// SetSession makes a Checkout Session known, as Stripe would report it.
func (m *Memory) SetSession(s Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.ID] = s
}

// AddFailedEvent adds an event Stripe could not deliver.
func (m *Memory) AddFailedEvent(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append([]Event{ev}, m.events...) // Stripe lists newest first
}

// RefuseRefunds makes every later refund fail as Stripe refuses one (400)
// with message.
func (m *Memory) RefuseRefunds(message string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuseWith = message
}

// BeforeRefund runs f while a refund call waits for its answer (f must not
// call m).
func (m *Memory) BeforeRefund(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.beforeReply = f
}

// Refunds returns the refunds made so far.
func (m *Memory) Refunds() []RefundRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]RefundRequest(nil), m.refunds...)
}

// Expired receives the id of every session the shop expires.
func (m *Memory) Expired() <-chan string { return m.expired }

// CreateCheckoutSession opens a session for req; the same idempotency key
// gets the same session.
func (m *Memory) CreateCheckoutSession(_ context.Context, req CheckoutRequest) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.byKey[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
		return m.sessions[id], nil
	}
	var total int64
	for _, l := range req.Lines {
		total += l.UnitAmount * l.Quantity
	}
	id := fmt.Sprintf("cs_mem_%d", len(m.sessions)+1)
	s := Session{
		ID: id, URL: "https://checkout.stripe.test/" + id, Status: SessionOpen, PaymentStatus: PaymentUnpaid,
		AmountTotal: total, Currency: req.Currency, OrderID: req.OrderID,
	}
	m.sessions[id] = s
	m.byKey[req.IdempotencyKey] = id
	return s, nil
}

// GetSession returns a known session; an unknown one is refused with 404,
// as Stripe does.
func (m *Memory) GetSession(_ context.Context, id string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return Session{}, &Error{HTTPStatus: http.StatusNotFound, Code: "resource_missing",
			Message: "No such checkout.session: '" + id + "'"}
	}
	return s, nil
}

// ExpireSession marks the session expired and reports it on Expired.
func (m *Memory) ExpireSession(_ context.Context, id string) error {
	m.mu.Lock()
	if s, ok := m.sessions[id]; ok {
		s.Status = SessionExpired
		m.sessions[id] = s
	}
	m.mu.Unlock()
	select {
	case m.expired <- id:
	default: // nobody is watching
	}
	return nil
}

// Refund records req, or refuses it (RefuseRefunds).
func (m *Memory) Refund(_ context.Context, req RefundRequest) (Refund, error) {
	m.mu.Lock()
	before, refuse := m.beforeReply, m.refuseWith
	m.mu.Unlock()
	if before != nil {
		before()
	}
	if refuse != "" {
		return Refund{}, &Error{HTTPStatus: http.StatusBadRequest, Code: "charge_already_refunded", Message: refuse}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refunds = append(m.refunds, req)
	return Refund{ID: fmt.Sprintf("re_mem_%d", len(m.refunds)), AmountCents: req.AmountCents, Status: "succeeded"}, nil
}

// FailedEvents returns the events added with AddFailedEvent since since.
func (m *Memory) FailedEvents(_ context.Context, since time.Time) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, ev := range m.events {
		if ev.Created.IsZero() || !ev.Created.Before(since) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// ParseEvent verifies a webhook as Stripe.ParseEvent does.
func (m *Memory) ParseEvent(payload []byte, signatureHeader string) (Event, error) {
	return parseWebhook(payload, signatureHeader, m.webhookSecret)
}

// VerifiesWebhooks reports whether a webhook secret is set.
func (m *Memory) VerifiesWebhooks() bool { return m.webhookSecret != "" }
