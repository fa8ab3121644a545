package shop_test

import (
	"errors"
	"fmt"
	"testing"

	"pocketshop/internal/shop"

	validation "github.com/go-ozzo/ozzo-validation/v4"
)

func TestErrorCode(t *testing.T) {
	t.Parallel()
	conflict := shop.FieldErr(shop.ECONFLICT, "status", "invalid_status_move", "No.")
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{errors.New("disk full"), shop.EINTERNAL},
		{shop.Errorf(shop.ENOTFOUND, "The order was not found."), shop.ENOTFOUND},
		{fmt.Errorf("move order: %w", conflict), shop.ECONFLICT},
	}
	for _, tt := range tests {
		if got := shop.ErrorCode(tt.err); got != tt.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// A shop.Error with fields reads as validation.Errors, so that PocketBase's
// records API shows its per-field messages when a record hook returns it.
func TestErrorFieldsAreValidationErrors(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("save: %w", shop.Invalid("The order could not be accepted.", shop.FieldErrors{"items": "Too many."}))
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		t.Fatalf("%v is not validation.Errors", err)
	}
	var ve validation.Error
	if !errors.As(verrs["items"], &ve) || ve.Code() != "validation_invalid_items" || ve.Message() != "Too many." {
		t.Errorf("items = %v, want validation_invalid_items: Too many.", verrs["items"])
	}
}
