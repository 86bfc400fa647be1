package logtotest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

func TestRefreshRotationAndReuse(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	tok, _ := f.login(t)

	status, body := refresh(t, p, tok.RefreshToken, nil)
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	rt2, _ := body["refresh_token"].(string)
	if rt2 == "" || rt2 == tok.RefreshToken || body["id_token"] == nil || body["token_type"] != "Bearer" {
		t.Fatalf("refresh answer %v", body)
	}
	id, err := f.verifyID(t, body["id_token"].(string))
	if err != nil || id.Nonce != "" {
		t.Fatalf("refreshed id token: %v, nonce %q", err, id.Nonce)
	}
	at2 := &oauth2.Token{AccessToken: body["access_token"].(string)}
	if _, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(at2)); err != nil {
		t.Fatalf("userinfo with refreshed token: %v", err)
	}

	// Reusing the rotated token revokes the whole grant.
	status, body = refresh(t, p, tok.RefreshToken, nil)
	wantError(t, status, body, 400, "invalid_grant")
	status, body = refresh(t, p, rt2, nil)
	wantError(t, status, body, 400, "invalid_grant")
	if _, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(at2)); err == nil {
		t.Error("access token survived grant revocation")
	}
	status, body = refresh(t, p, "unknown", nil)
	wantError(t, status, body, 400, "invalid_grant")
}

func TestRefreshExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := logtotest.NewTestProvider(t, logtotest.Options{Now: clock, RefreshTokenTTL: time.Hour})
	f := newFlow(t, p)
	tok, _ := f.login(t)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	status, body := refresh(t, p, tok.RefreshToken, nil)
	wantError(t, status, body, 400, "invalid_grant")
}

func TestResourceToken(t *testing.T) {
	const api = "https://api.example.com"
	p := logtotest.NewTestProvider(t, logtotest.Options{
		Resources:      []string{api, "https://other.example.com"},
		ResourceScopes: map[string][]string{api: {"read:messages", "write:messages"}},
	})
	f := newFlow(t, p, "openid", "offline_access", "read:messages")
	tok, _ := f.login(t, oauth2.SetAuthURLParam("resource", api))
	if tok.Extra("scope") != "openid offline_access" {
		t.Errorf("opaque token scope %q", tok.Extra("scope"))
	}

	status, body := refresh(t, p, tok.RefreshToken, url.Values{"resource": {api}})
	if status != 200 {
		t.Fatalf("resource token: %d %v", status, body)
	}
	raw := body["access_token"].(string)
	hdr, claims := decodeJWT(t, raw)
	if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES384" || hdr["kid"] != p.SigningKeyID() {
		t.Errorf("header %v", hdr)
	}
	for k, want := range map[string]any{
		"iss": p.Issuer(), "sub": "dev-user-1", "aud": api, "client_id": p.ClientID(), "scope": "read:messages",
	} {
		if claims[k] != want {
			t.Errorf("%s = %v, want %v", k, claims[k], want)
		}
	}
	if claims["jti"] == nil || claims["exp"] == nil || claims["iat"] == nil || body["scope"] != "read:messages" {
		t.Errorf("claims %v, answer %v", claims, body)
	}
	// The signature checks out with the published keys.
	v := f.op.Verifier(&oidc.Config{SkipClientIDCheck: true})
	if at, err := v.Verify(t.Context(), raw); err != nil || !slices.Equal(at.Audience, []string{api}) {
		t.Errorf("verify access token: %v", err)
	}

	// A known resource not in the authorization request, and an unknown one.
	rt := body["refresh_token"].(string)
	status, body = refresh(t, p, rt, url.Values{"resource": {"https://other.example.com"}})
	wantError(t, status, body, 400, "invalid_target")
	status, body = refresh(t, p, rt, url.Values{"resource": {"https://unknown.example.com"}})
	wantError(t, status, body, 400, "invalid_target")
	// Rejected requests did not rotate: the token still works.
	if status, body = refresh(t, p, rt, nil); status != 200 {
		t.Errorf("refresh after invalid_target: %d %v", status, body)
	}

	// No resource in the code exchange.
	verifier := oauth2.GenerateVerifier()
	q := f.authorize(t, verifier, "n", oauth2.SetAuthURLParam("resource", api))
	_, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", api))
	if code := retrieveErrorCode(t, err); code != "invalid_target" {
		t.Errorf("resource in code exchange: %s", code)
	}
}

