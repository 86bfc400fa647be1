package logtotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// authorizationForm is a valid authorization request of the web
// application, to push or to send as is.
func authorizationForm(p *logtotest.Provider, verifier, state string) url.Values {
	return url.Values{
		"client_id":             {p.ClientID()},
		"redirect_uri":          {callback},
		"response_type":         {"code"},
		"scope":                 {"openid offline_access profile"},
		"prompt":                {"consent"},
		"state":                 {state},
		"nonce":                 {"n-" + state},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
		"resource":              {logtotest.DefaultResource},
	}
}

// push sends form to the PAR endpoint as the web application, with HTTP
// Basic, and returns the request_uri it answers, failing the test on
// anything but a 201 with a request_uri and expires_in 60.
func push(t *testing.T, p *logtotest.Provider, form url.Values) string {
	t.Helper()
	status, body := postAs(t, p, "/request", p.ClientID(), p.ClientSecret(), form)
	uri, _ := body["request_uri"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || body["expires_in"] != float64(60) {
		t.Fatalf("push: %d %v", status, body)
	}
	return uri
}

// byReference is the authorization URL that names a pushed request.
func byReference(p *logtotest.Provider, clientID, requestURI string, extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "request_uri": {requestURI}}
	for k, v := range extra {
		q[k] = v
	}
	return p.Issuer() + "/auth?" + q.Encode()
}

func TestPushedAuthorizationRequest(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	verifier := oauth2.GenerateVerifier()
	uri := push(t, p, authorizationForm(p, verifier, "st-par"))
	if p.Requests("par") != 1 {
		t.Errorf("par requests: %d", p.Requests("par"))
	}
	if got := p.LastPushedAuthorizationRequest(); got.Get("state") != "st-par" || got.Get("client_id") != p.ClientID() {
		t.Errorf("last pushed: %v", got)
	}

	// RFC 9126 section 4: only the pushed parameters count, whatever
	// else the browser's URL says.
	evil := url.Values{"redirect_uri": {"http://evil.example/cb"}, "state": {"st-evil"}, "scope": {"openid email"}, "code_challenge": {strings.Repeat("e", 43)}}
	cb, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), uri, evil))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != "http://localhost:9999/callback" || q.Get("state") != "st-par" || q.Get("code") == "" || q.Get("keep") != "me" {
		t.Fatalf("callback %s", cb)
	}
	if got := p.LastAuthorizeRequest(); got.Get("request_uri") != uri {
		t.Errorf("last authorize request: %v", got)
	}
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	id, err := f.verifyID(t, idToken(t, tok))
	if err != nil || id.Nonce != "n-st-par" {
		t.Fatalf("ID token: %v, nonce %q", err, id.Nonce)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token: the pushed offline_access and consent were not used")
	}
	if _, body := refresh(t, p, tok.RefreshToken, url.Values{"resource": {logtotest.DefaultResource}}); body["access_token"] == nil {
		t.Errorf("the pushed resource is not in the grant: %v", body)
	}

	// Single use.
	if cb, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), uri, nil)); err == nil || !strings.Contains(err.Error(), "invalid_request_uri") {
		t.Errorf("reused request_uri: %q, %v", cb, err)
	}
	// One this provider never issued.
	if cb, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), uri+"x", nil)); err == nil || !strings.Contains(err.Error(), "invalid_request_uri") {
		t.Errorf("forged request_uri: %q, %v", cb, err)
	}
}

// A pushed request lasts 60 seconds.
func TestPushedAuthorizationRequestExpires(t *testing.T) {
	clock := newFakeClock()
	p := logtotest.NewTestProvider(t, logtotest.Options{Now: clock.Now})
	verifier := oauth2.GenerateVerifier()
	fresh := push(t, p, authorizationForm(p, verifier, "st-1"))
	stale := push(t, p, authorizationForm(p, verifier, "st-2"))
	clock.Add(59 * time.Second)
	if _, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), fresh, nil)); err != nil {
		t.Errorf("after 59 s: %v", err)
	}
	clock.Add(time.Second)
	if cb, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), stale, nil)); err == nil || !strings.Contains(err.Error(), "invalid_request_uri") {
		t.Errorf("after 60 s: %q, %v", cb, err)
	}
}

// A request_uri is bound to the client that pushed it; another client
// showing it gets nothing, and does not spend it.
func TestPushedAuthorizationRequestOfAnotherClient(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	uri := push(t, p, authorizationForm(p, oauth2.GenerateVerifier(), "st-1"))
	for _, id := range []string{p.NativeClientID(), p.M2MClientID(), "nobody", ""} {
		if cb, err := p.Authorize(t.Context(), byReference(p, id, uri, nil)); err == nil {
			t.Errorf("client_id %q: %q", id, cb)
		}
	}
	twice := p.Issuer() + "/auth?" + url.Values{"client_id": {p.ClientID(), p.NativeClientID()}, "request_uri": {uri}}.Encode()
	if cb, err := p.Authorize(t.Context(), twice); err == nil {
		t.Errorf("two client_ids: %q", cb)
	}
	if cb, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), uri, nil)); err != nil || !strings.Contains(cb, "code=") {
		t.Errorf("its own client after the attempts: %q, %v", cb, err)
	}
}

