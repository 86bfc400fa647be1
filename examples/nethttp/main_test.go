package main

// Black-box tests of the example app as /work/shared/CONTRACT.md describes it:
// start run() in-process on a free port, wait for its URL line, and drive it
// over HTTP the way a browser and an API caller would.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
	"github.com/seed098cf14d/logto/examples/internal/exampletest"
	"github.com/seed098cf14d/logto/internal/testskip"
	"github.com/seed098cf14d/logto/logtotest"
)

const apiResource = "https://api.example.com"

// maxCookieBytes is what browsers keep of one cookie (RFC 6265 section 6.1
// asks for at least 4096 bytes); we hold the whole Set-Cookie value to it.
const maxCookieBytes = 4096

// largestSetCookie is the longest Set-Cookie value any app sent in this test
// binary, logged (with -v) by the tests that hold many tokens.
var largestSetCookie atomic.Int64

// cookieChecker records every Set-Cookie the app sends and fails the test
// for one over maxCookieBytes.
type cookieChecker struct {
	t       *testing.T
	appHost string
	next    http.RoundTripper
	largest atomic.Int64
}

func (c *cookieChecker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil || r.URL.Host != c.appHost {
		return resp, err
	}
	for _, sc := range resp.Header.Values("Set-Cookie") {
		n := int64(len(sc))
		if n > maxCookieBytes {
			c.t.Errorf("%s %s: Set-Cookie of %d bytes (> %d): %.80s...", r.Method, r.URL.Path, n, maxCookieBytes, sc)
		}
		for {
			old := c.largest.Load()
			if n <= old || c.largest.CompareAndSwap(old, n) {
				break
			}
		}
		for {
			old := largestSetCookie.Load()
			if n <= old || largestSetCookie.CompareAndSwap(old, n) {
				break
			}
		}
	}
	return resp, err
}

// testApp is one running example app and a browser for it.
type testApp struct {
	t       *testing.T
	base    string
	browser *http.Client
	cookies *cookieChecker
}

// startApp runs the example with env (BASE_URL and ADDR filled in from addr
// unless set) and stops it when the test ends.
func startApp(t *testing.T, addr string, env map[string]string) *testApp {
	t.Helper()
	full := map[string]string{}
	if addr != "" {
		full["BASE_URL"], full["ADDR"] = "http://"+addr, addr
	}
	for k, v := range env {
		full[k] = v
	}
	base := exampletest.StartRun(t, run, full).Base

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := &cookieChecker{t: t, appHost: strings.TrimPrefix(base, "http://"), next: http.DefaultTransport.(*http.Transport).Clone()}
	browser := &http.Client{
		Jar:       jar,
		Transport: cc,
		Timeout:   5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	t.Cleanup(browser.CloseIdleConnections)
	return &testApp{t: t, base: base, browser: browser, cookies: cc}
}

// get fetches u (absolute, or a path of the app) without following
// redirects and returns the response with its body read.
func (a *testApp) get(u string) (*http.Response, string) {
	a.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = a.base + u
	}
	resp, err := a.browser.Get(u)
	if err != nil {
		a.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("GET %s: reading body: %v", u, err)
	}
	return resp, string(body)
}

// redirect GETs u, wants a 302 or 303 and returns the absolute target.
func (a *testApp) redirect(u string) *url.URL {
	a.t.Helper()
	resp, body := a.get(u)
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("GET %s: status %d, want 302/303; body: %.300s", u, resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		a.t.Fatalf("GET %s: Location: %v", u, err)
	}
	return loc
}

// wantPage GETs path and wants a 200 whose body holds want.
func (a *testApp) wantPage(path, want string) {
	a.t.Helper()
	resp, body := a.get(path)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
		a.t.Fatalf("GET %s: %d %.300q, want 200 holding %q", path, resp.StatusCode, body, want)
	}
	if want == "Authenticated" && strings.Contains(body, "Not authenticated") {
		a.t.Fatalf("GET %s: %.300q, want signed in", path, body)
	}
}

