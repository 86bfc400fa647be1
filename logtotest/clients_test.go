package logtotest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// postAs sends a form to an endpoint as a client: with HTTP Basic when
// secret is not "", else with client_id in the body (a public client).
func postAs(t *testing.T, p *logtotest.Provider, path, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	form = cloneQuery(form)
	if secret == "" {
		form.Set("client_id", id)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return do(t, req)
}

// nativeFlow is a relying party for the native application, redirecting
// to a loopback callback.
func nativeFlow(t *testing.T, p *logtotest.Provider, redirect string) *flow {
	t.Helper()
	f := newFlow(t, p)
	f.cfg.ClientID, f.cfg.ClientSecret = p.NativeClientID(), ""
	f.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	f.cfg.RedirectURL = redirect
	return f
}

// authorizeNative runs an authorization request of the native application
// and returns the callback query, or the provider's refusal.
func authorizeNative(t *testing.T, f *flow, verifier string, opts ...oauth2.AuthCodeOption) (url.Values, error) {
	t.Helper()
	if verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
	cb, err := f.p.Authorize(t.Context(), f.cfg.AuthCodeURL("st-n", opts...))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.cfg.RedirectURL {
		t.Fatalf("callback went to %q, want %q", got, f.cfg.RedirectURL)
	}
	return u.Query(), nil
}

func TestNativeClientLoopbackRedirects(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	for _, ok := range []string{
		"http://127.0.0.1:1/callback",
		"http://127.0.0.1:54321/callback",
		"http://127.0.0.1/callback",
		"http://[::1]:8080/callback",
		"http://[::1]:65535/callback",
	} {
		q, err := authorizeNative(t, nativeFlow(t, p, ok), oauth2.GenerateVerifier())
		if err != nil || q.Get("code") == "" {
			t.Errorf("%s: %v %v", ok, q, err)
		}
	}
	for _, bad := range []string{
		"http://localhost:8080/callback",
		"http://127.0.0.1:8080/other",
		"http://127.0.0.1:8080/callback/",
		"https://127.0.0.1:8080/callback",
		"http://127.0.0.1:8080/callback?x=1",
		"http://127.0.0.2:8080/callback",
		"http://127.0.0.1:99999/callback",
		"http://127.0.0.1:0/callback",
		"http://127.0.0.1:/callback",
		"http://user@127.0.0.1:8080/callback",
		"http://[::2]:8080/callback",
		"http://evil.example:8080/callback",
		"myapp://callback",
	} {
		_, err := authorizeNative(t, nativeFlow(t, p, bad), oauth2.GenerateVerifier())
		if err == nil || !strings.Contains(err.Error(), "invalid_redirect_uri") {
			t.Errorf("%s: want a non-redirecting invalid_redirect_uri, got %v", bad, err)
		}
	}
	// The web application's redirect URIs are not the native one's, nor
	// the other way around.
	p2 := logtotest.NewTestProvider(t, logtotest.Options{RedirectURIs: []string{callback}})
	if _, err := authorizeNative(t, nativeFlow(t, p2, callback), oauth2.GenerateVerifier()); err == nil {
		t.Error("the native application used the web application's redirect URI")
	}
	f := newFlow(t, p2)
	f.cfg.RedirectURL = "http://127.0.0.1:8080/callback"
	if _, err := p2.Authorize(t.Context(), f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); err == nil {
		t.Error("the web application used a loopback redirect URI it did not register")
	}
	// The M2M application has no redirect URI at all.
	f = newFlow(t, p)
	f.cfg.ClientID = p.M2MClientID()
	_, err := p.Authorize(t.Context(), f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err == nil || !strings.Contains(err.Error(), "invalid_redirect_uri") {
		t.Errorf("M2M application at the authorization endpoint: %v", err)
	}
}

func TestNativeClientPublicPKCEAndRotation(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := nativeFlow(t, p, "http://127.0.0.1:49152/callback")

	// PKCE is required.
	q, err := authorizeNative(t, f, "")
	if err != nil || q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "PKCE") {
		t.Errorf("without PKCE: %v %v", q, err)
	}
	verifier := oauth2.GenerateVerifier()
	q, err = authorizeNative(t, f, verifier)
	if err != nil || q.Get("code") == "" {
		t.Fatalf("authorize: %v %v", q, err)
	}
	status, body := postAs(t, p, "/token", p.NativeClientID(), "", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {f.cfg.RedirectURL},
	})
	wantError(t, status, body, 400, "invalid_grant") // no code_verifier
	q, _ = authorizeNative(t, f, verifier)
	// A secret is refused, even an empty one in HTTP Basic.
	for _, secret := range []string{"dev-secret", ""} {
		req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token", strings.NewReader(url.Values{
			"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {f.cfg.RedirectURL},
			"code_verifier": {verifier},
		}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(p.NativeClientID(), secret)
		status, body := do(t, req)
		wantError(t, status, body, 401, "invalid_client")
	}

	// No secret needed: client_id alone.
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	id, err := f.op.Verifier(&oidc.Config{ClientID: p.NativeClientID()}).Verify(t.Context(), idToken(t, tok))
	if err != nil || id.Subject != "dev-user-1" || tok.RefreshToken == "" {
		t.Fatalf("id token %v, err %v, refresh token %q", id, err, tok.RefreshToken)
	}

	// Each refresh rotates; the old token then revokes the grant.
	rt := tok.RefreshToken
	seen := []string{rt}
	for range 3 {
		status, body := postAs(t, p, "/token", p.NativeClientID(), "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != 200 {
			t.Fatalf("refresh: %d %v", status, body)
		}
		rt, _ = body["refresh_token"].(string)
		if rt == "" || slices.Contains(seen, rt) {
			t.Fatalf("refresh token not rotated: %v", body)
		}
		seen = append(seen, rt)
	}
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {seen[1]}})
	wantError(t, status, body, 400, "invalid_grant")
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	wantError(t, status, body, 400, "invalid_grant")

	// The native application cannot refresh the web application's tokens,
	// nor use client credentials.
	webTok, _ := newFlow(t, p).login(t)
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {webTok.RefreshToken}})
	wantError(t, status, body, 400, "invalid_grant")
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{"grant_type": {"client_credentials"}, "resource": {logtotest.DefaultResource}})
	wantError(t, status, body, 400, "unauthorized_client")
	// It may revoke its own refresh tokens without a secret.
	if status, body := postAs(t, p, "/token/revocation", p.NativeClientID(), "", url.Values{"token": {rt}}); status != 200 {
		t.Errorf("revocation: %d %v", status, body)
	}
}

