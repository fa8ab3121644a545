package orders

import (
	"fmt"
	"net/http"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// Routes registers the order routes in the /api/shop group.
func (m *Manager) Routes(g *router.RouterGroup[*core.RequestEvent]) {
	g.POST("/orders/{id}/cancel", m.cancelOrder)
	g.POST("/quote", m.quote)
}

// cancelOrder lets the order's customer (or a guest holding its token)
// cancel a pending order; its stock is released.
func (m *Manager) cancelOrder(e *core.RequestEvent) error {
	order, err := FindAccessible(e)
	if err != nil {
		return err
	}

	actor, message := shop.ActorCustomer, "Cancelled by the customer."
	if e.HasSuperuserAuth() {
		actor, message = shop.ActorAdmin, "Cancelled by the owner."
	}
	err = e.App.RunInTransaction(func(txApp core.App) error {
		// Move saves an order already in the status without a word, so
		// check here, in the transaction, that there is still something to
		// cancel: a second cancel gets a 400 too.
		current, err := txApp.FindRecordById("orders", order.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", order.Id, err)
		}
		if from := current.GetString("status"); from == shop.StatusCancelled {
			return shop.FieldErr(shop.ECONFLICT, "status", "invalid_status_move",
				shop.CheckMove(from, shop.StatusCancelled, actor).Error())
		}
		order, err = Move(txApp, order.Id, shop.StatusCancelled, actor, message, nil)
		return err
	})
	if err != nil {
		return httperr.Response(err)
	}
	return e.JSON(http.StatusOK, order)
}

// FindAccessible loads the order named in the path if the caller may
// view it (its signed-in customer, a guest with ?token=, or a superuser).
// Anyone else gets the same 404 as for a missing order.
func FindAccessible(e *core.RequestEvent) (*core.Record, error) {
	order, err := e.App.FindRecordById("orders", e.Request.PathValue("id"))
	if err != nil {
		return nil, httperr.Response(errNotFound)
	}
	info, err := e.RequestInfo()
	if err != nil {
		return nil, httperr.Response(&shop.Error{Code: shop.EINVALID, Cause: err})
	}
	ok, err := e.App.CanAccessRecord(order, info, order.Collection().ViewRule)
	if err != nil || !ok {
		return nil, httperr.Response(errNotFound)
	}
	return order, nil
}

// errNotFound answers a missing order and another person's alike.
var errNotFound = shop.Errorf(shop.ENOTFOUND, "The order was not found.")
