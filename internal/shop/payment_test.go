package shop_test

import (
	"testing"

	"pocketshop/internal/shop"
)

func TestOnPaid(t *testing.T) {
	t.Parallel()
	paid := shop.Payment{AmountCents: 2300, Currency: "usd", Intent: "pi_1"}
	order := func(status, known string) shop.PaidOrder {
		return shop.PaidOrder{Status: status, TotalCents: 2300, Currency: "usd", KnownIntent: known}
	}
	tests := []struct {
		name  string
		order shop.PaidOrder
		paid  shop.Payment
		want  shop.PaidAction
	}{
		{"pending is paid", order(shop.StatusPending, ""), paid, shop.PaidMarkPaid},
		{"less than the total", order(shop.StatusPending, ""), shop.Payment{AmountCents: 2299, Currency: "usd"}, shop.PaidWrongAmount},
		{"more than the total", order(shop.StatusPending, ""), shop.Payment{AmountCents: 2301, Currency: "usd"}, shop.PaidWrongAmount},
		{"another currency", order(shop.StatusPending, ""), shop.Payment{AmountCents: 2300, Currency: "eur"}, shop.PaidWrongAmount},
		{"wrong amount on a paid order", order(shop.StatusPaid, "pi_1"), shop.Payment{AmountCents: 1}, shop.PaidWrongAmount},
		{"expired", order(shop.StatusExpired, ""), paid, shop.PaidLate},
		{"cancelled", order(shop.StatusCancelled, ""), paid, shop.PaidLate},
		{"paid with this payment", order(shop.StatusPaid, "pi_1"), paid, shop.PaidAlready},
		{"fulfilled, payment unknown", order(shop.StatusFulfilled, ""), paid, shop.PaidAlready},
		{"refunded with this payment", order(shop.StatusRefunded, "pi_1"), paid, shop.PaidAlready},
		{"paid with another payment", order(shop.StatusPaid, "pi_0"), paid, shop.PaidTwice},
		{"fulfilled with another payment", order(shop.StatusFulfilled, "pi_0"), paid, shop.PaidTwice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := shop.OnPaid(tt.order, tt.paid); got != tt.want {
				t.Errorf("OnPaid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOnLatePayment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		available bool
		setting   string
		want      shop.LateAction
	}{
		{true, shop.LatePaymentRefund, shop.LateReserveAgain},
		{true, shop.LatePaymentFlag, shop.LateReserveAgain},
		{false, shop.LatePaymentRefund, shop.LateRefund},
		{false, shop.LatePaymentFlag, shop.LateFlag},
		{false, "", shop.LateRefund},
	}
	for _, tt := range tests {
		if got := shop.OnLatePayment(tt.available, tt.setting); got != tt.want {
			t.Errorf("OnLatePayment(%v, %q) = %v, want %v", tt.available, tt.setting, got, tt.want)
		}
	}
}

func TestOnRefund(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                  string
		status, issue         string
		before, refundedTotal int64
		want                  shop.RefundAction
	}{
		{"seen before", shop.StatusPaid, "", 500, 500, shop.RefundNothing},
		{"older total", shop.StatusPaid, "", 500, 300, shop.RefundNothing},
		{"payment not recorded yet", shop.StatusPending, "", 0, 1000, shop.RefundRetryLater},
		{"wrong amount refunded", shop.StatusPending, shop.IssueAmountMismatch, 0, 1000, shop.RefundRecord},
		{"paid, in full", shop.StatusPaid, "", 0, 1000, shop.RefundFull},
		{"paid, over the total", shop.StatusPaid, "", 0, 1200, shop.RefundFull},
		{"fulfilled, the rest", shop.StatusFulfilled, "", 400, 1000, shop.RefundFull},
		{"paid, part", shop.StatusPaid, "", 0, 400, shop.RefundPartial},
		{"fulfilled, more of it", shop.StatusFulfilled, "", 200, 400, shop.RefundPartial},
		{"refunded already, more", shop.StatusRefunded, "", 1000, 1100, shop.RefundRecord},
		{"late payment", shop.StatusExpired, shop.IssueLateRefundPending, 0, 1000, shop.RefundRecord},
		{"late payment, flagged", shop.StatusCancelled, shop.IssueLateFlagged, 0, 1000, shop.RefundRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := shop.OnRefund(tt.status, tt.issue, 1000, tt.before, tt.refundedTotal); got != tt.want {
				t.Errorf("OnRefund = %v, want %v", got, tt.want)
			}
		})
	}
}
