package shop_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"pocketshop/internal/shop"
)

func TestParseOrderInputValid(t *testing.T) {
	t.Parallel()
	addr := map[string]string{"name": "Ann Lee", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
	tests := []struct {
		name string
		body string
		want shop.OrderInput
	}{
		{
			"minimal",
			`{"email":"ann@example.com","items":[{"product":"p1","quantity":2}],"payment_method":"stripe"}`,
			shop.OrderInput{Email: "ann@example.com", Lines: []shop.Line{{Product: "p1", Quantity: 2}}, PaymentMethod: "stripe"},
		},
		{
			"everything, trimmed",
			`{"email":"  ann@example.com ","items":[{"product":" p1 ","quantity":1},{"product":"p2","quantity":100}],
			  "payment_method":"manual","note":"  ring twice  ",
			  "shipping_address":{"name":"Ann Lee","line1":"1 Main St","line2":"","city":"Springfield","postal_code":"12345","country":"US"}}`,
			shop.OrderInput{Email: "ann@example.com", Lines: []shop.Line{{Product: "p1", Quantity: 1}, {Product: "p2", Quantity: 100}}, PaymentMethod: "manual", Note: "ring twice", ShippingAddress: addr},
		},
		{
			"no email (the caller fills it in or refuses)",
			`{"items":[{"product":"p1","quantity":1}],"payment_method":"stripe"}`,
			shop.OrderInput{Lines: []shop.Line{{Product: "p1", Quantity: 1}}, PaymentMethod: "stripe"},
		},
		{
			"blank and null email",
			`{"email":"  ","items":[{"product":"p1","quantity":1}],"payment_method":"stripe","note":null}`,
			shop.OrderInput{Lines: []shop.Line{{Product: "p1", Quantity: 1}}, PaymentMethod: "stripe"},
		},
		{
			"whole number written as a float",
			`{"email":"a@b.co","items":[{"product":"p1","quantity":3.0},{"product":"p2","quantity":1e1}],"payment_method":"stripe"}`,
			shop.OrderInput{Email: "a@b.co", Lines: []shop.Line{{Product: "p1", Quantity: 3}, {Product: "p2", Quantity: 10}}, PaymentMethod: "stripe"},
		},
		{
			"multipart: JSON fields as strings",
			`{"email":"a@b.co","items":"[{\"product\":\"p1\",\"quantity\":1}]","payment_method":"manual",
			  "shipping_address":"{\"name\":\"Ann Lee\",\"line1\":\"1 Main St\",\"city\":\"Springfield\",\"postal_code\":\"12345\",\"country\":\"US\"}"}`,
			shop.OrderInput{Email: "a@b.co", Lines: []shop.Line{{Product: "p1", Quantity: 1}}, PaymentMethod: "manual", ShippingAddress: addr},
		},
		{
			"multipart: empty address field",
			`{"email":"a@b.co","items":[{"product":"p1","quantity":1}],"payment_method":"manual","shipping_address":""}`,
			shop.OrderInput{Email: "a@b.co", Lines: []shop.Line{{Product: "p1", Quantity: 1}}, PaymentMethod: "manual"},
		},
		{
			"null address",
			`{"email":"a@b.co","items":[{"product":"p1","quantity":1}],"payment_method":"manual","shipping_address":null}`,
			shop.OrderInput{Email: "a@b.co", Lines: []shop.Line{{Product: "p1", Quantity: 1}}, PaymentMethod: "manual"},
		},
		{
			"empty server fields, as a form sends them",
			`{"email":"a@b.co","items":[{"product":"p1","quantity":1}],"payment_method":"manual",
			  "number":0,"status":"","customer":"","token":null,"total_cents":0,"paid_at":"","tracking_number":""}`,
			shop.OrderInput{Email: "a@b.co", Lines: []shop.Line{{Product: "p1", Quantity: 1}}, PaymentMethod: "manual"},
		},
		{
			"fifty lines",
			linesBody(50, func(i int) string { return fmt.Sprintf(`{"product":"p%d","quantity":1}`, i) }),
			shop.OrderInput{Email: "a@b.co", Lines: func() []shop.Line {
				l := make([]shop.Line, 50)
				for i := range l {
					l[i] = shop.Line{Product: fmt.Sprintf("p%d", i), Quantity: 1}
				}
				return l
			}(), PaymentMethod: "stripe"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, errs := shop.ParseOrderInput(decode(t, tt.body))
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			if !reflect.DeepEqual(in, tt.want) {
				t.Fatalf("got %+v, want %+v", in, tt.want)
			}
		})
	}

	// Raw JSON bytes, as the records API hands over JSON fields.
	in, errs := shop.ParseOrderInput(map[string]any{
		"email": "a@b.co", "payment_method": "stripe",
		"items":            []byte(`[{"product":"p1","quantity":4}]`),
		"shipping_address": []byte(`null`),
	})
	if errs != nil || !reflect.DeepEqual(in.Lines, []shop.Line{{Product: "p1", Quantity: 4}}) || in.ShippingAddress != nil {
		t.Fatalf("raw JSON fields: %+v %v", in, errs)
	}
	for _, blank := range [][]byte{nil, []byte(""), []byte(`""`), []byte(`"  "`)} {
		in, errs := shop.ParseOrderInput(map[string]any{
			"email": "a@b.co", "payment_method": "stripe",
			"items": []byte(`[{"product":"p1","quantity":1}]`), "shipping_address": blank,
		})
		if errs != nil || in.ShippingAddress != nil {
			t.Fatalf("blank address %q: %+v %v", blank, in, errs)
		}
	}
}

func TestParseOrderInputInvalid(t *testing.T) {
	t.Parallel()
	const ok = `"email":"a@b.co","payment_method":"stripe"`
	const item = `"items":[{"product":"p1","quantity":1}]`
	line := func(q string) string { return `{` + ok + `,"items":[{"product":"p1","quantity":` + q + `}]}` }
	quantityMsg := "Line 1: quantity must be a whole number from 1 to 100."
	addr := func(a string) string { return `{` + ok + `,` + item + `,"shipping_address":` + a + `}` }

	tests := []struct {
		name  string
		body  string
		field string
		msg   string // the whole message, or a part of it when it starts with "~"
	}{
		// quantities
		{"zero quantity", line("0"), "items", quantityMsg},
		{"negative quantity", line("-1"), "items", quantityMsg},
		{"fractional quantity", line("1.5"), "items", quantityMsg},
		{"tiny fraction", line("1.0000001"), "items", quantityMsg},
		{"huge quantity", line("101"), "items", quantityMsg},
		{"astronomic quantity", line("1e300"), "items", quantityMsg},
		{"beyond int64", line("9223372036854775808"), "items", quantityMsg},
		{"quantity as a string", line(`"2"`), "items", quantityMsg},
		{"quantity null", line("null"), "items", quantityMsg},
		{"quantity as a list", line("[1]"), "items", quantityMsg},
		{"quantity as a bool", line("true"), "items", quantityMsg},
		{"quantity missing", `{` + ok + `,"items":[{"product":"p1"}]}`, "items", quantityMsg},
		// items
		{"items missing", `{` + ok + `}`, "items", "Add at least one item."},
		{"items null", `{` + ok + `,"items":null}`, "items", "Add at least one item."},
		{"items empty", `{` + ok + `,"items":[]}`, "items", "Add at least one item."},
		{"items empty string", `{` + ok + `,"items":"[]"}`, "items", "Add at least one item."},
		{"items an object", `{` + ok + `,"items":{"product":"p1","quantity":1}}`, "items", "Must be a list of {product, quantity}."},
		{"items a number", `{` + ok + `,"items":5}`, "items", "Must be a list of {product, quantity}."},
		{"items a non-JSON string", `{` + ok + `,"items":"p1 x2"}`, "items", "Must be a list of {product, quantity}."},
		{"line not an object", `{` + ok + `,"items":["p1"]}`, "items", "Line 1 must be an object {product, quantity}."},
		{"line with a price", `{` + ok + `,"items":[{"product":"p1","quantity":1,"unit_price_cents":1}]}`, "items", `~unknown field "unit_price_cents"`},
		{"product missing", `{` + ok + `,"items":[{"quantity":1}]}`, "items", "Line 1: product must be a product id."},
		{"product blank", `{` + ok + `,"items":[{"product":"  ","quantity":1}]}`, "items", "Line 1: product must be a product id."},
		{"product a number", `{` + ok + `,"items":[{"product":12,"quantity":1}]}`, "items", "Line 1: product must be a product id."},
		{"product id too long", `{` + ok + `,"items":[{"product":"` + strings.Repeat("p", 65) + `","quantity":1}]}`, "items", "Line 1: product must be a product id."},
		{"duplicate product", `{` + ok + `,"items":[{"product":"p1","quantity":1},{"product":"p2","quantity":1},{"product":"p1","quantity":2}]}`, "items", `Line 3: product "p1" is already in the order; change that line's quantity instead.`},
		{"duplicate after trimming", `{` + ok + `,"items":[{"product":"p1","quantity":1},{"product":" p1","quantity":2}]}`, "items", `~already in the order`},
		{"51 lines", linesBody(51, func(i int) string { return fmt.Sprintf(`{"product":"p%d","quantity":1}`, i) }), "items", "An order can have at most 50 lines; this one has 51."},
		{"second line bad", `{` + ok + `,"items":[{"product":"p1","quantity":1},{"product":"p2","quantity":0}]}`, "items", "Line 2: quantity must be a whole number from 1 to 100."},
		// email
		{"email not an address", `{"email":"ann","payment_method":"stripe",` + item + `}`, "email", "Must be a valid email address."},
		{"email with a name", `{"email":"Ann <ann@example.com>","payment_method":"stripe",` + item + `}`, "email", "Must be a valid email address."},
		{"email without a dot", `{"email":"ann@localhost","payment_method":"stripe",` + item + `}`, "email", "Must be a valid email address."},
		{"email two addresses", `{"email":"a@b.co,c@d.co","payment_method":"stripe",` + item + `}`, "email", "Must be a valid email address."},
		{"email header injection", `{"email":"a@b.co\r\nBcc: x@y.co","payment_method":"stripe",` + item + `}`, "email", "Must be a valid email address."},
		{"email too long", `{"email":"` + strings.Repeat("a", 250) + `@b.co","payment_method":"stripe",` + item + `}`, "email", "Must be a valid email address."},
		{"email a number", `{"email":5,"payment_method":"stripe",` + item + `}`, "email", "Must be a string."},
		{"email a list", `{"email":["a@b.co"],"payment_method":"stripe",` + item + `}`, "email", "Must be a string."},
		// payment method
		{"payment method missing", `{"email":"a@b.co",` + item + `}`, "payment_method", `Choose a payment method: "stripe" or "manual".`},
		{"payment method unknown", `{"email":"a@b.co","payment_method":"bitcoin",` + item + `}`, "payment_method", `Unknown payment method "bitcoin": use "stripe" or "manual".`},
		{"payment method upper case", `{"email":"a@b.co","payment_method":"STRIPE",` + item + `}`, "payment_method", `~Unknown payment method "STRIPE"`},
		{"payment method a number", `{"email":"a@b.co","payment_method":1,` + item + `}`, "payment_method", "Must be a string."},
		// address
		{"address a string", addr(`"1 Main St"`), "shipping_address", "Must be an object {name, line1, line2, city, postal_code, country}."},
		{"address a list", addr(`["1 Main St"]`), "shipping_address", "Must be an object {name, line1, line2, city, postal_code, country}."},
		{"address missing city", addr(`{"name":"A","line1":"1 St","postal_code":"1","country":"US"}`), "shipping_address", "city is required."},
		{"address blank name", addr(`{"name":" ","line1":"1 St","city":"X","postal_code":"1","country":"US"}`), "shipping_address", "name is required."},
		{"address unknown key", addr(`{"name":"A","line1":"1 St","city":"X","postal_code":"1","country":"US","state":"CA"}`), "shipping_address", `~Unknown field "state"`},
		{"address number part", addr(`{"name":"A","line1":"1 St","city":"X","postal_code":12345,"country":"US"}`), "shipping_address", "postal_code must be a string."},
		{"address part too long", addr(`{"name":"` + strings.Repeat("n", 201) + `","line1":"1 St","city":"X","postal_code":"1","country":"US"}`), "shipping_address", "name must be at most 200 characters."},
		{"address bad JSON string", addr(`"{\"name\":"`), "shipping_address", "Must be an object {name, line1, line2, city, postal_code, country}."},
		// note
		{"note too long", `{` + ok + `,` + item + `,"note":"` + strings.Repeat("é", 1001) + `"}`, "note", "Must be at most 1000 characters."},
		{"note a number", `{` + ok + `,` + item + `,"note":5}`, "note", "Must be a string."},
	}
	for _, f := range shop.ServerFields {
		tests = append(tests, struct {
			name, body, field, msg string
		}{"server field " + f, `{` + ok + `,` + item + `,"` + f + `":"x"}`, f, "This field is set by the server and cannot be sent."})
	}
	tests = append(tests, struct {
		name, body, field, msg string
	}{"status paid", `{` + ok + `,` + item + `,"status":"paid"}`, "status", "This field is set by the server and cannot be sent."},
		struct {
			name, body, field, msg string
		}{"negative total", `{` + ok + `,` + item + `,"total_cents":-0.5}`, "total_cents", "This field is set by the server and cannot be sent."},
		struct {
			name, body, field, msg string
		}{"token blank", `{` + ok + `,` + item + `,"token":" "}`, "token", "This field is set by the server and cannot be sent."})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := shop.ParseOrderInput(decode(t, tt.body))
			if len(errs) != 1 {
				t.Fatalf("want exactly one error on %s, got %v", tt.field, errs)
			}
			got, ok := errs[tt.field]
			if !ok {
				t.Fatalf("want an error on %s, got %v", tt.field, errs)
			}
			if want, part := strings.CutPrefix(tt.msg, "~"); part {
				if !strings.Contains(got, want) {
					t.Fatalf("message %q does not contain %q", got, want)
				}
			} else if got != tt.msg {
				t.Fatalf("message %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestParseOrderInputReportsEveryField(t *testing.T) {
	t.Parallel()
	_, errs := shop.ParseOrderInput(decode(t, `{"email":"x","items":[],"payment_method":"cash","note":1,"status":"paid","shipping_address":5}`))
	for _, f := range []string{"email", "items", "payment_method", "note", "status", "shipping_address"} {
		if errs[f] == "" {
			t.Errorf("no error on %s: %v", f, errs)
		}
	}
	if s := errs.Error(); !strings.Contains(s, "payment_method: ") {
		t.Errorf("Error() = %q", s)
	}
}

func TestParseOrderInputEmptyBody(t *testing.T) {
	t.Parallel()
	for _, body := range []map[string]any{nil, {}} {
		_, errs := shop.ParseOrderInput(body)
		if errs["items"] == "" || errs["payment_method"] == "" {
			t.Fatalf("empty body: %v", errs)
		}
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"ann@example.com", "a.b+tag@sub.example.co.uk", "x@y.io"} {
		if !shop.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false", s)
		}
	}
	for _, s := range []string{"", "ann", "@example.com", "ann@", "ann@example", "ann @example.com", "<ann@example.com>", "Ann <ann@example.com>", "a@b.co\n"} {
		if shop.ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true", s)
		}
	}
}

func linesBody(n int, line func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = line(i)
	}
	return `{"email":"a@b.co","payment_method":"stripe","items":[` + strings.Join(parts, ",") + `]}`
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return m
}
