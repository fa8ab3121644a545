// Package config reads pocketshop's settings from the environment and checks
// them before the server starts, so that a typo in a key or a URL stops the
// start with one clear line instead of failing on the first customer.
package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Config is pocketshop's configuration from the environment. Every field is
// optional: with nothing set the shop starts, takes manual payments, and
// answers Stripe checkout with "payments are not configured".
type Config struct {
	// StripeSecretKey is the Stripe API key (sk_test_…, sk_live_… or a
	// restricted rk_… key).
	StripeSecretKey string
	// StripeWebhookSecret is the signing secret of the shop's Stripe webhook
	// endpoint (whsec_…).
	StripeWebhookSecret string
	// StripeAPIBase points the Stripe client at another server, e.g.
	// stripe-mock in tests. Empty means Stripe itself.
	StripeAPIBase string
	// PublicURL is the address customers use, e.g. https://shop.example.com.
	// When set it becomes PocketBase's Application URL (links in emails,
	// Stripe's return pages) at every start.
	PublicURL string
	// SQLiteSync is SQLite's synchronous mode for the data database: "FULL"
	// (the default: a commit survives a power cut) or "NORMAL" (faster; a
	// commit survives a crash of the process, not of the machine).
	SQLiteSync string
	// PprofAddr, when set, is the loopback address Go's profiler serves on.
	PprofAddr string
	// WebhookAllowPrivate lets outgoing webhook endpoints use http and
	// addresses of the shop's own network (loopback, private, link-local).
	WebhookAllowPrivate bool
}

// Var describes one environment variable pocketshop reads.
type Var struct {
	Name string
	Help string
}

// Vars lists every variable Load reads, for --help and the README.
var Vars = []Var{
	{"STRIPE_SECRET_KEY", "Stripe API key: sk_test_..., sk_live_... or a restricted rk_... key. Unset: Stripe checkout is off, manual payment works."},
	{"STRIPE_WEBHOOK_SECRET", "signing secret of the Stripe webhook endpoint for /api/shop/stripe/webhook; starts with whsec_."},
	{"STRIPE_API_BASE", "optional http(s) URL of another Stripe API server (stripe-mock in tests). Unset: Stripe itself."},
	{"PUBLIC_URL", "optional http(s) address customers use, e.g. https://shop.example.com; set as the dashboard's Application URL at each start (links in emails, Stripe return pages)."},
	{"POCKETSHOP_SQLITE_SYNC", "full (default: an acknowledged order or payment survives a power cut) or normal (faster; survives a crash of the process only). README, Performance."},
	{"POCKETSHOP_PPROF_ADDR", "optional loopback address, e.g. 127.0.0.1:6060, to serve Go's profiler (net/http/pprof) on, apart from the shop. Unset: off."},
	{"POCKETSHOP_WEBHOOK_ALLOW_PRIVATE", "1 lets outgoing webhook endpoints use http:// and loopback, private or link-local addresses (a CRM beside the shop, tests). Unset or 0: https to public addresses only."},
}

// stripeKeyPrefixes are the prefixes of the keys Stripe issues for the API.
var stripeKeyPrefixes = []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"}

// Load reads and checks the configuration with getenv (os.Getenv in main).
// Its error is one line that names the variable and never echoes a secret.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		StripeSecretKey:     strings.TrimSpace(getenv("STRIPE_SECRET_KEY")),
		StripeWebhookSecret: strings.TrimSpace(getenv("STRIPE_WEBHOOK_SECRET")),
		StripeAPIBase:       strings.TrimSpace(getenv("STRIPE_API_BASE")),
		PublicURL:           strings.TrimSpace(getenv("PUBLIC_URL")),
		SQLiteSync:          strings.ToUpper(strings.TrimSpace(getenv("POCKETSHOP_SQLITE_SYNC"))),
		PprofAddr:           strings.TrimSpace(getenv("POCKETSHOP_PPROF_ADDR")),
	}

	if c.StripeSecretKey != "" && !hasAnyPrefix(c.StripeSecretKey, stripeKeyPrefixes) {
		return Config{}, fmt.Errorf("STRIPE_SECRET_KEY must start with sk_test_, sk_live_, rk_test_ or rk_live_ (copy it from Stripe Dashboard → Developers → API keys)")
	}
	if c.StripeSecretKey != "" && strings.ContainsAny(c.StripeSecretKey, " \t\"'") {
		return Config{}, fmt.Errorf("STRIPE_SECRET_KEY must not contain spaces or quotes")
	}
	if c.StripeWebhookSecret != "" && !strings.HasPrefix(c.StripeWebhookSecret, "whsec_") {
		return Config{}, fmt.Errorf("STRIPE_WEBHOOK_SECRET must start with whsec_ (the endpoint's signing secret, not an API key)")
	}
	if c.StripeWebhookSecret != "" && strings.ContainsAny(c.StripeWebhookSecret, " \t\"'") {
		return Config{}, fmt.Errorf("STRIPE_WEBHOOK_SECRET must not contain spaces or quotes")
	}
	if c.StripeAPIBase != "" {
		if err := checkURL(c.StripeAPIBase); err != nil {
			return Config{}, fmt.Errorf("STRIPE_API_BASE %w", err)
		}
		c.StripeAPIBase = strings.TrimRight(c.StripeAPIBase, "/")
	}
	if c.PublicURL != "" {
		if err := checkURL(c.PublicURL); err != nil {
			return Config{}, fmt.Errorf("PUBLIC_URL %w", err)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	switch c.SQLiteSync {
	case "":
		c.SQLiteSync = "FULL"
	case "FULL", "NORMAL":
	default:
		return Config{}, fmt.Errorf("POCKETSHOP_SQLITE_SYNC must be full or normal (got %q)", getenv("POCKETSHOP_SQLITE_SYNC"))
	}
	switch v := strings.TrimSpace(getenv("POCKETSHOP_WEBHOOK_ALLOW_PRIVATE")); v {
	case "", "0":
	case "1":
		c.WebhookAllowPrivate = true
	default:
		return Config{}, fmt.Errorf("POCKETSHOP_WEBHOOK_ALLOW_PRIVATE must be 1 or 0 (got %q)", v)
	}
	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return Config{}, fmt.Errorf("POCKETSHOP_PPROF_ADDR must be a loopback address such as 127.0.0.1:6060 (got %q)", c.PprofAddr)
		}
	}
	return c, nil
}

// Help returns the variables as an indented list for --help.
func Help() string {
	var b strings.Builder
	for _, v := range Vars {
		fmt.Fprintf(&b, "  %-35s %s\n", v.Name, v.Help)
	}
	return b.String()
}

// checkURL accepts an absolute http or https URL with a host and no query or
// fragment. Its error completes a sentence that starts with the variable.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return fmt.Errorf("must not carry a user name or password")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http:// or https:// URL such as https://shop.example.com (got %q)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must not have a query or fragment (got %q)", raw)
	}
	return nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
