package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestUnknownPathsAnswer404: a mistyped API path gets PocketBase's JSON 404
// and an unknown page a 404 page, not the storefront's index.html with 200;
// the storefront's pages are served as before.
func TestUnknownPathsAnswer404(t *testing.T) {
	t.Parallel()
	srv := startServer(t, newDataDir(t))
	defer srv.stop()
	for _, tt := range []struct {
		path, contentType, body string
		status                  int
	}{
		{"/api/nope", "application/json", `"status":404`, http.StatusNotFound},
		{"/api/shop/nope", "application/json", `"status":404`, http.StatusNotFound},
		{"/nope.html", "text/html", "Page not found", http.StatusNotFound},
		{"/deep/nope", "text/html", "Page not found", http.StatusNotFound},
		{"/", "text/html", "data-shop-name", http.StatusOK},
		{"/order.html", "text/html", "<html", http.StatusOK},
		{"/css/shop.css", "text/css", "", http.StatusOK},
	} {
		res, err := http.Get(srv.url + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.contentType) ||
			!strings.Contains(string(raw), tt.body) {
			t.Errorf("GET %s: %d %s %.80q, want %d %s with %q", tt.path, res.StatusCode, res.Header.Get("Content-Type"), raw,
				tt.status, tt.contentType, tt.body)
		}
	}
}
