package shop

// StockCrossing says which stock levels a change of one stock-keeping unit
// (a simple product or a variant) went below: its low-stock threshold, zero.
// Both are crossings going down only, so a unit that stays low while more
// orders come in crosses nothing again.
type StockCrossing struct {
	// Low: the stock was above the threshold and is at or below it now.
	Low bool
	// Out: the stock was above zero and is zero now.
	Out bool
}

// Any reports whether the change crossed a level.
func (c StockCrossing) Any() bool { return c.Low || c.Out }

// CrossedStockLevels is the one decision of what a stock change from before
// to after crossed, for a unit whose low-stock threshold is threshold: the
// owner's low-stock email and the product.low_stock / product.out_of_stock
// webhook events all ask it.
func CrossedStockLevels(before, after, threshold int) StockCrossing {
	if after >= before {
		return StockCrossing{}
	}
	return StockCrossing{
		Low: after <= threshold && threshold < before,
		Out: after <= 0 && before > 0,
	}
}
