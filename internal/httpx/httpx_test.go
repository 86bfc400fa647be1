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

func TestIsPrivateHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":        true,
		"127.0.0.1":        true,
		"::1":              true,
		"10.1.2.3":         true,
		"172.20.0.5":       true,
		"192.168.1.10":     true,
		"fd12::1":          true,
		"logto":            true,
		"Logto-Core":       true,
		"logto2":           true,
		"8.8.8.8":          false,
		"172.32.0.1":       false,
		"2001:db8::1":      false,
		"169.254.169.254":  false, // link-local: a cloud's metadata service, not a provider
		"auth.example.com": false,
		"logto.":           false,
		"134744072":        false, // 8.8.8.8 to inet_aton
		"0x8080808":        false,
		"":                 false,
		"log_to":           false,
	} {
		if got := IsPrivateHost(host); got != want {
			t.Errorf("IsPrivateHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// A ProviderURL may be http on a private network without any switch; on a
// host that may be anywhere it needs InsecureAllowHTTP, as Endpoint does.
func TestCheckProviderURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://logto:3001/":         "http://logto:3001",
		"http://10.0.0.7:3001":       "http://10.0.0.7:3001",
		"http://[fd00::7]:3001":      "http://[fd00::7]:3001",
		"https://logto.internal":     "https://logto.internal",
		"http://localhost:3001/base": "http://localhost:3001/base",
	} {
		got, err := CheckProviderURL("ProviderURL", raw, false)
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", raw, got, err, want)
		}
	}
	for raw, hint := range map[string]string{
		"http://logto.example.com": "must be https",
		"http://203.0.113.7":       "must be https",
		"http://logto:3001/oidc":   "is the issuer",
		"http://logto:3001/?x=1":   "query",
		"logto:3001":               "absolute",
		"ftp://logto":              "absolute",
	} {
		_, err := CheckProviderURL("ProviderURL", raw, false)
		if err == nil || !strings.Contains(err.Error(), hint) || !strings.Contains(err.Error(), "ProviderURL") {
			t.Errorf("%q: err %v, want one naming ProviderURL and saying %q", raw, err, hint)
		}
	}
	if _, err := CheckProviderURL("ProviderURL", "http://logto.example.com", true); err != nil {
		t.Errorf("allowHTTP: %v", err)
	}
	// Endpoint itself keeps its stricter rule.
	if _, err := CheckEndpoint("Endpoint", "http://logto:3001", false); err == nil {
		t.Error("an http Endpoint on a container name was accepted")
	}
}
