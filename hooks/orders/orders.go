// Package orders is the bottom of the shop: orders and their stock. It
// validates and prices an order placed through the records API and has the
// app's group-commit writer store it and reserve its stock in one
// transaction (place.go), enforces the order state machine for every
// writer, and keeps a stock_movements row for every change of stock. The
// components above it (payments, outbox, jobs) move orders with Move and
// read them with Lines; it calls none of them: the outbox hands it the
// renderer of an order event's emails (SetEventEmails).
package orders

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"pocketshop/hooks/httperr"
	"pocketshop/hooks/pricing"
	"pocketshop/hooks/settings"
	"pocketshop/hooks/txn"
	"pocketshop/internal/groupcommit"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
)

// firstOrderNumber is one less than the number of a shop's first order.
const firstOrderNumber = 1000

// ownerEditableOrderFields may be changed by a superuser through the
// records API (the dashboard); every other field is written by the server.
var ownerEditableOrderFields = map[string]bool{
	"status": true, "tracking_number": true, "note": true,
	"shipping_address": true, "email": true, "updated": true,
	"payment_issue": true, // the owner clears it once the issue is handled
}

// orderRejected answers an order the shop does not accept, with a message
// per field.
const orderRejected = "The order could not be accepted."

// Manager binds the order and stock hooks. It needs the app, a clock, the
// app's group-commit writer (which writes every order create) and, from the
// outbox above it, the emails an order event sends (SetEventEmails).
type Manager struct {
	app         core.App
	now         func() time.Time
	writer      *groupcommit.Writer
	eventEmails EventEmails
	webhooks    Webhooks
}

// EventEmails renders the outbox rows (emails records, not saved) that
// order event ev of order sends. The outbox component provides it; orders
// writes the rows in the transaction that writes the event.
type EventEmails func(app core.App, ev, order *core.Record) ([]*core.Record, error)

// New returns the orders component of app; now is its clock.
func New(app core.App, now func() time.Time) *Manager {
	return &Manager{app: app, now: now, writer: groupcommit.For(app)}
}

// SetEventEmails gives the component the renderer of an order event's
// emails, for the events the group-commit writer writes (a record save of
// an order_events row gets its emails from the outbox's own hook).
func (m *Manager) SetEventEmails(fn EventEmails) { m.eventEmails = fn }

// RenderEventEmails renders the emails order event ev of order sends (none
// until SetEventEmails is called).
func (m *Manager) RenderEventEmails(app core.App, ev, order *core.Record) ([]*core.Record, error) {
	if m.eventEmails == nil {
		return nil, nil
	}
	return m.eventEmails(app, ev, order)
}

// Bind binds the order and inventory hooks to the app.
func (m *Manager) Bind() {
	m.app.OnRecordCreateRequest("orders").BindFunc(m.onOrderCreateRequest)
	m.app.OnRecordUpdateRequest("orders").BindFunc(m.onOrderUpdateRequest)
	// Last of the update request hooks (after the payment hook, which may
	// call Stripe), so that its transaction wraps only the save.
	m.app.OnRecordUpdateRequest("orders").Bind(&hook.Handler[*core.RecordRequestEvent]{
		Func:     m.saveOnlyOwnerChanges,
		Priority: 1000,
	})
	m.app.OnRecordUpdate("orders").BindFunc(m.onOrderUpdate)
	m.app.OnRecordDelete("orders").BindFunc(m.onOrderDelete)
	bindInventory(m.app)
}

