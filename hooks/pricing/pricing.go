// Package pricing reads the shop's pricing rules (discount codes, tax
// rates, shipping rates) for an order, checks the ones its buyer chose and
// prices the order with internal/shop's arithmetic. It also keeps the
// owner's records of those rules valid and counts the uses of codes: a use
// is taken in the order's own transaction (orders' group-commit Op) and
// given back when an unpaid order is cancelled or expires.
//
// Its reads take a Query, so that the same code reads through the app
// (a request's first pricing) and inside the writer's transaction (the
// check that counts).
package pricing

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"pocketshop/hooks/settings"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Query prepares a statement (dbx syntax) bound to params: the app's DB
// (AppQuery) or the writer's transaction (groupcommit.Tx.Query).
type Query func(sqlText string, params dbx.Params) *dbx.Query

// AppQuery is app's Query.
func AppQuery(app core.App) Query {
	return func(sqlText string, params dbx.Params) *dbx.Query {
		return app.DB().NewQuery(sqlText).Bind(params)
	}
}

// Input is what pricing an order needs besides its priced lines.
type Input struct {
	Code         string // the code as the buyer typed it; "" for none
	ShippingRate string // the chosen rate's id; "" for none
	Address      map[string]string
	Email        string // "" while unknown (a quote): per-email limits are not checked
	Now          time.Time
	Settings     settings.Settings
}

// Result is an order priced with its rules.
type Result struct {
	Rules shop.Rules
	Code  *shop.DiscountCode  // nil: no code
	Rate  *shop.ShippingRate  // nil: the flat rule, or nothing to ship
	Lines []shop.OrderLine    // with their discount and tax
	Total shop.Totals         // the order's amounts
	Rates []shop.ShippingRate // active rates that ship to the address (a quote shows them)
}

// Prepare reads the rules for an order with lines (priced, stock not yet
// taken) and in, checks the buyer's code and rate, and prices the order. A
// refused code or rate is a message on its field (discount_code,
// shipping_rate); err is for failures to read.
func Prepare(q Query, lines []shop.OrderLine, in Input) (Result, shop.FieldErrors, error) {
	var res Result
	errs := shop.FieldErrors{}
	country, region := strings.ToUpper(in.Address["country"]), in.Address["region"]

	rates, err := shippingRates(q)
	if err != nil {
		return res, nil, err
	}
	for _, r := range rates {
		if r.Active && in.Address != nil && r.Covers(country) {
			res.Rates = append(res.Rates, r)
		}
	}
	rate, msg := shop.ChooseShippingRate(rates, in.ShippingRate, in.Address != nil, country)
	if msg != "" {
		errs["shipping_rate"] = msg
	}
	res.Rate = rate
	switch {
	case rate != nil:
		res.Rules.Shipping = rate.Rule()
	case !anyActive(rates):
		res.Rules.Shipping = in.Settings.ShippingRule()
	}

	taxes, err := taxRates(q)
	if err != nil {
		return res, nil, err
	}
	res.Rules.Tax = shop.ChooseTaxRate(taxes, country, region)
	res.Rules.PricesIncludeTax = in.Settings.PricesIncludeTax

	if in.Code != "" {
		code, msg, err := CheckCode(q, in.Code, lines, in.Email, in.Now, in.Settings.Currency)
		if err != nil {
			return res, nil, err
		}
		if msg != "" {
			errs["discount_code"] = msg
		}
		res.Code = code
		res.Rules.Code = code
	}
	if len(errs) > 0 {
		return res, errs, nil
	}
	res.Lines, res.Total = shop.Price(lines, res.Rules)
	return res, nil, nil
}

// Reprice prices lines again with res's rules (the writer found the catalog
// changed since the request priced the order).
func (res *Result) Reprice(lines []shop.OrderLine) {
	res.Lines, res.Total = shop.Price(lines, res.Rules)
}

// CheckCode finds code (any case) and checks it for an order of lines by
// email at now: a nil code and a message when it is refused.
func CheckCode(q Query, code string, lines []shop.OrderLine, email string, now time.Time, currency string) (*shop.DiscountCode, string, error) {
	c, err := findCode(q, code)
	if err != nil {
		return nil, "", err
	}
	if c == nil || !c.Active {
		return nil, shop.UnknownCodeMessage(code), nil
	}
	var used int64
	if c.MaxUsesPerEmail > 0 && email != "" {
		if used, err = usesByEmail(q, c.Code, email); err != nil {
			return nil, "", err
		}
	}
	msg := shop.CheckCode(*c, shop.CodeUse{Now: now, Lines: lines, Currency: currency, UsedByEmail: used})
	if msg != "" {
		return nil, msg, nil
	}
	return c, "", nil
}

