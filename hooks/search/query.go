package search

import (
	"strings"
	"unicode"
)

// MatchQuery turns what a shopper typed into an FTS5 MATCH expression that
// FTS5 always accepts: every word of q must match, and the last one may be
// the start of a word. Nothing in q is FTS5 syntax: each whitespace-
// separated term becomes a quoted string, inside which FTS5 has no
// operators, so *, -, ^, :, parentheses, NEAR, AND, OR and NOT are words or
// separators as the index's tokenizer sees them. The tokenizer splits a
// term into words the way it split the indexed text: "TS-RED-M" is the
// phrase "ts red m", as the SKU was indexed. Double quotes (the only
// character special inside a string), control characters and invalid UTF-8
// are separators. It returns "" when q is blank.
func MatchQuery(q string) string {
	q = strings.Map(func(r rune) rune {
		if r == '"' || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(q, " "))
	terms := strings.Fields(q)
	if len(terms) == 0 {
		return ""
	}
	return `"` + strings.Join(terms, `" "`) + `"*`
}
