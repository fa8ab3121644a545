package shop_test

import (
	"math"
	"testing"

	"pocketshop/internal/shop"
)

func TestFormatCents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cents    int64
		currency string
		want     string
	}{
		{0, "usd", "$0.00"},
		{5, "usd", "$0.05"},
		{99, "usd", "$0.99"},
		{100, "usd", "$1.00"},
		{123456, "usd", "$1,234.56"},
		{-123456, "usd", "-$1,234.56"},
		{-5, "usd", "-$0.05"},
		{99999, "usd", "$999.99"},
		{100000, "usd", "$1,000.00"},
		{100000000, "usd", "$1,000,000.00"},
		{123456, "USD", "$1,234.56"},
		{123456, "eur", "€1,234.56"},
		{250, "chf", "CHF 2.50"},
		{123456, "sek", "1,234.56 SEK"},
		// exponent 0
		{0, "jpy", "¥0"},
		{1234567, "jpy", "¥1,234,567"},
		{-1000, "jpy", "-¥1,000"},
		{500, "krw", "500 KRW"},
		{1000, "isk", "1,000 ISK"},
		// exponent 3
		{1, "kwd", "0.001 KWD"},
		{1234567, "kwd", "1,234.567 KWD"},
		{-10, "bhd", "-0.010 BHD"},
		// the extremes of int64
		{math.MaxInt64, "usd", "$92,233,720,368,547,758.07"},
		{math.MinInt64, "usd", "-$92,233,720,368,547,758.08"},
		{math.MinInt64, "jpy", "-¥9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := shop.FormatCents(tt.cents, tt.currency); got != tt.want {
			t.Errorf("FormatCents(%d, %q) = %q, want %q", tt.cents, tt.currency, got, tt.want)
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	t.Parallel()
	tests := map[string]int{"usd": 2, "EUR": 2, "jpy": 0, "JPY": 0, "krw": 0, "kwd": 3, "tnd": 3, "xyz": 2}
	for code, want := range tests {
		if got := shop.CurrencyExponent(code); got != want {
			t.Errorf("CurrencyExponent(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestValidCurrency(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"usd", "eur", "jpy"} {
		if !shop.ValidCurrency(c) {
			t.Errorf("ValidCurrency(%q) = false", c)
		}
	}
	for _, c := range []string{"", "us", "USD", "usdd", "u$d", "éur"} {
		if shop.ValidCurrency(c) {
			t.Errorf("ValidCurrency(%q) = true", c)
		}
	}
}
