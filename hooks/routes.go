package hooks

import (
	"errors"
	"fmt"
	"net/http"

	"pocketshop/internal/shop"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// maxShopBodyBytes bounds the body of every /api/shop route.
const maxShopBodyBytes = 64 << 10

// bindRoutes registers every /api/shop route.
func bindRoutes(app core.App, s *shopHooks) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/shop")
		g.Bind(apis.BodyLimit(maxShopBodyBytes))
		g.POST("/orders/{id}/cancel", s.cancelOrder)
		g.POST("/orders/{id}/pay", s.payOrder)
		// Stripe's events may exceed the group's body limit (the handler
		// applies its own), and a rate limit must never drop Stripe's retries.
		g.POST("/stripe/webhook", s.stripeWebhook).
			Unbind(apis.DefaultBodyLimitMiddlewareId, apis.DefaultRateLimitMiddlewareId)
		g.GET("/settings", s.getPublicSettings)
		return se.Next()
	})
}

// cancelOrder lets the order's customer (or a guest holding its token)
// cancel a pending order; its stock is released.
func (s *shopHooks) cancelOrder(e *core.RequestEvent) error {
	order, err := findAccessibleOrder(e)
	if err != nil {
		return err
	}

	actor, message := shop.ActorCustomer, "Cancelled by the customer."
	if e.HasSuperuserAuth() {
		actor, message = shop.ActorAdmin, "Cancelled by the owner."
	}
	err = e.App.RunInTransaction(func(txApp core.App) error {
		// MoveOrder saves an order already in the status without a word, so
		// check here, in the transaction, that there is still something to
		// cancel: a second cancel gets a 400 too.
		current, err := txApp.FindRecordById("orders", order.Id)
		if err != nil {
			return fmt.Errorf("find order %s: %w", order.Id, err)
		}
		if from := current.GetString("status"); from == shop.StatusCancelled {
			return validation.Errors{"status": validation.NewError("invalid_status_move",
				shop.CheckMove(from, shop.StatusCancelled, actor).Error())}
		}
		order, err = MoveOrder(txApp, order.Id, shop.StatusCancelled, actor, message, nil)
		return err
	})
	if err != nil {
		return apiError(e, err)
	}
	return e.JSON(http.StatusOK, order)
}

// findAccessibleOrder loads the order named in the path if the caller may
// view it (its signed-in customer, a guest with ?token=, or a superuser).
// Anyone else gets the same 404 as for a missing order.
func findAccessibleOrder(e *core.RequestEvent) (*core.Record, error) {
	order, err := e.App.FindRecordById("orders", e.Request.PathValue("id"))
	if err != nil {
		return nil, e.NotFoundError("The order was not found.", nil)
	}
	info, err := e.RequestInfo()
	if err != nil {
		return nil, e.BadRequestError("", err)
	}
	ok, err := e.App.CanAccessRecord(order, info, order.Collection().ViewRule)
	if err != nil || !ok {
		return nil, e.NotFoundError("The order was not found.", nil)
	}
	return order, nil
}

// apiError turns a domain error into an API error: validation errors become
// a 400 with a message per field, anything else a 500.
func apiError(e *core.RequestEvent, err error) error {
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		return e.BadRequestError("The request could not be completed.", verrs)
	}
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	return e.InternalServerError("", err)
}
