package hooks

import (
	"fmt"
	"math/rand/v2"
	"time"

	shoporders "pocketshop/hooks/orders"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// demoSaleNote marks the orders SeedDemoSales adds.
const demoSaleNote = "Demo sale (pocketshop seed --sales)."

// SeedDemoSales adds demo orders paid over the last days days (today
// included, up to now, in the shop's time zone) from the demo catalog, so
// that the owner's page has something to show: `pocketshop seed --sales N`.
// They are saved as the server stores orders, paid (fulfilled after two
// days, one in ten refunded), without order events, so no email goes out,
// and without taking stock, so the stock ledger is left as it is. The same
// days give the same orders, and a shop that has demo sales already gets
// none: it returns how many orders it added.
func SeedDemoSales(app core.App, now time.Time, days int) (int, error) {
	if days < 1 || days > maxReportDays {
		return 0, fmt.Errorf("seed sales: days must be from 1 to %d", maxReportDays)
	}
	if _, err := SeedDemoCatalog(app); err != nil {
		return 0, err
	}
	settings, loc, err := reportSettings(app)
	if err != nil {
		return 0, err
	}
	var catalog []shop.Product
	products := map[string]shop.Product{}
	for _, data := range demoProducts {
		r, err := app.FindFirstRecordByData("products", "slug", data["slug"])
		if err != nil {
			return 0, fmt.Errorf("seed sales: demo product %s: %w", data["slug"], err)
		}
		p := shop.Product{ID: r.Id, Name: r.GetString("name"), SKU: r.GetString("sku"),
			UnitPriceCents: int64(r.GetInt("price_cents")), Active: true}
		catalog = append(catalog, p)
		products[p.ID] = p
	}
	orders, err := app.FindCollectionByNameOrId("orders")
	if err != nil {
		return 0, err
	}
	if n, err := app.CountRecords(orders, dbx.HashExp{"note": demoSaleNote}); err != nil || n > 0 {
		return 0, err
	}

	rng := rand.New(rand.NewPCG(uint64(days), 15))
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	added := 0
	err = app.RunInTransaction(func(txApp core.App) error {
		for d := days - 1; d >= 0; d-- {
			start := today.AddDate(0, 0, -d)
			length := start.AddDate(0, 0, 1).Sub(start)
			for n := 2 + rng.IntN(5); n > 0; n-- {
				paidAt := start.Add(time.Duration(rng.Int64N(int64(length))))
				var lines []shop.Line
				for _, i := range rng.Perm(len(catalog))[:1+rng.IntN(2)] {
					lines = append(lines, shop.Line{Product: catalog[i].ID, Quantity: 1 + rng.IntN(3)})
				}
				if paidAt.After(now) {
					continue
				}
				priced, err := shop.PriceLines(lines, products)
				if err != nil {
					return err
				}
				totals := shop.Quote(priced, settings.ShippingRule())
				number, err := shoporders.NextNumber(txApp)
				if err != nil {
					return err
				}
				paid, _ := types.ParseDateTime(paidAt)
				o := core.NewRecord(orders)
				o.Load(map[string]any{
					"number": number, "status": shop.StatusPaid, "email": fmt.Sprintf("demo+%d@example.com", number),
					"items": priced, "payment_method": "manual", "note": demoSaleNote,
					"shipping_address": map[string]string{"name": "Demo Buyer", "line1": "1 Demo Street", "city": "Springfield",
						"postal_code": "12345", "country": "US"},
					"subtotal_cents": totals.SubtotalCents, "shipping_cents": totals.ShippingCents,
					"total_cents": totals.TotalCents, "currency": settings.Currency,
					"paid_at": paid, "created": paid, "updated": paid,
				})
				switch {
				case rng.IntN(10) == 0:
					o.Set("status", shop.StatusRefunded)
					o.Set("refunded_cents", totals.TotalCents)
				case d >= 2:
					o.Set("status", shop.StatusFulfilled)
					o.Set("fulfilled_at", paid.Add(24*time.Hour))
					o.Set("tracking_number", fmt.Sprintf("DEMO%d", number))
				}
				if err := txApp.Save(o); err != nil {
					return fmt.Errorf("seed sales: order %d: %w", number, err)
				}
				added++
			}
		}
		return nil
	})
	return added, err
}
