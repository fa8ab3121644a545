package httperr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/tools/router"
)

func TestResponse(t *testing.T) {
	t.Parallel()
	pbErr := router.NewForbiddenError("Only superusers.", nil)
	tests := []struct {
		name    string
		err     error
		status  int
		message string
		data    string
	}{
		{"invalid with fields", shop.Invalid("The order could not be accepted.", shop.FieldErrors{"email": "Bad."}), 400,
			"The order could not be accepted.", `{"email":{"code":"validation_invalid_email","message":"Bad."}}`},
		{"conflict without a message", fmt.Errorf("move: %w", shop.FieldErr(shop.ECONFLICT, "status", "invalid_status_move", "No.")), 400,
			"The request could not be completed.", `{"status":{"code":"invalid_status_move","message":"No."}}`},
		{"invalid, no message", &shop.Error{Code: shop.EINVALID, Cause: errors.New("x")}, 400,
			"Something went wrong while processing your request.", `{}`},
		{"not found", shop.Errorf(shop.ENOTFOUND, "The order was not found."), 404, "The order was not found.", `{}`},
		{"too large", shop.Errorf(shop.ETOOLARGE, "The event is too large."), 413, "The event is too large.", `{}`},
		{"unavailable", shop.Errorf(shop.EUNAVAILABLE, "Payments are not configured."), 503, "Payments are not configured.", `{}`},
		{"upstream", &shop.Error{Code: shop.EUPSTREAM, Message: "Stripe could not start the checkout.", Cause: errors.New("timeout")}, 502,
			"Stripe could not start the checkout.", `{}`},
		{"record validation", validation.Errors{"name": validation.NewError("validation_required", "Cannot be blank.")}, 400,
			"The request could not be completed.", `{"name":{"code":"validation_required","message":"Cannot be blank."}}`},
		{"PocketBase's own", pbErr, 403, "Only superusers.", `{}`},
		{"anything else", errors.New("disk full"), 500, "Something went wrong while processing your request.", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := httperr.Response(tt.err)
			data, _ := json.Marshal(got.Data)
			if got.Status != tt.status || got.Message != tt.message || string(data) != tt.data {
				t.Errorf("Response = %d %q %s; want %d %q %s", got.Status, got.Message, data, tt.status, tt.message, tt.data)
			}
		})
	}
}

// A shop.Error returned from a record save reaches a records API client
// with its per-field messages (PocketBase reads validation.Errors), and
// stays a shop.Error for the shop's own callers.
func TestForRecordSave(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("save: %w", httperr.ForRecordSave(shop.FieldErr(shop.ECONFLICT, "status", "invalid_status_move", "No.")))
	if shop.ErrorCode(err) != shop.ECONFLICT {
		t.Errorf("code %q, want conflict", shop.ErrorCode(err))
	}
	data, _ := json.Marshal(router.NewBadRequestError("", err).Data)
	if want := `{"status":{"code":"invalid_status_move","message":"No."}}`; string(data) != want {
		t.Errorf("records API data %s, want %s", data, want)
	}
	plain := errors.New("disk full")
	if httperr.ForRecordSave(plain) != plain {
		t.Error("an error without fields is returned as it is")
	}
}
