package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"pocketshop/hooks/txn"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
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
// a product has left.
type NotEnoughStockError struct {
	Product string // the product's name
	Left    int
}

func (e *NotEnoughStockError) Error() string {
	if e.Left == 0 {
		return fmt.Sprintf("Not enough stock for %q: it is sold out.", e.Product)
	}
	return fmt.Sprintf("Not enough stock for %q: only %d left.", e.Product, e.Left)
}

// bindInventory makes every change of a product's stock, whoever makes
// it (an order, the dashboard, an import), write a stock_movements row in the
// same transaction, so that stock always equals the sum of its ledger.
func bindInventory(app core.App) {
	app.OnRecordCreate("products").BindFunc(onProductCreate)
	app.OnRecordUpdate("products").BindFunc(onProductUpdate)
}

func onProductCreate(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		if err := e.Next(); err != nil {
			return err
		}
		stock := e.Record.GetInt("stock")
		if stock == 0 {
			return nil
		}
		return writeMovement(txApp, e.Record.Id, stock, reasonRestock, "", stock)
	})
}

func onProductUpdate(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		// Compare with the stock stored now, not with the record as it was
		// loaded: an order may have reserved units since the owner opened it.
		var current struct {
			Stock int `db:"stock"`
		}
		err := txApp.DB().Select("stock").From("products").
			Where(dbx.HashExp{"id": e.Record.Id}).One(&current)
		if err != nil {
			return fmt.Errorf("read stock of product %s: %w", e.Record.Id, err)
		}

		// A writer that left stock as it loaded it (e.g. the owner renaming
		// the product) must not put back units reserved since then.
		m, ok := movementFrom(e.Context)
		if !ok && e.Record.GetInt("stock") == e.Record.Original().GetInt("stock") {
			e.Record.Set("stock", current.Stock)
		}

		if err := e.Next(); err != nil {
			return err
		}

		stock := e.Record.GetInt("stock")
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
		return writeMovement(txApp, e.Record.Id, delta, m.reason, m.order, stock)
	})
}

func writeMovement(txApp core.App, productID string, delta int, reason, orderID string, stockAfter int) error {
	col, err := txApp.FindCachedCollectionByNameOrId("stock_movements")
	if err != nil {
		return err
	}
	mv := core.NewRecord(col)
	mv.Set("product", productID)
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
		if err := changeStock(txApp, l.Product, -l.Quantity, reasonReserve, orderID); err != nil {
			return err
		}
	}
	return nil
}

// releaseLines puts each line's quantity back into stock.
func releaseLines(txApp core.App, orderID string, lines []shop.OrderLine) error {
	for _, l := range lines {
		if err := changeStock(txApp, l.Product, l.Quantity, reasonRelease, orderID); err != nil {
			return err
		}
	}
	return nil
}

// changeStock adds delta to a product's stock. It reads and writes within
// txApp's transaction, which holds SQLite's only write connection, so no
// other writer can take the same units in between: the check cannot go
// stale and stock can never become negative.
func changeStock(txApp core.App, productID string, delta int, reason, orderID string) error {
	p, err := txApp.FindRecordById("products", productID)
	if err != nil {
		return fmt.Errorf("find product %s: %w", productID, err)
	}
	stock := p.GetInt("stock")
	if stock+delta < 0 {
		return &NotEnoughStockError{Product: p.GetString("name"), Left: stock}
	}
	p.Set("stock", stock+delta)
	ctx := withMovement(context.Background(), reason, orderID)
	if err := txApp.SaveNoValidateWithContext(ctx, p); err != nil {
		return fmt.Errorf("save stock of product %s: %w", productID, err)
	}
	return nil
}

// Restock puts an order's lines back into stock (a refund that returns the
// items), each with a "restock" movement.
func Restock(txApp core.App, orderID string, lines []shop.OrderLine) error {
	for _, l := range lines {
		if err := changeStock(txApp, l.Product, l.Quantity, reasonRestock, orderID); err != nil {
			return err
		}
	}
	return nil
}

// StockAvailable reports whether every line could be reserved now.
func StockAvailable(txApp core.App, lines []shop.OrderLine) (bool, error) {
	for _, l := range lines {
		p, err := txApp.FindRecordById("products", l.Product)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // deleted: it cannot be reserved
		}
		if err != nil {
			return false, fmt.Errorf("find product %s: %w", l.Product, err)
		}
		if p.GetInt("stock") < l.Quantity {
			return false, nil
		}
	}
	return true, nil
}
