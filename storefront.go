package main

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// notFoundPage is the storefront's page for an unknown address.
const notFoundPage = "404.html"

// serveStorefront serves the storefront's files. It has no index fallback:
// the storefront is made of pages, not a single-page app, so an unknown
// address is a 404 (the storefront's 404.html), and under /api/ it is
// PocketBase's JSON 404, so that a client that mistypes an API path gets an
// error it can read instead of the shop's home page.
func serveStorefront(public fs.FS) func(*core.RequestEvent) error {
	static := apis.Static(public, false)
	return func(e *core.RequestEvent) error {
		if e.Request.URL.Path == "/api" || strings.HasPrefix(e.Request.URL.Path, "/api/") {
			return e.NotFoundError("", nil)
		}
		err := static(e)
		if !errors.Is(err, router.ErrFileNotFound) {
			return err
		}
		page, readErr := fs.ReadFile(public, notFoundPage)
		if readErr != nil {
			return err
		}
		return e.HTML(http.StatusNotFound, string(page))
	}
}
