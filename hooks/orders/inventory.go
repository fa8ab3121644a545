package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"pocketshop/hooks/txn"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Stock movement reasons, as stored in stock_movements.reason.
const (
	reasonReserve = "reserve"
	reasonRelease = "release"
	reasonRestock = "restock"
	reasonAdjust  = "adjust"
)

// NotEnoughStockError is returned when a reservation asks for more units than
// a product (or variant) has left.
type NotEnoughStockError struct {
	Product string // the product's name, with the variant's title (shop.SKUName)
	Left    int
}

func (e *NotEnoughStockError) Error() string {
	if e.Left == 0 {
		return fmt.Sprintf("Not enough stock for %q: it is sold out.", e.Product)
	}
	return fmt.Sprintf("Not enough stock for %q: only %d left.", e.Product, e.Left)
}

// stockCollections hold stock: a simple product's on the product, a
// variant's on the variant. Each is a stock-keeping unit with its own ledger.
var stockCollections = []string{"products", "variants"}

// bindInventory makes every change of a product's or variant's stock,
// whoever makes it (an order, the dashboard, an import), write a
// stock_movements row in the same transaction, so that stock always equals
// the sum of its ledger.
func bindInventory(app core.App) {
	app.OnRecordCreate(stockCollections...).BindFunc(onUnitCreate)
	app.OnRecordUpdateRequest(stockCollections...).BindFunc(onUnitUpdateRequest)
	app.OnRecordUpdate(stockCollections...).BindFunc(onUnitUpdate)
}

// unitOf names the stock-keeping unit r (a products or variants record)
// is, as stock_movements records it: the product, and the variant for a
// variant.
func unitOf(r *core.Record) (productID, variantID string) {
	if r.Collection().Name == "variants" {
		return r.GetString("product"), r.Id
	}
	return r.Id, ""
}

func onUnitCreate(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		if err := e.Next(); err != nil {
			return err
		}
		stock := e.Record.GetInt("stock")
		if stock == 0 {
			return nil
		}
		productID, variantID := unitOf(e.Record)
		return writeMovement(txApp, productID, variantID, stock, reasonRestock, "", stock)
	})
}

// stockModifier is a records-API save's "stock+" / "stock-": units the
// owner adds or takes, whatever the stock is when the save happens.
type stockModifier struct{ delta int }

// stockModifiers holds, during a records-API save of a product or variant, the stock
// change its "stock+" / "stock-" asked for (see onUnitUpdateRequest).
var stockModifiers sync.Map // *core.Record -> stockModifier

// onUnitUpdateRequest notes the stock modifiers of a records-API save.
// PocketBase resolves "stock+": 1 against the record as it loaded it, before
// the save's transaction (and between two reads of the record), so by the
// time onUnitUpdate runs the intended delta can no longer be told from
// the record: it is taken from the request body here. A plain "stock": N
// (alone or with modifiers) is an absolute set: the owner counted N units.
func onUnitUpdateRequest(e *core.RecordRequestEvent) error {
	var body map[string]any
	if err := e.BindBody(&body); err != nil {
		return e.BadRequestError("Failed to read the submitted data.", err)
	}
	add, hasAdd := body["stock+"]
	take, hasTake := body["stock-"]
	if _, plain := body["stock"]; plain || (!hasAdd && !hasTake) {
		return e.Next()
	}
	a, okAdd := modifierValue(add)
	t, okTake := modifierValue(take)
	delta := a - t
	if !okAdd || !okTake || delta != math.Trunc(delta) || math.Abs(delta) > math.MaxInt32 {
		return e.BadRequestError("The "+strings.TrimSuffix(e.Collection.Name, "s")+" could not be saved.", validation.Errors{
			"stock": validation.NewError("stock_not_whole", "Stock changes must be whole numbers."),
		})
	}
	stockModifiers.Store(e.Record, stockModifier{delta: int(delta)})
	defer stockModifiers.Delete(e.Record)
	return e.Next()
}

