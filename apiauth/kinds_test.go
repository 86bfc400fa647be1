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

// The client is told "wrong issuer" or "wrong audience" and nothing more:
// neither the header nor the body names the values the error holds.
func TestMismatchAnswerIsGeneric(t *testing.T) {
	e := newEnv(t)
	h := routes(e.v)
	for name, tc := range map[string]struct {
		tok    string
		reason string
		values []string
	}{
		"wrong issuer": {e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "https://evil.example/oidc")}), "wrong issuer",
			[]string{"evil.example", e.p.Issuer(), e.p.Endpoint()}},
		"wrong audience": {e.token(t, logtotest.Faults{AccessTokenClaims: set("aud", "https://other.example.com")}), "wrong audience",
			[]string{"other.example.com", testResource}},
	} {
		t.Run(name, func(t *testing.T) {
			w := call(h, "/private", "Bearer "+tc.tok)
			answer := w.Header().Get("WWW-Authenticate") + "\n" + w.Body.String()
			if w.Code != http.StatusUnauthorized || !strings.Contains(answer, tc.reason) {
				t.Fatalf("%d %s, want 401 saying %q", w.Code, answer, tc.reason)
			}
			for _, v := range tc.values {
				if strings.Contains(answer, v) {
					t.Errorf("the answer names %q: %s", v, answer)
				}
			}
		})
	}
}

// A provider that calls itself by another issuer than <Endpoint>/oidc:
// the error names both, and the Endpoint that would match.
func TestDiscoveryIssuerMismatchNamesBoth(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, noFaults)
	e.p.SetFaults(logtotest.Faults{DiscoveryIssuer: "https://auth.example.org/oidc"})
	_, err := e.v.Validate(context.Background(), tok)
	if !errors.Is(err, apiauth.ErrProvider) {
		t.Fatalf("err = %v, want ErrProvider", err)
	}
	for _, w := range []string{`issuer "https://auth.example.org/oidc"`, `expected "` + e.p.Issuer() + `"`, `write Endpoint "https://auth.example.org"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it saying %s", err, w)
		}
	}
}
