package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"pocketshop/internal/shop"
)

// The owner's reports, sent by scheduled jobs: the low-stock digest and the
// daily summary. Their templates are in templates/owner; unlike the order
// emails they need no layout.

// Kinds of the owner's reports, as stored in emails.kind.
const (
	KindLowStockDigest = "low_stock_digest"
	KindDailySummary   = "daily_summary"
)

// LowStockDigest is what the low-stock digest shows.
type LowStockDigest struct {
	Shop string
	Day  time.Time
	// SalesDays is the window Sold and PerDay are counted over.
	SalesDays int
	Products  []LowStockProduct
}

// LowStockProduct is a product at or below its low-stock threshold.
type LowStockProduct struct {
	Name      string
	SKU       string
	Stock     int
	Threshold int
	// Sold is how many units sold in the last SalesDays; PerDay its
	// average per day.
	Sold   int
	PerDay float64
}

// DailySummary is what the daily summary reports for [From, To).
type DailySummary struct {
	Shop         string
	Currency     string
	From, To     time.Time
	Placed       int
	PlacedBy     map[string]int // by current status
	Paid         int
	RevenueCents int64
	Refunds      int
	RefundCents  int64
	Top          []ProductSales
	// OwnerURL is the owner's page, /owner/ under the app URL.
	OwnerURL string
}

// ProductSales is one best seller of the day.
type ProductSales struct {
	Product    string
	Name       string
	Units      int
	SalesCents int64
}

var ownerFuncs = map[string]any{
	"money": shop.FormatCents,
	"day":   func(t time.Time) string { return t.Format("Mon 2 Jan 2006") },
	"clock": func(t time.Time) string { return t.Format("Mon 2 Jan 15:04 MST") },
	"daysLeft": func(p LowStockProduct) string {
		if p.Stock == 0 {
			return "sold out"
		}
		if p.Sold == 0 {
			return "no recent sales"
		}
		return fmt.Sprintf("about %.0f days left", float64(p.Stock)/p.PerDay)
	},
	"net": func(a, b int64) int64 { return a - b },
	"inc": func(i int) int { return i + 1 },
	// statuses lists order counts by status in lifecycle order.
	"statuses": func(by map[string]int) string {
		var parts []string
		for _, st := range shop.Statuses {
			if n := by[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, st))
			}
		}
		return strings.Join(parts, ", ")
	},
}

var ownerTemplates = map[string]kindTemplates{
	KindLowStockDigest: mustParseOwner(KindLowStockDigest),
	KindDailySummary:   mustParseOwner(KindDailySummary),
}

func mustParseOwner(kind string) kindTemplates {
	file := "templates/owner/" + kind
	return kindTemplates{
		html: htmltemplate.Must(htmltemplate.New(kind+".html").Funcs(ownerFuncs).ParseFS(templateFiles, file+".html")),
		text: texttemplate.Must(texttemplate.New(kind+".txt").Funcs(ownerFuncs).ParseFS(templateFiles, file+".txt")),
	}
}

// RenderLowStockDigest renders the low-stock digest.
func RenderLowStockDigest(d LowStockDigest) (Message, error) {
	m, err := renderOwner(KindLowStockDigest, d)
	if err != nil {
		return Message{}, err
	}
	m.Subject = fmt.Sprintf("%s: %d product(s) low on stock", d.Shop, len(d.Products))
	return m, nil
}

// RenderDailySummary renders the daily summary.
func RenderDailySummary(d DailySummary) (Message, error) {
	m, err := renderOwner(KindDailySummary, d)
	if err != nil {
		return Message{}, err
	}
	m.Subject = fmt.Sprintf("%s daily summary for %s: %d paid, %s", d.Shop, d.To.Format("Mon 2 Jan"),
		d.Paid, shop.FormatCents(d.RevenueCents, d.Currency))
	return m, nil
}

func renderOwner(kind string, data any) (Message, error) {
	tmpl := ownerTemplates[kind]
	var text, html bytes.Buffer
	if err := tmpl.text.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := tmpl.html.Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", kind, err)
	}
	return Message{Text: text.String(), HTML: html.String()}, nil
}
