package customers

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// erased replaces personal data inside free text (an event's message, an
// error, a webhook payload).
const erased = "[erased]"

// minScrubLength is the shortest name or address line scrubbed from free
// text: shorter ones ("Al", "5") would take unrelated words with them.
const minScrubLength = 3

// Placeholder is the email address an erased order keeps: non-routable
// (.invalid is reserved, RFC 2606), valid for the orders.email field, and
// one per order, so that erased orders are not linked to each other by it.
func Placeholder(orderID string) string {
	return "erased-" + orderID + "@erased.invalid"
}

// erasure is what an erasure changed; its counts are also the erasures row.
type erasure struct {
	AccountDeleted     bool
	Orders             int
	EmailsDropped      int
	EmailsScrubbed     int
	EventsScrubbed     int
	DeliveriesScrubbed int
	OtherRowsScrubbed  int
}

// openStatuses block an erasure: the shop still owes the customer the
// goods (or the owner has not yet received the payment), and needs their
// address and email for it.
var openStatuses = map[string]bool{shop.StatusPending: true, shop.StatusPaid: true}

// eraseSubject erases the subject's personal data in one transaction of app and
// records it in erasures (requested by by: ByCustomer or ByOwner). An order
// still pending or paid refuses the whole erasure (EINVALID) and nothing
// changes. Request logs naming the account are deleted after the commit
// (they are in the auxiliary database, outside the transaction).
func (m *Manager) eraseSubject(app core.App, s Subject, by string) (erasure, error) {
	var res erasure
	var scrub scrubber
	err := app.RunInTransaction(func(txApp core.App) error {
		var err error
		res, scrub, err = m.eraseInTx(txApp, s, by)
		return err
	})
	if err != nil {
		return erasure{}, err
	}
	if err := deleteLogs(app, s, scrub); err != nil {
		app.Logger().Warn("Erasure: request logs naming the customer were not deleted; they expire with the log retention.", "error", err)
	}
	return res, nil
}

// eraseInTx is eraseSubject's work, in its transaction txApp.
func (m *Manager) eraseInTx(txApp core.App, s Subject, by string) (erasure, scrubber, error) {
	var res erasure
	if s.user != nil {
		// Read the account again in the transaction: it may be gone.
		user, err := txApp.FindRecordById("users", s.user.Id)
		if err != nil {
			return res, scrubber{}, shop.Errorf(shop.ENOTFOUND, "The account was not found.")
		}
		s.user = user
	}
	orders, err := findOrders(txApp, s)
	if err != nil {
		return res, scrubber{}, err
	}
	if s.user == nil && len(orders) == 0 {
		return res, scrubber{}, shop.Errorf(shop.ENOTFOUND, "The shop holds no account and no order for this address.")
	}
	// Every check before the first write.
	var open []string
	for _, o := range orders {
		if st := o.GetString("status"); openStatuses[st] {
			open = append(open, fmt.Sprintf("#%d is %s", o.GetInt("number"), st))
		}
	}
	if len(open) > 0 {
		list := "order " + strings.Join(open, ", order ")
		msg := "The customer's data cannot be erased yet: " + list +
			". An order not yet fulfilled needs the customer's email and address; cancel or fulfil it, then erase."
		if by == ByCustomer {
			msg = "Your account cannot be deleted yet: " + list +
				". An order not yet shipped needs your email and address; delete your account once it is shipped or cancelled."
		}
		return res, scrubber{}, &shop.Error{Code: shop.EINVALID, Message: msg,
			Fields: map[string]shop.FieldError{"orders": {Code: "open_orders", Message: msg}}}
	}

	scrub := newScrubber(s, orders)
	ids := orderIDs(orders)
	now, err := types.ParseDateTime(m.now().UTC())
	if err != nil {
		return res, scrub, err
	}

	// Orders: the books stay, the person goes. Plain SQL: no hook of an
	// order update (state machine, webhooks, emails) has anything to do
	// with it, and the report triggers only follow status, paid_at and
	// items, which do not change.
	for _, o := range orders {
		_, err := txApp.DB().NewQuery(`UPDATE orders SET email = {:email}, shipping_address = 'null',
			note = '', token = '', customer = '', updated = {:now} WHERE id = {:id}`).
			Bind(dbx.Params{"email": Placeholder(o.Id), "now": now.String(), "id": o.Id}).Execute()
		if err != nil {
			return res, scrub, fmt.Errorf("erase order %s: %w", o.Id, err)
		}
	}
	res.Orders = len(orders)

	if res.EmailsDropped, res.EmailsScrubbed, err = eraseEmails(txApp, s, orders, scrub); err != nil {
		return res, scrub, err
	}
	if res.EventsScrubbed, err = scrubColumn(txApp, "order_events", "message",
		dbx.In("order", ids...), scrub.text); err != nil {
		return res, scrub, err
	}
	if res.DeliveriesScrubbed, err = eraseDeliveries(txApp, scrub); err != nil {
		return res, scrub, err
	}
	if res.OtherRowsScrubbed, err = scrubEverywhere(txApp, s, scrub); err != nil {
		return res, scrub, err
	}

	if s.user != nil {
		// The orders no longer point at the account (customer = '' above),
		// so PocketBase's relation cascade leaves them alone; it deletes the
		// account's auth rows (_externalAuths, _mfas, _otps, _authOrigins).
		if err := txApp.Delete(s.user); err != nil {
			return res, scrub, fmt.Errorf("delete the account: %w", err)
		}
		res.AccountDeleted = true
	}

	col, err := txApp.FindCachedCollectionByNameOrId("erasures")
	if err != nil {
		return res, scrub, err
	}
	row := core.NewRecord(col)
	row.Load(map[string]any{
		"requested_by": by, "account_deleted": res.AccountDeleted, "orders": res.Orders,
		"emails_dropped": res.EmailsDropped, "emails_scrubbed": res.EmailsScrubbed,
		"events_scrubbed": res.EventsScrubbed, "deliveries_scrubbed": res.DeliveriesScrubbed,
		"other_rows_scrubbed": res.OtherRowsScrubbed,
	})
	if err := txApp.Save(row); err != nil {
		return res, scrub, fmt.Errorf("record the erasure: %w", err)
	}
	return res, scrub, nil
}