// getJSON GETs path and decodes its JSON body, wanting status.
func (a *testApp) getJSON(path string, status int) map[string]any {
	a.t.Helper()
	resp, body := a.get(path)
	if resp.StatusCode != status {
		a.t.Fatalf("GET %s: status %d, want %d; body: %.300s", path, resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		a.t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		a.t.Fatalf("GET %s: body is not a JSON object: %v; body: %.300s", path, err, body)
	}
	return v
}

// wantJSONError GETs path and wants a 4xx JSON {"error": "..."}.
func (a *testApp) wantJSONError(path string, status int) string {
	a.t.Helper()
	resp, body := a.get(path)
	if status == 0 && (resp.StatusCode < 400 || resp.StatusCode > 499) || status != 0 && resp.StatusCode != status {
		a.t.Fatalf("GET %s: status %d, want %s; body: %.300s", path, resp.StatusCode, orStr(status, "4xx"), body)
	}
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Error == "" {
		a.t.Fatalf("GET %s: body %.300q is not {\"error\": ...} (%v)", path, body, err)
	}
	return v.Error
}

func orStr(n int, s string) string {
	if n == 0 {
		return s
	}
	return strconv.Itoa(n)
}

// signIn goes from /sign-in?query through the provider to the callback's
// redirect, and returns the authorization URL and where the callback sent
// the browser.
func (a *testApp) signIn(query string) (authURL, after *url.URL) {
	a.t.Helper()
	authURL = a.redirect("/sign-in" + query)
	if authURL.Path != "/oidc/auth" || authURL.Host == "" || authURL.Host == strings.TrimPrefix(a.base, "http://") {
		a.t.Fatalf("/sign-in sent the browser to %s, want the provider's /oidc/auth", authURL)
	}
	// The dev provider shows its sign-in page: continue as its user.
	callback := exampletest.Approve(a.t, a.browser, authURL.String(), 0)
	a.checkCallbackURL(callback)
	after = a.redirect(callback.String())
	return authURL, after
}

func (a *testApp) checkCallbackURL(callback *url.URL) {
	a.t.Helper()
	if got := callback.Scheme + "://" + callback.Host + callback.Path; got != a.base+"/callback" {
		a.t.Fatalf("provider redirected to %s, want %s/callback", callback, a.base)
	}
	q := callback.Query()
	for _, k := range []string{"code", "state", "iss"} {
		if q.Get(k) == "" {
			a.t.Fatalf("provider's redirect %s lacks %s", callback, k)
		}
	}
}

// audiences returns a JWT aud claim as a list.
func audiences(t *testing.T, v any) []string {
	t.Helper()
	switch aud := v.(type) {
	case string:
		return []string{aud}
	case []any:
		var out []string
		for _, a := range aud {
			s, _ := a.(string)
			out = append(out, s)
		}
		return out
	}
	t.Fatalf("aud %#v is neither a string nor a list", v)
	return nil
}

// wantToken checks a {"access_token", "claims"} answer for audience aud.
func wantToken(t *testing.T, v map[string]any, aud string) {
	t.Helper()
	if s, _ := v["access_token"].(string); s == "" {
		t.Errorf("no access_token in %v", v)
	}
	claims, ok := v["claims"].(map[string]any)
	if !ok {
		t.Fatalf("claims %#v is not an object", v["claims"])
	}
	if got := audiences(t, claims["aud"]); !slices.Contains(got, aud) {
		t.Errorf("claims.aud = %v, want %s", got, aud)
	}
	if s, _ := claims["sub"].(string); s == "" {
		t.Errorf("claims have no sub: %v", claims)
	}
}

// The whole browser and API journey against the embedded dev provider.
func TestDevProviderJourney(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)

	a.wantPage("/", "Not authenticated")
	for _, p := range []string{
		"/api/id-token-claims",
		"/api/userinfo",
		"/api/access-token?resource=" + url.QueryEscape(apiResource),
		"/api/organization-token?organization_id=x",
	} {
		a.wantJSONError(p, http.StatusUnauthorized)
	}

	// A protected page sends the browser to sign in, and back after.
	to := a.redirect("/protected")
	if to.Path != "/sign-in" || to.Query().Get("return_to") != "/protected" {
		t.Fatalf("/protected redirected to %s, want /sign-in?return_to=/protected", to)
	}
	authURL, after := a.signIn("?" + to.RawQuery)
	q := authURL.Query()
	if q.Get("redirect_uri") != a.base+"/callback" || q.Get("client_id") == "" || q.Get("code_challenge") == "" {
		t.Errorf("authorization URL %s: want redirect_uri %s/callback, a client_id and a code_challenge", authURL, a.base)
	}
	if after.Path != "/protected" {
		t.Fatalf("callback sent the browser to %s, want /protected", after)
	}
	a.wantPage("/protected", "Protected")
	a.wantPage("/", "Authenticated")

	claims := a.getJSON("/api/id-token-claims", http.StatusOK)
	if claims["sub"] != logtotest.DefaultUser().Subject {
		t.Errorf("id-token claims sub = %v, want %s", claims["sub"], logtotest.DefaultUser().Subject)
	}
	info := a.getJSON("/api/userinfo", http.StatusOK)
	if info["sub"] != logtotest.DefaultUser().Subject {
		t.Errorf("userinfo sub = %v, want %s", info["sub"], logtotest.DefaultUser().Subject)
	}
	wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK), apiResource)
	// The cached token is served again (and cookies stay small with it).
	wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK), apiResource)
	a.wantJSONError("/api/access-token?resource="+url.QueryEscape("https://unknown.example.com"), 0)
	// The organizations scope is not configured.
	a.wantJSONError("/api/organization-token?organization_id=x", 0)
	a.wantJSONError("/api/organization-token", 0)
	a.wantPage("/", "Authenticated")

	// Sign-out ends the local session and goes to the provider.
	end := a.redirect("/sign-out")
	if end.Host != authURL.Host || end.Path != "/oidc/session/end" {
		t.Errorf("/sign-out redirected to %s, want the provider's end-session endpoint", end)
	}
	if got := end.Query().Get("post_logout_redirect_uri"); got != a.base+"/" {
		t.Errorf("post_logout_redirect_uri = %q, want %q", got, a.base+"/")
	}
	a.wantPage("/", "Not authenticated")
	a.wantJSONError("/api/id-token-claims", http.StatusUnauthorized)
	if back := exampletest.EndSession(t, a.browser, end.String()); back.String() != a.base+"/" {
		t.Errorf("the provider's end-session sent the browser to %s, want %s/", back, a.base)
	}
	a.wantPage("/", "Not authenticated")
	t.Logf("largest Set-Cookie: %d bytes", a.cookies.largest.Load())
}

