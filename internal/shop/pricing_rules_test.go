package shop_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"pocketshop/internal/shop"
)

func line(product string, cents int64) shop.OrderLine {
	return shop.OrderLine{Product: product, Quantity: 1, UnitPriceCents: cents, LineTotalCents: cents}
}

// TestPrice covers the contract's arithmetic, the rounding cases
// first.
func TestPrice(t *testing.T) {
	t.Parallel()
	vat := &shop.TaxRate{Name: "VAT", Country: "GB", RateBP: 2000}
	vatShipping := &shop.TaxRate{Name: "VAT", Country: "GB", RateBP: 2000, AppliesToShipping: true}
	pct := func(v int64, products ...string) *shop.DiscountCode {
		return &shop.DiscountCode{Code: "P", Kind: shop.DiscountPercent, Value: v, Active: true, Products: products}
	}
	fixed := func(v int64, products ...string) *shop.DiscountCode {
		return &shop.DiscountCode{Code: "F", Kind: shop.DiscountFixed, Value: v, Active: true, Products: products}
	}
	freeShip := &shop.DiscountCode{Code: "S", Kind: shop.DiscountFreeShipping, Active: true}

	tests := []struct {
		name          string
		lines         []shop.OrderLine
		rules         shop.Rules
		wantDiscounts []int64
		wantTaxes     []int64
		want          shop.Totals
	}{
		{
			name:  "three lines of 0.01 with 33%: one cent off, on the first of the largest",
			lines: []shop.OrderLine{line("a", 1), line("b", 1), line("c", 1)},
			rules: shop.Rules{Code: pct(33)},
			// 33% of 3 cents is 0.99, rounded to 1; 1/3 of it per line
			// rounds down to 0; the cent left goes to the largest line.
			wantDiscounts: []int64{1, 0, 0}, wantTaxes: []int64{0, 0, 0},
			want: shop.Totals{SubtotalCents: 3, DiscountCents: 1, TotalCents: 2},
		},
		{
			name:          "inclusive 20% VAT on 9.99 contains 1.67",
			lines:         []shop.OrderLine{line("a", 999)},
			rules:         shop.Rules{Tax: vat, PricesIncludeTax: true},
			wantDiscounts: []int64{0}, wantTaxes: []int64{167}, // 999 × 2000 / 12000 = 166.5
			want: shop.Totals{SubtotalCents: 999, TaxCents: 167, TotalCents: 999,
				TaxLines: []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 167}}},
		},
		{
			name:          "exclusive 20% VAT on 9.99 adds 2.00",
			lines:         []shop.OrderLine{line("a", 999)},
			rules:         shop.Rules{Tax: vat},
			wantDiscounts: []int64{0}, wantTaxes: []int64{200}, // 199.8
			want: shop.Totals{SubtotalCents: 999, TaxCents: 200, TotalCents: 1199,
				TaxLines: []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 200}}},
		},
		{
			name:          "a fixed discount larger than the eligible subtotal stops at it",
			lines:         []shop.OrderLine{line("mug", 1200), line("tote", 800)},
			rules:         shop.Rules{Code: fixed(5000, "mug"), Shipping: shop.ShippingRule{FlatCents: 500}},
			wantDiscounts: []int64{1200, 0}, wantTaxes: []int64{0, 0},
			want: shop.Totals{SubtotalCents: 2000, DiscountCents: 1200, ShippingCents: 500, TotalCents: 1300},
		},
		{
			name:          "a free shipping code under a rate's free_over",
			lines:         []shop.OrderLine{line("a", 1000)},
			rules:         shop.Rules{Code: freeShip, Shipping: shop.ShippingRule{FlatCents: 700, FreeOverCents: 5000}},
			wantDiscounts: []int64{0}, wantTaxes: []int64{0},
			want: shop.Totals{SubtotalCents: 1000, TotalCents: 1000},
		},
		{
			name:          "a free shipping code over a rate's free_over: free once, not negative",
			lines:         []shop.OrderLine{line("a", 6000)},
			rules:         shop.Rules{Code: freeShip, Shipping: shop.ShippingRule{FlatCents: 700, FreeOverCents: 5000}},
			wantDiscounts: []int64{0}, wantTaxes: []int64{0},
			want: shop.Totals{SubtotalCents: 6000, TotalCents: 6000},
		},
		{
			name:          "free_over is reached after the discount, not before",
			lines:         []shop.OrderLine{line("a", 5200)},
			rules:         shop.Rules{Code: pct(10), Shipping: shop.ShippingRule{FlatCents: 700, FreeOverCents: 5000}},
			wantDiscounts: []int64{520}, wantTaxes: []int64{0},
			want: shop.Totals{SubtotalCents: 5200, DiscountCents: 520, ShippingCents: 700, TotalCents: 5380},
		},
		{
			name:          "proportional shares, the remainder cent to the largest line",
			lines:         []shop.OrderLine{line("a", 333), line("b", 1000), line("c", 333)},
			rules:         shop.Rules{Code: pct(10)},
			wantDiscounts: []int64{33, 101, 33}, wantTaxes: []int64{0, 0, 0}, // 166.6 → 167
			want: shop.Totals{SubtotalCents: 1666, DiscountCents: 167, TotalCents: 1499},
		},
		{
			name:          "more cents left than the largest line can take go to the next",
			lines:         []shop.OrderLine{line("a", 1), line("b", 1), line("c", 1)},
			rules:         shop.Rules{Code: fixed(2)},
			wantDiscounts: []int64{1, 1, 0}, wantTaxes: []int64{0, 0, 0},
			want: shop.Totals{SubtotalCents: 3, DiscountCents: 2, TotalCents: 1},
		},
		{
			name:          "a code restricted to products leaves the others at full price",
			lines:         []shop.OrderLine{line("mug", 3000), line("tote", 2400)},
			rules:         shop.Rules{Code: pct(50, "tote")},
			wantDiscounts: []int64{0, 1200}, wantTaxes: []int64{0, 0},
			want: shop.Totals{SubtotalCents: 5400, DiscountCents: 1200, TotalCents: 4200},
		},
		{
			name:  "the README's worked example, prices without tax",
			lines: []shop.OrderLine{line("mug", 3000), line("tote", 2400)},
			rules: shop.Rules{Code: pct(10), Shipping: shop.ShippingRule{FlatCents: 495}, Tax: vatShipping},
			// 540 off: 300 and 240; tax 540 + 432 on the lines, 99 on shipping
			wantDiscounts: []int64{300, 240}, wantTaxes: []int64{540, 432},
			want: shop.Totals{SubtotalCents: 5400, DiscountCents: 540, ShippingCents: 495, TaxCents: 1071, TotalCents: 6426,
				TaxLines: []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 1071}}},
		},
		{
			name:  "the README's worked example, prices with tax",
			lines: []shop.OrderLine{line("mug", 3000), line("tote", 2400)},
			rules: shop.Rules{Code: pct(10), Shipping: shop.ShippingRule{FlatCents: 495}, Tax: vatShipping, PricesIncludeTax: true},
			// 2700/6 = 450, 2160/6 = 360, 495/6 = 82.5 → 83
			wantDiscounts: []int64{300, 240}, wantTaxes: []int64{450, 360},
			want: shop.Totals{SubtotalCents: 5400, DiscountCents: 540, ShippingCents: 495, TaxCents: 893, TotalCents: 5355,
				TaxLines: []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 893}}},
		},
		{
			name:          "100% off leaves only shipping",
			lines:         []shop.OrderLine{line("a", 1999)},
			rules:         shop.Rules{Code: pct(100), Shipping: shop.ShippingRule{FlatCents: 500}, Tax: vat},
			wantDiscounts: []int64{1999}, wantTaxes: []int64{0},
			want: shop.Totals{SubtotalCents: 1999, DiscountCents: 1999, ShippingCents: 500, TotalCents: 500,
				TaxLines: []shop.TaxLine{{Name: "VAT", RateBP: 2000, AmountCents: 0}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, totals := shop.Price(tt.lines, tt.rules)
			var discounts, taxes []int64
			for _, l := range got {
				discounts = append(discounts, l.DiscountCents)
				taxes = append(taxes, l.TaxCents)
			}
			if !reflect.DeepEqual(discounts, tt.wantDiscounts) || !reflect.DeepEqual(taxes, tt.wantTaxes) {
				t.Errorf("line discounts %v taxes %v, want %v %v", discounts, taxes, tt.wantDiscounts, tt.wantTaxes)
			}
			if !reflect.DeepEqual(totals, tt.want) {
				t.Errorf("totals %+v, want %+v", totals, tt.want)
			}
			if tt.lines[0].DiscountCents != 0 || tt.lines[0].TaxCents != 0 {
				t.Error("Price changed its input lines")
			}
		})
	}
}

