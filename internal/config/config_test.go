package config_test

import (
	"strings"
	"testing"

	"pocketshop/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadAcceptsValidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want config.Config
	}{
		{"nothing set", nil, config.Config{SQLiteSync: "FULL"}},
		{"test keys", map[string]string{
			"STRIPE_SECRET_KEY":     "sk_test_123",
			"STRIPE_WEBHOOK_SECRET": "whsec_abc",
			"STRIPE_API_BASE":       "http://127.0.0.1:12111/",
			"PUBLIC_URL":            " https://shop.example.com/ ",
		}, config.Config{
			StripeSecretKey:     "sk_test_123",
			StripeWebhookSecret: "whsec_abc",
			StripeAPIBase:       "http://127.0.0.1:12111",
			PublicURL:           "https://shop.example.com",
			SQLiteSync:          "FULL",
		}},
		{"live key", map[string]string{"STRIPE_SECRET_KEY": "sk_live_x"}, config.Config{StripeSecretKey: "sk_live_x", SQLiteSync: "FULL"}},
		{"restricted key", map[string]string{"STRIPE_SECRET_KEY": "rk_live_x"}, config.Config{StripeSecretKey: "rk_live_x", SQLiteSync: "FULL"}},
		{"public url with path", map[string]string{"PUBLIC_URL": "https://example.com/shop"}, config.Config{PublicURL: "https://example.com/shop", SQLiteSync: "FULL"}},
		{"sqlite sync normal", map[string]string{"POCKETSHOP_SQLITE_SYNC": " Normal "}, config.Config{SQLiteSync: "NORMAL"}},
		{"sqlite sync full", map[string]string{"POCKETSHOP_SQLITE_SYNC": "full"}, config.Config{SQLiteSync: "FULL"}},
		{"profiler on loopback", map[string]string{"POCKETSHOP_PPROF_ADDR": "127.0.0.1:6060"}, config.Config{SQLiteSync: "FULL", PprofAddr: "127.0.0.1:6060"}},
		{"profiler on localhost", map[string]string{"POCKETSHOP_PPROF_ADDR": "localhost:6060"}, config.Config{SQLiteSync: "FULL", PprofAddr: "localhost:6060"}},
		{"webhooks to private addresses", map[string]string{"POCKETSHOP_WEBHOOK_ALLOW_PRIVATE": "1"}, config.Config{SQLiteSync: "FULL", WebhookAllowPrivate: true}},
		{"webhooks to public addresses", map[string]string{"POCKETSHOP_WEBHOOK_ALLOW_PRIVATE": "0"}, config.Config{SQLiteSync: "FULL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := config.Load(env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Load = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, variable, value string
	}{
		{"publishable key", "STRIPE_SECRET_KEY", "pk_test_123"},
		{"webhook secret as key", "STRIPE_SECRET_KEY", "whsec_123"},
		{"key with a space", "STRIPE_SECRET_KEY", "sk_test_12 3"},
		{"key in quotes", "STRIPE_SECRET_KEY", "sk_test_123\""},
		{"api key as webhook secret", "STRIPE_WEBHOOK_SECRET", "sk_test_123"},
		{"webhook secret with quote", "STRIPE_WEBHOOK_SECRET", "whsec_1'"},
		{"api base without scheme", "STRIPE_API_BASE", "localhost:12111"},
		{"api base ftp", "STRIPE_API_BASE", "ftp://example.com"},
		{"public url no scheme", "PUBLIC_URL", "shop.example.com"},
		{"public url no host", "PUBLIC_URL", "https://"},
		{"public url with query", "PUBLIC_URL", "https://shop.example.com/?a=1"},
		{"public url with password", "PUBLIC_URL", "https://ann:secret@shop.example.com"},
		{"public url garbage", "PUBLIC_URL", "http://[::1"},
		{"sqlite sync off", "POCKETSHOP_SQLITE_SYNC", "off"},
		{"sqlite sync number", "POCKETSHOP_SQLITE_SYNC", "2"},
		{"profiler on every interface", "POCKETSHOP_PPROF_ADDR", ":6060"},
		{"profiler on a public address", "POCKETSHOP_PPROF_ADDR", "0.0.0.0:6060"},
		{"profiler without port", "POCKETSHOP_PPROF_ADDR", "127.0.0.1"},
		{"webhook private as word", "POCKETSHOP_WEBHOOK_ALLOW_PRIVATE", "yes"},
		{"webhook private as 2", "POCKETSHOP_WEBHOOK_ALLOW_PRIVATE", "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(env(map[string]string{tt.variable: tt.value}))
			if err == nil {
				t.Fatalf("Load accepted %s=%q", tt.variable, tt.value)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.variable+" ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q should be one line starting with %s", msg, tt.variable)
			}
			if strings.HasPrefix(tt.variable, "STRIPE_S") || strings.HasPrefix(tt.variable, "STRIPE_W") || strings.Contains(tt.value, "secret") {
				if strings.Contains(msg, tt.value) {
					t.Fatalf("error %q echoes the secret", msg)
				}
			}
		})
	}
}

func TestHelpListsEveryVariable(t *testing.T) {
	t.Parallel()
	help := config.Help()
	for _, v := range config.Vars {
		if !strings.Contains(help, v.Name) {
			t.Errorf("Help() does not list %s", v.Name)
		}
	}
}
