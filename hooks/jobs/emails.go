package jobs

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"

	"pocketshop/hooks/outbox"
	"pocketshop/internal/shop"
)

// The owner's digest and summary emails, rendered as HTML and plain text.

type lowStockData struct {
	Shop     string
	Day      time.Time
	Products []lowProduct
}

var jobEmailFuncs = map[string]any{
	"money": shop.FormatCents,
	"day":   func(t time.Time) string { return t.Format("Mon 2 Jan 2006") },
	"clock": func(t time.Time) string { return t.Format("Mon 2 Jan 15:04 MST") },
	"perDay": func(p lowProduct) string {
		return fmt.Sprintf("%.1f", p.PerDay())
	},
	"daysLeft": func(p lowProduct) string {
		if p.Stock == 0 {
			return "sold out"
		}
		if p.Sold == 0 {
			return "no recent sales"
		}
		return fmt.Sprintf("about %.0f days left", float64(p.Stock)/p.PerDay())
	},
	"salesDays": func() int { return int(salesWindow / (24 * time.Hour)) },
}

const lowStockText = `{{.Shop}}: low stock on {{day .Day}}

{{len .Products}} product(s) at or below their low-stock threshold:
{{range .Products}}
- {{.Name}}{{if .SKU}} ({{.SKU}}){{end}}: {{.Stock}} in stock (threshold {{.Threshold}}), {{perDay .}} sold per day over the last {{salesDays}} days, {{daysLeft .}}
{{- end}}
`

const lowStockHTML = `<h2>{{.Shop}}: low stock on {{day .Day}}</h2>
<p>{{len .Products}} product(s) at or below their low-stock threshold:</p>
<table cellpadding="4" style="border-collapse:collapse">
<tr><th align="left">Product</th><th align="left">SKU</th><th align="right">In stock</th><th align="right">Threshold</th><th align="right">Sold per day ({{salesDays}} days)</th><th align="left">Outlook</th></tr>
{{range .Products}}<tr><td>{{.Name}}</td><td>{{.SKU}}</td><td align="right">{{.Stock}}</td><td align="right">{{.Threshold}}</td><td align="right">{{perDay .}}</td><td>{{daysLeft .}}</td></tr>
{{end}}</table>
`

const summaryText = `{{.Shop}}: daily summary for {{day .To}}
From {{clock .From}} to {{clock .To}}

Orders placed: {{.Placed}}{{if .Placed}} ({{statuses .PlacedBy}}){{end}}
Orders paid: {{.Paid}}, revenue {{money .RevenueCents .Currency}}
Refunds: {{.Refunds}}, {{money .RefundCents .Currency}}
Net: {{money (net .RevenueCents .RefundCents) .Currency}}
{{if .Top}}
Top products:
{{range $i, $p := .Top}}{{inc $i}}. {{$p.Name}}: {{$p.Units}} sold, {{money $p.SalesCents $.Currency}}
{{end}}{{else}}
No sales.
{{end}}`

const summaryHTML = `<h2>{{.Shop}}: daily summary for {{day .To}}</h2>
<p>From {{clock .From}} to {{clock .To}}</p>
<table cellpadding="4">
<tr><td>Orders placed</td><td align="right">{{.Placed}}</td><td>{{if .Placed}}{{statuses .PlacedBy}}{{end}}</td></tr>
<tr><td>Orders paid</td><td align="right">{{.Paid}}</td><td>{{money .RevenueCents .Currency}}</td></tr>
<tr><td>Refunds</td><td align="right">{{.Refunds}}</td><td>{{money .RefundCents .Currency}}</td></tr>
<tr><td>Net</td><td></td><td>{{money (net .RevenueCents .RefundCents) .Currency}}</td></tr>
</table>
{{if .Top}}<h3>Top products</h3>
<ol>{{range .Top}}<li>{{.Name}}: {{.Units}} sold, {{money .SalesCents $.Currency}}</li>{{end}}</ol>
{{else}}<p>No sales.</p>{{end}}
`

var summaryFuncs = map[string]any{
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

var (
	lowStockTextTmpl = texttemplate.Must(texttemplate.New("low-stock").Funcs(jobEmailFuncs).Parse(lowStockText))
	lowStockHTMLTmpl = htmltemplate.Must(htmltemplate.New("low-stock").Funcs(jobEmailFuncs).Parse(lowStockHTML))
	summaryTextTmpl  = texttemplate.Must(texttemplate.New("summary").Funcs(jobEmailFuncs).Funcs(summaryFuncs).Parse(summaryText))
	summaryHTMLTmpl  = htmltemplate.Must(htmltemplate.New("summary").Funcs(jobEmailFuncs).Funcs(summaryFuncs).Parse(summaryHTML))
)

func renderLowStockDigest(d lowStockData) (outbox.Email, error) {
	text, html, err := renderBoth(lowStockTextTmpl, lowStockHTMLTmpl, d)
	if err != nil {
		return outbox.Email{}, fmt.Errorf("render low-stock digest: %w", err)
	}
	return outbox.Email{
		Subject: fmt.Sprintf("%s: %d product(s) low on stock", d.Shop, len(d.Products)),
		Text:    text, HTML: html,
	}, nil
}

func renderDailySummary(d daySummary) (outbox.Email, error) {
	text, html, err := renderBoth(summaryTextTmpl, summaryHTMLTmpl, d)
	if err != nil {
		return outbox.Email{}, fmt.Errorf("render daily summary: %w", err)
	}
	return outbox.Email{
		Subject: fmt.Sprintf("%s daily summary for %s: %d paid, %s", d.Shop, d.To.Format("Mon 2 Jan"),
			d.Paid, shop.FormatCents(d.RevenueCents, d.Currency)),
		Text: text, HTML: html,
	}, nil
}

func renderBoth(text *texttemplate.Template, html *htmltemplate.Template, data any) (string, string, error) {
	var t, h bytes.Buffer
	if err := text.Execute(&t, data); err != nil {
		return "", "", err
	}
	if err := html.Execute(&h, data); err != nil {
		return "", "", err
	}
	return t.String(), h.String(), nil
}
