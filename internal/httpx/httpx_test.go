package httpx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckEndpoint(t *testing.T) {
	for raw, want := range map[string]string{
		"https://tenant.logto.app/":      "https://tenant.logto.app",
		"http://localhost:3001":          "http://localhost:3001",
		"http://127.0.0.1:3001/base":     "http://127.0.0.1:3001/base",
		"https://auth.example.com/oidcx": "https://auth.example.com/oidcx",
	} {
		got, err := CheckEndpoint("Endpoint", raw, false)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", raw, got, err, want)
		}
	}
	for raw, hint := range map[string]string{
		"":                           "must be provided",
		"tenant.logto.app":           "absolute",
		"http://auth.example.com":    "https",
		"https://a.example.com/?x=1": "query",
		"https://u:p@a.example.com":  "user info",
	} {
		_, err := CheckEndpoint("Endpoint", raw, false)
		if err == nil || !strings.Contains(err.Error(), hint) {
			t.Errorf("%q: err %v, want one saying %q", raw, err, hint)
		}
	}
	// What a newcomer copies from the console: refused with the base URL
	// to write instead.
	for raw, fix := range map[string]string{
		"https://t.logto.app/oidc":                                   `is the issuer, not the provider's base URL: write "https://t.logto.app" (the SDK adds /oidc)`,
		"https://t.logto.app/oidc/":                                  `write "https://t.logto.app" (the SDK adds /oidc)`,
		"https://auth.example.com/base/oidc":                         `write "https://auth.example.com/base" (the SDK adds /oidc)`,
		"http://localhost:3001/oidc":                                 `write "http://localhost:3001" (the SDK adds /oidc)`,
		"https://t.logto.app/oidc/.well-known/openid-configuration":  `is a discovery URL, not the provider's base URL: write "https://t.logto.app"`,
		"https://t.logto.app/oidc/.well-known":                       `is a discovery URL, not the provider's base URL: write "https://t.logto.app"`,
		"https://t.logto.app/.well-known/":                           `is a discovery URL, not the provider's base URL: write "https://t.logto.app"`,
		"https://t.logto.app/.well-known/oauth-authorization-server": `write "https://t.logto.app"`,
		"https://auth.example.com/a%2Fb/oidc/.well-known/x":          `write "https://auth.example.com/a%2Fb"`,
	} {
		_, err := CheckEndpoint("Endpoint", raw, false)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("Endpoint %q ", raw)) || !strings.Contains(err.Error(), fix) {
			t.Errorf("%q: err %v, want one naming it and saying %q", raw, err, fix)
		}
	}
	if _, err := CheckEndpoint("Endpoint", "http://auth.internal", true); err != nil {
		t.Errorf("allowHTTP: %v", err)
	}
}

func TestReadBodyCap(t *testing.T) {
	if _, err := ReadBody(strings.NewReader(strings.Repeat("a", MaxBodyBytes+1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
	if b, err := ReadBody(strings.NewReader(strings.Repeat("a", MaxBodyBytes))); err != nil || len(b) != MaxBodyBytes {
		t.Errorf("exactly the cap: %d, %v", len(b), err)
	}
}
