package logtotest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

const callback = "http://localhost:9999/callback?keep=me"

// flow is a relying party done by hand with x/oauth2 and go-oidc.
type flow struct {
	p   *logtotest.Provider
	op  *oidc.Provider
	cfg oauth2.Config
}

func newFlow(t *testing.T, p *logtotest.Provider, scopes ...string) *flow {
	t.Helper()
	op, err := oidc.NewProvider(t.Context(), p.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "profile", "email"}
	}
	ep := op.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &flow{p: p, op: op, cfg: oauth2.Config{
		ClientID:     p.ClientID(),
		ClientSecret: p.ClientSecret(),
		Endpoint:     ep,
		RedirectURL:  callback,
		Scopes:       scopes,
	}}
}

// authorize runs the authorization request and returns the callback query.
func (f *flow) authorize(t *testing.T, verifier, nonce string, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	opts = append([]oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(verifier),
		oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("prompt", "consent"),
	}, opts...)
	cb, err := f.p.Authorize(t.Context(), f.cfg.AuthCodeURL("st-1", opts...))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "http://localhost:9999/callback" {
		t.Fatalf("callback went to %q", got)
	}
	return u.Query()
}

// login runs a whole code flow and returns the token answer.
func (f *flow) login(t *testing.T, opts ...oauth2.AuthCodeOption) (*oauth2.Token, string) {
	t.Helper()
	verifier, nonce := oauth2.GenerateVerifier(), "n-"+oauth2.GenerateVerifier()[:10]
	q := f.authorize(t, verifier, nonce, opts...)
	if q.Get("error") != "" {
		t.Fatalf("authorize error: %v", q)
	}
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok, nonce
}

func (f *flow) verifyID(t *testing.T, raw string) (*oidc.IDToken, error) {
	t.Helper()
	return f.op.Verifier(&oidc.Config{ClientID: f.p.ClientID()}).Verify(t.Context(), raw)
}

func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token answer")
	}
	return raw
}

// post sends a form to an endpoint with HTTP Basic client authentication.
func post(t *testing.T, p *logtotest.Provider, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.ClientID()), url.QueryEscape(p.ClientSecret()))
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

func refresh(t *testing.T, p *logtotest.Provider, rt string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	return post(t, p, "/token", form)
}

func wantError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Fatalf("got %d %v, want %d %s", status, body, wantStatus, wantCode)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("error %s without error_description", wantCode)
	}
}

func decodeJWT(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func retrieveErrorCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want *oauth2.RetrieveError, got %v", err)
	}
	return re.ErrorCode
}

func TestDiscovery(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	if !strings.HasPrefix(p.Endpoint(), "http://127.0.0.1:") || p.Issuer() != p.Endpoint()+"/oidc" {
		t.Fatalf("endpoint %q issuer %q", p.Endpoint(), p.Issuer())
	}
	req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/.well-known/openid-configuration", nil)
	status, d := do(t, req)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	iss := p.Issuer()
	for k, want := range map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/auth",
		"token_endpoint":         iss + "/token",
		"userinfo_endpoint":      iss + "/me",
		"jwks_uri":               iss + "/jwks",
		"end_session_endpoint":   iss + "/session/end",
		"revocation_endpoint":    iss + "/token/revocation",
		"authorization_response_iss_parameter_supported": true,
	} {
		if d[k] != want {
			t.Errorf("%s = %v, want %v", k, d[k], want)
		}
	}
	for k, want := range map[string]string{
		"response_types_supported":              "code",
		"code_challenge_methods_supported":      "S256",
		"id_token_signing_alg_values_supported": "ES384",
		"subject_types_supported":               "public",
		"grant_types_supported":                 "refresh_token",
		"scopes_supported":                      "urn:logto:scope:organizations",
		"claims_supported":                      "email_verified",
		"acr_values_supported":                  logtotest.ACRMFA,
		"token_endpoint_auth_methods_supported": "client_secret_basic",
	} {
		list, _ := d[k].([]any)
		if !slices.Contains(list, any(want)) {
			t.Errorf("%s = %v, want it to contain %q", k, d[k], want)
		}
	}

	// JWKS: the P-384 key, then a raw extra key verbatim.
	p.AddRawJWK(json.RawMessage(`{"kty":"foo","kid":"x"}`))
	resp, err := http.Get(p.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("jwks content type %q", ct)
	}
	var set struct{ Keys []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != p.SigningKeyID() || set.Keys[0]["crv"] != "P-384" ||
		set.Keys[0]["alg"] != "ES384" || set.Keys[0]["use"] != "sig" || set.Keys[1]["kty"] != "foo" {
		t.Errorf("jwks = %v", set.Keys)
	}

	// Unknown paths.
	req, _ = http.NewRequest(http.MethodGet, p.Endpoint()+"/oidc/nope", nil)
	if status, body := do(t, req); status != 404 || body["error"] == nil {
		t.Errorf("unknown path: %d %v", status, body)
	}
}

