package shop

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"strings"
)

// Limits on what one order may ask for.
const (
	MaxLines       = 50
	MaxQuantity    = 100
	MaxNoteLength  = 1000
	MaxEmailLength = 254
	maxProductID   = 64
	maxAddressPart = 200
	maxPricingRef  = 64 // a discount code or a shipping rate id
)

// Payment methods, as stored in orders.payment_method.
const (
	PaymentStripe = "stripe"
	PaymentManual = "manual"
)

// ServerFields are order fields only the server writes. A client that sends
// one of them with a value on create gets a 400 instead of having it
// silently dropped. An empty value (null, "", 0), which a form such as the
// dashboard's sends for every field it shows, is ignored.
var ServerFields = []string{
	"id", "number", "status", "customer", "token", "currency",
	"subtotal_cents", "shipping_cents", "total_cents", "refunded_cents",
	"expires_at", "paid_at", "fulfilled_at", "cancelled_at",
	"stripe_session_id", "stripe_payment_intent", "tracking_number",
}

// ClientFields are the order fields a client writes on create; every other
// field of orders is the server's.
var ClientFields = []string{"email", "items", "payment_method", "shipping_address", "note", "discount_code", "shipping_rate"}

// ServerFieldMessage is the message for a server field a client sent.
const ServerFieldMessage = "This field is set by the server and cannot be sent."

// AddressFields are the keys of orders.shipping_address.
var AddressFields = []string{"name", "line1", "line2", "city", "postal_code", "country", "region"}

var requiredAddressFields = map[string]bool{"name": true, "line1": true, "city": true, "postal_code": true, "country": true}

// Line is one requested order line before pricing. Variant is the variant
// asked for, empty for a simple product.
type Line struct {
	Product  string
	Quantity int
	Variant  string
}

// OrderInput is a validated order request.
type OrderInput struct {
	Email           string
	Lines           []Line
	PaymentMethod   string
	ShippingAddress map[string]string // nil when none was given
	Note            string
	// DiscountCode and ShippingRate (a shipping_rates id) are the pricing
	// rules' input, "" when not given; they are checked when the order is
	// priced.
	DiscountCode string
	ShippingRate string
}

// FieldErrors maps a request field to a message for people. It is empty when
// the input is valid.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	parts := make([]string, 0, len(fe))
	for k, v := range fe {
		parts = append(parts, k+": "+v)
	}
	return strings.Join(parts, "; ")
}

// ParseOrderInput validates a decoded order request body (JSON, or a
// multipart form whose items and shipping_address are JSON strings).
// The email may be left empty: the caller fills it in for signed-in customers.
// On errors the fields that were valid are still returned.
func ParseOrderInput(body map[string]any) (OrderInput, FieldErrors) {
	var in OrderInput
	errs := FieldErrors{}

	for _, f := range ServerFields {
		if v, ok := body[f]; ok && !IsEmptyValue(v) {
			errs[f] = ServerFieldMessage
		}
	}

	if raw, ok := body["email"]; ok && raw != nil {
		email, ok := raw.(string)
		switch {
		case !ok:
			errs["email"] = "Must be a string."
		case strings.TrimSpace(email) != "":
			email = strings.TrimSpace(email)
			if !ValidEmail(email) {
				errs["email"] = "Must be a valid email address."
			} else {
				in.Email = email
			}
		}
	}

	lines, msg := parseLines(body["items"])
	if msg != "" {
		errs["items"] = msg
	} else {
		in.Lines = lines
	}

	switch pm := body["payment_method"].(type) {
	case nil:
		errs["payment_method"] = `Choose a payment method: "stripe" or "manual".`
	case string:
		if pm != PaymentStripe && pm != PaymentManual {
			errs["payment_method"] = fmt.Sprintf(`Unknown payment method %q: use "stripe" or "manual".`, truncate(pm, 40))
		} else {
			in.PaymentMethod = pm
		}
	default:
		errs["payment_method"] = "Must be a string."
	}

	addr, msg := parseAddress(body["shipping_address"])
	if msg != "" {
		errs["shipping_address"] = msg
	} else {
		in.ShippingAddress = addr
	}

	switch note := body["note"].(type) {
	case nil:
	case string:
		if len([]rune(note)) > MaxNoteLength {
			errs["note"] = fmt.Sprintf("Must be at most %d characters.", MaxNoteLength)
		} else {
			in.Note = strings.TrimSpace(note)
		}
	default:
		errs["note"] = "Must be a string."
	}

	for field, dst := range map[string]*string{"discount_code": &in.DiscountCode, "shipping_rate": &in.ShippingRate} {
		switch v := body[field].(type) {
		case nil:
		case string:
			v = strings.TrimSpace(v)
			if len(v) > maxPricingRef {
				errs[field] = fmt.Sprintf("Must be at most %d characters.", maxPricingRef)
			} else {
				*dst = v
			}
		default:
			errs[field] = "Must be a string."
		}
	}

	if len(errs) > 0 {
		return in, errs
	}
	return in, nil
}

