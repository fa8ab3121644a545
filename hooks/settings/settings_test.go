package settings_test

import (
	"testing"

	"pocketshop/hooks"
	"pocketshop/hooks/settings"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

func TestLoadSettingsSeesEveryChange(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})

	s, err := settings.Load(app)
	if err != nil || s.ShopName != "pocketshop" {
		t.Fatalf("first load: %+v, %v", s, err)
	}
	record, err := app.FindFirstRecordByFilter("shop_settings", "")
	if err != nil {
		t.Fatal(err)
	}

	record.Set("shop_name", "Changed")
	if err := app.Save(record); err != nil {
		t.Fatal(err)
	}
	if s, _ := settings.Load(app); s.ShopName != "Changed" {
		t.Fatalf("after a save: shop name %q, want Changed", s.ShopName)
	}

	// A change rolled back is not kept, inside the transaction or after it.
	_ = app.RunInTransaction(func(txApp core.App) error {
		record.Set("shop_name", "Rolled back")
		if err := txApp.Save(record); err != nil {
			t.Fatal(err)
		}
		if s, _ := settings.Load(txApp); s.ShopName != "Rolled back" {
			t.Errorf("inside the transaction: shop name %q, want its own change", s.ShopName)
		}
		return errRollback
	})
	if s, _ := settings.Load(app); s.ShopName != "Changed" {
		t.Fatalf("after a rollback: shop name %q, want Changed", s.ShopName)
	}

	if err := app.Delete(record); err != nil {
		t.Fatal(err)
	}
	if s, _ := settings.Load(app); s.ShopName != "pocketshop" {
		t.Fatalf("after a delete: shop name %q, want the default", s.ShopName)
	}
}

type rollback struct{}

func (rollback) Error() string { return "roll back" }

var errRollback error = rollback{}