func TestChooseTaxRate(t *testing.T) {
	t.Parallel()
	rates := []shop.TaxRate{
		{ID: "world", Country: "*", RateBP: 100},
		{ID: "us", Country: "US", RateBP: 0},
		{ID: "ca", Country: "US", Region: "CA", RateBP: 725},
		{ID: "gb", Country: "GB", RateBP: 2000},
		{ID: "gb2", Country: "GB", RateBP: 500}, // the first of equals wins
	}
	for _, tt := range []struct{ country, region, want string }{
		{"US", "CA", "ca"}, // a region match beats a country match
		{"US", "ca", "ca"},
		{"US", "NY", "us"}, // the country beats *
		{"US", "", "us"},
		{"GB", "", "gb"},
		{"FR", "", "world"},
		{"", "", "world"}, // no address: only * applies
	} {
		got := shop.ChooseTaxRate(rates, tt.country, tt.region)
		if got == nil || got.ID != tt.want {
			t.Errorf("ChooseTaxRate(%q, %q) = %+v, want %s", tt.country, tt.region, got, tt.want)
		}
	}
	if got := shop.ChooseTaxRate(rates[1:], "FR", ""); got != nil {
		t.Errorf("no matching rate: got %+v, want no tax", got)
	}
}

func TestChooseShippingRate(t *testing.T) {
	t.Parallel()
	rates := []shop.ShippingRate{
		{ID: "uk", Name: "UK", Countries: []string{"GB"}, PriceCents: 395, Active: true},
		{ID: "eu", Name: "Europe", Countries: []string{"FR", "DE"}, PriceCents: 995, Active: true},
		{ID: "eu-fast", Name: "Europe express", Countries: []string{"FR"}, PriceCents: 1995, Active: true},
		{ID: "old", Name: "Old", Countries: []string{"*"}, Active: false},
	}
	for _, tt := range []struct {
		name, chosen, country string
		address               bool
		want, msg             string
	}{
		{"the only rate for the country", "", "GB", true, "uk", ""},
		{"case of the country does not matter", "", "gb", true, "uk", ""},
		{"the only rate for DE", "", "DE", true, "eu", ""},
		{"two rates cover FR: a choice is needed", "", "FR", true, "", "Choose a shipping rate: Europe (eu), Europe express (eu-fast)."},
		{"a chosen rate", "eu-fast", "FR", true, "eu-fast", ""},
		{"a rate that does not cover the country", "uk", "FR", true, "", `The shipping rate "UK" does not ship to FR.`},
		{"an inactive rate", "old", "FR", true, "", `The shipping rate "Old" is not available.`},
		{"an unknown rate", "nope", "FR", true, "", `Unknown shipping rate "nope".`},
		{"a rate without an address", "uk", "", false, "", "A shipping rate needs a shipping address."},
		{"a country nobody ships to", "", "JP", true, "", "We do not ship to JP."},
		{"no address, no rate: nothing to ship", "", "", false, "", ""},
	} {
		got, msg := shop.ChooseShippingRate(rates, tt.chosen, tt.address, strings.ToUpper(tt.country))
		gotID := ""
		if got != nil {
			gotID = got.ID
		}
		if gotID != tt.want || msg != tt.msg {
			t.Errorf("%s: got %q %q, want %q %q", tt.name, gotID, msg, tt.want, tt.msg)
		}
	}
	if got, msg := shop.ChooseShippingRate(rates[3:], "", true, "FR"); got != nil || msg != "" {
		t.Errorf("no active rate: got %+v %q, want the flat rule", got, msg)
	}
}

