package orders

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"pocketshop/hooks/pricing"
	"pocketshop/hooks/settings"
	"pocketshop/internal/groupcommit"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// An order create's writes, as a group-commit Op (internal/groupcommit): the
// request prepares everything first (parsed, priced, rendered); the Op only
// checks what may have changed since (stock, prices, products on sale) and
// writes with plain SQL, every check before its first write, so that a
// refused order leaves nothing to roll back. The rows fire PocketBase's
// after-success hooks (and realtime), not its before-save ones (README,
// "The write path of order create and payment").

// numberPlaceholder stands for the order number in the emails rendered
// before the writer gives the order its number; the writer puts the number
// in (rendering is the costliest part of an order's writes, and the writer
// runs one order at a time).
const numberPlaceholder = 9876543210123

// placedOrder is an order prepared for the writer: the record with every
// field but its number, its lines as priced, its order_events row and its
// emails rendered with numberPlaceholder.
type placedOrder struct {
	order  *core.Record
	lines  []shop.OrderLine
	event  *core.Record
	emails []*core.Record
	// priced holds the pricing rules the request chose (code, shipping
	// rate, tax) and the lines priced with them.
	priced pricing.Result
}

// preparePlaced prices order r (client fields, status, token, currency and
// reservation set) as priced and renders what it sends, for actor.
func (m *Manager) preparePlaced(app core.App, r *core.Record, priced pricing.Result, actor string) (*placedOrder, error) {
	if r.Id == "" {
		r.Id = core.GenerateDefaultRandomId()
	}
	lines := priced.Lines
	setPriced(r, priced, numberPlaceholder)
	ev, err := NewEvent(app, r.Id, "", shop.StatusPending, actor, "Order placed.", 0)
	if err != nil {
		return nil, err
	}
	emails, err := m.RenderEventEmails(app, ev, r)
	if err != nil {
		return nil, err
	}
	return &placedOrder{order: r, lines: lines, event: ev, emails: emails, priced: priced}, nil
}

func setPriced(r *core.Record, priced pricing.Result, number int) {
	totals := priced.Total
	r.Set("number", number)
	r.Set("items", priced.Lines)
	r.Set("subtotal_cents", totals.SubtotalCents)
	r.Set("shipping_cents", totals.ShippingCents)
	r.Set("total_cents", totals.TotalCents)
	setPricingFields(r, priced)
}

// setPricingFields sets the order fields of the pricing rules.
func setPricingFields(r *core.Record, priced pricing.Result) {
	r.Set("discount_cents", priced.Total.DiscountCents)
	r.Set("tax_cents", priced.Total.TaxCents)
	taxLines := priced.Total.TaxLines
	if taxLines == nil {
		taxLines = []shop.TaxLine{}
	}
	r.Set("tax_lines", taxLines)
	r.Set("discount_code", "")
	if priced.Code != nil {
		r.Set("discount_code", priced.Code.Code)
	}
	r.Set("shipping_rate", "")
	r.Set("shipping_rate_name", "")
	if priced.Rate != nil {
		r.Set("shipping_rate", priced.Rate.ID)
		r.Set("shipping_rate_name", priced.Rate.Name)
	}
}