// send makes a request with headers and returns the response with its body
// read, without following redirects.
func (a *testApp) send(method, path string, header http.Header) (*http.Response, string) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := a.browser.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp, string(body)
}

// Only the app's own pages sign a user out: a request the browser marks as
// coming from another site gets 403 and the session stays, tokens and all.
// The home page signs out with a POST form, which its own origin may send.
func TestSignOutOnlyFromTheAppsPages(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{"http://" + addr + "/callback"},
		PostLogoutRedirectURIs: []string{"http://" + addr + "/"},
		Resources:              []string{apiResource},
	})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_RESOURCES":  apiResource,
	})
	a.signIn("")
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
	}{
		{"cross-site GET", http.MethodGet, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site GET", http.MethodGet, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"cross-site POST", http.MethodPost, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
		{"POST from a foreign Origin", http.MethodPost, http.Header{"Origin": {"https://evil.example"}}},
	} {
		resp, body := a.send(tc.method, "/sign-out", tc.header)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s /sign-out: %d %.200q, want 403", tc.name, resp.StatusCode, body)
		}
		if n := len(p.RevokedTokens()); n != 0 {
			t.Errorf("%s /sign-out: %d tokens revoked, want none", tc.name, n)
		}
		a.wantPage("/", "Authenticated")
	}
	// The session still holds its refresh token: a new resource token can
	// be minted.
	wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK), apiResource)

	_, home := a.get("/")
	if !strings.Contains(home, `<form method="post" action="/sign-out"`) {
		t.Errorf("the home page has no sign-out form: %.600s", home)
	}
	resp, body := a.send(http.MethodPost, "/sign-out", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {a.base}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/oidc/session/end") {
		t.Fatalf("same-origin POST /sign-out: %d to %q %.200q, want 303 to the end-session endpoint", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if n := len(p.RevokedTokens()); n != 1 {
		t.Errorf("same-origin POST /sign-out revoked %d tokens, want the refresh token", n)
	}
	a.wantPage("/", "Not authenticated")

	a.signIn("")
	if end := a.redirect("/sign-out"); end.Path != "/oidc/session/end" {
		t.Errorf("GET /sign-out without browser headers went to %s", end)
	}
	a.wantPage("/", "Not authenticated")
}

func TestSignInOptions(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)

	signUp := a.redirect("/sign-in?interaction_mode=signUp").Query()
	if signUp.Get("interaction_mode") != "signUp" || signUp.Get("first_screen") != "register" {
		t.Errorf("sign-up authorization request has interaction_mode=%q first_screen=%q, want signUp, register",
			signUp.Get("interaction_mode"), signUp.Get("first_screen"))
	}
	plain := a.redirect("/sign-in").Query()
	if plain.Has("interaction_mode") {
		t.Errorf("plain sign-in has interaction_mode=%q", plain.Get("interaction_mode"))
	}

	for _, bad := range []string{"//evil.example", "https://evil.example/", `/\evil.example`} {
		_, after := a.signIn("?return_to=" + url.QueryEscape(bad))
		if after.Host != "" && after.Host != strings.TrimPrefix(a.base, "http://") || after.Path != "/" {
			t.Errorf("return_to=%s: callback sent the browser to %s, want /", bad, after)
		}
	}
	_, after := a.signIn("?return_to=" + url.QueryEscape("/protected?x=1"))
	if after.RequestURI() != "/protected?x=1" {
		t.Errorf("return_to=/protected?x=1: callback sent the browser to %s", after)
	}
	a.wantPage("/", "Authenticated")
}