func TestCodeFlow(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p, "openid", "offline_access", "profile", "email", "custom_data")
	tok, nonce := f.login(t, oauth2.SetAuthURLParam("first_screen", "register"))

	if got := p.LastAuthorizeRequest(); got.Get("first_screen") != "register" || got.Get("code_challenge_method") != "S256" {
		t.Errorf("last authorize request %v", got)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	if strings.Count(tok.AccessToken, ".") == 2 {
		t.Errorf("code exchange gave a JWT access token; want opaque")
	}
	id, err := f.verifyID(t, idToken(t, tok))
	if err != nil {
		t.Fatalf("verify id token: %v", err)
	}
	if id.Nonce != nonce || id.Subject != "dev-user-1" || id.Issuer != p.Issuer() {
		t.Errorf("id token nonce %q sub %q iss %q", id.Nonce, id.Subject, id.Issuer)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var c struct {
		Name, Username, Email string
		EmailVerified         bool           `json:"email_verified"`
		Picture               *string        `json:"picture"`
		AuthTime              int64          `json:"auth_time"`
		CustomData            map[string]any `json:"custom_data"`
	}
	if err := id.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "Dev User" || c.Username != "dev" || c.Email != "dev@example.com" || !c.EmailVerified ||
		c.Picture != nil || c.AuthTime == 0 || c.CustomData != nil {
		t.Errorf("id token claims %+v", c)
	}
	hdr, _ := decodeJWT(t, idToken(t, tok))
	if hdr["alg"] != "ES384" || hdr["typ"] != "JWT" || hdr["kid"] != p.SigningKeyID() {
		t.Errorf("id token header %v", hdr)
	}

	// Userinfo with the opaque token, custom_data included.
	p.SetUser(logtotest.User{Subject: "dev-user-1", Name: "Changed", CustomData: map[string]any{"plan": "pro"}})
	ui, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uc map[string]any
	if err := ui.Claims(&uc); err != nil {
		t.Fatal(err)
	}
	if ui.Subject != "dev-user-1" || uc["name"] != "Changed" || fmt.Sprint(uc["custom_data"]) != "map[plan:pro]" {
		t.Errorf("userinfo %v", uc)
	}
}

func TestCallbackParams(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{RedirectURIs: []string{callback}})
	f := newFlow(t, p)
	q := f.authorize(t, oauth2.GenerateVerifier(), "n")
	if q.Get("code") == "" || q.Get("state") != "st-1" || q.Get("iss") != p.Issuer() || q.Get("keep") != "me" {
		t.Errorf("callback query %v", q)
	}

	// No refresh token without prompt=consent.
	verifier := oauth2.GenerateVerifier()
	q = f.authorize(t, verifier, "n", oauth2.SetAuthURLParam("prompt", "login"))
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Error("refresh token issued without prompt=consent")
	}

	// Unregistered redirect URI: error page, no redirect.
	f.cfg.RedirectURL = "http://localhost:9999/other"
	if _, err := p.Authorize(t.Context(), f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))); err == nil ||
		!strings.Contains(err.Error(), "redirect_uri") {
		t.Errorf("unregistered redirect: %v", err)
	}
	// Unknown client: error page.
	f.cfg.RedirectURL, f.cfg.ClientID = callback, "someone-else"
	if _, err := p.Authorize(t.Context(), f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))); err == nil {
		t.Error("unknown client accepted")
	}
	// No PKCE: redirected error.
	f.cfg.ClientID = p.ClientID()
	cb, err := p.Authorize(t.Context(), f.cfg.AuthCodeURL("s"))
	if err != nil || !strings.Contains(cb, "error=invalid_request") || !strings.Contains(cb, "state=s") {
		t.Errorf("no PKCE: %q %v", cb, err)
	}
	// Unknown resource at authorization: invalid_target.
	cb, _ = p.Authorize(t.Context(), f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", "https://unknown.example.com")))
	if !strings.Contains(cb, "error=invalid_target") {
		t.Errorf("unknown resource: %q", cb)
	}
	// Injected authorization error.
	p.SetFaults(logtotest.Faults{AuthorizeError: "access_denied", AuthorizeErrorDescription: "nope"})
	q = f.authorize(t, verifier, "n")
	if q.Get("error") != "access_denied" || q.Get("error_description") != "nope" || q.Get("state") != "st-1" || q.Get("iss") != p.Issuer() {
		t.Errorf("injected error callback %v", q)
	}
}

func TestPKCEMismatchAndCodeReuse(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)

	q := f.authorize(t, oauth2.GenerateVerifier(), "n")
	_, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if code := retrieveErrorCode(t, err); code != "invalid_grant" {
		t.Errorf("PKCE mismatch: %s", code)
	}

	verifier := oauth2.GenerateVerifier()
	q = f.authorize(t, verifier, "n")
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if code := retrieveErrorCode(t, err); code != "invalid_grant" {
		t.Errorf("code reuse: %s", code)
	}
	// The replay revoked what the code gave.
	if _, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("access token survived code replay")
	}
	if status, body := refresh(t, p, tok.RefreshToken, nil); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh token survived code replay: %d %v", status, body)
	}
}

