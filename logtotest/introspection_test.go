package logtotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// introspect posts token to the introspection endpoint as the web app.
func introspect(t *testing.T, p *logtotest.Provider, token string) (int, map[string]any) {
	t.Helper()
	return post(t, p, "/token/introspection", url.Values{"token": {token}})
}

// The introspection endpoint (RFC 7662) is in discovery, as Logto's.
func TestIntrospectionDiscovery(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	status, doc := do(t, mustRequest(t, http.MethodGet, p.Issuer()+"/.well-known/openid-configuration"))
	if status != 200 || doc["introspection_endpoint"] != p.Issuer()+"/token/introspection" {
		t.Fatalf("discovery %d: introspection_endpoint %v", status, doc["introspection_endpoint"])
	}
	methods, _ := doc["introspection_endpoint_auth_methods_supported"].([]any)
	if len(methods) != 2 || methods[0] != "client_secret_basic" || methods[1] != "client_secret_post" {
		t.Errorf("introspection_endpoint_auth_methods_supported %v", methods)
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// An opaque access token of an API resource, as MintOpaqueAccessToken
// makes one, introspects as oidc-provider answers for it: active, with its
// subject, client, scopes, audience and times, the issuer and token_type
// Bearer. Any confidential client may ask, by either secret method.
func TestIntrospectOpaqueResourceToken(t *testing.T) {
	clk := newFakeClock()
	p := logtotest.NewTestProvider(t, logtotest.Options{
		Now:            clk.Now,
		ResourceScopes: map[string][]string{logtotest.DefaultResource: {"read:messages", "write:messages"}},
	})
	tok, err := p.MintOpaqueAccessToken("", logtotest.DefaultResource, "read:messages")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok, ".") {
		t.Fatalf("token %q looks like a JWT", tok)
	}
	want := map[string]any{
		"active":     true,
		"sub":        logtotest.DefaultUser().Subject,
		"client_id":  p.ClientID(),
		"scope":      "read:messages",
		"aud":        logtotest.DefaultResource,
		"iss":        p.Issuer(),
		"token_type": "Bearer",
		"iat":        float64(clk.Now().Unix()),
		"exp":        float64(clk.Now().Add(logtotest.DefaultAccessTokenTTL).Unix()),
	}
	check := func(name string, status int, got map[string]any) {
		t.Helper()
		if status != 200 || len(got) != len(want) {
			t.Errorf("%s: %d %v, want %v", name, status, got, want)
			return
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", name, k, got[k], v)
			}
		}
	}
	status, got := introspect(t, p, tok)
	check("web app, basic", status, got)
	status, got = postAs(t, p, "/token/introspection", p.M2MClientID(), p.M2MClientSecret(), url.Values{"token": {tok}})
	check("M2M app, basic", status, got)
	form := url.Values{"token": {tok}, "client_id": {p.ClientID()}, "client_secret": {p.ClientSecret()}, "token_type_hint": {"access_token"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer()+"/token/introspection", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, got = do(t, req)
	check("web app, post, with a hint", status, got)
	if n := p.Requests("introspection"); n != 3 {
		t.Errorf("Requests(introspection) = %d, want 3", n)
	}

	// Expired: inactive, and nothing more said.
	clk.Add(logtotest.DefaultAccessTokenTTL + time.Second)
	if status, got := introspect(t, p, tok); status != 200 || len(got) != 1 || got["active"] != false {
		t.Errorf("expired: %d %v", status, got)
	}
}

// Unknown, revoked and expired tokens are {"active": false}; refresh tokens
// are active without a token_type, and the opaque token of a sign-in has
// no aud, as oidc-provider answers; JWTs are not introspected at all
// (oidc-provider: unsupported_token_type).
func TestIntrospectOtherTokens(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	inactive := func(name, tok string) {
		t.Helper()
		if status, got := introspect(t, p, tok); status != 200 || len(got) != 1 || got["active"] != false {
			t.Errorf("%s: %d %v, want {active: false}", name, status, got)
		}
	}
	inactive("unknown", "no-such-token")
	inactive("empty-looking", "x")

	revoked, err := p.MintOpaqueAccessToken("", logtotest.DefaultResource)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := post(t, p, "/token/revocation", url.Values{"token": {revoked}}); status != 200 {
		t.Fatalf("revocation: %d", status)
	}
	inactive("revoked", revoked)

	f := newFlow(t, p, oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "profile")
	tok, _ := f.login(t, oauth2.SetAuthURLParam("resource", logtotest.DefaultResource))
	status, got := introspect(t, p, tok.AccessToken)
	if status != 200 || got["active"] != true || got["aud"] != nil || got["token_type"] != "Bearer" || got["sub"] != logtotest.DefaultUser().Subject ||
		!strings.Contains(got["scope"].(string), "openid") {
		t.Errorf("sign-in's opaque token: %d %v", status, got)
	}
	status, got = introspect(t, p, tok.RefreshToken)
	if status != 200 || got["active"] != true || got["token_type"] != nil || got["aud"] != nil || got["client_id"] != p.ClientID() {
		t.Errorf("refresh token: %d %v", status, got)
	}

	status, body := refresh(t, p, tok.RefreshToken, url.Values{"resource": {logtotest.DefaultResource}})
	jwt, _ := body["access_token"].(string)
	if status != 200 || strings.Count(jwt, ".") != 2 {
		t.Fatalf("refresh for a resource: %d %v", status, body)
	}
	status, got = introspect(t, p, jwt)
	wantError(t, status, got, http.StatusBadRequest, "unsupported_token_type")
	// The rotated refresh token is inactive now, its successor active.
	inactive("rotated refresh token", tok.RefreshToken)
}

// Only a confidential client that authenticates may introspect.
func TestIntrospectionClientAuthentication(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	tok, err := p.MintOpaqueAccessToken("", logtotest.DefaultResource)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"token": {tok}}
	status, got := postAs(t, p, "/token/introspection", p.NativeClientID(), "", form)
	wantError(t, status, got, http.StatusUnauthorized, "invalid_client")
	status, got = postAs(t, p, "/token/introspection", p.ClientID(), "wrong", form)
	wantError(t, status, got, http.StatusUnauthorized, "invalid_client")
	status, got = postAs(t, p, "/token/introspection", p.ClientID(), "", form)
	wantError(t, status, got, http.StatusUnauthorized, "invalid_client")
	status, got = postAs(t, p, "/token/introspection", "nobody", "secret", form)
	wantError(t, status, got, http.StatusUnauthorized, "invalid_client")
	status, got = post(t, p, "/token/introspection", url.Values{})
	wantError(t, status, got, http.StatusBadRequest, "invalid_request")
	status, got = do(t, mustRequest(t, http.MethodGet, p.Issuer()+"/token/introspection"))
	if status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d %v", status, got)
	}
}