// The PAR endpoint authenticates the client as the token endpoint does and
// validates the request as the authorization endpoint does, answering
// every error in JSON.
func TestPushedAuthorizationRequestRefused(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	good := authorizationForm(p, oauth2.GenerateVerifier(), "st-1")
	edit := func(f func(url.Values)) url.Values {
		q := cloneQuery(good)
		f(q)
		return q
	}
	for name, tc := range map[string]struct {
		id, secret string
		form       url.Values
		status     int
		code       string
	}{
		"wrong secret":          {p.ClientID(), "wrong", good, 401, "invalid_client"},
		"no secret":             {p.ClientID(), "", good, 401, "invalid_client"},
		"unknown client":        {"nobody", "x", edit(func(q url.Values) { q.Del("client_id") }), 401, "invalid_client"},
		"other body client_id":  {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Set("client_id", p.NativeClientID()) }), 400, "invalid_request"},
		"request_uri pushed":    {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Set("request_uri", "urn:x") }), 400, "invalid_request"},
		"no PKCE":               {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Del("code_challenge") }), 400, "invalid_request"},
		"no openid":             {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Set("scope", "profile") }), 400, "invalid_request"},
		"implicit":              {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Set("response_type", "token") }), 400, "unsupported_response_type"},
		"unknown resource":      {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Add("resource", "https://other.example") }), 400, "invalid_target"},
		"state twice":           {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Add("state", "x") }), 400, "invalid_request"},
		"relative redirect_uri": {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Set("redirect_uri", "/cb") }), 400, "invalid_redirect_uri"},
		"no redirect_uri":       {p.ClientID(), p.ClientSecret(), edit(func(q url.Values) { q.Del("redirect_uri") }), 400, "invalid_request"},
		"m2m app":               {p.M2MClientID(), p.M2MClientSecret(), edit(func(q url.Values) { q.Del("client_id") }), 400, "invalid_redirect_uri"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := postAs(t, p, "/request", tc.id, tc.secret, tc.form)
			wantError(t, status, body, tc.status, tc.code)
		})
	}
	req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/request?"+good.Encode(), nil)
	if status, _ := do(t, req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", status)
	}
}

// Each client authenticates at the PAR endpoint as it may at the token
// endpoint: the web application with client_secret_basic or
// client_secret_post (and the secret never shows in the recorded form),
// the native application by client_id alone.
func TestPushedAuthorizationRequestClientAuthentication(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	form := authorizationForm(p, oauth2.GenerateVerifier(), "st-1")
	form.Del("client_id")
	push(t, p, form) // Basic, no client_id in the body

	form.Set("client_id", p.ClientID())
	form.Set("client_secret", p.ClientSecret())
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer()+"/request", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, body := do(t, req); status != http.StatusCreated {
		t.Errorf("client_secret_post: %d %v", status, body)
	}
	if got := p.LastPushedAuthorizationRequest(); got.Has("client_secret") || got.Get("client_id") != p.ClientID() {
		t.Errorf("recorded form %v", got)
	}

	redirect := "http://127.0.0.1:4321/callback"
	f := nativeFlow(t, p, redirect)
	verifier := oauth2.GenerateVerifier()
	native := authorizationForm(p, verifier, "st-n")
	native.Set("redirect_uri", redirect)
	status, body := postAs(t, p, "/request", p.NativeClientID(), "", native)
	uri, _ := body["request_uri"].(string)
	if status != http.StatusCreated || uri == "" {
		t.Fatalf("native: %d %v", status, body)
	}
	cb, err := p.Authorize(t.Context(), byReference(p, p.NativeClientID(), uri, nil))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	if _, err := f.cfg.Exchange(t.Context(), u.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("native exchange: %v", err)
	}
}

func TestRequirePAR(t *testing.T) {
	for _, require := range []bool{false, true} {
		p := logtotest.NewTestProvider(t, logtotest.Options{RequirePAR: require})
		req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/.well-known/openid-configuration", nil)
		_, d := do(t, req)
		if d["pushed_authorization_request_endpoint"] != p.Issuer()+"/request" || d["require_pushed_authorization_requests"] != require {
			t.Errorf("RequirePAR %v: discovery says %v, %v", require, d["pushed_authorization_request_endpoint"], d["require_pushed_authorization_requests"])
		}
		verifier := oauth2.GenerateVerifier()
		cb, err := p.Authorize(t.Context(), p.Issuer()+"/auth?"+authorizationForm(p, verifier, "st-plain").Encode())
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(cb)
		if q := u.Query(); require && (q.Get("error") != "invalid_request" || q.Get("state") != "st-plain" || q.Has("code")) {
			t.Errorf("a plain request while PAR is required: %s", cb)
		} else if !require && q.Get("code") == "" {
			t.Errorf("a plain request: %s", cb)
		}
		uri := push(t, p, authorizationForm(p, verifier, "st-pushed"))
		if cb, err := p.Authorize(t.Context(), byReference(p, p.ClientID(), uri, nil)); err != nil || !strings.Contains(cb, "code=") {
			t.Errorf("RequirePAR %v: a pushed request: %q, %v", require, cb, err)
		}
	}
}

// With the sign-in page, a pushed request is shown and approved like any.
func TestPushedAuthorizationRequestSignInPage(t *testing.T) {
	p := logtotest.NewTestProvider(t, signInOptions())
	uri := push(t, p, authorizationForm(p, oauth2.GenerateVerifier(), "st-page"))
	id, _ := signInForm(t, byReference(p, p.ClientID(), uri, url.Values{"prompt": {"none"}}))
	q := callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {"1"}}, nil))
	if q.Get("code") == "" || q.Get("state") != "st-page" {
		t.Errorf("callback %v", q)
	}
}