// modifierValue reads a modifier's amount as JSON (a number) or a form (a
// string) sends it; absent is 0.
func modifierValue(v any) (float64, bool) {
	switch n := v.(type) {
	case nil:
		return 0, true
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

// onUnitUpdate books every stock change in the ledger, against the stock
// stored when the save happens: a modifier ("stock+", an order's
// reservation) is applied to it as a delta; any other new value is an
// absolute set, booked as its difference from the stored stock; a writer
// that left stock as it loaded it (the owner renaming the product) leaves
// the stored stock alone, so it cannot put back units reserved meanwhile.
func onUnitUpdate(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		// Compare with the stock stored now, not with the record as it was
		// loaded: an order may have reserved units since the owner opened it.
		var current struct {
			Stock int `db:"stock"`
		}
		table := e.Record.Collection().Name
		err := txApp.DB().Select("stock").From(table).
			Where(dbx.HashExp{"id": e.Record.Id}).One(&current)
		if err != nil {
			return fmt.Errorf("read stock of %s %s: %w", table, e.Record.Id, err)
		}

		m, ok := movementFrom(e.Context)
		stock := e.Record.GetInt("stock")
		if mod, isMod := stockModifiers.Load(e.Record); isMod {
			stock = current.Stock + mod.(stockModifier).delta
		} else if !ok && stock == e.Record.Original().GetInt("stock") {
			stock = current.Stock
		}
		if stock < 0 {
			return validation.Errors{"stock": validation.NewError("stock_negative", fmt.Sprintf(
				"Stock cannot go below zero: %d left now.", current.Stock))}
		}
		e.Record.Set("stock", stock)

		if err := e.Next(); err != nil {
			return err
		}

		delta := stock - current.Stock
		if delta == 0 {
			return nil
		}
		if !ok {
			m.reason = reasonAdjust
			if delta > 0 {
				m.reason = reasonRestock
			}
		}
		productID, variantID := unitOf(e.Record)
		return writeMovement(txApp, productID, variantID, delta, m.reason, m.order, stock)
	})
}

func writeMovement(txApp core.App, productID, variantID string, delta int, reason, orderID string, stockAfter int) error {
	col, err := txApp.FindCachedCollectionByNameOrId("stock_movements")
	if err != nil {
		return err
	}
	mv := core.NewRecord(col)
	mv.Set("product", productID)
	mv.Set("variant", variantID)
	mv.Set("delta", delta)
	mv.Set("reason", reason)
	mv.Set("order", orderID)
	mv.Set("stock_after", stockAfter)
	if err := txApp.Save(mv); err != nil {
		return fmt.Errorf("write stock movement for product %s: %w", productID, err)
	}
	return nil
}

// reserveLines takes each line's quantity out of stock for order orderID.
// txApp must be a transaction: a line that cannot be reserved returns a
// *NotEnoughStockError and the caller's rollback undoes the earlier lines.
func reserveLines(txApp core.App, orderID string, lines []shop.OrderLine) error {
	for _, l := range lines {
		if err := changeStock(txApp, l, -l.Quantity, reasonReserve, orderID); err != nil {
			return err
		}
	}
	return nil
}

// releaseLines puts each line's quantity back into stock.
func releaseLines(txApp core.App, orderID string, lines []shop.OrderLine) error {
	for _, l := range lines {
		if err := changeStock(txApp, l, l.Quantity, reasonRelease, orderID); err != nil {
			return err
		}
	}
	return nil
}

// changeStock adds delta to the stock of line l's unit: its variant's, or
// for a simple product the product's. It reads and writes within txApp's
// transaction, which holds SQLite's only write connection, so no other
// writer can take the same units in between: the check cannot go stale and
// stock can never become negative.
func changeStock(txApp core.App, l shop.OrderLine, delta int, reason, orderID string) error {
	collection, id := unitOfLine(l)
	p, err := txApp.FindRecordById(collection, id)
	if err != nil {
		return fmt.Errorf("find %s %s: %w", collection, id, err)
	}
	stock := p.GetInt("stock")
	if stock+delta < 0 {
		name := p.GetString("name")
		if l.Variant != "" {
			name = shop.SKUName(l.Name, p.GetString("title"))
		}
		return &NotEnoughStockError{Product: name, Left: stock}
	}
	p.Set("stock", stock+delta)
	ctx := withMovement(context.Background(), reason, orderID)
	if err := txApp.SaveNoValidateWithContext(ctx, p); err != nil {
		return fmt.Errorf("save stock of %s %s: %w", collection, id, err)
	}
	return nil
}

// unitOfLine names the record that holds the stock of order line l.
func unitOfLine(l shop.OrderLine) (collection, id string) {
	if l.Variant != "" {
		return "variants", l.Variant
	}
	return "products", l.Product
}

// Restock puts an order's lines back into stock (a refund that returns the
// items), each with a "restock" movement.
func Restock(txApp core.App, orderID string, lines []shop.OrderLine) error {
	for _, l := range lines {
		if err := changeStock(txApp, l, l.Quantity, reasonRestock, orderID); err != nil {
			return err
		}
	}
	return nil
}

// StockAvailable reports whether every line could be reserved now.
func StockAvailable(txApp core.App, lines []shop.OrderLine) (bool, error) {
	for _, l := range lines {
		collection, id := unitOfLine(l)
		p, err := txApp.FindRecordById(collection, id)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // deleted: it cannot be reserved
		}
		if err != nil {
			return false, fmt.Errorf("find %s %s: %w", collection, id, err)
		}
		if p.GetInt("stock") < l.Quantity {
			return false, nil
		}
	}
	return true, nil
}