// ValidEmail reports whether s is a single plain address such as
// "ann@example.com" (no display name, no angle brackets).
func ValidEmail(s string) bool {
	if len(s) > MaxEmailLength || strings.ContainsAny(s, " <>\r\n") {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

// decodeJSONText decodes JSON that arrives as text: a multipart form field,
// or a JSON field value already read as raw bytes.
func decodeJSONText(raw any) (any, bool) {
	var text []byte
	switch v := raw.(type) {
	case string:
		text = []byte(v)
	case []byte:
		text = v
	default:
		return raw, true
	}
	var out any
	if err := json.Unmarshal(text, &out); err != nil {
		return nil, false
	}
	return out, true
}

func parseLines(raw any) ([]Line, string) {
	raw, ok := decodeJSONText(raw)
	if !ok {
		return nil, "Must be a list of {product, quantity}."
	}
	if raw == nil {
		return nil, "Add at least one item."
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, "Must be a list of {product, quantity}."
	}
	if len(list) == 0 {
		return nil, "Add at least one item."
	}
	if len(list) > MaxLines {
		return nil, fmt.Sprintf("An order can have at most %d lines; this one has %d.", MaxLines, len(list))
	}

	lines := make([]Line, 0, len(list))
	seen := make(map[string]bool, len(list))
	for i, rawLine := range list {
		n := i + 1
		obj, ok := rawLine.(map[string]any)
		if !ok {
			return nil, fmt.Sprintf("Line %d must be an object {product, quantity}.", n)
		}
		for k := range obj {
			if k != "product" && k != "variant" && k != "quantity" {
				return nil, fmt.Sprintf("Line %d: unknown field %q (prices are set by the server; send only product, variant and quantity).", n, truncate(k, 40))
			}
		}
		product, ok := obj["product"].(string)
		product = strings.TrimSpace(product)
		if !ok || product == "" || len(product) > maxProductID {
			return nil, fmt.Sprintf("Line %d: product must be a product id.", n)
		}
		qty, ok := wholeNumber(obj["quantity"])
		if !ok || qty < 1 || qty > MaxQuantity {
			return nil, fmt.Sprintf("Line %d: quantity must be a whole number from 1 to %d.", n, MaxQuantity)
		}
		variant, ok := parseVariant(obj["variant"])
		if !ok {
			return nil, fmt.Sprintf("Line %d: variant must be a variant id.", n)
		}
		key := product + "/" + variant
		if seen[key] {
			if variant != "" {
				return nil, fmt.Sprintf("Line %d: variant %q is already in the order; change that line's quantity instead.", n, variant)
			}
			return nil, fmt.Sprintf("Line %d: product %q is already in the order; change that line's quantity instead.", n, product)
		}
		seen[key] = true
		lines = append(lines, Line{Product: product, Quantity: int(qty), Variant: variant})
	}
	return lines, ""
}

// parseVariant reads a line's optional variant id: absent, null or "" is
// none.
func parseVariant(raw any) (string, bool) {
	if raw == nil {
		return "", true
	}
	v, ok := raw.(string)
	v = strings.TrimSpace(v)
	return v, ok && len(v) <= maxProductID
}

// wholeNumber accepts a JSON number with no fractional part.
func wholeNumber(v any) (int64, bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, false
		}
	case int:
		return int64(n), true
	case int64:
		return n, true
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func parseAddress(raw any) (map[string]string, string) {
	if s, ok := raw.(string); ok && strings.TrimSpace(s) == "" {
		return nil, ""
	}
	if b, ok := raw.([]byte); ok && strings.TrimSpace(string(b)) == "" {
		return nil, ""
	}
	raw, ok := decodeJSONText(raw)
	if !ok {
		return nil, "Must be an object {name, line1, line2, city, postal_code, country}."
	}
	// No address: absent, null, or an empty form field (which the records
	// API hands over as the JSON string "").
	if s, isString := raw.(string); raw == nil || isString && strings.TrimSpace(s) == "" {
		return nil, ""
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, "Must be an object {name, line1, line2, city, postal_code, country}."
	}
	addr := make(map[string]string, len(AddressFields))
	known := make(map[string]bool, len(AddressFields))
	for _, k := range AddressFields {
		known[k] = true
	}
	for k, v := range obj {
		if !known[k] {
			return nil, fmt.Sprintf("Unknown field %q; use name, line1, line2, city, postal_code, country, region.", truncate(k, 40))
		}
		s, ok := v.(string)
		if v != nil && !ok {
			return nil, fmt.Sprintf("%s must be a string.", k)
		}
		s = strings.TrimSpace(s)
		if len([]rune(s)) > maxAddressPart {
			return nil, fmt.Sprintf("%s must be at most %d characters.", k, maxAddressPart)
		}
		if s != "" {
			addr[k] = s
		}
	}
	for _, k := range AddressFields {
		if requiredAddressFields[k] && addr[k] == "" {
			return nil, fmt.Sprintf("%s is required.", k)
		}
	}
	return addr, ""
}

// IsEmptyValue reports whether v is a field's "no value": null, "", 0,
// false, an empty list or a zero time.
func IsEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case float64:
		return v == 0
	case int:
		return v == 0
	case int64:
		return v == 0
	case bool:
		return !v
	case []byte:
		// A JSON field's value as the records API read it from a form.
		switch strings.TrimSpace(string(v)) {
		case "", "null", `""`, "[]":
			return true
		}
		return false
	case []string:
		return len(v) == 0
	case []any:
		return len(v) == 0
	case interface{ IsZero() bool }:
		return v.IsZero()
	}
	return false
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