func TestOrganizationToken(t *testing.T) {
	const api = "https://api.example.com"
	u := logtotest.DefaultUser()
	u.Organizations = []string{"org1"}
	u.OrganizationRoles = []string{"org1:admin"}
	p := logtotest.NewTestProvider(t, logtotest.Options{User: &u})
	f := newFlow(t, p, "openid", "offline_access", "urn:logto:scope:organizations", "urn:logto:scope:organization_roles")
	tok, _ := f.login(t,
		oauth2.SetAuthURLParam("resource", logtotest.OrganizationsResource),
	)
	id, err := f.verifyID(t, idToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Orgs  []string `json:"organizations"`
		Roles []string `json:"organization_roles"`
	}
	_ = id.Claims(&c)
	if !slices.Equal(c.Orgs, []string{"org1"}) || !slices.Equal(c.Roles, []string{"org1:admin"}) {
		t.Errorf("organization claims %+v", c)
	}

	status, body := refresh(t, p, tok.RefreshToken, url.Values{"organization_id": {"org1"}})
	if status != 200 {
		t.Fatalf("organization token: %d %v", status, body)
	}
	_, claims := decodeJWT(t, body["access_token"].(string))
	if claims["aud"] != "urn:logto:organization:org1" || claims["organization_id"] != "org1" || claims["scope"] != "read:members" {
		t.Errorf("organization token claims %v", claims)
	}
	rt := body["refresh_token"].(string)

	status, body = refresh(t, p, rt, url.Values{"organization_id": {"org2"}})
	wantError(t, status, body, 403, "access_denied")

	// Membership is re-read on every refresh.
	u.Organizations = []string{"org1", "org2"}
	p.SetUser(u)
	if status, body = refresh(t, p, rt, url.Values{"organization_id": {"org2"}}); status != 200 {
		t.Fatalf("after joining org2: %d %v", status, body)
	}
	rt = body["refresh_token"].(string)

	// An organization token for an API resource needs the resource in the
	// authorization request.
	status, body = refresh(t, p, rt, url.Values{"organization_id": {"org1"}, "resource": {api}})
	wantError(t, status, body, 400, "invalid_target")

	// Without the organizations scope.
	f2 := newFlow(t, p)
	tok2, _ := f2.login(t, oauth2.SetAuthURLParam("resource", api))
	status, body = refresh(t, p, tok2.RefreshToken, url.Values{"organization_id": {"org1"}})
	wantError(t, status, body, 403, "insufficient_scope")
}

func TestOrganizationResourceToken(t *testing.T) {
	const api = "https://api.example.com"
	u := logtotest.DefaultUser()
	u.Organizations = []string{"org1"}
	p := logtotest.NewTestProvider(t, logtotest.Options{User: &u})
	f := newFlow(t, p, "openid", "offline_access", "urn:logto:scope:organizations")
	tok, _ := f.login(t, oauth2.SetAuthURLParam("resource", api))
	status, body := refresh(t, p, tok.RefreshToken, url.Values{"organization_id": {"org1"}, "resource": {api}})
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	_, claims := decodeJWT(t, body["access_token"].(string))
	if claims["aud"] != api || claims["organization_id"] != "org1" || claims["scope"] != "read:messages" {
		t.Errorf("claims %v", claims)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{ClientSecret: "s3:cr+t/%é"})
	f := newFlow(t, p)
	// A secret that needs form-encoding in HTTP Basic, via x/oauth2.
	f.login(t)

	send := func(form url.Values, user, pass string, basic bool) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(user, pass)
		}
		return do(t, req)
	}
	enc := url.QueryEscape
	status, body := send(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, enc(p.ClientID()), "wrong", true)
	wantError(t, status, body, 401, "invalid_client")
	status, body = send(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "", "", false)
	wantError(t, status, body, 401, "invalid_client")
	status, body = send(url.Values{"grant_type": {"password"}}, enc(p.ClientID()), enc(p.ClientSecret()), true)
	wantError(t, status, body, 400, "unsupported_grant_type")
	status, body = send(url.Values{"grant_type": {"authorization_code"}}, enc(p.ClientID()), enc(p.ClientSecret()), true)
	wantError(t, status, body, 400, "invalid_request")
	// client_secret_post.
	status, body = send(url.Values{
		"grant_type": {"authorization_code"}, "code": {"nope"},
		"client_id": {p.ClientID()}, "client_secret": {p.ClientSecret()},
	}, "", "", false)
	wantError(t, status, body, 400, "invalid_grant")

	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token", strings.NewReader(`{"grant_type":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	status, body = do(t, req)
	wantError(t, status, body, 400, "invalid_request")
	req, _ = http.NewRequest(http.MethodGet, p.Issuer()+"/token", nil)
	if status, _ := do(t, req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /token: %d", status)
	}

	// Only client_secret_post accepted: Basic is refused.
	p2 := logtotest.NewTestProvider(t, logtotest.Options{TokenEndpointAuthMethods: []string{"client_secret_post"}})
	status, body = post(t, p2, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	wantError(t, status, body, 401, "invalid_client")
}

func TestPublicClient(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{TokenEndpointAuthMethods: []string{"none"}})
	f := newFlow(t, p)
	f.cfg.ClientSecret = ""
	f.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok, _ := f.login(t)
	if _, err := f.verifyID(t, idToken(t, tok)); err != nil {
		t.Fatal(err)
	}
	// A secret is refused when the client is public only.
	status, body := post(t, p, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantError(t, status, body, 401, "invalid_client")
}