func TestCallbackFailures(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)

	authURL := a.redirect("/sign-in")
	callback := exampletest.Approve(t, a.browser, authURL.String(), 0)
	a.checkCallbackURL(callback)

	q := callback.Query()
	q.Set("state", "forged-"+q.Get("state"))
	forged := *callback
	forged.RawQuery = q.Encode()
	cases := []struct{ name, url, wantInBody string }{
		{"bad state", forged.String(), "state"},
		{"no parameters", "/callback", ""},
		{"provider error", "/callback?error=access_denied&state=" + url.QueryEscape(callback.Query().Get("state")) +
			"&iss=" + url.QueryEscape(callback.Query().Get("iss")), "access_denied"},
	}
	for _, c := range cases {
		resp, body := a.get(c.url)
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Errorf("%s: status %d, want 4xx; body %.300q", c.name, resp.StatusCode, body)
		}
		if !strings.Contains(body, c.wantInBody) || !strings.Contains(strings.ToLower(body), "error") && !strings.Contains(body, "invalid") {
			t.Errorf("%s: body %.300q does not name the error", c.name, body)
		}
		if resp.Header.Get("Location") != "" {
			t.Errorf("%s: redirected to %s", c.name, resp.Header.Get("Location"))
		}
		a.wantPage("/", "Not authenticated")
		a.wantJSONError("/api/id-token-claims", http.StatusUnauthorized)
	}
}