// TakeUse counts one use of code id. Call it after CheckCode in the same
// transaction: the condition only guards against a bug.
func TakeUse(q Query, id string) error {
	res, err := q(`UPDATE {{discount_codes}} SET [[used_count]] = [[used_count]] + 1, [[updated]] = {:now}
		WHERE [[id]] = {:id} AND ([[max_uses]] = 0 OR [[used_count]] < [[max_uses]])`,
		dbx.Params{"id": id, "now": types.NowDateTime().String()}).Execute()
	if err != nil {
		return fmt.Errorf("count a use of discount code %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("count a use of discount code %s: the use checked is gone", id)
	}
	return nil
}

// ChangeUses adds delta (+1, -1) to the used_count of code (any case),
// never below 0; a code the owner deleted or renamed meanwhile is left
// alone.
func ChangeUses(q Query, code string, delta int) error {
	_, err := q(`UPDATE {{discount_codes}} SET [[used_count]] = MAX([[used_count]] + {:d}, 0), [[updated]] = {:now}
		WHERE [[code]] = {:code} COLLATE NOCASE`,
		dbx.Params{"code": code, "d": delta, "now": types.NowDateTime().String()}).Execute()
	if err != nil {
		return fmt.Errorf("change the uses of discount code %q: %w", code, err)
	}
	return nil
}

// HoldsUse reports whether an order in status counts as a use of its code:
// every order but a cancelled or expired one (those gave it back).
func HoldsUse(status string) bool {
	return status != shop.StatusCancelled && status != shop.StatusExpired
}

func anyActive(rates []shop.ShippingRate) bool {
	for _, r := range rates {
		if r.Active {
			return true
		}
	}
	return false
}

type codeRow struct {
	ID          string `db:"id"`
	Code        string `db:"code"`
	Kind        string `db:"kind"`
	Value       int64  `db:"value"`
	MinSubtotal int64  `db:"min_subtotal_cents"`
	StartsAt    string `db:"starts_at"`
	EndsAt      string `db:"ends_at"`
	MaxUses     int64  `db:"max_uses"`
	PerEmail    int64  `db:"max_uses_per_email"`
	Used        int64  `db:"used_count"`
	Active      bool   `db:"active"`
	Products    string `db:"products"`
}

func findCode(q Query, code string) (*shop.DiscountCode, error) {
	var row codeRow
	err := q(`SELECT [[id]], [[code]], [[kind]], [[value]], [[min_subtotal_cents]], [[starts_at]], [[ends_at]],
			[[max_uses]], [[max_uses_per_email]], [[used_count]], [[active]], [[products]]
		FROM {{discount_codes}} WHERE [[code]] = {:code} COLLATE NOCASE`, dbx.Params{"code": code}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find discount code: %w", err)
	}
	c := &shop.DiscountCode{
		ID: row.ID, Code: row.Code, Kind: row.Kind, Value: row.Value, MinSubtotalCents: row.MinSubtotal,
		MaxUses: row.MaxUses, MaxUsesPerEmail: row.PerEmail, UsedCount: row.Used, Active: row.Active,
	}
	c.StartsAt = parseDate(row.StartsAt)
	c.EndsAt = parseDate(row.EndsAt)
	if row.Products != "" {
		if err := json.Unmarshal([]byte(row.Products), &c.Products); err != nil {
			// A single relation is stored as a plain id.
			c.Products = []string{row.Products}
		}
	}
	return c, nil
}

func parseDate(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	dt, err := types.ParseDateTime(s)
	if err != nil {
		return time.Time{}
	}
	return dt.Time()
}

// usesByEmail counts the standing orders of email with code.
func usesByEmail(q Query, code, email string) (int64, error) {
	var n int64
	err := q(`SELECT COUNT(*) FROM {{orders}}
		WHERE [[discount_code]] = {:code} COLLATE NOCASE AND [[email]] = {:email} COLLATE NOCASE
			AND [[discount_code]] != '' AND [[status]] NOT IN ({:cancelled}, {:expired})`,
		dbx.Params{"code": code, "email": email, "cancelled": shop.StatusCancelled, "expired": shop.StatusExpired}).Row(&n)
	if err != nil {
		return 0, fmt.Errorf("count uses of discount code by email: %w", err)
	}
	return n, nil
}

// shippingRates reads every shipping rate, in the storefront's order.
func shippingRates(q Query) ([]shop.ShippingRate, error) {
	var rows []struct {
		ID        string `db:"id"`
		Name      string `db:"name"`
		Countries string `db:"countries"`
		Price     int64  `db:"price_cents"`
		FreeOver  int64  `db:"free_over_cents"`
		Active    bool   `db:"active"`
	}
	err := q(`SELECT [[id]], [[name]], [[countries]], [[price_cents]], [[free_over_cents]], [[active]]
		FROM {{shipping_rates}} ORDER BY [[position]], [[created]], [[id]]`, nil).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("read shipping rates: %w", err)
	}
	out := make([]shop.ShippingRate, len(rows))
	for i, r := range rows {
		out[i] = shop.ShippingRate{ID: r.ID, Name: r.Name, PriceCents: r.Price, FreeOverCents: r.FreeOver, Active: r.Active}
		// Checked on save (validateShippingRate); a bad list ships nowhere.
		_ = json.Unmarshal([]byte(r.Countries), &out[i].Countries)
	}
	return out, nil
}

// taxRates reads every tax rate, oldest first (the first of equals wins).
func taxRates(q Query) ([]shop.TaxRate, error) {
	var rows []struct {
		ID       string `db:"id"`
		Name     string `db:"name"`
		Country  string `db:"country"`
		Region   string `db:"region"`
		RateBP   int64  `db:"rate_bp"`
		Shipping bool   `db:"applies_to_shipping"`
	}
	err := q(`SELECT [[id]], [[name]], [[country]], [[region]], [[rate_bp]], [[applies_to_shipping]]
		FROM {{tax_rates}} ORDER BY [[created]], [[id]]`, nil).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("read tax rates: %w", err)
	}
	out := make([]shop.TaxRate, len(rows))
	for i, r := range rows {
		out[i] = shop.TaxRate{ID: r.ID, Name: r.Name, Country: r.Country, Region: r.Region, RateBP: r.RateBP, AppliesToShipping: r.Shipping}
	}
	return out, nil
}
