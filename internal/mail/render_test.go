package mail_test

import (
	"strings"
	"testing"
	"time"

	"pocketshop/internal/mail"
	"pocketshop/internal/shop"
)

func sampleData() mail.Data {
	return mail.Data{
		ShopName: "Ann & Bob's <Shop>",
		Order: mail.Order{
			ID: "abc", Number: 1042, Email: "ann@example.com", PaymentMethod: "manual",
			Address: mail.Address{Name: `Ann <img src=x onerror="alert(1)">`, Line1: "1 Main St", City: "Springfield", PostalCode: "12345", Country: "US"},
			Note:    "<script>alert('x')</script>",
			Lines: []shop.OrderLine{
				{Product: "p1", Name: "Mug <b>", SKU: "MUG-1", UnitPriceCents: 1500, Quantity: 2, LineTotalCents: 3000},
				{Product: "p2", Name: "Vase", UnitPriceCents: 123456, Quantity: 1, LineTotalCents: 123456},
			},
			SubtotalCents: 126456, ShippingCents: 0, TotalCents: 126456, RefundedCents: 500,
			Currency: "eur", TrackingNumber: "1Z999",
			URL: "https://shop.example.com/order.html?id=abc&token=t0k",
		},
		AmountCents:         500,
		Message:             "Your payment arrived late.",
		PaymentInstructions: "IBAN DE00 1234 <b>\nBIC ABCDEF",
		Product:             mail.Product{ID: "p1", Name: "Mug\r\nBcc: evil@example.com", Stock: 2, Threshold: 2},
		DashboardURL:        "https://shop.example.com/_/",
	}
}

func TestRenderEveryKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind    string
		subject string
		text    []string
	}{
		{mail.KindOrderPlaced, "We received your order #1042", []string{"IBAN DE00 1234 <b>", "Amount to pay: €1,264.56. Reference: 1042."}},
		{mail.KindOrderPaid, "Receipt for order #1042", []string{"Paid: €1,264.56."}},
		{mail.KindOwnerOrderPaid, "Paid order #1042: €1,264.56", []string{"from ann@example.com", "https://shop.example.com/_/"}},
		{mail.KindOrderFulfilled, "Order #1042 is on its way", []string{"Tracking number: 1Z999"}},
		{mail.KindOrderCancelled, "Order #1042 was cancelled", []string{"was cancelled"}},
		{mail.KindOrderExpired, "Order #1042 expired", []string{"expired"}},
		{mail.KindOrderRefunded, "Order #1042 was refunded", []string{"€5.00 is on its way back"}},
		{mail.KindOrderPartiallyRefunded, "Refund of €5.00 for order #1042", []string{"Refunded so far: €5.00 of €1,264.56."}},
		{mail.KindOrderPaymentUpdate, "About your payment for order #1042", []string{"Your payment arrived late.", "Refunded: €5.00."}},
		{mail.KindLowStock, "Low stock: Mug Bcc: evil@example.com (2 left)", []string{"2 left"}},
	}
	if len(tests) != len(mail.Kinds) {
		t.Fatalf("%d kinds tested, %d exist", len(tests), len(mail.Kinds))
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			m, err := mail.Render(tt.kind, sampleData())
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if m.Subject != tt.subject {
				t.Errorf("subject %q, want %q", m.Subject, tt.subject)
			}
			for _, s := range tt.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
			}
			if !strings.Contains(m.Text, "Ann & Bob's <Shop>") || !strings.Contains(m.HTML, "Ann &amp; Bob&#39;s &lt;Shop&gt;") {
				t.Errorf("shop name missing or unescaped:\n%s", m.HTML)
			}
			for _, bad := range []string{"<script", "<img", "<b>"} {
				if strings.Contains(m.HTML, bad) {
					t.Errorf("HTML holds unescaped %q:\n%s", bad, m.HTML)
				}
			}
			if tt.kind != mail.KindLowStock && tt.kind != mail.KindOwnerOrderPaid {
				if !strings.Contains(m.Text, "https://shop.example.com/order.html?id=abc&token=t0k") ||
					!strings.Contains(m.HTML, `href="https://shop.example.com/order.html?id=abc&amp;token=t0k"`) {
					t.Errorf("order link missing:\n%s\n%s", m.Text, m.HTML)
				}
			}
		})
	}
}

func TestRenderLinesAndTotals(t *testing.T) {
	t.Parallel()
	m, err := mail.Render(mail.KindOrderPaid, sampleData())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"- 2 x Mug <b> (MUG-1) at €15.00: €30.00", "- 1 x Vase at €1,234.56: €1,234.56", "Shipping: €0.00", "Total:    €1,264.56"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q:\n%s", s, m.Text)
		}
	}
	for _, s := range []string{"Mug &lt;b&gt; <small>(MUG-1)</small>", `<td align="right">€1,234.56</td>`} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML lacks %q:\n%s", s, m.HTML)
		}
	}
}