// With LOGTO_ENDPOINT the app uses that provider, and LOGTO_SCOPES and
// LOGTO_RESOURCES reach the authorization request.
func TestOwnProvider(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	base := "http://" + addr
	const other = "https://other.example.com"
	user := logtotest.DefaultUser()
	user.Organizations = []string{"x"}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		ClientID:               "own-app",
		ClientSecret:           "own-secret",
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"},
		Resources:              []string{apiResource, other},
		User:                   &user,
	})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_SCOPES":     "email, urn:logto:scope:organizations",
		"LOGTO_RESOURCES":  apiResource + " " + other,
		"SESSION_SECRET":   "a session secret for the test, long enough",
	})

	authURL, after := a.signIn("")
	if authURL.Host != strings.TrimPrefix(p.Endpoint(), "http://") {
		t.Fatalf("sign-in went to %s, want the provider at %s", authURL, p.Endpoint())
	}
	if after.Path != "/" {
		t.Errorf("callback sent the browser to %s, want /", after)
	}
	got := p.LastAuthorizeRequest()
	scopes := strings.Fields(got.Get("scope"))
	for _, s := range []string{"openid", "email", logtotest.ScopeOrganizations} {
		if !slices.Contains(scopes, s) {
			t.Errorf("authorization scope %q lacks %s", got.Get("scope"), s)
		}
	}
	for _, r := range []string{apiResource, other, logtotest.OrganizationsResource} {
		if !slices.Contains(got["resource"], r) {
			t.Errorf("authorization resources %v lack %s", got["resource"], r)
		}
	}
	if got.Get("client_id") != "own-app" {
		t.Errorf("client_id = %q, want own-app", got.Get("client_id"))
	}

	a.wantPage("/", "Authenticated")
	// Two JWTs cached beside the ID and refresh tokens; a third overflows the
	// cookie for now (see TestThreeTokensInCookieSession).
	wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(other), http.StatusOK), other)
	wantToken(t, a.getJSON("/api/organization-token?organization_id=x", http.StatusOK), "urn:logto:organization:x")
	// Not a member: the provider refuses, and the app says so in JSON.
	resp, body := a.get("/api/organization-token?organization_id=y")
	var e struct {
		Error string `json:"error"`
	}
	if resp.StatusCode < 400 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
		t.Errorf("organization y: %d %.300q, want an error status with {\"error\": ...}", resp.StatusCode, body)
	}
	a.wantPage("/", "Authenticated")

	end := a.redirect("/sign-out")
	if got := end.Query().Get("post_logout_redirect_uri"); end.Host != authURL.Host || got != base+"/" {
		t.Errorf("/sign-out redirected to %s, want the provider with post_logout_redirect_uri %s/", end, base)
	}
	a.wantPage("/", "Not authenticated")
	t.Logf("largest Set-Cookie: %d bytes (all tests so far: %d)", a.cookies.largest.Load(), largestSetCookie.Load())
}

// A session that asks for three JWT access tokens still fits in its cookie:
// cached access tokens can always be minted again, so they must give way
// before the cookie grows past what a browser keeps.
func TestThreeTokensInCookieSession(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	const other = "https://other.example.com"
	user := logtotest.DefaultUser()
	user.Organizations = []string{"x"}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs: []string{"http://" + addr + "/callback"},
		Resources:    []string{apiResource, other},
		User:         &user,
	})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_SCOPES":     logtotest.ScopeOrganizations,
		"LOGTO_RESOURCES":  apiResource + "," + other,
	})
	a.signIn("")
	for range 2 {
		wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(other), http.StatusOK), other)
		wantToken(t, a.getJSON("/api/organization-token?organization_id=x", http.StatusOK), "urn:logto:organization:x")
		wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK), apiResource)
	}
	a.wantPage("/", "Authenticated")
}