func TestCounters(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	tok, _ := f.login(t)
	refresh(t, p, tok.RefreshToken, nil)
	refresh(t, p, tok.RefreshToken, nil) // reuse: fails, still counted
	_, _ = f.verifyID(t, idToken(t, tok))
	for name, want := range map[string]int{"discovery": 1, "authorize": 1, "token": 3, "jwks": 1, "userinfo": 0} {
		if got := p.Requests(name); got != want {
			t.Errorf("Requests(%q) = %d, want %d", name, got, want)
		}
	}
	if p.Grants("authorization_code") != 1 || p.Grants("refresh_token") != 2 {
		t.Errorf("grants %d %d", p.Grants("authorization_code"), p.Grants("refresh_token"))
	}
	p.ResetCounters()
	if p.Requests("token") != 0 || p.Grants("refresh_token") != 0 {
		t.Error("ResetCounters left counts")
	}
}

func TestBadAuthorizeInput(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	base := url.Values{
		"client_id": {p.ClientID()}, "redirect_uri": {"http://localhost:1/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"},
	}
	cases := map[string]struct {
		edit    func(url.Values)
		wantErr string // "" = error page expected
	}{
		"ok":               {func(url.Values) {}, "none"},
		"no client":        {func(q url.Values) { q.Del("client_id") }, ""},
		"relative":         {func(q url.Values) { q.Set("redirect_uri", "/cb") }, ""},
		"javascript":       {func(q url.Values) { q.Set("redirect_uri", "javascript:alert(1)") }, ""},
		"twice":            {func(q url.Values) { q.Add("scope", "x") }, "invalid_request"},
		"token":            {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		"no openid":        {func(q url.Values) { q.Set("scope", "profile") }, "invalid_request"},
		"plain":            {func(q url.Values) { q.Set("code_challenge_method", "plain") }, "invalid_request"},
		"short challenge":  {func(q url.Values) { q.Set("code_challenge", "abc") }, "invalid_request"},
		"bad prompt":       {func(q url.Values) { q.Set("prompt", "none consent") }, "invalid_request"},
		"resource not URI": {func(q url.Values) { q.Set("resource", "api") }, "invalid_target"},
		"fragment":         {func(q url.Values) { q.Set("response_mode", "fragment") }, "invalid_request"},
	}
	for name, tc := range cases {
		q := cloneQuery(base)
		tc.edit(q)
		cb, err := p.Authorize(t.Context(), p.Issuer()+"/auth?"+q.Encode())
		switch {
		case tc.wantErr == "":
			if err == nil {
				t.Errorf("%s: want an error page, got %q", name, cb)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		default:
			u, _ := url.Parse(cb)
			got := u.Query().Get("error")
			if tc.wantErr == "none" {
				tc.wantErr = ""
			}
			if got != tc.wantErr {
				t.Errorf("%s: error %q, want %q (%s)", name, got, tc.wantErr, cb)
			}
		}
	}
}

func TestConcurrentFlows(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			verifier := oauth2.GenerateVerifier()
			cb, err := p.Authorize(t.Context(), f.cfg.AuthCodeURL(fmt.Sprint(i), oauth2.S256ChallengeOption(verifier),
				oauth2.SetAuthURLParam("prompt", "consent")))
			if err != nil {
				t.Error(err)
				return
			}
			u, _ := url.Parse(cb)
			tok, err := f.cfg.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				p.RotateKeys()
			}
			if _, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
				t.Error(err)
			}
			p.SetFaults(logtotest.Faults{})
			_ = p.Requests("token")
		})
	}
	wg.Wait()
	if got := p.Grants("authorization_code"); got != 8 {
		t.Errorf("code grants = %d", got)
	}
}

func TestNewAsHandler(t *testing.T) {
	p, err := logtotest.New(logtotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p.SetBaseURL("https://id.example.com/")
	if p.Issuer() != "https://id.example.com/oidc" {
		t.Errorf("issuer %q", p.Issuer())
	}
	if _, err := logtotest.Start(logtotest.Options{SigningAlg: "HS256"}); err == nil {
		t.Error("Start accepted HS256")
	}
	if _, err := logtotest.New(logtotest.Options{TokenEndpointAuthMethods: []string{"private_key_jwt"}}); err == nil {
		t.Error("New accepted an unsupported auth method")
	}
	p2 := logtotest.NewTestProvider(t, logtotest.Options{Addr: "localhost:0"})
	if !strings.HasPrefix(p2.Endpoint(), "http://localhost:") || strings.HasSuffix(p2.Endpoint(), ":0") {
		t.Errorf("endpoint %q", p2.Endpoint())
	}

	// Mounted in another server, before SetBaseURL, the issuer follows the
	// request's host.
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/oidc/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&d)
	if d["issuer"] != "https://id.example.com/oidc" {
		t.Errorf("issuer %v", d["issuer"])
	}
	p3, err := logtotest.New(logtotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv3 := httptest.NewServer(p3)
	defer srv3.Close()
	if _, err := oidc.NewProvider(t.Context(), srv3.URL+"/oidc"); err != nil {
		t.Errorf("derived issuer: %v", err)
	}
}
