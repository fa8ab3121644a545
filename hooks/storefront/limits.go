package storefront

import (
	"errors"
	"fmt"
	"net/http"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// maxOrderBodyBytes bounds the body of an order created through the records
// API: fifty lines, an address and a note fit in a few KiB. PocketBase's own
// limit for a records-API create is 32 MiB.
const maxOrderBodyBytes = 64 << 10

// orderBodyLimit is PocketBase's body limit middleware at the order size.
var orderBodyLimit = apis.BodyLimit(maxOrderBodyBytes)

// BindLimits binds the limits that are not PocketBase settings: the
// body size of order creates. The per-IP rate limits are PocketBase settings
// that a migration turns on (pb_migrations/1764406000_backups_and_rate_limits.go).
func BindLimits(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "shopOrderBodyLimit",
			Priority: apis.DefaultBodyLimitMiddlewarePriority,
			Func:     limitOrderBody,
		})
		return se.Next()
	})
}

// limitOrderBody applies maxOrderBodyBytes to POST
// /api/collections/orders/records (by the collection's name or id).
func limitOrderBody(e *core.RequestEvent) error {
	if e.Request.Method != http.MethodPost || e.Request.Pattern != "POST /api/collections/{collection}/records" {
		return e.Next()
	}
	c, err := e.App.FindCachedCollectionByNameOrId(e.Request.PathValue("collection"))
	if err != nil || c.Name != "orders" {
		return e.Next()
	}
	// An oversized order is bad input like any other: answer it with the
	// 400 every other rejected order gets, not the middleware's 413.
	err = orderBodyLimit.Func(e)
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusRequestEntityTooLarge {
		return httperr.Response(shop.Errorf(shop.EINVALID, "%s", orderTooLargeMessage))
	}
	return err
}

// orderTooLargeMessage answers an order body over maxOrderBodyBytes.
var orderTooLargeMessage = fmt.Sprintf("The order is too large: at most %d KiB may be sent.", maxOrderBodyBytes>>10)
