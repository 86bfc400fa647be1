package apiauth_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
)

// Endpoint is checked as the root package checks it: https unless
// loopback, and the base URL, not the issuer or discovery URL.
func TestEndpointChecked(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"https://tenant.logto.app":      true,
		"https://tenant.logto.app/":     true,
		"http://localhost:3001":         true,
		"http://127.0.0.1:3001":         true,
		"http://[::1]:3001":             true,
		"http://tenant.example.com":     false,
		"https://tenant.logto.app/oidc": false,
		"https://tenant.logto.app/oidc/.well-known/openid-configuration": false,
		"https://tenant.logto.app/?x=1":                                  false,
		"ftp://tenant.logto.app":                                         false,
	} {
		_, err := apiauth.NewValidator(apiauth.Config{Endpoint: endpoint, Audience: testResource})
		if (err == nil) != ok {
			t.Errorf("Endpoint %q: err = %v", endpoint, err)
		}
		if err != nil && !errors.Is(err, logto.ErrInvalidConfig) {
			t.Errorf("Endpoint %q: err = %v, want ErrInvalidConfig", endpoint, err)
		}
	}
	// The message names the value and says what to write instead.
	for endpoint, fix := range map[string]string{
		"https://tenant.logto.app/oidc":                                   `write "https://tenant.logto.app" (the SDK adds /oidc)`,
		"https://tenant.logto.app/oidc/":                                  `write "https://tenant.logto.app" (the SDK adds /oidc)`,
		"https://tenant.logto.app/oidc/.well-known/openid-configuration":  `is a discovery URL, not the provider's base URL: write "https://tenant.logto.app"`,
		"https://tenant.logto.app/oidc/.well-known":                       `is a discovery URL, not the provider's base URL: write "https://tenant.logto.app"`,
		"https://tenant.logto.app/.well-known/oauth-authorization-server": `is a discovery URL, not the provider's base URL: write "https://tenant.logto.app"`,
	} {
		_, err := apiauth.NewValidator(apiauth.Config{Endpoint: endpoint, Audience: testResource})
		if !errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), fmt.Sprintf("Endpoint %q", endpoint)) || !strings.Contains(err.Error(), fix) {
			t.Errorf("Endpoint %q: err = %v, want ErrInvalidConfig naming it and saying %q", endpoint, err, fix)
		}
	}
	// http on a non-loopback host only when asked for by name.
	if _, err := apiauth.NewValidator(apiauth.Config{Endpoint: "http://tenant.example.com", Audience: testResource, InsecureAllowHTTP: true}); err != nil {
		t.Errorf("InsecureAllowHTTP: %v", err)
	}
}
