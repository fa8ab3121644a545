package outbox

import (
	"context"
	"fmt"
	"net/url"

	"pocketshop/hooks/orders"
	"pocketshop/hooks/settings"
	"pocketshop/internal/mail"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
)

// Manager queues the shop's emails and, in `serve`, sends them.
type Manager struct {
	app  core.App
	opts Options
	// wake asks the background sender for a pass now, e.g. after an email
	// was queued. It holds at most one request.
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// New returns the outbox component of app, sending as opts say.
func New(app core.App, opts Options) *Manager {
	return &Manager{app: app, opts: opts.withDefaults(), wake: make(chan struct{}, 1)}
}

// Bind queues an email after each order event and low stock crossing is
// committed, lets the owner retry a failed email from the dashboard, and
// runs the sender in the background of `serve`.
func (m *Manager) Bind() {
	m.app.OnRecordCreate("order_events").BindFunc(m.onOrderEvent)
	m.app.OnRecordAfterCreateSuccess("stock_movements").BindFunc(m.onStockMovement)
	m.app.OnRecordAfterCreateSuccess("emails").BindFunc(m.onEmailQueued)
	m.app.OnRecordUpdate("emails").BindFunc(onEmailRequeue)
	if m.opts.Interval > 0 {
		m.app.OnServe().BindFunc(m.startSender)
		m.app.OnTerminate().BindFunc(m.stopSender)
	}
}

// onOrderEvent queues the customer's (and on payment the owner's) email for
// an order event, in the transaction that saves the event: the email
// commits with the order change or not at all, so a crash right after the
// commit (kill -9 in bench/) cannot lose a receipt. An email that cannot be
// queued is logged: the order change must not fail because of it.
func (m *Manager) onOrderEvent(e *core.RecordEvent) error {
	if err := e.Next(); err != nil {
		return err
	}
	if err := m.queueOrderEmails(e.App, e.Record); err != nil {
		e.App.Logger().Error("Failed to queue order email", "event", e.Record.Id, "error", err)
	}
	return nil
}

func (m *Manager) queueOrderEmails(app core.App, ev *core.Record) error {
	order, err := app.FindRecordById("orders", ev.GetString("order"))
	if err != nil {
		return fmt.Errorf("find order of event %s: %w", ev.Id, err)
	}
	emails, err := renderOrderEmails(app, ev, order)
	if err != nil {
		return err
	}
	for _, e := range emails {
		if _, err := Enqueue(app, e); err != nil {
			return err
		}
	}
	return nil
}

// EventEmails renders the outbox rows (not saved) that order event ev of
// order sends, for the writes the group-commit writer makes
// (orders.EventEmails): the same emails onOrderEvent queues for an
// order_events row saved as a record.
func (m *Manager) EventEmails(app core.App, ev, order *core.Record) ([]*core.Record, error) {
	emails, err := renderOrderEmails(app, ev, order)
	if err != nil || len(emails) == 0 {
		return nil, err
	}
	col, err := app.FindCachedCollectionByNameOrId("emails")
	if err != nil {
		return nil, err
	}
	rows := make([]*core.Record, len(emails))
	for i, e := range emails {
		rows[i] = emailRecord(col, e)
	}
	return rows, nil
}

// renderOrderEmails renders the emails (none, the customer's, and on
// payment the owner's too) order event ev of order sends, as
// shop.OrderEmailFor decides.
func renderOrderEmails(app core.App, ev, order *core.Record) ([]Email, error) {
	amount := int64(ev.GetInt("amount_cents"))
	email, ok := shop.OrderEmailFor(shop.OrderEvent{
		ID: ev.Id, From: ev.GetString("from_status"), To: ev.GetString("to_status"),
		Actor: ev.GetString("actor"), AmountCents: amount,
	})
	if !ok {
		return nil, nil
	}
	kind := email.Kind
	s, err := settings.Load(app)
	if err != nil {
		return nil, err
	}
	data, err := orderEmailData(app, order, s)
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
	customer, err := render(kind, data.Order.Email, prefix+email.Key, order.Id, data)
	if err != nil {
		return nil, err
	}
	out := []Email{customer}
	if email.NotifyOwner && s.OwnerEmail != "" {
		owner, err := render(mail.KindOwnerOrderPaid, s.OwnerEmail, prefix+"paid:owner", order.Id, data)
		if err != nil {
			return nil, err
		}
		out = append(out, owner)
	}
	return out, nil
}

// onStockMovement tells the owner when a product's or variant's stock
// crosses its low stock threshold going down: once per crossing, however
// many orders follow while it stays low (orders.MovementCrossing decides).
func (m *Manager) onStockMovement(e *core.RecordEvent) error {
	if err := m.queueLowStock(e.App, e.Record); err != nil {
		e.App.Logger().Error("Failed to queue low stock email", "movement", e.Record.Id, "error", err)
	}
	return e.Next()
}

func (m *Manager) queueLowStock(app core.App, mv *core.Record) error {
	crossed, err := orders.MovementCrossing(app, mv)
	if err != nil || !crossed.Low {
		return err
	}
	s, err := settings.Load(app)
	if err != nil {
		return err
	}
	if s.OwnerEmail == "" {
		return nil
	}
	data := mail.Data{
		ShopName: s.ShopName,
		Product: mail.Product{
			ID: crossed.ProductID, Name: crossed.Name, Variant: crossed.VariantTitle, SKU: crossed.SKU,
			Stock: crossed.Stock, Threshold: crossed.Threshold,
		},
		DashboardURL: settings.AppURL(app) + "/_/",
	}
	return m.queue(app, mail.KindLowStock, s.OwnerEmail, "low_stock:"+crossed.ProductID+":"+mv.Id, "", data)
}

// queue renders an email and adds it to the outbox (once per dedupe key);
// onEmailQueued wakes the sender once it is committed.
func (m *Manager) queue(app core.App, kind, to, dedupeKey, orderID string, data mail.Data) error {
	e, err := render(kind, to, dedupeKey, orderID, data)
	if err != nil {
		return err
	}
	_, err = Enqueue(app, e)
	return err
}

// render renders an email for the outbox.
func render(kind, to, dedupeKey, orderID string, data mail.Data) (Email, error) {
	msg, err := mail.Render(kind, data)
	if err != nil {
		return Email{}, err
	}
	return Email{
		To: to, Subject: msg.Subject, Kind: kind, OrderID: orderID,
		DedupeKey: dedupeKey, HTML: msg.HTML, Text: msg.Text,
	}, nil
}

// onEmailQueued wakes the background sender once a queued email is
// committed (before, it could not see it), whoever queued it: a record save
// or the group-commit writer. Without SMTP settings a pass only notes that
// on the queued emails, a write for every email queued (bench/ saw it): the
// next tick does it.
func (m *Manager) onEmailQueued(e *core.RecordEvent) error {
	if e.Record.GetString("status") == emailQueued {
		if _, ok := smtpConfig(e.App, 0); ok {
			m.wakeSender()
		}
	}
	return e.Next()
}

// wakeSender asks the background sender for a pass now.
func (m *Manager) wakeSender() {
	select {
	case m.wake <- struct{}{}:
	default: // a pass is already requested
	}
}

// orderEmailData collects what the order emails show.
func orderEmailData(app core.App, order *core.Record, s settings.Settings) (mail.Data, error) {
	lines, err := orders.Lines(order)
	if err != nil {
		return mail.Data{}, err
	}
	var addr map[string]string
	if err := order.UnmarshalJSONField("shipping_address", &addr); err != nil {
		return mail.Data{}, fmt.Errorf("decode address of order %s: %w", order.Id, err)
	}
	var taxLines []shop.TaxLine
	if err := order.UnmarshalJSONField("tax_lines", &taxLines); err != nil {
		return mail.Data{}, fmt.Errorf("decode tax lines of order %s: %w", order.Id, err)
	}
	currency := order.GetString("currency")
	if currency == "" {
		currency = s.Currency
	}
	base := settings.AppURL(app)
	return mail.Data{
		ShopName: s.ShopName,
		Order: mail.Order{
			ID:            order.Id,
			Number:        order.GetInt("number"),
			Email:         order.GetString("email"),
			PaymentMethod: order.GetString("payment_method"),
			Address: mail.Address{
				Name: addr["name"], Line1: addr["line1"], Line2: addr["line2"],
				City: addr["city"], PostalCode: addr["postal_code"], Country: addr["country"],
			},
			Note:             order.GetString("note"),
			Lines:            lines,
			SubtotalCents:    int64(order.GetInt("subtotal_cents")),
			ShippingCents:    int64(order.GetInt("shipping_cents")),
			TotalCents:       int64(order.GetInt("total_cents")),
			RefundedCents:    int64(order.GetInt("refunded_cents")),
			DiscountCode:     order.GetString("discount_code"),
			DiscountCents:    int64(order.GetInt("discount_cents")),
			ShippingRateName: order.GetString("shipping_rate_name"),
			TaxCents:         int64(order.GetInt("tax_cents")),
			TaxLines:         taxLines,
			Currency:         currency,
			TrackingNumber:   order.GetString("tracking_number"),
			URL: base + "/order.html?id=" + url.QueryEscape(order.Id) +
				"&token=" + url.QueryEscape(order.GetString("token")),
		},
		PaymentInstructions: s.ManualPaymentInstructions,
		DashboardURL:        base + "/_/",
	}, nil
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