func TestCheckCode(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	lines := []shop.OrderLine{line("mug", 3000), line("tote", 2400)}
	base := shop.DiscountCode{Code: "SAVE10", Kind: shop.DiscountPercent, Value: 10, Active: true}
	with := func(change func(*shop.DiscountCode)) shop.DiscountCode {
		c := base
		change(&c)
		return c
	}
	for _, tt := range []struct {
		name string
		code shop.DiscountCode
		used int64
		want string
	}{
		{"valid", base, 0, ""},
		{"inactive reads as unknown", with(func(c *shop.DiscountCode) { c.Active = false }), 0, `Unknown discount code "SAVE10".`},
		{"not yet valid", with(func(c *shop.DiscountCode) { c.StartsAt = now.Add(time.Hour) }), 0, "This code is not valid yet: it starts on 2026-12-03 13:00 UTC."},
		{"expired", with(func(c *shop.DiscountCode) { c.EndsAt = now }), 0, "This code has expired."},
		{"inside its window", with(func(c *shop.DiscountCode) { c.StartsAt, c.EndsAt = now, now.Add(time.Second) }), 0, ""},
		{"below the minimum", with(func(c *shop.DiscountCode) { c.MinSubtotalCents = 5401 }), 0, "This code needs an order of at least $54.01."},
		{"at the minimum", with(func(c *shop.DiscountCode) { c.MinSubtotalCents = 5400 }), 0, ""},
		{"no eligible product", with(func(c *shop.DiscountCode) { c.Products = []string{"hat"} }), 0, "None of the products in this order is eligible for this code."},
		{"one eligible product", with(func(c *shop.DiscountCode) { c.Products = []string{"hat", "tote"} }), 0, ""},
		{"used up", with(func(c *shop.DiscountCode) { c.MaxUses, c.UsedCount = 10, 10 }), 0, "This code has been used up."},
		{"one use left", with(func(c *shop.DiscountCode) { c.MaxUses, c.UsedCount = 10, 9 }), 0, ""},
		{"already used by this email", with(func(c *shop.DiscountCode) { c.MaxUsesPerEmail = 1 }), 1, "This code has already been used with this email address."},
		{"a percent over 100", with(func(c *shop.DiscountCode) { c.Value = 101 }), 0, "This code is not valid."},
	} {
		got := shop.CheckCode(tt.code, shop.CodeUse{Now: now, Lines: lines, Currency: "usd", UsedByEmail: tt.used})
		if got != tt.want {
			t.Errorf("%s: CheckCode = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// FuzzPrice checks the pricing arithmetic's properties for any order: the
// total is the sum of its parts, the order's figures are the sums of its
// lines', nothing is negative, a discount never exceeds what it applies
// to, and the lines charged at checkout add up to the total.
func FuzzPrice(f *testing.F) {
	f.Add([]byte{1, 1, 1}, uint8(0), int64(33), int64(2000), false, int64(500), int64(0), uint8(0xff), true)
	f.Add([]byte{0xff, 0x03, 0xe7}, uint8(1), int64(1_000_000), int64(10000), true, int64(0), int64(100), uint8(1), false)
	f.Add([]byte{}, uint8(2), int64(0), int64(0), false, int64(1), int64(1), uint8(0), true)
	f.Fuzz(func(t *testing.T, amounts []byte, kind uint8, value, bp int64, incl bool, ship, freeOver int64, eligible uint8, shipTax bool) {
		if len(amounts) > 3*shop.MaxLines {
			amounts = amounts[:3*shop.MaxLines]
		}
		var lines []shop.OrderLine
		for i := 0; i+2 < len(amounts); i += 3 {
			// up to 2^24 cents a unit, up to 100 units: within the shop's limits
			cents := int64(amounts[i])<<16 | int64(amounts[i+1])<<8 | int64(amounts[i+2])
			qty := int64(i%shop.MaxQuantity) + 1
			lines = append(lines, shop.OrderLine{Product: string(rune('a' + i%8)), Quantity: int(qty), UnitPriceCents: cents, LineTotalCents: cents * qty})
		}
		var products []string
		for b := 0; b < 8; b++ {
			if eligible&(1<<b) != 0 {
				products = append(products, string(rune('a'+b)))
			}
		}
		if eligible == 0xff {
			products = nil
		}
		kinds := []string{shop.DiscountPercent, shop.DiscountFixed, shop.DiscountFreeShipping}
		code := &shop.DiscountCode{Kind: kinds[int(kind)%3], Value: abs(value) % 100_000_000_000, Products: products, Active: true}
		if code.Kind == shop.DiscountPercent {
			code.Value = code.Value%100 + 1
		}
		rules := shop.Rules{
			Code:             code,
			Shipping:         shop.ShippingRule{FlatCents: abs(ship) % shop.MaxUnitPriceCents, FreeOverCents: abs(freeOver) % shop.MaxUnitPriceCents},
			Tax:              &shop.TaxRate{Name: "T", RateBP: abs(bp) % (shop.MaxRateBP + 1), AppliesToShipping: shipTax},
			PricesIncludeTax: incl,
		}
		got, tot := shop.Price(lines, rules)

		var sub, disc, tax, eligibleBase int64
		for i, l := range got {
			if l.DiscountCents < 0 || l.TaxCents < 0 || l.DiscountCents > l.LineTotalCents {
				t.Fatalf("line %d: %+v", i, l)
			}
			if l.TaxCents > l.LineTotalCents-l.DiscountCents {
				t.Fatalf("line %d: tax %d over its amount %d", i, l.TaxCents, l.LineTotalCents-l.DiscountCents)
			}
			if code.Eligible(l) {
				eligibleBase += l.LineTotalCents
			} else if l.DiscountCents != 0 {
				t.Fatalf("line %d is not eligible but has a discount: %+v", i, l)
			}
			sub += l.LineTotalCents
			disc += l.DiscountCents
			tax += l.TaxCents
		}
		if tot.SubtotalCents != sub || tot.DiscountCents != disc {
			t.Fatalf("totals %+v are not the sums of the lines (%d, %d)", tot, sub, disc)
		}
		if tot.DiscountCents > eligibleBase || code.Kind == shop.DiscountFreeShipping && tot.DiscountCents != 0 {
			t.Fatalf("discount %d over its base %d (%s)", tot.DiscountCents, eligibleBase, code.Kind)
		}
		if tot.ShippingCents < 0 || tot.ShippingCents > rules.Shipping.FlatCents || tot.TaxCents < tax {
			t.Fatalf("shipping or tax out of range: %+v", tot)
		}
		var taxLines int64
		for _, tl := range tot.TaxLines {
			taxLines += tl.AmountCents
		}
		if taxLines != tot.TaxCents {
			t.Fatalf("tax lines sum to %d, tax is %d", taxLines, tot.TaxCents)
		}
		want := tot.SubtotalCents - tot.DiscountCents + tot.ShippingCents
		if !incl {
			want += tot.TaxCents
		}
		if tot.TotalCents != want || tot.TotalCents < 0 {
			t.Fatalf("total %d, want %d: %+v", tot.TotalCents, want, tot)
		}
		// What Stripe is asked to charge is the order's total, to the cent.
		charge, err := shop.ChargeLines(got, tot, "")
		if err != nil {
			t.Fatal(err)
		}
		var charged int64
		for _, c := range charge {
			if c.UnitAmountCents < 0 || c.Quantity < 1 {
				t.Fatalf("charge line %+v", c)
			}
			charged += c.UnitAmountCents * c.Quantity
		}
		if charged != tot.TotalCents {
			t.Fatalf("charged %d, total %d", charged, tot.TotalCents)
		}
	})
}

func abs(n int64) int64 {
	if n < 0 {
		if n == -n { // the most negative int64
			return 0
		}
		return -n
	}
	return n
}