// An app with a bad LOGTO_ENDPOINT still starts (discovery is lazy) and
// answers JSON routes with JSON.
func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	down := exampletest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(down)
	a := startApp(t, "", map[string]string{
		"LOGTO_ENDPOINT":   "http://" + down,
		"LOGTO_APP_ID":     "app",
		"LOGTO_APP_SECRET": "secret",
	})
	a.wantPage("/", "Not authenticated")
	a.wantJSONError("/api/userinfo", http.StatusUnauthorized)
	resp, body := a.get("/sign-in")
	if resp.StatusCode < 500 {
		t.Errorf("/sign-in with the provider down: %d %.200q, want 5xx", resp.StatusCode, body)
	}
	for _, leak := range []string{"dial", "refused", down, port, "well-known"} {
		if strings.Contains(body, leak) {
			t.Errorf("/sign-in with the provider down: the page holds %q: %.400s", leak, body)
		}
	}
}

// A provider that goes down shows in pages and JSON errors as a code and a
// plain sentence: no address, port or dial error of the infrastructure
// behind the app.
func TestProviderDownHidesInfrastructure(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs: []string{"http://" + addr + "/callback"},
		Resources:    []string{apiResource},
	})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_RESOURCES":  apiResource,
	})
	a.signIn("")
	a.wantPage("/", "Authenticated")
	provider, err := url.Parse(p.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	leaks := []string{"dial", "refused", provider.Host, provider.Port(), "/oidc"}
	for _, path := range []string{"/api/userinfo", "/api/access-token?resource=" + url.QueryEscape(apiResource)} {
		resp, body := a.get(path)
		if resp.StatusCode < 500 {
			t.Errorf("GET %s with the provider down: %d %.300q, want 5xx", path, resp.StatusCode, body)
		}
		for _, leak := range leaks {
			if strings.Contains(body, leak) {
				t.Errorf("GET %s: the answer holds %q: %.400s", path, leak, body)
			}
		}
		if !strings.Contains(body, "The identity provider could not be reached") {
			t.Errorf("GET %s: %.400s, want a plain sentence", path, body)
		}
	}
}

func TestRunBadConfig(t *testing.T) {
	err := run(context.Background(), func(k string) string {
		return map[string]string{"BASE_URL": "not a url"}[k]
	}, io.Discard)
	if err == nil {
		t.Fatal("run with a bad BASE_URL: no error")
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
}

// TestMain lets a test run the example's main in a child process (the test
// binary itself, with LOGTO_EXAMPLE_MAIN=1), as outside tests run it.
// Otherwise it runs the tests and says which skipped, and why.
func TestMain(m *testing.M) {
	if os.Getenv("LOGTO_EXAMPLE_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	testskip.Main(m)
}

// devProviderRefusals are environments where the embedded dev provider would
// stand in for a real one: app credentials meant for a real tenant, or an
// app served on a real host.
var devProviderRefusals = []struct {
	name string
	env  map[string]string
}{
	{"app ID without endpoint", map[string]string{"LOGTO_APP_ID": "real-app"}},
	{"app secret without endpoint", map[string]string{"LOGTO_APP_SECRET": "real-secret"}},
	{"https BASE_URL on a real host", map[string]string{"BASE_URL": "https://app.example.com"}},
	{"http BASE_URL on a real host", map[string]string{"BASE_URL": "http://app.example.com:3000"}},
	{"BASE_URL on a LAN address", map[string]string{"BASE_URL": "http://192.168.1.20:3000"}},
	{"BASE_URL on a look-alike host", map[string]string{"BASE_URL": "http://localhost.evil.example:3000"}},
}

// Without LOGTO_ENDPOINT the app may start the dev provider only for local
// development; anything else refuses to start, naming LOGTO_ENDPOINT.
func TestDevProviderNeverStandsIn(t *testing.T) {
	for _, tc := range devProviderRefusals {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"ADDR": exampletest.FreeAddr(t)}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out strings.Builder
			err := run(ctx, func(k string) string { return env[k] }, &out)
			if err == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatalf("run started (err %v); output:\n%s", err, out.String())
			}
			if !strings.Contains(err.Error(), "LOGTO_ENDPOINT") {
				t.Errorf("error %q does not name LOGTO_ENDPOINT", err)
			}
			if strings.Contains(out.String(), "dev provider") {
				t.Errorf("the dev provider started: %s", out.String())
			}
		})
	}

	// Local development still gets the dev provider.
	for _, base := range []string{"http://localhost:%s", "http://127.0.0.1:%s", "http://[::1]:%s"} {
		addr := exampletest.FreeAddr(t)
		port := addr[strings.LastIndex(addr, ":")+1:]
		base = strings.Replace(base, "%s", port, 1)
		if _, err := exampleapp.LoadSettings(func(k string) string { return map[string]string{"BASE_URL": base}[k] }, "http://localhost:3000"); err != nil {
			t.Errorf("BASE_URL %s: %v", base, err)
		}
	}
}

