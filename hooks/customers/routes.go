package customers

import (
	"encoding/json"
	"net/http"

	"pocketshop/hooks/httperr"
	"pocketshop/internal/shop"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// maxPasswordLength bounds the password an erase request may carry (the
// body limit of /api/shop bounds the rest); PocketBase's own limit is 255.
const maxPasswordLength = 1000

// Routes registers the signed-in customer's data routes in the /api/shop
// group. Both read only the signed-in account (e.Auth): there is no way to
// name another customer.
func (m *Manager) Routes(g *router.RouterGroup[*core.RequestEvent]) {
	account := g.Group("/account")
	account.Bind(apis.RequireAuth("users"))
	account.GET("/export", m.exportAccount)
	account.POST("/erase", m.eraseAccount)
}

// exportAccount answers GET /api/shop/account/export: a JSON download of
// everything the shop holds about the signed-in customer.
func (m *Manager) exportAccount(e *core.RequestEvent) error {
	subj, err := customerSubject(e.App, e.Auth.Id)
	if err != nil {
		return httperr.Response(err)
	}
	now := m.now()
	export, err := buildExport(e.App, subj, now)
	if err != nil {
		return httperr.Response(err)
	}
	e.Response.Header().Set("Content-Disposition",
		`attachment; filename="my-data-`+now.UTC().Format("2006-01-02")+`.json"`)
	e.Response.Header().Set("Cache-Control", "no-store")
	return e.JSON(http.StatusOK, export)
}

// eraseRequest is the body of POST /api/shop/account/erase.
type eraseRequest struct {
	Password string `json:"password"`
}

// eraseAccount answers POST /api/shop/account/erase with {"password"}: the
// signed-in customer's account is deleted and their orders keep no
// personal data. A wrong password is a 401 and changes nothing.
func (m *Manager) eraseAccount(e *core.RequestEvent) error {
	var body map[string]any
	if err := json.NewDecoder(e.Request.Body).Decode(&body); err != nil {
		return httperr.Response(shop.FieldErr(shop.EINVALID, "password", "invalid_body",
			"Send {\"password\": \"...\"} as JSON."))
	}
	password, ok := body["password"].(string)
	switch {
	case body["password"] == nil || (ok && password == ""):
		return httperr.Response(shop.FieldErr(shop.EINVALID, "password", "validation_required",
			"Enter your password to delete your account."))
	case !ok:
		return httperr.Response(shop.FieldErr(shop.EINVALID, "password", "validation_invalid_password",
			"The password must be text."))
	}

	subj, err := customerSubject(e.App, e.Auth.Id)
	if err != nil {
		return httperr.Response(err)
	}
	if len(password) > maxPasswordLength || !subj.user.ValidatePassword(password) {
		// A 401 like a failed sign-in; the shop's error codes have no
		// "unauthorized" of their own (only this route checks a password).
		return e.UnauthorizedError("The password is not right.", nil)
	}
	res, err := m.eraseSubject(e.App, subj, ByCustomer)
	if err != nil {
		return httperr.Response(err)
	}
	return e.JSON(http.StatusOK, map[string]any{"erased": true, "orders_kept": res.Orders})
}