func TestRenderKeepsLineBreaksOfInstructions(t *testing.T) {
	t.Parallel()
	m, err := mail.Render(mail.KindOrderPlaced, sampleData())
	if err != nil {
		t.Fatal(err)
	}
	if want := "<br>IBAN DE00 1234 &lt;b&gt;<br>BIC ABCDEF</p>"; !strings.Contains(m.HTML, want) {
		t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
	}
	if want := "IBAN DE00 1234 <b>\nBIC ABCDEF"; !strings.Contains(m.Text, want) {
		t.Errorf("text lacks %q:\n%s", want, m.Text)
	}
}

func TestRenderStripeOrderHasNoPaymentInstructions(t *testing.T) {
	t.Parallel()
	d := sampleData()
	d.Order.PaymentMethod = "stripe"
	m, err := mail.Render(mail.KindOrderPlaced, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "IBAN") || strings.Contains(m.HTML, "IBAN") || !strings.Contains(m.Text, "waiting for payment") {
		t.Errorf("stripe order placed email:\n%s", m.Text)
	}
}

func TestRenderUnknownKind(t *testing.T) {
	t.Parallel()
	if _, err := mail.Render("nope", sampleData()); err == nil {
		t.Fatal("no error for an unknown kind")
	}
}

func TestRenderOwnerReports(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 29, 21, 0, 0, 0, time.UTC)
	digest, err := mail.RenderLowStockDigest(mail.LowStockDigest{Shop: "Shop <b>", Day: day, SalesDays: 7, Products: []mail.LowStockProduct{
		{Name: "Mug", SKU: "MUG-1", Stock: 4, Threshold: 5, Sold: 14, PerDay: 2},
		{Name: "Hat", Stock: 0, Threshold: 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- Mug (MUG-1): 4 in stock (threshold 5), 2.0 sold per day over the last 7 days, about 2 days left",
		"- Hat: 0 in stock (threshold 2), 0.0 sold per day over the last 7 days, sold out",
	} {
		if !strings.Contains(digest.Text, want) {
			t.Errorf("digest text lacks %q:\n%s", want, digest.Text)
		}
	}
	if digest.Subject != "Shop <b>: 2 product(s) low on stock" || !strings.Contains(digest.HTML, "Shop &lt;b&gt;") {
		t.Errorf("digest subject %q / html %s", digest.Subject, digest.HTML)
	}

	sum, err := mail.RenderDailySummary(mail.DailySummary{Shop: "Shop", Currency: "usd", From: day.AddDate(0, 0, -1), To: day,
		Placed: 3, PlacedBy: map[string]int{"paid": 2, "pending": 1}, Paid: 2, RevenueCents: 7900, Refunds: 1, RefundCents: 900,
		Top: []mail.ProductSales{{Name: "Mug", Units: 3, SalesCents: 5400}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Orders placed: 3 (1 pending, 2 paid)", "Net: $70.00", "1. Mug: 3 sold, $54.00"} {
		if !strings.Contains(sum.Text, want) {
			t.Errorf("summary text lacks %q:\n%s", want, sum.Text)
		}
	}
	if sum.Subject != "Shop daily summary for Sun 29 Nov: 2 paid, $79.00" {
		t.Errorf("summary subject %q", sum.Subject)
	}
}

// TestRenderPricing: the receipt shows the code's discount, the shipping
// rate and the tax: added on top, or contained in inclusive prices.
func TestRenderPricing(t *testing.T) {
	t.Parallel()
	d := sampleData()
	d.Order.Lines = []shop.OrderLine{{Name: "Mug", UnitPriceCents: 1500, Quantity: 2, LineTotalCents: 3000, DiscountCents: 300, TaxCents: 540}}
	d.Order.SubtotalCents, d.Order.DiscountCode, d.Order.DiscountCents = 3000, "SAVE10", 300
	d.Order.ShippingRateName, d.Order.ShippingCents = "Royal Mail", 495
	d.Order.TaxCents, d.Order.TaxLines = 639, []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 639}}
	d.Order.TotalCents = 3000 - 300 + 495 + 639

	m, err := mail.Render(mail.KindOrderPaid, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Discount (SAVE10): -€3.00", "Shipping (Royal Mail): €4.95", "VAT 20%: €6.39", "Total:    €38.34"} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text lacks %q:\n%s", s, m.Text)
		}
	}
	for _, s := range []string{"Discount (SAVE10)</td><td align=\"right\">-€3.00", "VAT 20%</td><td align=\"right\">€6.39"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML lacks %q:\n%s", s, m.HTML)
		}
	}

	// Prices with tax: the tax is shown as contained, not added.
	d.Order.TaxCents, d.Order.TaxLines = 532, []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 532}}
	d.Order.TotalCents = 3000 - 300 + 495
	m, err = mail.Render(mail.KindOrderPaid, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Total:    €31.95\nIncludes VAT 20%: €5.32") || strings.Contains(m.Text, "\nVAT 20%") {
		t.Errorf("inclusive tax:\n%s", m.Text)
	}
}