// eraseEmails drops the queued emails to the customer or about their
// orders (nothing about an erased person is sent later) and empties the
// bodies of the others, which keep their subject, kind, status and dates
// as the outbox's record of what was sent; an address of the customer's
// in `to` becomes the order's placeholder.
func eraseEmails(txApp core.App, s Subject, orders []*core.Record, scrub scrubber) (dropped, scrubbed int, err error) {
	// Rows about their orders, and rows to an address proven theirs: an
	// unverified account's address may be a stranger's, whose mail stays.
	var cond []dbx.Expression
	if len(orders) > 0 {
		cond = append(cond, dbx.In("order", orderIDs(orders)...))
	}
	if len(s.emails) > 0 {
		cond = append(cond, inLower("to", s.emails))
	}
	if len(cond) == 0 {
		return 0, 0, nil
	}
	var rows []struct {
		ID     string `db:"id"`
		To     string `db:"to"`
		Order  string `db:"order"`
		Status string `db:"status"`
		Error  string `db:"last_error"`
	}
	err = txApp.DB().Select("id", "to", "order", "status", "last_error").From("emails").
		Where(dbx.Or(cond...)).All(&rows)
	if err != nil {
		return 0, 0, fmt.Errorf("find the customer's emails: %w", err)
	}
	for _, r := range rows {
		if r.Status == "queued" {
			if _, err := txApp.DB().Delete("emails", dbx.HashExp{"id": r.ID}).Execute(); err != nil {
				return dropped, scrubbed, fmt.Errorf("drop email %s: %w", r.ID, err)
			}
			dropped++
			continue
		}
		to := r.To
		if scrub.isAddress(to) {
			to = Placeholder(r.Order)
			if r.Order == "" {
				to = Placeholder("email-" + r.ID)
			}
		}
		_, err := txApp.DB().Update("emails", dbx.Params{
			"to": to, "html": "", "text": "", "last_error": scrub.text(r.Error),
		}, dbx.HashExp{"id": r.ID}).Execute()
		if err != nil {
			return dropped, scrubbed, fmt.Errorf("scrub email %s: %w", r.ID, err)
		}
		scrubbed++
	}
	return dropped, scrubbed, nil
}

