// Package customers honours a customer's rights over their data: an export
// of everything the shop holds about them (GET /api/shop/account/export,
// `pocketshop customers export EMAIL`) and its erasure
// (POST /api/shop/account/erase, `pocketshop customers erase EMAIL`).
//
// Erasure keeps the books: every order keeps its number, lines, totals,
// status, stock movements and payment references, so the ledger, the sales
// reports and the accountant's CSV give the same figures afterwards; what
// identifies the person (the account, the email address, the shipping
// address, the note, the order's guest token, the bodies of the emails sent
// about the orders) is removed in one transaction.
//
// It sits beside the jobs at the top of the components: it reads and
// rewrites the rows of orders, outbox and webhooks directly (plain SQL in
// one transaction) and calls none of them.
package customers

import (
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Who asked for an erasure (erasures.requested_by).
const (
	ByCustomer = "customer"
	ByOwner    = "owner"
)

// maxEmailLength is the longest address the owner's commands accept (RFC 5321).
const maxEmailLength = 254

// Manager serves the customer data routes and commands. It needs the app
// and a clock.
type Manager struct {
	app core.App
	now func() time.Time
}

// New returns the customer data component of app; now is its clock.
func New(app core.App, now func() time.Time) *Manager {
	return &Manager{app: app, now: now}
}

// Bind routes a records-API delete of a customer account (the dashboard's,
// or the customer's own through the SDK) through the erasure, so that no
// account is deleted with its personal data left on its orders.
func (m *Manager) Bind() {
	m.app.OnRecordDeleteRequest("users").BindFunc(m.onUserDeleteRequest)
}

// onUserDeleteRequest erases the account instead of a bare delete. Only the
// owner may do it through the records API: a customer deletes their account
// with POST /api/shop/account/erase, which asks for the password.
func (m *Manager) onUserDeleteRequest(e *core.RecordRequestEvent) error {
	if !e.HasSuperuserAuth() {
		return httperr.Response(shop.FieldErr(shop.EINVALID, "password", "password_required",
			"Delete your account with POST /api/shop/account/erase and your password."))
	}
	// The owner's decision makes the account's address theirs, as the
	// owner's command does.
	subj := Subject{user: e.Record}
	if email := e.Record.Email(); email != "" {
		subj.emails = []string{strings.ToLower(email)}
	}
	if _, err := m.eraseSubject(e.App, subj, ByOwner); err != nil {
		return httperr.Response(err)
	}
	return e.NoContent(http.StatusNoContent)
}

// Subject is whose data an export or an erasure covers: an account (nil
// for a guest) and the addresses proven to be theirs. Their orders are the
// account's (orders.customer) and those placed with one of the addresses.
type Subject struct {
	user *core.Record
	// emails are lower-cased addresses whose orders are theirs.
	emails []string
}

// customerSubject is the signed-in customer userID. Their guest orders
// (placed with their address before or without signing in) are theirs only
// when the account's address is verified: PocketBase lets anyone sign up
// with any address, and an unverified account must not reach the orders of
// the address's real owner. Everything else starts from the account's id.
func customerSubject(app core.App, userID string) (Subject, error) {
	user, err := app.FindRecordById("users", userID)
	if err != nil {
		return Subject{}, shop.Errorf(shop.ENOTFOUND, "The account was not found.")
	}
	s := Subject{user: user}
	if user.Verified() && user.Email() != "" {
		s.emails = []string{strings.ToLower(user.Email())}
	}
	return s, nil
}

// ownerSubject is whoever uses address (the owner's commands): the account
// with that address if there is one, and every order placed with it,
// guests' included.
func ownerSubject(app core.App, address string) (Subject, error) {
	address = strings.TrimSpace(address)
	if err := checkAddress(address); err != nil {
		return Subject{}, err
	}
	s := Subject{emails: []string{strings.ToLower(address)}}
	users, err := app.FindRecordsByFilter("users", "email:lower = {:email}", "", 1, 0,
		dbx.Params{"email": strings.ToLower(address)})
	if err != nil {
		return Subject{}, fmt.Errorf("find the account of %s: %w", address, err)
	}
	if len(users) > 0 {
		s.user = users[0]
	}
	return s, nil
}

// checkAddress refuses what cannot be an email address.
func checkAddress(address string) error {
	if address == "" || len(address) > maxEmailLength {
		return shop.FieldErr(shop.EINVALID, "email", "invalid_email", "Give an email address of at most 254 characters.")
	}
	if a, err := mail.ParseAddress(address); err != nil || a.Address != address {
		return shop.FieldErr(shop.EINVALID, "email", "invalid_email", "This is not an email address.")
	}
	return nil
}

// userID is the subject's account id, or "" for a guest.
func (s Subject) userID() string {
	if s.user == nil {
		return ""
	}
	return s.user.Id
}

// findOrders returns the subject's orders, oldest first.
func findOrders(app core.App, s Subject) ([]*core.Record, error) {
	var cond []dbx.Expression
	if id := s.userID(); id != "" {
		cond = append(cond, dbx.HashExp{"customer": id})
	}
	if len(s.emails) > 0 {
		cond = append(cond, inLower("email", s.emails))
	}
	if len(cond) == 0 {
		return nil, nil
	}
	var out []*core.Record
	err := app.RecordQuery("orders").AndWhere(dbx.Or(cond...)).OrderBy("number ASC").All(&out)
	if err != nil {
		return nil, fmt.Errorf("find the customer's orders: %w", err)
	}
	return out, nil
}

// inLower is `column IN (values...)` compared case-insensitively (ASCII,
// as SQLite's lower() does), which idx_orders_email serves.
func inLower(column string, values []string) dbx.Expression {
	params := dbx.Params{}
	names := make([]string, len(values))
	for i, v := range values {
		key := fmt.Sprintf("in_%s_%d", column, i)
		params[key] = v
		names[i] = "{:" + key + "}"
	}
	return dbx.NewExp("[["+column+"]] COLLATE NOCASE IN ("+strings.Join(names, ", ")+")", params)
}

// orderIDs returns the ids of orders.
func orderIDs(orders []*core.Record) []any {
	ids := make([]any, len(orders))
	for i, o := range orders {
		ids[i] = o.Id
	}
	return ids
}

// addresses returns the subject's addresses and those of their orders,
// lower-cased, without repeats.
func addresses(s Subject, orders []*core.Record) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, a := range s.emails {
		add(a)
	}
	if s.user != nil {
		add(s.user.Email())
	}
	for _, o := range orders {
		add(o.GetString("email"))
	}
	return out
}
