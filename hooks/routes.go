package hooks

import (
	"errors"
	"net/http"

	"pocketshop/internal/shop"

	validation "github.com/go-ozzo/ozzo-validation/v4"
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

	actor := shop.ActorCustomer
	if e.HasSuperuserAuth() {
		actor = shop.ActorAdmin
	}
	order, err = MoveOrder(e.App, order.Id, shop.StatusCancelled, actor, "Cancelled by the customer.", nil)
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