func TestClientOptionsValidated(t *testing.T) {
	for name, opts := range map[string]logtotest.Options{
		"same IDs":             {M2MClientID: logtotest.DefaultClientID},
		"native like M2M":      {NativeClientID: "x", M2MClientID: "x"},
		"unknown M2M resource": {M2MResourceScopes: map[string][]string{"https://nope.example": {"a"}}},
		"unknown exchanger":    {TokenExchangeClients: []string{"someone"}},
	} {
		if _, err := logtotest.New(opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
	p, err := logtotest.New(logtotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.M2MClientID() != "dev-m2m" || p.M2MClientSecret() != "dev-m2m-secret" || p.NativeClientID() != "dev-native" {
		t.Errorf("defaults: %q %q %q", p.M2MClientID(), p.M2MClientSecret(), p.NativeClientID())
	}
}

func TestDiscoveryBeyondTheBrowser(t *testing.T) {
	for _, tc := range []struct {
		methods, want []string
	}{
		{nil, []string{"client_secret_basic", "client_secret_post", "none"}},
		{[]string{"client_secret_post"}, []string{"client_secret_post", "none"}},
		{[]string{"none", "client_secret_basic"}, []string{"none", "client_secret_basic"}},
	} {
		p := logtotest.NewTestProvider(t, logtotest.Options{TokenEndpointAuthMethods: tc.methods})
		req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/.well-known/openid-configuration", nil)
		status, d := do(t, req)
		if status != 200 {
			t.Fatalf("discovery: %d", status)
		}
		strs := func(k string) []string {
			var out []string
			for _, v := range d[k].([]any) {
				out = append(out, v.(string))
			}
			return out
		}
		for _, k := range []string{"token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
			if got := strs(k); !slices.Equal(got, tc.want) {
				t.Errorf("%v: %s = %v, want %v", tc.methods, k, got, tc.want)
			}
		}
		wantGrants := []string{"authorization_code", "refresh_token", "client_credentials",
			"urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:device_code"}
		if got := strs("grant_types_supported"); !slices.Equal(got, wantGrants) {
			t.Errorf("grant_types_supported = %v", got)
		}
		if d["device_authorization_endpoint"] != p.Issuer()+"/device/auth" {
			t.Errorf("device_authorization_endpoint = %v", d["device_authorization_endpoint"])
		}
	}
}

// SetClientSecret rotates a confidential application's secret: the old one
// stops working at once, the new one works, for every endpoint that
// authenticates the client.
func TestSetClientSecret(t *testing.T) {
	p := logtotest.NewTestProvider(t, m2mOptions())
	old := p.M2MClientSecret()
	if err := p.SetClientSecret(p.M2MClientID(), "rotated"); err != nil {
		t.Fatal(err)
	}
	if p.M2MClientSecret() != "rotated" || p.ClientSecret() != logtotest.DefaultClientSecret {
		t.Fatalf("secrets now %q and %q", p.M2MClientSecret(), p.ClientSecret())
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {api}}
	if status, body := postAs(t, p, "/token", p.M2MClientID(), old, form); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("old secret: %d %v", status, body)
	}
	if status, body := postAs(t, p, "/token", p.M2MClientID(), "rotated", form); status != 200 {
		t.Errorf("new secret: %d %v", status, body)
	}
	if status, body := postAs(t, p, "/token/revocation", p.ClientID(), logtotest.DefaultClientSecret, url.Values{"token": {"x"}}); status != 200 {
		t.Errorf("the web application's secret is unchanged: %d %v", status, body)
	}
	for id, secret := range map[string]string{p.NativeClientID(): "s", "nobody": "s", p.ClientID(): ""} {
		if err := p.SetClientSecret(id, secret); err == nil {
			t.Errorf("SetClientSecret(%q, %q) accepted", id, secret)
		}
	}
}
