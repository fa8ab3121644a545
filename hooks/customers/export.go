package customers

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Export is everything the shop holds about one customer, as the export
// route and command hand it over.
type Export struct {
	ExportedAt string `json:"exported_at"`
	// Email is the address the export was asked for (the owner's command)
	// or the account's.
	Email string `json:"email"`
	// User is the account as the customer sees it (no password hash or
	// token key), null for a guest.
	User map[string]any `json:"user"`
	// Orders are the customer's orders, oldest first, each with its lines
	// (items) and its events.
	Orders []map[string]any `json:"orders"`
	// Emails are the emails the shop sent (or has queued) to the customer.
	Emails []map[string]any `json:"emails"`
}

// orderSecrets are order fields an export leaves out: the guest token is
// a key to the order, not data about the person, and a file that is passed
// around must not open the order to whoever reads it.
var orderSecrets = []string{"token"}

// tokenInLink finds the guest token in an email's order link, which the
// export leaves out for the same reason.
var tokenInLink = regexp.MustCompile(`([?&]token=)[^&\s"'<>]+`)

// buildExport collects the subject's data. The route and the command share
// it, so the customer and the owner see the same document.
func buildExport(app core.App, s Subject, now time.Time) (*Export, error) {
	orders, err := findOrders(app, s)
	if err != nil {
		return nil, err
	}
	out := &Export{
		ExportedAt: now.UTC().Format(time.RFC3339),
		Orders:     []map[string]any{},
		Emails:     []map[string]any{},
	}
	if len(s.emails) > 0 {
		out.Email = s.emails[0]
	}
	if s.user != nil {
		user := s.user.Fresh()
		user.IgnoreEmailVisibility(true)
		out.User = user.PublicExport()
		out.Email = s.user.Email()
	}

	events, err := eventsOf(app, orders)
	if err != nil {
		return nil, err
	}
	for _, o := range orders {
		data := o.PublicExport()
		for _, f := range orderSecrets {
			delete(data, f)
		}
		data["events"] = events[o.Id]
		out.Orders = append(out.Orders, data)
	}

	emails, err := emailsTo(app, s, orders)
	if err != nil {
		return nil, err
	}
	for _, e := range emails {
		out.Emails = append(out.Emails, map[string]any{
			"id": e.Id, "to": e.GetString("to"), "subject": e.GetString("subject"),
			"kind": e.GetString("kind"), "order": e.GetString("order"), "status": e.GetString("status"),
			"created": e.GetString("created"), "sent_at": e.GetString("sent_at"),
			"text": tokenInLink.ReplaceAllString(e.GetString("text"), "${1}[removed]"),
		})
	}
	return out, nil
}

// eventsOf returns the events of orders by order id, oldest first.
func eventsOf(app core.App, orders []*core.Record) (map[string][]map[string]any, error) {
	out := make(map[string][]map[string]any, len(orders))
	for _, o := range orders {
		out[o.Id] = []map[string]any{}
	}
	if len(orders) == 0 {
		return out, nil
	}
	var events []*core.Record
	err := app.RecordQuery("order_events").AndWhere(dbx.In("order", orderIDs(orders)...)).
		OrderBy("created ASC", "rowid ASC").All(&events)
	if err != nil {
		return nil, fmt.Errorf("find the orders' events: %w", err)
	}
	for _, ev := range events {
		id := ev.GetString("order")
		out[id] = append(out[id], map[string]any{
			"from_status": ev.GetString("from_status"), "to_status": ev.GetString("to_status"),
			"actor": ev.GetString("actor"), "message": ev.GetString("message"),
			"amount_cents": ev.GetInt("amount_cents"), "created": ev.GetString("created"),
		})
	}
	return out, nil
}

// emailsTo returns the outbox rows addressed to the subject, oldest first:
// those about their orders sent to one of their addresses, and any other
// sent to an address proven theirs. The owner's notices about their orders
// are the owner's mail, not theirs.
func emailsTo(app core.App, s Subject, orders []*core.Record) ([]*core.Record, error) {
	var cond []dbx.Expression
	if len(orders) > 0 {
		cond = append(cond, dbx.In("order", orderIDs(orders)...))
	}
	if len(s.emails) > 0 {
		cond = append(cond, inLower("to", s.emails))
	}
	if len(cond) == 0 {
		return nil, nil
	}
	var rows []*core.Record
	err := app.RecordQuery("emails").AndWhere(dbx.Or(cond...)).OrderBy("created ASC", "rowid ASC").All(&rows)
	if err != nil {
		return nil, fmt.Errorf("find the customer's emails: %w", err)
	}
	theirs := map[string]bool{}
	for _, a := range addresses(s, orders) {
		theirs[a] = true
	}
	out := rows[:0]
	for _, r := range rows {
		if theirs[strings.ToLower(r.GetString("to"))] {
			out = append(out, r)
		}
	}
	return out, nil
}
