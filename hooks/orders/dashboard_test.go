package orders_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"pocketshop/hooks"
	"pocketshop/internal/shoptest"

	"github.com/pocketbase/pocketbase/core"
)

// TestDashboardSavesOrder saves an order exactly as PocketBase's dashboard
// form sends it (seen in the browser tests under e2e/): multipart, every
// field as text, JSON pretty-printed and dates in whole seconds
// ("2026-11-29 05:33:16", the stored value has milliseconds).
func TestDashboardSavesOrder(t *testing.T) {
	t.Parallel()
	app := shoptest.NewApp(t, hooks.Deps{})
	p := shoptest.CreateProduct(t, app, "mug", 1500, 5)
	srv := shoptest.Serve(t, app)
	su := shoptest.SuperuserToken(t, app)
	order := shoptest.PlaceOrder(t, srv, "", map[string]any{
		"email": "ann@example.com", "payment_method": "manual",
		"items": []map[string]any{{"product": p.Id, "quantity": 2}},
	})
	id := order["id"].(string)

	save := func(changes map[string]string) (int, string) {
		t.Helper()
		stored, err := app.FindRecordById("orders", id)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, f := range stored.Collection().Fields {
			name := f.GetName()
			value := stored.GetString(name)
			switch f.Type() {
			case core.FieldTypeAutodate:
				continue
			case core.FieldTypeDate:
				if d := stored.GetDateTime(name); !d.IsZero() {
					value = d.Time().UTC().Format(time.DateTime)
				}
			case core.FieldTypeJSON:
				var b bytes.Buffer
				_ = json.Indent(&b, []byte(value), "", "  ")
				value = b.String()
			}
			if c, ok := changes[name]; ok {
				value = c
			}
			_ = w.WriteField(name, value)
		}
		_ = w.Close()
		req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/api/collections/orders/records/"+id, &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", su)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}

	before, _ := app.FindRecordById("orders", id)
	if code, body := save(map[string]string{"status": "paid"}); code != http.StatusOK {
		t.Fatalf("mark paid: %d %s", code, body)
	}
	after, _ := app.FindRecordById("orders", id)
	if !after.GetDateTime("expires_at").Equal(before.GetDateTime("expires_at")) {
		t.Fatalf("expires_at changed from %s to %s", before.GetDateTime("expires_at"), after.GetDateTime("expires_at"))
	}
	if code, body := save(map[string]string{"status": "fulfilled", "tracking_number": "TRK-1"}); code != http.StatusOK {
		t.Fatalf("mark fulfilled (paid_at sent in whole seconds): %d %s", code, body)
	}

	// A date really changed is still refused.
	later := after.GetDateTime("paid_at").Time().Add(time.Hour).UTC().Format(time.DateTime)
	if code, body := save(map[string]string{"paid_at": later}); code != http.StatusBadRequest || !strings.Contains(body, "paid_at") {
		t.Fatalf("change paid_at: %d %s", code, body)
	}
}
