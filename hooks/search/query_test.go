package search_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"pocketshop/hooks/search"

	_ "modernc.org/sqlite"
)

func TestMatchQuery(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]string{
		"":                    "",
		" \t\n":               "",
		"shirt":               `"shirt"*`,
		"red  linen shirt":    `"red" "linen" "shirt"*`,
		`say "hi"`:            `"say" "hi"*`,
		"TS-RED-M":            `"TS-RED-M"*`,
		"NEAR(a b) OR c":      `"NEAR(a" "b)" "OR" "c"*`,
		"a\x00b":              `"a" "b"*`,
		"caf\xe9":             `"caf"*`,
		"col:umn ^x *y -z":    `"col:umn" "^x" "*y" "-z"*`,
		"\u00a0linen\u2003x ": `"linen" "x"*`,
	} {
		if got := search.MatchQuery(q); got != want {
			t.Errorf("MatchQuery(%q) = %s, want %s", q, got, want)
		}
	}
}

// FuzzMatchQuery runs what MatchQuery makes of any input against an FTS5
// table like the shop's: it must never be a query error.
func FuzzMatchQuery(f *testing.F) {
	for _, seed := range []string{"shirt", `"`, `""`, "*", "-x", "NEAR(a b, 2)", "a AND b OR NOT c", "{name}:x", "^a",
		"col:x", "(a", "a)", "\x00", "\xff", "é", "😀", `\"`, "a* b*", "NEAR/3", "+", ":"} {
		f.Add(seed)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	f.Cleanup(func() { db.Close() })
	for _, stmt := range []string{
		`CREATE VIRTUAL TABLE s USING fts5(name, sku, variants, description, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')`,
		`INSERT INTO s VALUES ('Red Linen Shirt', 'LS-RED', 'M / Navy TEE-M', 'A "breezy" shirt: NEAR the sea (AND more) *')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		match := search.MatchQuery(q)
		if match == "" {
			return
		}
		var n int
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM s WHERE s MATCH ? ORDER BY bm25(s, 10.0, 5.0, 5.0, 1.0)`, match).Scan(&n); err != nil {
			t.Fatalf("MatchQuery(%q) = %s: %v", q, match, err)
		}
	})
}
