package storefront

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"

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
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "shopOrderBodyCheck",
			Priority: apis.DefaultBodyLimitMiddlewarePriority + 1,
			Func:     checkOrderBody,
		})
		return se.Next()
	})
}

// limitOrderBody applies maxOrderBodyBytes to POST
// /api/collections/orders/records (by the collection's name or id).
func limitOrderBody(e *core.RequestEvent) error {
	if !isOrderCreate(e) {
		return e.Next()
	}
	// An oversized order is bad input like any other: answer it with the
	// 400 every other rejected order gets, not the middleware's 413.
	err := orderBodyLimit.Func(e)
	var apiErr *router.ApiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusRequestEntityTooLarge {
		return bodyBadRequest(e, "body", orderTooLargeMessage)
	}
	return err
}

// checkOrderBody answers a JSON order body that cannot be read with a 400
// that says why, before the records API reads it. It runs after the body
// limit.
func checkOrderBody(e *core.RequestEvent) error {
	if !isOrderCreate(e) || e.Request.ContentLength == 0 ||
		!strings.HasPrefix(e.Request.Header.Get("Content-Type"), "application/json") {
		return e.Next()
	}
	raw, err := io.ReadAll(e.Request.Body)
	if rr, ok := e.Request.Body.(router.Rereader); ok {
		rr.Reread()
	}
	if errors.Is(err, apis.ErrRequestEntityTooLarge) {
		return bodyBadRequest(e, "body", orderTooLargeMessage)
	}
	if err != nil {
		return e.BadRequestError("Failed to read the order.", err)
	}
	if field, msg := checkOrderJSON(raw); field != "" {
		return bodyBadRequest(e, field, msg)
	}
	// The limit is enforced: later reads (the records API's, the order
	// hook's) must not count against it again.
	e.Request.Body = &router.RereadableReadCloser{ReadCloser: io.NopCloser(bytes.NewReader(raw))}
	return e.Next()
}

// isOrderCreate reports whether e is POST /api/collections/orders/records
// (by the collection's name or id).
func isOrderCreate(e *core.RequestEvent) bool {
	if e.Request.Method != http.MethodPost || e.Request.Pattern != "POST /api/collections/{collection}/records" {
		return false
	}
	c, err := e.App.FindCachedCollectionByNameOrId(e.Request.PathValue("collection"))
	return err == nil && c.Name == "orders"
}

// checkOrderJSON tells what keeps a JSON order body from being read, as a
// field and a message, or "" when it can be read. PocketBase's own answer
// to these ("Something went wrong while processing your request.") does
// not say what is wrong.
func checkOrderJSON(raw []byte) (field, msg string) {
	if !json.Valid(raw) {
		return "body", "The order is not valid JSON."
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "body", "The order must be a JSON object."
	}
	for k, v := range obj {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			// valid JSON that does not decode: a number beyond float64
			return k, "Contains a number too large to read."
		}
	}
	return "", ""
}

// bodyBadRequest answers a 400 in PocketBase's error shape with msg on field.
func bodyBadRequest(e *core.RequestEvent, field, msg string) error {
	return e.BadRequestError("The order could not be accepted.", validation.Errors{
		field: validation.NewError("validation_invalid_"+field, msg),
	})
}

// orderTooLargeMessage answers an order body over maxOrderBodyBytes.
var orderTooLargeMessage = fmt.Sprintf("The order is too large: at most %d KiB may be sent.", maxOrderBodyBytes>>10)
