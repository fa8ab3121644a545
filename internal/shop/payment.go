package shop

// Values of orders.payment_issue: a payment the owner must know about.
const (
	IssueLateRefundPending = "late_payment_refund_pending"
	IssueLateRefunded      = "late_payment_refunded"
	IssueLateFlagged       = "late_payment_flagged"
	IssueAmountMismatch    = "amount_mismatch"
)

// Payment is a completed payment as the provider reports it.
type Payment struct {
	AmountCents int64
	Currency    string
	Intent      string // the provider's payment id
}

// PaidOrder is what a payment decision needs to know of its order.
type PaidOrder struct {
	Status      string
	TotalCents  int64
	Currency    string
	KnownIntent string // the payment already recorded on the order, if any
}

// PaidAction is what a completed payment does to its order.
type PaidAction int

const (
	// PaidMarkPaid: the pending order is paid.
	PaidMarkPaid PaidAction = iota + 1
	// PaidWrongAmount: the payment does not match the order's total or
	// currency; the order is not paid and the owner is told.
	PaidWrongAmount
	// PaidLate: the order expired or was cancelled before the payment
	// arrived (see OnLatePayment).
	PaidLate
	// PaidAlready: the order is paid with this payment already; nothing to do.
	PaidAlready
	// PaidTwice: the order was paid with another payment; the owner must
	// refund this one.
	PaidTwice
)

// OnPaid decides what a completed payment does to order.
func OnPaid(order PaidOrder, p Payment) PaidAction {
	if p.AmountCents != order.TotalCents || p.Currency != order.Currency {
		return PaidWrongAmount
	}
	switch order.Status {
	case StatusPending:
		return PaidMarkPaid
	case StatusExpired, StatusCancelled:
		return PaidLate
	}
	if order.KnownIntent == "" || order.KnownIntent == p.Intent {
		return PaidAlready
	}
	return PaidTwice
}

// LateAction is what becomes of a payment that arrived after its order
// expired or was cancelled.
type LateAction int

const (
	// LateReserveAgain: the stock is there; the order is reserved again and paid.
	LateReserveAgain LateAction = iota + 1
	// LateRefund: the stock is gone; the payment is refunded in full.
	LateRefund
	// LateFlag: the stock is gone; the owner decides (refund or deliver later).
	LateFlag
)

// Late payment settings (shop_settings.late_payment_action).
const (
	LatePaymentRefund = "refund"
	LatePaymentFlag   = "flag"
)

// OnLatePayment decides what becomes of a late payment, given whether its
// order's stock can be reserved again and the shop's late payment setting.
func OnLatePayment(stockAvailable bool, setting string) LateAction {
	switch {
	case stockAvailable:
		return LateReserveAgain
	case setting == LatePaymentFlag:
		return LateFlag
	}
	return LateRefund
}

// RefundAction is what a refund reported by the provider does to its order.
type RefundAction int

const (
	// RefundNothing: this refunded total is recorded already (a refund seen
	// twice or out of order).
	RefundNothing RefundAction = iota + 1
	// RefundRetryLater: the order's payment is not recorded yet; the refund
	// is processed once it is.
	RefundRetryLater
	// RefundFull: the paid order is refunded in full and moves to refunded.
	RefundFull
	// RefundPartial: part of the paid order is refunded; its status stays.
	RefundPartial
	// RefundRecord: the money of an order that is not paid (refunded, a late
	// payment, a payment of the wrong amount) is given back; the refund is
	// recorded and the status stays.
	RefundRecord
)

// OnRefund decides what a refund does to an order in status with the given
// payment issue: refundedTotal is the provider's cumulative refunded
// amount, refundedBefore what the order has recorded.
func OnRefund(status, issue string, totalCents, refundedBefore, refundedTotal int64) RefundAction {
	switch {
	case refundedTotal <= refundedBefore:
		return RefundNothing
	case status == StatusPending && issue != IssueAmountMismatch:
		return RefundRetryLater
	case status == StatusPaid || status == StatusFulfilled:
		if refundedTotal >= totalCents {
			return RefundFull
		}
		return RefundPartial
	}
	return RefundRecord
}
