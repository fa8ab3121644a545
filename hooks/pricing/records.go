package pricing

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"pocketshop/hooks/txn"
	"pocketshop/internal/shop"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
)

// Bind keeps the owner's pricing records valid on every save (the
// dashboard, the records API, the seed): the rules a field's own options
// cannot express. The code's case-insensitive uniqueness is its index's
// (1764422000_pricing.go), rate_bp's range and the country's form are the
// fields'.
func Bind(app core.App) {
	app.OnRecordValidate("discount_codes").BindFunc(validateCode)
	app.OnRecordValidate("shipping_rates").BindFunc(validateShippingRate)
	app.OnRecordValidate("tax_rates").BindFunc(validateTaxRate)
	app.OnRecordCreateRequest("discount_codes").BindFunc(refuseUsedCount)
	app.OnRecordUpdate("discount_codes").BindFunc(keepUsedCount)
}

// refuseUsedCount refuses a new code sent through the records API with
// uses: the server counts them. (An edit's used_count is ignored instead,
// see keepUsedCount: the dashboard's form sends back the count it loaded.)
func refuseUsedCount(e *core.RecordRequestEvent) error {
	if e.Record.GetInt("used_count") != 0 {
		return e.BadRequestError("The discount code could not be saved.", validation.Errors{
			"used_count": validation.NewError("server_field", "The uses are counted by the server and cannot be set."),
		})
	}
	return e.Next()
}

// keepUsedCount keeps the used_count stored when the code is saved, whatever
// the save sent: the owner's edit (loaded before orders took uses) must not
// write back a stale count, which would let the code be used more than max_uses times. Read
// and write happen in the save's transaction, on SQLite's one write
// connection, so no order takes a use in between.
func keepUsedCount(e *core.RecordEvent) error {
	return txn.Run(&e.App, func(txApp core.App) error {
		var stored int
		err := txApp.DB().Select("used_count").From("discount_codes").
			Where(dbx.HashExp{"id": e.Record.Id}).Row(&stored)
		if err != nil {
			return fmt.Errorf("read uses of discount code %s: %w", e.Record.Id, err)
		}
		e.Record.Set("used_count", stored)
		return e.Next()
	})
}

func validateCode(e *core.RecordEvent) error {
	r := e.Record
	errs := validation.Errors{}
	r.Set("code", strings.TrimSpace(r.GetString("code")))
	value := r.GetInt("value")
	switch r.GetString("kind") {
	case shop.DiscountPercent:
		if value < 1 || value > 100 {
			errs["value"] = validation.NewError("percent_out_of_range", "A percent code's value must be from 1 to 100.")
		}
	case shop.DiscountFixed:
		if value < 1 {
			errs["value"] = validation.NewError("fixed_not_positive", "A fixed code's value is an amount in cents of at least 1.")
		}
	}
	starts, ends := r.GetDateTime("starts_at"), r.GetDateTime("ends_at")
	if !starts.IsZero() && !ends.IsZero() && !ends.After(starts) {
		errs["ends_at"] = validation.NewError("ends_before_start", "The code must end after it starts.")
	}
	if len(errs) > 0 {
		return errs
	}
	return e.Next()
}

var countryCode = regexp.MustCompile(`^([A-Z]{2}|\*)$`)

func validateShippingRate(e *core.RecordEvent) error {
	var countries []string
	raw, _ := json.Marshal(e.Record.Get("countries"))
	if err := json.Unmarshal(raw, &countries); err != nil || len(countries) == 0 {
		return validation.Errors{"countries": validation.NewError("countries_list",
			`Must be a list of ISO country codes in upper case (["GB", "IE"]), or ["*"] for everywhere.`)}
	}
	for _, c := range countries {
		if !countryCode.MatchString(c) {
			return validation.Errors{"countries": validation.NewError("country_code",
				`"`+c+`" is not an ISO 3166-1 alpha-2 code in upper case (e.g. "GB") or "*".`)}
		}
	}
	return e.Next()
}

func validateTaxRate(e *core.RecordEvent) error {
	// The field's pattern says the same; this message says what to write.
	if c := e.Record.GetString("country"); !countryCode.MatchString(c) {
		return validation.Errors{"country": validation.NewError("country_code",
			`Must be an ISO 3166-1 alpha-2 code in upper case (e.g. "GB"), or "*" for everywhere.`)}
	}
	e.Record.Set("region", strings.ToUpper(strings.TrimSpace(e.Record.GetString("region"))))
	return e.Next()
}