// The process itself exits non-zero with the message on stderr.
func TestDevProviderRefusalExits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LOGTO_EXAMPLE_MAIN=1", "LOGTO_ENDPOINT=", "REDIS_URL=",
		"BASE_URL=https://app.example.com", "ADDR="+exampletest.FreeAddr(t))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || ctx.Err() != nil {
		t.Fatalf("the app did not exit non-zero (err %v, ctx %v); output:\n%s", err, ctx.Err(), out)
	}
	if !strings.Contains(string(out), "LOGTO_ENDPOINT") {
		t.Errorf("output %q does not name LOGTO_ENDPOINT", out)
	}
}

// With SESSION_STORE=memory the session lives in the app's memory and the
// cookie holds only its ID: many tokens fit, a refresh happens once however
// many requests ask at once, sign-out leaves a copied cookie worthless, and
// back-channel logout ends the session.
func TestMemorySessions(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	base := "http://" + addr
	const other = "https://other.example.com"
	user := logtotest.DefaultUser()
	user.Organizations = []string{"x"}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"},
		Resources:              []string{apiResource, other},
		User:                   &user,
		// Reused for 3 s, then refreshed: room for a busy machine between
		// the first request and the check that it was reused.
		AccessTokenTTL: 6 * time.Second,
	})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_SCOPES":     logtotest.ScopeOrganizations,
		"LOGTO_RESOURCES":  apiResource + "," + other,
		"SESSION_STORE":    "memory",
	})
	a.signIn("")
	a.wantPage("/", "Authenticated")
	first := a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK)
	wantToken(t, first, apiResource)
	wantToken(t, a.getJSON("/api/access-token?resource="+url.QueryEscape(other), http.StatusOK), other)
	wantToken(t, a.getJSON("/api/organization-token?organization_id=x", http.StatusOK), "urn:logto:organization:x")
	if again := a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK); again["access_token"] != first["access_token"] {
		t.Error("the cached token was not kept beside two others")
	}
	if n := a.cookies.largest.Load(); n > 300 {
		t.Errorf("largest Set-Cookie %d bytes; with memory sessions the cookie holds only a session ID", n)
	}

	// After expiry, concurrent requests cause one refresh grant.
	time.Sleep(3100 * time.Millisecond)
	p.ResetCounters()
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			resp, err := a.browser.Get(a.base + "/api/access-token?resource=" + url.QueryEscape(apiResource))
			if err == nil {
				statuses[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("concurrent request %d: status %d", i, st)
		}
	}
	if n := p.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}

	// Sign-out: a copy of the cookie taken before it no longer signs in.
	app, err := url.Parse(a.base)
	if err != nil {
		t.Fatal(err)
	}
	copied := a.browser.Jar.Cookies(app)
	if end := a.redirect("/sign-out"); end.Path != "/oidc/session/end" {
		t.Fatalf("/sign-out went to %s", end)
	}
	a.wantPage("/", "Not authenticated")
	a.browser.Jar.SetCookies(app, copied)
	a.wantPage("/", "Not authenticated")

	// Back-channel logout ends the session the provider names.
	a.signIn("")
	a.wantPage("/", "Authenticated")
	resp, err := p.SendBackchannelLogout(context.Background(), a.base+"/backchannel-logout",
		logtotest.LogoutTokenOptions{Subject: user.Subject, JTI: "memory-logout-1"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout: %d", resp.StatusCode)
	}
	a.wantPage("/", "Not authenticated")
}