// onOrderCreateRequest validates an order placed through the records API,
// prices it from the catalog and hands it to the group-commit writer, which
// reserves its stock in the transaction that stores it: all of it or none
// of it. It answers the request itself, as the records API would.
func (m *Manager) onOrderCreateRequest(e *core.RecordRequestEvent) error {
	info, err := e.RequestInfo()
	if err != nil {
		return httperr.Response(&shop.Error{Code: shop.EINVALID, Message: "Failed to read the order.", Cause: err})
	}

	// The records API has already converted each value to its field's type
	// ("note": 5 reads "5"): check the JSON as the client sent it.
	body := plainBody(info.Body)
	if strings.HasPrefix(e.Request.Header.Get("Content-Type"), "application/json") {
		var sent map[string]any
		if err := e.BindBody(&sent); err != nil {
			return httperr.Response(&shop.Error{Code: shop.EINVALID, Message: "Failed to read the order.", Cause: err})
		}
		body = sent
	}
	in, fieldErrs := shop.ParseOrderInput(body)
	if fieldErrs == nil {
		fieldErrs = shop.FieldErrors{}
	}
	// Fields added to orders after shop.ServerFields was written (by other
	// migrations) are the server's too: only shop.ClientFields are the
	// client's.
	for _, f := range e.Collection.Fields {
		name := f.GetName()
		if f.GetSystem() || f.Type() == core.FieldTypeAutodate || slices.Contains(shop.ClientFields, name) {
			continue
		}
		if v, ok := body[name]; ok && !shop.IsEmptyValue(v) {
			fieldErrs[name] = shop.ServerFieldMessage
		}
	}
	// A modifier ("total_cents+": 1, "note+": "x") is never an order's input.
	for key := range body {
		name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(key, "+"), "+"), "-")
		if name == key || e.Collection.Fields.GetByName(name) == nil {
			continue
		}
		if slices.Contains(shop.ClientFields, name) {
			fieldErrs[name] = "Send the field's value; modifiers are not accepted."
		} else {
			fieldErrs[name] = shop.ServerFieldMessage
		}
	}

	var customerID string
	if e.Auth != nil && e.Auth.Collection().Name == "users" {
		customerID = e.Auth.Id
		if in.Email == "" && fieldErrs["email"] == "" {
			in.Email = e.Auth.Email()
		}
	}
	if in.Email == "" && fieldErrs["email"] == "" {
		fieldErrs["email"] = "An email address is required to place an order as a guest."
		if customerID != "" {
			fieldErrs["email"] = "Your account has no email address: add one to the order."
		}
	}
	if len(fieldErrs) > 0 {
		return httperr.Response(shop.Invalid(orderRejected, fieldErrs))
	}

	s, err := settings.Load(e.App)
	if err != nil {
		return httperr.Response(err)
	}

	now := m.now().UTC()
	r := e.Record
	r.Set("status", shop.StatusPending)
	r.Set("customer", customerID)
	r.Set("email", in.Email)
	r.Set("payment_method", in.PaymentMethod)
	r.Set("note", in.Note)
	if in.ShippingAddress != nil {
		r.Set("shipping_address", in.ShippingAddress)
	} else {
		r.Set("shipping_address", nil)
	}
	r.Set("currency", s.Currency)
	r.Set("refunded_cents", 0)
	r.Set("token", security.RandomString(40))
	r.Set("expires_at", now.Add(s.HoldFor(in.PaymentMethod)))

	// Priced and checked here from a read, so that most refusals never
	// queue for the writer; the writer checks again what may have changed.
	priced, err := priceOrder(e.App, in, s, now)
	if err != nil {
		return httperr.Response(err)
	}

	actor := shop.ActorCustomer
	if e.HasSuperuserAuth() {
		actor = shop.ActorAdmin
	}
	placed, err := m.preparePlaced(e.App, r, priced, actor)
	if err != nil {
		return httperr.Response(err)
	}
	// The order is written by the group-commit writer only (no record
	// save): the before-save record hooks of orders do not run for it.
	if err := m.writer.Do(e.Request.Context(), m.placeOp(placed, in.Lines, s)); err != nil {
		return httperr.Response(err)
	}
	if err := apis.EnrichRecord(e.RequestEvent, r); err != nil {
		return httperr.Response(err)
	}
	return e.JSON(http.StatusOK, r)
}

// onOrderUpdateRequest keeps the fields the server computes out of reach of
// the records API, superusers included: the dashboard may change the status,
// tracking number, note, email and address; totals and lines stay as sold.
func (m *Manager) onOrderUpdateRequest(e *core.RecordRequestEvent) error {
	original := e.Record.Original()
	errs := shop.FieldErrors{}
	for _, f := range e.Record.Collection().Fields {
		name := f.GetName()
		if ownerEditableOrderFields[name] {
			continue
		}
		if _, ok := f.(*core.DateField); ok && sameSecond(original.GetDateTime(name), e.Record.GetDateTime(name)) {
			// The dashboard's date picker sends whole seconds: keep the
			// stored value rather than refuse the owner's save.
			e.Record.Set(name, original.Get(name))
			continue
		}
		if !jsonEqual(original.Get(name), e.Record.Get(name)) {
			errs[name] = "This field is set by the server and cannot be changed."
		}
	}
	if len(errs) > 0 {
		return httperr.Response(shop.Invalid(orderRejected, errs))
	}
	return e.Next()
}