// placeOp writes the prepared order p: it re-reads and prices its requested
// lines req, checks their stock and its discount code (validity, limits,
// uses left), takes the next order number and writes the order, the code's
// use, each line's reservation with its ledger row, the order_events row
// and the emails. The order's id is the server's (a client-chosen id is
// refused with the other server fields), so it is never taken.
func (m *Manager) placeOp(p *placedOrder, req []shop.Line, s settings.Settings) groupcommit.Op {
	r := p.order
	return func(tx *groupcommit.Tx) error {
		app := tx.App
		products, err := loadStock(tx, req)
		if err != nil {
			return err
		}
		lines, err := shop.PriceLines(req, products)
		if err != nil {
			return groupcommit.Refuse(shop.Invalid(orderRejected, shop.FieldErrors{"items": err.Error()}))
		}
		if err := checkStock(lines, products); err != nil {
			return groupcommit.Refuse(err)
		}
		priced := p.priced
		if code := priced.Code; code != nil {
			// Checked again here, where no other order can take a use
			// meanwhile: this is the check that counts.
			c, msg, err := pricing.CheckCode(tx.Query, code.Code, lines, r.GetString("email"), m.now().UTC(), s.Currency)
			if err != nil {
				return err
			}
			if msg != "" {
				return groupcommit.Refuse(shop.Invalid(orderRejected, shop.FieldErrors{"discount_code": msg}))
			}
			priced.Code, priced.Rules.Code = c, c
		}
		priced.Reprice(lines)
		// Checked: from here on every write must succeed.
		number, err := nextOrderNumber(tx.Query)
		if err != nil {
			return err
		}
		emails := p.emails
		if slices.Equal(priced.Lines, p.lines) {
			emails = withNumber(emails, number)
			r.Set("number", number)
		} else {
			// The catalog (or the code) changed since the request priced
			// the order.
			setPriced(r, priced, number)
			if emails, err = m.RenderEventEmails(app, p.event, r); err != nil {
				return err
			}
		}
		if _, err := tx.Insert(r, false); err != nil {
			return err
		}
		if priced.Code != nil {
			if err := pricing.TakeUse(tx.Query, priced.Code.ID); err != nil {
				return err
			}
		}

		movements, err := app.FindCachedCollectionByNameOrId("stock_movements")
		if err != nil {
			return err
		}
		now := groupcommit.Now()
		for _, l := range lines {
			// A variant line holds its stock on the variant, a simple
			// product's on the product: the same conditional UPDATE.
			unit, id := "products", l.Product
			if l.Variant != "" {
				unit, id = "variants", l.Variant
			}
			unitCol, err := app.FindCachedCollectionByNameOrId(unit)
			if err != nil {
				return err
			}
			p, err := tx.UpdateReturning(unitCol,
				"UPDATE {{"+unit+"}} SET [[stock]] = [[stock]] - {:q}, [[updated]] = {:now} WHERE [[id]] = {:id} AND [[stock]] >= {:q}",
				dbx.Params{"q": l.Quantity, "now": now, "id": id})
			if err != nil {
				return err
			}
			if p == nil {
				return fmt.Errorf("reserve %d of %s %s: the stock checked is gone", l.Quantity, unit, id)
			}
			mv := core.NewRecord(movements)
			mv.Set("product", l.Product)
			mv.Set("variant", l.Variant)
			mv.Set("delta", -l.Quantity)
			mv.Set("reason", reasonReserve)
			mv.Set("order", r.Id)
			mv.Set("stock_after", p.GetInt("stock"))
			if _, err := tx.Insert(mv, false); err != nil {
				return err
			}
			if err := m.insertStockDeliveries(tx, mv, p); err != nil {
				return err
			}
		}

		if _, err := tx.Insert(p.event, false); err != nil {
			return err
		}
		if err := m.InsertEventDeliveries(tx, p.event, r); err != nil {
			return err
		}
		return InsertEmails(tx, emails)
	}
}

// checkStock refuses lines that ask for more than their product or variant
// has left, naming the first such product (and variant).
func checkStock(lines []shop.OrderLine, products map[string]shop.Product) error {
	for _, l := range lines {
		p := products[l.Product]
		if left := shop.Available(l, p); left < int64(l.Quantity) {
			short := &NotEnoughStockError{Product: shop.SKUName(p.Name, l.VariantTitle), Left: int(left)}
			return shop.Invalid(orderRejected, shop.FieldErrors{"items": short.Error()})
		}
	}
	return nil
}

// withNumber returns copies of emails rendered with numberPlaceholder
// with the order number put in.
func withNumber(emails []*core.Record, number int) []*core.Record {
	ph, n := strconv.Itoa(numberPlaceholder), strconv.Itoa(number)
	numbered := make([]*core.Record, len(emails))
	for i, e := range emails {
		// Copies: when a batch is re-run, the Op runs again with the
		// placeholder still in the prepared emails, perhaps for another number.
		c := e.Clone()
		for _, f := range []string{"subject", "html", "text"} {
			c.Set(f, strings.ReplaceAll(c.GetString(f), ph, n))
		}
		numbered[i] = c
	}
	return numbered
}

// NewEvent returns an order_events row, not saved, with its id.
func NewEvent(app core.App, orderID, from, to, actor, message string, amountCents int) (*core.Record, error) {
	col, err := app.FindCachedCollectionByNameOrId("order_events")
	if err != nil {
		return nil, err
	}
	ev := core.NewRecord(col)
	ev.Id = core.GenerateDefaultRandomId()
	ev.Set("order", orderID)
	ev.Set("from_status", from)
	ev.Set("to_status", to)
	ev.Set("actor", actor)
	ev.Set("message", message)
	ev.Set("amount_cents", amountCents)
	return ev, nil
}

