package apiauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// Config errors match ErrInvalidConfig, and every problem is reported.
func TestConfigErrorsAreInvalidConfig(t *testing.T) {
	_, err := apiauth.NewValidator(apiauth.Config{Endpoint: "ftp://x", ClockLeeway: -1})
	if !errors.Is(err, logto.ErrInvalidConfig) {
		t.Errorf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"Endpoint", "Audience", "ClockLeeway"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want a word on %s", err, want)
		}
	}
}

// One ErrInvalidToken and one ErrProvider across the SDK's packages.
func TestSharedFailureKinds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "x")}))
	if !errors.Is(err, logto.ErrInvalidToken) {
		t.Errorf("wrong issuer: err = %v, want logto.ErrInvalidToken", err)
	}
	tok := e.token(t, noFaults)
	e.p.SetFaults(logtotest.Faults{DiscoveryStatus: http.StatusInternalServerError})
	_, err = e.v.Validate(ctx, tok)
	if !errors.Is(err, logto.ErrProvider) || errors.Is(err, logto.ErrInvalidToken) {
		t.Errorf("provider down: err = %v, want logto.ErrProvider", err)
	}
}

// "Wrong issuer" and "wrong audience" errors say what was expected and what
// came; the HTTP answer stays generic (TestRejections).
func TestErrorsNameExpectedAndReceived(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "https://evil.example/oidc")}))
	if err == nil || !strings.Contains(err.Error(), `"https://evil.example/oidc"`) || !strings.Contains(err.Error(), `"`+e.p.Issuer()+`"`) {
		t.Errorf("wrong issuer: %v", err)
	}
	_, err = e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: set("aud", []string{"https://a.example", "https://b.example"})}))
	if err == nil || !strings.Contains(err.Error(), `https://a.example`) || !strings.Contains(err.Error(), `https://b.example`) || !strings.Contains(err.Error(), `"`+testResource+`"`) {
		t.Errorf("wrong audience: %v", err)
	}
}
