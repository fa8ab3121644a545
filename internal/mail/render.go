// Package mail renders the shop's emails from embedded templates and sends
// them over SMTP with go-mail. It knows nothing of PocketBase: the caller
// passes the data in and stores what comes out.
package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"pocketshop/internal/shop"
)

// Kinds of email, as stored in emails.kind. The order emails are the ones
// shop.OrderEmailFor chooses.
const (
	KindOrderPlaced            = shop.EmailOrderPlaced
	KindOrderPaid              = shop.EmailOrderPaid
	KindOwnerOrderPaid         = shop.EmailOwnerOrderPaid
	KindOrderFulfilled         = shop.EmailOrderFulfilled
	KindOrderCancelled         = shop.EmailOrderCancelled
	KindOrderExpired           = shop.EmailOrderExpired
	KindOrderRefunded          = shop.EmailOrderRefunded
	KindOrderPartiallyRefunded = shop.EmailOrderPartiallyRefunded
	// KindOrderPaymentUpdate tells the customer what became of a payment
	// that did not simply pay the order (it failed, or arrived after the
	// order expired), in the words of the order event's Message.
	KindOrderPaymentUpdate = shop.EmailOrderPaymentUpdate
	KindLowStock           = "low_stock"
)

// Kinds lists every kind of email.
var Kinds = []string{
	KindOrderPlaced, KindOrderPaid, KindOwnerOrderPaid, KindOrderFulfilled,
	KindOrderCancelled, KindOrderExpired, KindOrderRefunded,
	KindOrderPartiallyRefunded, KindOrderPaymentUpdate, KindLowStock,
}

// Address is an order's shipping address.
type Address struct {
	Name, Line1, Line2, City, PostalCode, Country string
}

// Order is what the order emails show of an order.
type Order struct {
	ID            string
	Number        int
	Email         string
	PaymentMethod string // "stripe" or "manual"
	Address       Address
	Note          string
	Lines         []shop.OrderLine
	SubtotalCents int64
	ShippingCents int64
	TotalCents    int64
	RefundedCents int64
	// The pricing rules: the code and its discount, the shipping rate's
	// name, the tax (added to the total or contained in the prices).
	DiscountCode     string
	DiscountCents    int64
	ShippingRateName string
	TaxCents         int64
	TaxLines         []shop.TaxLine
	Currency         string
	TrackingNumber   string
	// URL is the order's page in the storefront (with the guest token).
	URL string
}

// TaxIncluded reports whether the order's prices contain its tax (shown
// as "Includes VAT"), rather than having it added to the total.
func (o Order) TaxIncluded() bool {
	return o.TaxCents > 0 && o.TotalCents == o.SubtotalCents-o.DiscountCents+o.ShippingCents
}

// Product is what the low stock email shows of a product.
type Product struct {
	ID   string
	Name string
	// Variant is the variant's title, for a variant's stock; else empty.
	Variant   string
	SKU       string
	Stock     int
	Threshold int
}

// Data is everything a template may show.
type Data struct {
	ShopName string
	Order    Order
	// AmountCents is the money an event moved, e.g. a refund's amount.
	AmountCents int64
	// Message is the order event's message, for KindOrderPaymentUpdate.
	Message string
	// PaymentInstructions tell a customer who chose manual payment how to pay.
	PaymentInstructions string
	Product             Product
	// DashboardURL points the owner at the dashboard.
	DashboardURL string
}

// Money formats an amount in the order's currency.
func (d Data) Money(cents int64) string {
	return shop.FormatCents(cents, d.Order.Currency)
}

// Rate formats a tax rate in basis points as a percentage ("20%").
func (d Data) Rate(bp int64) string {
	return shop.FormatRateBP(bp)
}

// Paragraph splits text the owner or a customer wrote into its lines, for
// the HTML part to keep its line breaks.
func (d Data) Paragraph(text string) []string {
	return strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
}

// Plain returns text a customer typed (a name, an address line) so that no
// mail client turns it into a link: a zero-width space after each ".", ":"
// and "@" breaks URLs, domains and addresses without changing what a reader
// sees. An order can be placed to anyone's address, so its text must not
// become a clickable lure in the shop's email.
func (d Data) Plain(text string) string {
	return linkBreaker.Replace(text)
}

var linkBreaker = strings.NewReplacer(".", ".\u200b", ":", ":\u200b", "@", "@\u200b")

// Message is a rendered email.
type Message struct {
	// ID is the Message-ID (without angle brackets). A stable ID lets a
	// receiving server or mail client recognise a copy sent twice; empty
	// means a random one.
	ID      string
	Subject string
	HTML    string
	Text    string
}

//go:embed templates
var templateFiles embed.FS

type kindTemplates struct {
	html *htmltemplate.Template
	text *texttemplate.Template
}

var templates = mustParseTemplates()

func mustParseTemplates() map[string]kindTemplates {
	out := make(map[string]kindTemplates, len(Kinds))
	for _, kind := range Kinds {
		h, err := htmltemplate.ParseFS(templateFiles, "templates/layout.html", "templates/"+kind+".html")
		if err != nil {
			panic(fmt.Sprintf("parse %s.html: %v", kind, err))
		}
		t, err := texttemplate.ParseFS(templateFiles, "templates/layout.txt", "templates/"+kind+".txt")
		if err != nil {
			panic(fmt.Sprintf("parse %s.txt: %v", kind, err))
		}
		out[kind] = kindTemplates{html: h, text: t}
	}
	return out
}

// Render renders the subject and both parts of an email of the given kind.
// The HTML part escapes everything it is given (a customer's name or note
// cannot inject markup).
func Render(kind string, d Data) (Message, error) {
	tmpl, ok := templates[kind]
	if !ok {
		return Message{}, fmt.Errorf("render email: unknown kind %q", kind)
	}
	var subject, text, html bytes.Buffer
	if err := tmpl.text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("render %s subject: %w", kind, err)
	}
	if err := tmpl.text.ExecuteTemplate(&text, "layout", d); err != nil {
		return Message{}, fmt.Errorf("render %s text: %w", kind, err)
	}
	if err := tmpl.html.ExecuteTemplate(&html, "layout", d); err != nil {
		return Message{}, fmt.Errorf("render %s html: %w", kind, err)
	}
	return Message{Subject: oneLine(subject.String()), HTML: html.String(), Text: text.String()}, nil
}

// oneLine keeps a header value on one line, whatever the shop or product
// name holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
