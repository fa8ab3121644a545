// Package outbox is the shop's email outbox: emails are queued in the
// emails collection in the transaction of the change they tell about
// (Enqueue), and sent in the background with retries (SendDue). Its
// Manager reacts to the order events and stock movements package orders
// writes; package jobs queues the owner's digests here.
package outbox

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Email is one message for the outbox (the emails collection).
type Email struct {
	To        string
	Subject   string
	Kind      string // e.g. "order_placed", "low_stock"
	OrderID   string // optional
	DedupeKey string // one email per key, however often a trigger fires
	HTML      string
	Text      string
}

// Enqueue adds m to the outbox as "queued" unless an email with the
// same dedupe key is there already, also when a concurrent writer queued it
// first (the unique index on dedupe_key decides). It reports whether it
// added one. Call it inside the transaction whose commit should send the
// email, or after it.
func Enqueue(app core.App, m Email) (bool, error) {
	col, err := app.FindCachedCollectionByNameOrId("emails")
	if err != nil {
		return false, err
	}
	exists, err := app.CountRecords(col, dbx.HashExp{"dedupe_key": m.DedupeKey})
	if err != nil {
		return false, fmt.Errorf("check outbox for %s: %w", m.DedupeKey, err)
	}
	if exists > 0 {
		return false, nil
	}
	r := emailRecord(col, m)
	if err := app.Save(r); err != nil {
		// Another writer queued the same key between the check and the
		// insert: the unique index on dedupe_key keeps the one email.
		if isDuplicateDedupeKey(err) {
			return false, nil
		}
		return false, fmt.Errorf("queue email %s: %w", m.DedupeKey, err)
	}
	return true, nil
}

// isDuplicateDedupeKey reports whether err is a unique-constraint failure on
// emails.dedupe_key, as the record validator or SQLite reports it.
func isDuplicateDedupeKey(err error) bool {
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		var ve validation.Error
		return errors.As(verrs["dedupe_key"], &ve) && ve.Code() == "validation_not_unique"
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unique constraint failed") && strings.Contains(msg, "dedupe_key")
}

// emailRecord is m as a new, queued row of the emails collection col.
func emailRecord(col *core.Collection, m Email) *core.Record {
	r := core.NewRecord(col)
	r.Load(map[string]any{
		"to": m.To, "subject": m.Subject, "kind": m.Kind, "order": m.OrderID,
		"dedupe_key": m.DedupeKey, "status": "queued", "attempts": 0,
		"html": m.HTML, "text": m.Text,
	})
	return r
}