// saveOnlyOwnerChanges makes a records-API save of an order (the
// dashboard) write only the fields its request changed. The records API
// loads the order before the save's transaction and saves every field: what
// the server wrote meanwhile (/pay's Checkout Session and longer
// reservation, a webhook's payment) would be put back as it was loaded.
// Inside the transaction, every field the request left as loaded takes the
// value stored now.
func (m *Manager) saveOnlyOwnerChanges(e *core.RecordRequestEvent) error {
	return e.App.RunInTransaction(func(txApp core.App) error {
		e.App = txApp
		stored, err := txApp.FindRecordById("orders", e.Record.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", e.Record.Id, err)
		}
		loaded := e.Record.Original()
		for _, f := range e.Record.Collection().Fields {
			name := f.GetName()
			if name == core.FieldNameId || f.Type() == core.FieldTypeAutodate {
				continue
			}
			if jsonEqual(loaded.Get(name), e.Record.Get(name)) {
				e.Record.Set(name, stored.Get(name))
			}
		}
		return e.Next()
	})
}

// onOrderUpdate enforces the order state machine for every writer: it checks
// the move against the status stored now (not the one the writer loaded, so
// two racing writers cannot both move a pending order), sets the server
// timestamps, releases or re-reserves stock and writes an order_events row,
// all in the transaction that saves the order.
func (m *Manager) onOrderUpdate(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		var current struct {
			Status        string `db:"status"`
			RefundedCents int    `db:"refunded_cents"`
		}
		err := txApp.DB().Select("status", "refunded_cents").From("orders").
			Where(dbx.HashExp{"id": e.Record.Id}).One(&current)
		if err != nil {
			return fmt.Errorf("read status of order %s: %w", e.Record.Id, err)
		}

		from, to := current.Status, e.Record.GetString("status")
		if from == to {
			return e.Next()
		}

		move := moveFrom(e.Context)
		if err := shop.CheckMove(from, to, move.actor); err != nil {
			return httperr.ForRecordSave(shop.FieldErr(shop.ECONFLICT, "status", "invalid_status_move", err.Error()))
		}

		now, _ := types.ParseDateTime(m.now().UTC())
		switch to {
		case shop.StatusPaid:
			e.Record.Set("paid_at", now)
		case shop.StatusFulfilled:
			if e.Record.GetString("tracking_number") == "" {
				return httperr.ForRecordSave(shop.FieldErr(shop.EINVALID, "tracking_number", "tracking_required",
					"A tracking number is required to mark an order fulfilled."))
			}
			e.Record.Set("fulfilled_at", now)
		case shop.StatusCancelled:
			e.Record.Set("cancelled_at", now)
		}

		lines, err := Lines(e.Record)
		if err != nil {
			return err
		}
		switch {
		case shop.HoldsStock(from) && !shop.HoldsStock(to):
			err = releaseLines(txApp, e.Record.Id, lines)
		case !shop.HoldsStock(from) && shop.HoldsStock(to):
			err = reserveLines(txApp, e.Record.Id, lines)
		}
		if err != nil {
			var short *NotEnoughStockError
			if errors.As(err, &short) {
				return httperr.ForRecordSave(shop.FieldErr(shop.EINVALID, "items", "not_enough_stock", short.Error()))
			}
			return err
		}
		// A cancelled or expired order gives its code's use back; one
		// that stands again (a late payment) takes it again.
		if code := e.Record.GetString("discount_code"); code != "" && pricing.HoldsUse(from) != pricing.HoldsUse(to) {
			delta := 1
			if !pricing.HoldsUse(to) {
				delta = -1
			}
			if err := pricing.ChangeUses(pricing.AppQuery(txApp), code, delta); err != nil {
				return err
			}
		}

		if err := e.Next(); err != nil {
			return err
		}

		// A move that refunds money (to refunded) raises refunded_cents in
		// the same save: its event carries the amount.
		amount := e.Record.GetInt("refunded_cents") - current.RefundedCents
		return WriteEvent(txApp, e.Record.Id, from, to, move.actor, move.message, amount)
	})
}

