package shop_test

import (
	"errors"
	"fmt"
	"testing"

	"pocketshop/internal/shop"
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
