package httpx

import (
	"errors"
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
		"":                               "must be provided",
		"tenant.logto.app":               "absolute",
		"http://auth.example.com":        "https",
		"https://a.example.com/?x=1":     "query",
		"https://u:p@a.example.com":      "user info",
		"https://tenant.logto.app/oidc":  `give the provider's base URL, "https://tenant.logto.app"`,
		"https://tenant.logto.app/oidc/": `"https://tenant.logto.app"`,
		"https://t.logto.app/oidc/.well-known/openid-configuration": `base URL, "https://t.logto.app"`,
	} {
		_, err := CheckEndpoint("Endpoint", raw, false)
		if err == nil || !strings.Contains(err.Error(), hint) {
			t.Errorf("%q: err %v, want one saying %q", raw, err, hint)
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