// onOrderDelete releases the stock of a pending order the owner deletes.
// Sold stock stays sold: a paid order's units have left the shop.
func (m *Manager) onOrderDelete(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		var current struct {
			Status string `db:"status"`
		}
		err := txApp.DB().Select("status").From("orders").
			Where(dbx.HashExp{"id": e.Record.Id}).One(&current)
		if err != nil {
			return fmt.Errorf("read status of order %s: %w", e.Record.Id, err)
		}
		if current.Status == shop.StatusPending {
			lines, err := Lines(e.Record)
			if err != nil {
				return err
			}
			if err := releaseLines(txApp, "", lines); err != nil {
				return err
			}
			if code := e.Record.GetString("discount_code"); code != "" {
				if err := pricing.ChangeUses(pricing.AppQuery(txApp), code, -1); err != nil {
					return err
				}
			}
		}
		return e.Next()
	})
}

// loadProducts reads what pricing and the stock check need of the products
// an order asks for, keyed by id, with one plain SELECT (a record query
// would build whole records for four fields).
func loadProducts(app core.App, lines []shop.Line) (map[string]shop.Product, error) {
	return selectProducts(app.DB().NewQuery, lines)
}

// NextNumber gives out the next order number in txApp, a transaction; for
// writers of orders other than the group-commit writer (the demo sales seed).
func NextNumber(txApp core.App) (int, error) {
	return nextOrderNumber(func(sql string, params dbx.Params) *dbx.Query {
		return txApp.DB().NewQuery(sql).Bind(params)
	})
}

// nextOrderNumber gives out the next order number: one more than the last
// number given (kept in the _shop_counters table) or than the highest stored
// order, so a deleted order's number never comes back. query runs a
// statement in the order's transaction (groupcommit.Tx.Query).
func nextOrderNumber(query func(string, dbx.Params) *dbx.Query) (int, error) {
	var next struct {
		N int `db:"value"`
	}
	// The counter row exists from the first order on: one single-row UPDATE
	// (the MAX is answered from the unique index on number).
	err := query(`UPDATE {{_shop_counters}}
		SET [[value]] = MAX([[value]], (SELECT COALESCE(MAX([[number]]), {:first}) FROM {{orders}})) + 1
		WHERE [[name]] = 'order_number'
		RETURNING [[value]]`, dbx.Params{"first": firstOrderNumber}).One(&next)
	if errors.Is(err, sql.ErrNoRows) {
		err = query(`INSERT INTO {{_shop_counters}} ([[name]], [[value]])
			SELECT 'order_number', COALESCE(MAX([[number]]), {:first}) + 1 FROM {{orders}}
			RETURNING [[value]]`, dbx.Params{"first": firstOrderNumber}).One(&next)
	}
	if err != nil {
		return 0, fmt.Errorf("next order number: %w", err)
	}
	return next.N, nil
}

// sameSecond reports whether two dates are the same to the second.
func sameSecond(a, b types.DateTime) bool {
	return a.Time().Truncate(time.Second).Equal(b.Time().Truncate(time.Second))
}

// jsonEqual reports whether a and b hold the same JSON value, whatever the
// order of object keys or the spacing (a client may send stored JSON back
// re-encoded).
func jsonEqual(a, b any) bool {
	var va, vb any
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil || json.Unmarshal(ja, &va) != nil || json.Unmarshal(jb, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// plainBody undoes the records API's reading of JSON fields as raw bytes, so
// that the order parser sees what the client sent.
func plainBody(body map[string]any) map[string]any {
	out := make(map[string]any, len(body))
	for k, v := range body {
		if raw, ok := v.(types.JSONRaw); ok {
			v = []byte(raw)
		}
		out[k] = v
	}
	return out
}

// priceOrder prices order input in from a read of the catalog and the
// pricing rules: its lines, stock, code, shipping rate and tax. Order create
// and the quote route answer the same refusals because they share it.
func priceOrder(app core.App, in shop.OrderInput, s settings.Settings, now time.Time) (pricing.Result, error) {
	products, err := loadProducts(app, in.Lines)
	if err != nil {
		return pricing.Result{}, err
	}
	lines, err := shop.PriceLines(in.Lines, products)
	if err != nil {
		return pricing.Result{}, shop.Invalid(orderRejected, shop.FieldErrors{"items": err.Error()})
	}
	if err := checkStock(lines, products); err != nil {
		return pricing.Result{}, err
	}
	priced, fieldErrs, err := pricing.Prepare(pricing.AppQuery(app), lines, pricingInput(in, s, now))
	if err != nil {
		return pricing.Result{}, err
	}
	if fieldErrs != nil {
		return pricing.Result{}, shop.Invalid(orderRejected, fieldErrs)
	}
	return priced, nil
}
