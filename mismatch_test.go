package logto_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// A token of another tenant or app is the classic setup mistake: the error
// names what came and what was expected, for the ID token of a sign-in and
// for a logout token.
func TestTokenMismatchNamesBothValues(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	claim := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	for _, tc := range []struct {
		name   string
		faults logtotest.Faults
		want   []string
	}{
		{"wrong issuer", logtotest.Faults{IDTokenClaims: claim("iss", "https://evil.example/oidc")},
			[]string{"ID token: wrong issuer", `iss "https://evil.example/oidc"`, `expected "` + e.p.Issuer() + `"`}},
		{"wrong audience", logtotest.Faults{IDTokenClaims: claim("aud", "someone-else")},
			[]string{"ID token: wrong audience", `"someone-else"`, `"` + e.p.ClientID() + `" (AppID)`}},
	} {
		t.Run("callback "+tc.name, func(t *testing.T) {
			c := e.app.Client(logto.NewMemoryStorage())
			cb := e.startSignIn(t, c, logto.SignInOptions{})
			e.p.SetFaults(tc.faults)
			defer e.p.SetFaults(logtotest.Faults{})
			_, err := c.HandleSignInCallbackURL(ctx, cb)
			if !errors.Is(err, logto.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it saying %s", err, w)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		opts logtotest.LogoutTokenOptions
		want []string
	}{
		{"wrong issuer", logtotest.LogoutTokenOptions{Issuer: "https://evil.example/oidc"},
			[]string{"logout token: wrong issuer", `iss "https://evil.example/oidc"`, `expected "` + e.p.Issuer() + `"`}},
		{"wrong audience", logtotest.LogoutTokenOptions{Audience: "another-app"},
			[]string{"logout token: wrong audience", `"another-app"`, `"` + e.p.ClientID() + `" (AppID)`}},
	} {
		t.Run("logout token "+tc.name, func(t *testing.T) {
			_, err := e.app.VerifyLogoutToken(ctx, mustLogoutToken(t, e.p, tc.opts))
			if !errors.Is(err, logto.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it saying %s", err, w)
				}
			}
		})
	}
}

// A provider that calls itself by another issuer than <Endpoint>/oidc is
// refused at discovery with both named, and the Endpoint that would match.
func TestDiscoveryIssuerMismatchNamesBoth(t *testing.T) {
	e := newEnv(t, nil)
	e.p.SetFaults(logtotest.Faults{DiscoveryIssuer: "https://auth.example.org/oidc"})
	_, err := e.app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
	if !errors.Is(err, logto.ErrDiscovery) {
		t.Fatalf("err = %v, want ErrDiscovery", err)
	}
	for _, w := range []string{`issuer "https://auth.example.org/oidc"`, `expected "` + e.p.Issuer() + `"`, `write Endpoint "https://auth.example.org"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it saying %s", err, w)
		}
	}
}

// The browser is told that the token could not be verified, never the
// issuers or audiences the error names: those are for the log.
func TestWebMismatchPageIsGeneric(t *testing.T) {
	for name, faults := range map[string]logtotest.Faults{
		"wrong issuer":   {IDTokenClaims: func(c map[string]any) { c["iss"] = "https://evil.example/oidc" }},
		"wrong audience": {IDTokenClaims: func(c map[string]any) { c["aud"] = "someone-else" }},
	} {
		t.Run(name, func(t *testing.T) {
			a := newWebApp(t, nil)
			b := a.browser(t)
			resp, _ := b.get("/sign-in")
			cb := b.authorize(resp)
			a.p.SetFaults(faults)
			resp, body := b.get(cb)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "<h1>invalid_token</h1>") {
				t.Errorf("status %d, page %s; want 502 invalid_token", resp.StatusCode, body)
			}
			provider, _ := url.Parse(a.p.Issuer())
			for _, leak := range []string{"evil.example", "someone-else", a.p.ClientID(), provider.Host, "/oidc", "wrong", "expected"} {
				if strings.Contains(body, leak) {
					t.Errorf("the page holds %q: %s", leak, body)
				}
			}
			logs := a.logs.String()
			if !strings.Contains(logs, "wrong issuer") && !strings.Contains(logs, "wrong audience") {
				t.Errorf("the log lacks the mismatch: %s", logs)
			}
		})
	}
}