// eraseDeliveries scrubs the customer from the payloads of outgoing
// webhook deliveries about their orders or their account, queued or
// already sent. Queued ones are kept: the owner's accounting or CRM still
// needs the order's event, without the person. (A payload about someone
// else that quotes their address is scrubEverywhere's.) Nothing to do in
// a shop without webhooks.
func eraseDeliveries(txApp core.App, scrub scrubber) (int, error) {
	if _, err := txApp.FindCachedCollectionByNameOrId("webhook_deliveries"); err != nil {
		return 0, nil
	}
	var cond []dbx.Expression
	for i, id := range scrub.ids() {
		cond = append(cond, like("payload", id, i))
	}
	if len(cond) == 0 {
		return 0, nil
	}
	var rows []struct {
		ID      string `db:"id"`
		Payload string `db:"payload"`
	}
	if err := txApp.DB().Select("id", "payload").From("webhook_deliveries").Where(dbx.Or(cond...)).All(&rows); err != nil {
		return 0, fmt.Errorf("find the customer's webhook deliveries: %w", err)
	}
	n := 0
	for _, r := range rows {
		var payload any
		if err := json.Unmarshal([]byte(r.Payload), &payload); err != nil {
			payload = r.Payload // not JSON: scrub it as text
		}
		clean, err := json.Marshal(scrub.value(payload))
		if err != nil {
			return n, fmt.Errorf("encode webhook delivery %s: %w", r.ID, err)
		}
		if string(clean) == r.Payload {
			continue
		}
		if _, err := txApp.DB().Update("webhook_deliveries", dbx.Params{"payload": string(clean)},
			dbx.HashExp{"id": r.ID}).Execute(); err != nil {
			return n, fmt.Errorf("scrub webhook delivery %s: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}

// scrubColumn rewrites column of the rows of table matching where with fn,
// and returns how many changed.
func scrubColumn(txApp core.App, table, column string, where dbx.Expression, fn func(string) string) (int, error) {
	ids, err := scrubColumnIDs(txApp, table, column, where, fn)
	return len(ids), err
}

// scrubColumnIDs is scrubColumn returning the ids of the changed rows.
func scrubColumnIDs(txApp core.App, table, column string, where dbx.Expression, fn func(string) string) ([]string, error) {
	var rows []struct {
		ID    string `db:"id"`
		Value string `db:"value"`
	}
	err := txApp.DB().Select("id", "[["+column+"]] AS value").From(table).Where(where).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", table, column, err)
	}
	var changed []string
	for _, r := range rows {
		clean := fn(r.Value)
		if clean == r.Value {
			continue
		}
		if _, err := txApp.DB().Update(table, dbx.Params{column: clean}, dbx.HashExp{"id": r.ID}).Execute(); err != nil {
			return changed, fmt.Errorf("scrub %s.%s of %s: %w", table, column, r.ID, err)
		}
		changed = append(changed, r.ID)
	}
	return changed, nil
}

// freeTextFields are the field types that hold free text a person's
// address can hide in.
var freeTextFields = map[string]bool{
	core.FieldTypeText: true, core.FieldTypeEditor: true, core.FieldTypeJSON: true,
}

// keptCollections are not scrubbed by scrubEverywhere: the account itself
// (deleted), the owner's own settings (an owner erasing their customer
// self must not lose their shop's address) and the erasures log.
var keptCollections = map[string]bool{"users": true, "shop_settings": true, "erasures": true}

// scrubEverywhere replaces the subject's proven addresses in every free
// text and email field of every other collection (a note the owner typed
// on another order, a payment error quoting the address, a field a later
// migration adds). Only proven addresses: an unverified account's address may be a
// stranger's, whose data it must not touch. Names and street lines are
// left alone outside the customer's own rows: a neighbour or a namesake
// shares them.
func scrubEverywhere(txApp core.App, s Subject, scrub scrubber) (int, error) {
	if len(s.emails) == 0 {
		return 0, nil
	}
	cols, err := txApp.FindAllCollections(core.CollectionTypeBase)
	if err != nil {
		return 0, fmt.Errorf("list collections: %w", err)
	}
	proven := newScrubber(Subject{emails: s.emails}, nil)
	changed := map[string]bool{} // table/id: a row counts once
	for _, c := range cols {
		if keptCollections[c.Name] {
			continue
		}
		for _, f := range c.Fields {
			if f.Type() == core.FieldTypeEmail {
				// An address field (a later collection's) holding theirs
				// gets a placeholder, as an order's email does.
				ids, err := placeholderEmails(txApp, c.Name, f.GetName(), s.emails)
				if err != nil {
					return len(changed), err
				}
				for _, id := range ids {
					changed[c.Name+"/"+id] = true
				}
				continue
			}
			if !freeTextFields[f.Type()] {
				continue
			}
			var cond []dbx.Expression
			for i, a := range s.emails {
				cond = append(cond, like(f.GetName(), a, i))
			}
			ids, err := scrubColumnIDs(txApp, c.Name, f.GetName(), dbx.Or(cond...), proven.text)
			if err != nil {
				return len(changed), err
			}
			for _, id := range ids {
				changed[c.Name+"/"+id] = true
			}
		}
	}
	return len(changed), nil
}

// placeholderEmails sets column (an email field) of table to the row's
// placeholder where it holds one of addresses, and returns the rows' ids.
func placeholderEmails(txApp core.App, table, column string, addresses []string) ([]string, error) {
	var ids []string
	err := txApp.DB().Select("id").From(table).Where(inLower(column, addresses)).Column(&ids)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", table, column, err)
	}
	for _, id := range ids {
		if _, err := txApp.DB().Update(table, dbx.Params{column: Placeholder(id)}, dbx.HashExp{"id": id}).Execute(); err != nil {
			return nil, fmt.Errorf("erase %s.%s of %s: %w", table, column, id, err)
		}
	}
	return ids, nil
}

// like is `column LIKE %needle%` (ASCII case-insensitive), with needle's
// own % and _ taken literally; n names its parameter apart from the other
// needles of one query.
func like(column, needle string, n int) dbx.Expression {
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(needle)
	param := fmt.Sprintf("needle%d", n)
	return dbx.NewExp("[["+column+"]] LIKE {:"+param+"} ESCAPE '\\'", dbx.Params{param: "%" + esc + "%"})
}

// scrubber knows what identifies the subject: their addresses, their
// names and street lines, their account and order ids.
type scrubber struct {
	addresses []string
	userID    string
	orderIDs  map[string]bool
	// pattern matches any address, name or street line, case-insensitively.
	pattern *regexp.Regexp
}

func newScrubber(s Subject, orders []*core.Record) scrubber {
	sc := scrubber{addresses: addresses(s, orders), userID: s.userID(), orderIDs: map[string]bool{}}
	words := append([]string(nil), sc.addresses...)
	if s.user != nil {
		words = append(words, s.user.GetString("name"))
	}
	for _, o := range orders {
		sc.orderIDs[o.Id] = true
		var addr map[string]any
		_ = o.UnmarshalJSONField("shipping_address", &addr)
		for _, k := range []string{"name", "line1", "line2"} {
			if v, ok := addr[k].(string); ok {
				words = append(words, v)
			}
		}
	}
	var alts []string
	for _, w := range words {
		if w = strings.TrimSpace(w); len(w) >= minScrubLength {
			alts = append(alts, regexp.QuoteMeta(w))
		}
	}
	if len(alts) > 0 {
		// Longest first, so that an address goes whole before a name in it.
		slices.SortStableFunc(alts, func(a, b string) int { return len(b) - len(a) })
		sc.pattern = regexp.MustCompile("(?i)" + strings.Join(alts, "|"))
	}
	return sc
}

// ids returns the account and order ids, to find the rows that name them.
func (sc scrubber) ids() []string {
	var out []string
	if sc.userID != "" {
		out = append(out, sc.userID)
	}
	for id := range sc.orderIDs {
		out = append(out, id)
	}
	return out
}

// isAddress reports whether a is one of the subject's addresses.
func (sc scrubber) isAddress(a string) bool {
	a = strings.ToLower(strings.TrimSpace(a))
	for _, x := range sc.addresses {
		if a == x {
			return true
		}
	}
	return false
}

// text returns s with every address, name and street line of the subject
// replaced by [erased].
func (sc scrubber) text(s string) string {
	if sc.pattern == nil || s == "" {
		return s
	}
	return sc.pattern.ReplaceAllString(s, erased)
}

// value scrubs a decoded JSON value: an object that is one of the erased
// orders (or the account) loses its personal fields as the order itself
// does, and every string loses the subject's addresses, names and lines.
func (sc scrubber) value(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if id, _ := v["id"].(string); sc.orderIDs[id] {
			for k, clean := range map[string]any{"email": Placeholder(id), "shipping_address": nil, "note": "", "token": "", "customer": ""} {
				if _, ok := v[k]; ok {
					v[k] = clean
				}
			}
		} else if id != "" && id == sc.userID {
			for _, k := range []string{"email", "name", "avatar"} {
				if _, ok := v[k]; ok {
					v[k] = erased
				}
			}
		}
		for k, x := range v {
			v[k] = sc.value(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = sc.value(x)
		}
		return v
	case string:
		return sc.text(v)
	}
	return v
}

// deleteLogs deletes the request logs (auxiliary.db) that name the
// account or one of the subject's addresses: PocketBase logs each request
// with the caller's account id, and its URL and error details can quote an
// address (a filter, a failed sign-in). The rest of the log (IP addresses,
// browsers) expires with the log retention (Dashboard > Settings > Logs).
func deleteLogs(app core.App, s Subject, scrub scrubber) error {
	var cond []dbx.Expression
	if id := s.userID(); id != "" {
		cond = append(cond, dbx.NewExp("json_extract([[data]], '$.authId') = {:authId}", dbx.Params{"authId": id}))
	}
	for i, a := range scrub.addresses {
		cond = append(cond, like("data", a, i))
	}
	if len(cond) == 0 {
		return nil
	}
	if _, err := app.AuxDB().Delete("_logs", dbx.Or(cond...)).Execute(); err != nil {
		return fmt.Errorf("delete the request logs of the erased customer: %w", err)
	}
	return nil
}
