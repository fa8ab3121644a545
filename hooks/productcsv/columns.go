// Package productcsv imports and exports the catalog as CSV: one row per
// variant (the product's columns repeated) or per simple product. It backs
// `pocketshop products import FILE.csv [--dry-run]` and
// `pocketshop products export [FILE.csv]`.
package productcsv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Columns is the header of the CSV, in the order export writes it. An
// import needs every column, in any order. The first ten are the
// product's, the rest its variant's (all empty on a simple product's row).
var Columns = []string{
	"slug", "name", "sku", "description", "price_cents", "stock", "low_stock_threshold", "active", "categories", "options",
	"variant_title", "variant_sku", "variant_options", "variant_price_cents", "variant_stock",
	"variant_low_stock_threshold", "variant_active", "variant_position",
}

// productColumns is how many of Columns are the product's.
const productColumns = 10

// categorySeparator separates the category slugs of the categories column
// (a slug never holds it).
const categorySeparator = "|"

// Limits of the collections' fields (pb_migrations), checked before anything
// is written so that every bad row is reported at once.
const (
	maxPriceCents  = 10_000_000_000
	maxStock       = 1_000_000_000
	maxName        = 200
	maxSlug        = 100
	maxSKU         = 64
	maxTitle       = 200
	maxDescription = 100_000
)

// LineError is one problem of one CSV line: "line 7: price_cents: ...".
type LineError struct {
	Line  int
	Field string
	Msg   string
}

func (e LineError) Error() string {
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// Errors are every problem an import found; it wrote nothing.
type Errors []LineError

func (errs Errors) Error() string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return fmt.Sprintf("%d problem(s), nothing was imported:\n%s", len(errs), strings.Join(lines, "\n"))
}

// compactJSON encodes v without escaping <, > and & (an option value may
// hold them): the form export writes, stable from one export to the next.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // options and option values are strings: never fails
	return strings.TrimSuffix(b.String(), "\n")
}

// wholeNumber parses a count or an amount in cents: a whole number from 0
// to limit. what names it in the message ("cents", "units").
func wholeNumber(raw, what string, limit int64) (int64, string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return 0, ""
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q is not a whole number of %s", raw, what)
	case n < 0:
		return 0, fmt.Sprintf("%s cannot be negative", raw)
	case n > limit:
		return 0, fmt.Sprintf("%s is more than the largest allowed, %d", raw, limit)
	}
	return n, ""
}

// boolean parses true/false (and what strconv.ParseBool reads); empty is def.
func boolean(raw string, def bool) (bool, string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return def, ""
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Sprintf("%q is not true or false", raw)
	}
	return b, ""
}

func formatBool(b bool) string { return strconv.FormatBool(b) }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