// MintOpaqueAccessToken refuses what Logto would not issue.
func TestMintOpaqueAccessTokenRefused(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{ExtraUsers: []logtotest.User{logtotest.SecondUser()}})
	for name, args := range map[string][]string{
		"unknown subject":  {"nobody", logtotest.DefaultResource},
		"unknown resource": {"", "https://other.example.com"},
		"no resource":      {"", ""},
		"scope not given":  {"", logtotest.DefaultResource, "write:everything"},
		"organizations":    {"", logtotest.OrganizationsResource},
	} {
		if tok, err := p.MintOpaqueAccessToken(args[0], args[1], args[2:]...); err == nil {
			t.Errorf("%s: minted %q", name, tok)
		}
	}
	tok, err := p.MintOpaqueAccessToken(logtotest.SecondUser().Subject, logtotest.DefaultResource)
	if err != nil {
		t.Fatal(err)
	}
	// Without scopes, the resource's scopes.
	if _, got := introspect(t, p, tok); got["sub"] != logtotest.SecondUser().Subject || got["scope"] != logtotest.DefaultResourceScope {
		t.Errorf("second user's token: %v", got)
	}
}

// Faults: an outage, a slow answer, and edited answers.
func TestIntrospectionFaults(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	tok, err := p.MintOpaqueAccessToken("", logtotest.DefaultResource)
	if err != nil {
		t.Fatal(err)
	}
	p.SetFaults(logtotest.Faults{IntrospectionStatus: http.StatusServiceUnavailable})
	status, got := introspect(t, p, tok)
	wantError(t, status, got, http.StatusServiceUnavailable, "temporarily_unavailable")

	p.SetFaults(logtotest.Faults{IntrospectionClaims: func(m map[string]any) {
		m["aud"] = "https://other.example.com"
		m["acr"] = "urn:logto:acr:mfa"
	}})
	if _, got := introspect(t, p, tok); got["aud"] != "https://other.example.com" || got["acr"] != "urn:logto:acr:mfa" {
		t.Errorf("edited answer: %v", got)
	}
	if _, got := introspect(t, p, "unknown"); len(got) != 1 {
		t.Errorf("an inactive answer was edited: %v", got)
	}

	p.SetFaults(logtotest.Faults{IntrospectionDelay: 200 * time.Millisecond})
	var wg sync.WaitGroup
	start := time.Now()
	for range 5 {
		wg.Go(func() {
			if status, got := introspect(t, p, tok); status != 200 || got["active"] != true {
				t.Errorf("delayed: %d %v", status, got)
			}
		})
	}
	wg.Wait()
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("answers came after %v, want at least 200ms", d)
	}
}

// The opaque token of a token exchange without a resource introspects as
// active, for the exchanging app, with no aud.
func TestIntrospectExchangedToken(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	pat, err := p.MintPersonalAccessToken("")
	if err != nil {
		t.Fatal(err)
	}
	status, body := exchange(t, p, pat, logtotest.TokenTypePersonalAccessToken, url.Values{"scope": {"openid profile"}})
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" || strings.Contains(tok, ".") {
		t.Fatalf("exchange: %d %v", status, body)
	}
	status, got := postAs(t, p, "/token/introspection", p.M2MClientID(), p.M2MClientSecret(), url.Values{"token": {tok}})
	if status != 200 || got["active"] != true || got["client_id"] != p.ClientID() || got["sub"] != logtotest.DefaultUser().Subject ||
		got["aud"] != nil || got["scope"] != "openid profile" || got["token_type"] != "Bearer" {
		t.Errorf("exchanged token: %d %v", status, got)
	}
}