// InsertEmails queues rendered outbox rows in the writer's transaction,
// once per dedupe key.
func InsertEmails(tx *groupcommit.Tx, emails []*core.Record) error {
	for _, e := range emails {
		if _, err := tx.Insert(e, true); err != nil {
			return err
		}
	}
	return nil
}

// loadStock reads, in the writer's transaction, what pricing and the stock
// check need of the products req asks for.
func loadStock(tx *groupcommit.Tx, req []shop.Line) (map[string]shop.Product, error) {
	return selectProducts(func(q string) *dbx.Query { return tx.Query(q, nil) }, req)
}

// selectProducts reads the products req asks for with one plain SELECT
// prepared by newQuery, keyed by id, each with whether it is sold by
// variant, and the variants req names with a second one (only when it
// names any).
func selectProducts(newQuery func(string) *dbx.Query, req []shop.Line) (map[string]shop.Product, error) {
	params := make(dbx.Params, len(req))
	holders := make([]string, len(req))
	for i, l := range req {
		name := "p" + strconv.Itoa(i)
		params[name] = l.Product
		holders[i] = "{:" + name + "}"
	}
	var rows []struct {
		ID     string `db:"id"`
		Name   string `db:"name"`
		SKU    string `db:"sku"`
		Price  int64  `db:"price_cents"`
		Stock  int64  `db:"stock"`
		Active bool   `db:"active"`
		Max    int    `db:"max_per_order"`
		ByVar  bool   `db:"has_variants"`
	}
	err := newQuery("SELECT [[id]], [[name]], [[sku]], [[price_cents]], [[stock]], [[active]], [[max_per_order]], " +
		"EXISTS (SELECT 1 FROM {{variants}} v WHERE v.[[product]] = p.[[id]] AND v.[[active]] = TRUE) AS [[has_variants]] " +
		"FROM {{products}} p WHERE [[id]] IN (" + strings.Join(holders, ", ") + ")").Bind(params).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	variants, err := selectVariants(newQuery, req)
	if err != nil {
		return nil, err
	}
	products := make(map[string]shop.Product, len(rows))
	for _, r := range rows {
		products[r.ID] = shop.Product{ID: r.ID, Name: r.Name, SKU: r.SKU, UnitPriceCents: r.Price, Stock: r.Stock, Active: r.Active, MaxPerOrder: r.Max,
			HasVariants: r.ByVar, Variants: variants}
	}
	return products, nil
}

// pricingInput is what pricing needs of order input in.
func pricingInput(in shop.OrderInput, s settings.Settings, now time.Time) pricing.Input {
	return pricing.Input{
		Code: in.DiscountCode, ShippingRate: in.ShippingRate, Address: in.ShippingAddress,
		Email: in.Email, Now: now, Settings: s,
	}
}

// selectVariants reads the variants req names, keyed by id; nil when it
// names none.
func selectVariants(newQuery func(string) *dbx.Query, req []shop.Line) (map[string]shop.Variant, error) {
	params := dbx.Params{}
	var holders []string
	for i, l := range req {
		if l.Variant == "" {
			continue
		}
		name := "v" + strconv.Itoa(i)
		params[name] = l.Variant
		holders = append(holders, "{:"+name+"}")
	}
	if len(holders) == 0 {
		return nil, nil
	}
	var rows []struct {
		ID      string `db:"id"`
		Product string `db:"product"`
		Title   string `db:"title"`
		SKU     string `db:"sku"`
		Price   int64  `db:"price_cents"`
		Stock   int64  `db:"stock"`
		Active  bool   `db:"active"`
	}
	err := newQuery("SELECT [[id]], [[product]], [[title]], [[sku]], [[price_cents]], [[stock]], [[active]] FROM {{variants}} WHERE [[id]] IN (" +
		strings.Join(holders, ", ") + ")").Bind(params).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("load variants: %w", err)
	}
	variants := make(map[string]shop.Variant, len(rows))
	for _, r := range rows {
		variants[r.ID] = shop.Variant{ID: r.ID, Product: r.Product, Title: r.Title, SKU: r.SKU, UnitPriceCents: r.Price, Stock: r.Stock, Active: r.Active}
	}
	return variants, nil
}
