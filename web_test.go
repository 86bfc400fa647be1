package logto_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

var (
	webSecret      = []byte("web-test-session-secret-of-32+bytes")
	webOtherSecret = []byte("another-session-secret-of-32+bytes")
)

// webApp is an application served over HTTP with WebHandlers, signing in
// against an in-process provider: /sign-in, /callback, /sign-out, and
// /protected behind RequireAuth.
type webApp struct {
	p     *logtotest.Provider
	app   *logto.App
	h     *logto.WebHandlers
	store *logto.CookieStore
	srv   *httptest.Server
	logs  *syncBuffer // the App's log, as text
}

func newWebApp(t *testing.T, edit func(*logto.WebHandlers)) *webApp {
	t.Helper()
	return newWebAppWith(t, nil, edit)
}

// newWebAppWith is newWebApp with the App's Config and the provider's
// Options edited first by editCfg. The app also serves /token?resource=R,
// which caches an access token for R in the session.
func newWebAppWith(t *testing.T, editCfg func(*logto.Config, *logtotest.Options), edit func(*logto.WebHandlers)) *webApp {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	redirect, postLogout := srv.URL+"/callback", srv.URL+"/"
	popts := logtotest.Options{
		RedirectURIs:           []string{redirect},
		PostLogoutRedirectURIs: []string{postLogout},
	}
	logs := &syncBuffer{}
	cfg := logto.Config{
		RedirectURI: redirect, PostLogoutRedirectURI: postLogout,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	}
	if editCfg != nil {
		editCfg(&cfg, &popts)
	}
	p := logtotest.NewTestProvider(t, popts)
	cfg.Endpoint, cfg.AppID, cfg.AppSecret = p.Endpoint(), p.ClientID(), p.ClientSecret()
	app, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := logto.NewCookieStore(redirect, webSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
	if edit != nil {
		edit(h)
	}
	mux.Handle("/sign-in", h.SignIn())
	mux.Handle("/callback", h.Callback())
	mux.Handle("/sign-out", h.SignOut())
	mux.Handle("/protected", h.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := h.Client(w, r).IDTokenClaims(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s (%s)", claims.Subject, r.Method)
	})))
	mux.Handle("/token", h.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.Client(w, r).GetAccessToken(r.Context(), r.URL.Query().Get("resource")); err != nil {
			h.WriteError(w, r, err)
			return
		}
		fmt.Fprint(w, "ok")
	})))
	return &webApp{p: p, app: app, h: h, store: store, srv: srv, logs: logs}
}

// webBrowser is a browser with a cookie jar that does not follow redirects,
// so every hop can be checked.
type webBrowser struct {
	t   *testing.T
	a   *webApp
	jar *cookiejar.Jar
	c   *http.Client
}

func (a *webApp) browser(t *testing.T) *webBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webBrowser{t: t, a: a, jar: jar, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request; a target starting with "/" is on the app.
func (b *webBrowser) do(method, target string) (*http.Response, string) {
	b.t.Helper()
	return b.doWith(method, target, nil)
}

// doWith sends a request with the headers of header added.
func (b *webBrowser) doWith(method, target string, header http.Header) (*http.Response, string) {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.a.srv.URL + target
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

func (b *webBrowser) get(target string) (*http.Response, string) {
	b.t.Helper()
	return b.do(http.MethodGet, target)
}

// authorize follows a sign-in redirect through the provider and returns the
// callback URL it sends the browser back to.
func (b *webBrowser) authorize(signIn *http.Response) string {
	b.t.Helper()
	if signIn.StatusCode != http.StatusFound {
		b.t.Fatalf("sign-in: status %d, want 302", signIn.StatusCode)
	}
	cb, err := b.a.p.Authorize(context.Background(), signIn.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	if !strings.HasPrefix(cb, b.a.srv.URL+"/callback?") {
		b.t.Fatalf("provider sent the browser to %s", cb)
	}
	return cb
}

// signIn runs /sign-in?<query>, the provider and the callback, and returns
// the callback's answer.
func (b *webBrowser) signIn(query string) *http.Response {
	b.t.Helper()
	resp, _ := b.get("/sign-in?" + query)
	resp, body := b.get(b.authorize(resp))
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("callback: status %d, want 303; body %s", resp.StatusCode, body)
	}
	return resp
}

// wantRedirect checks status and exact Location.
func wantRedirect(t *testing.T, resp *http.Response, status int, location string) {
	t.Helper()
	if resp.StatusCode != status || resp.Header.Get("Location") != location {
		t.Errorf("got %d Location %q, want %d Location %q", resp.StatusCode, resp.Header.Get("Location"), status, location)
	}
}

func wantNoStore(t *testing.T, h http.Header) {
	t.Helper()
	if got := h.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control = %q, want [no-store]", got)
	}
	if got := h.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
}

// setCookies parses the Set-Cookie lines of h for the cookie name.
func setCookies(t testing.TB, h http.Header, name string) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("unparsable Set-Cookie %q: %v", line, err)
		}
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// oneSetCookie returns the only Set-Cookie of h for the cookie name.
func oneSetCookie(t testing.TB, h http.Header, name string) *http.Cookie {
	t.Helper()
	cs := setCookies(t, h, name)
	if len(cs) != 1 {
		t.Fatalf("%d Set-Cookie lines for %q, want 1: %q", len(cs), name, h.Values("Set-Cookie"))
	}
	return cs[0]
}

// wantSessionCookie checks the attributes NewCookieStore promises.
func wantSessionCookie(t *testing.T, c *http.Cookie, secure bool) {
	t.Helper()
	if c.Path != "/" || c.Domain != "" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Secure != secure || c.MaxAge != logto.DefaultSessionMaxAge || c.Value == "" {
		t.Errorf("session cookie = %+v; want Path=/, no Domain, HttpOnly, SameSite=Lax, Secure=%v, Max-Age=%d",
			c, secure, logto.DefaultSessionMaxAge)
	}
}

func TestWebSignInFlow(t *testing.T) {
	a := newWebApp(t, nil)
	b := a.browser(t)

	resp, _ := b.get("/protected")
	wantRedirect(t, resp, http.StatusFound, "/sign-in?return_to=%2Fprotected")
	wantNoStore(t, resp.Header)
	if n := len(resp.Header.Values("Set-Cookie")); n != 0 {
		t.Errorf("RequireAuth set %d cookies for an anonymous visitor", n)
	}

	resp, _ = b.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: status %d", resp.StatusCode)
	}
	authURL, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := authURL.Scheme + "://" + authURL.Host + authURL.Path; got != a.p.Issuer()+"/auth" {
		t.Errorf("sign-in redirects to %s, want the authorization endpoint", got)
	}
	if q := authURL.Query(); q.Get("redirect_uri") != a.srv.URL+"/callback" || q.Get("client_id") != a.p.ClientID() {
		t.Errorf("authorization request %v", q)
	}
	wantNoStore(t, resp.Header)
	wantSessionCookie(t, oneSetCookie(t, resp.Header, logto.DefaultSessionName), false)

	resp, body := b.get(b.authorize(resp))
	wantRedirect(t, resp, http.StatusSeeOther, "/protected")
	wantNoStore(t, resp.Header)
	wantSessionCookie(t, oneSetCookie(t, resp.Header, logto.DefaultSessionName), false)
	if t.Failed() {
		t.Fatalf("callback body: %s", body)
	}

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		resp, body = b.do(method, "/protected")
		if want := "hello " + logtotest.DefaultUser().Subject + " (" + method + ")"; resp.StatusCode != http.StatusOK || body != want {
			t.Errorf("%s /protected signed in: %d %q, want 200 %q", method, resp.StatusCode, body, want)
		}
	}

	resp, _ = b.get("/sign-out")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: status %d", resp.StatusCode)
	}
	wantNoStore(t, resp.Header)
	if c := oneSetCookie(t, resp.Header, logto.DefaultSessionName); c.MaxAge >= 0 {
		t.Errorf("sign-out kept the session cookie: %+v", c)
	}
	end, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := end.Query()
	if got := end.Scheme + "://" + end.Host + end.Path; got != a.p.Issuer()+"/session/end" ||
		q.Get("post_logout_redirect_uri") != a.srv.URL+"/" || q.Get("client_id") != a.p.ClientID() || q.Get("id_token_hint") == "" {
		t.Errorf("sign-out redirects to %s", end)
	}
	if n := len(a.p.RevokedTokens()); n != 1 {
		t.Errorf("%d tokens revoked, want the refresh token", n)
	}
	resp, _ = b.get(end.String())
	wantRedirect(t, resp, http.StatusSeeOther, a.srv.URL+"/")

	resp, _ = b.get("/protected")
	wantRedirect(t, resp, http.StatusFound, "/sign-in?return_to=%2Fprotected")
}

func TestWebSignInQueryOptions(t *testing.T) {
	a := newWebApp(t, nil)
	cases := []struct {
		query                        string
		firstScreen, interactionMode string
	}{
		{"", "", ""},
		{"interaction_mode=signUp", logto.FirstScreenRegister, logto.InteractionModeSignUp},
		{"interaction_mode=signIn", "", logto.InteractionModeSignIn},
		{"interaction_mode=register", "", ""},
		{"first_screen=identifier:sign_in", logto.FirstScreenIdentifierSignIn, ""},
		{"first_screen=single_sign_on&interaction_mode=signUp", logto.FirstScreenSingleSignOn, logto.InteractionModeSignUp},
		{"first_screen=home", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp, _ := a.browser(t).get("/sign-in?" + tc.query)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			u, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("first_screen") != tc.firstScreen || q.Get("interaction_mode") != tc.interactionMode {
				t.Errorf("first_screen=%q interaction_mode=%q, want %q %q",
					q.Get("first_screen"), q.Get("interaction_mode"), tc.firstScreen, tc.interactionMode)
			}
		})
	}
}

func TestWebReturnTo(t *testing.T) {
	a := newWebApp(t, nil)
	cases := []struct {
		returnTo string
		want     string // where the callback sends the browser
	}{
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"},
		{"\t/evil", "/"},
		{"", "/"},
		{"evil", "/"},
		{"/ok?x=1", "/ok?x=1"},
		{"/a/b?c=d&e=%2F%2F", "/a/b?c=d&e=%2F%2F"},
	}
	for _, tc := range cases {
		t.Run(tc.returnTo, func(t *testing.T) {
			resp := a.browser(t).signIn("return_to=" + url.QueryEscape(tc.returnTo))
			wantRedirect(t, resp, http.StatusSeeOther, tc.want)
			for _, line := range resp.Header.Values("Set-Cookie") {
				if !strings.HasPrefix(line, logto.DefaultSessionName+"=") {
					t.Errorf("unexpected Set-Cookie %q", line)
				}
			}
		})
	}
}

func TestWebAfterSignIn(t *testing.T) {
	a := newWebApp(t, func(h *logto.WebHandlers) { h.AfterSignIn = "/home" })
	wantRedirect(t, a.browser(t).signIn(""), http.StatusSeeOther, "/home")
	wantRedirect(t, a.browser(t).signIn("return_to=//evil.example"), http.StatusSeeOther, "/home")
	wantRedirect(t, a.browser(t).signIn("return_to=%2Faccount"), http.StatusSeeOther, "/account")
}

func TestIsSafeReturnPath(t *testing.T) {
	cases := []struct {
		p    string
		want bool
	}{
		{"/", true},
		{"/ok?x=1", true},
		{"/a/b#frag", true},
		{"/a//b", true},
		{"/%0d%0aSet-Cookie:x", true},
		{"/%2F%2Fevil.example", true},
		{"/x:y", true},
		{"/caf\u00e9", true},
		{"/" + strings.Repeat("a", logto.MaxReturnPathBytes-1), true},

		{"", false},
		{"evil", false},
		{"evil.example/x", false},
		{"//evil.example", false},
		{"///evil.example", false},
		{"/\\evil.example", false},
		{"\\\\evil.example", false},
		{"/a\\b", false},
		{"https://evil.example", false},
		{"http:/evil.example", false},
		{"javascript:alert(1)", false},
		{"\t/evil", false},
		{" /evil", false},
		{"/\t/evil.example", false},
		{"/evil\r\nSet-Cookie: x=1", false},
		{"/\x00", false},
		{"/\x7f", false},
		{"/%zz", false},
		{"/" + strings.Repeat("a", logto.MaxReturnPathBytes), false},
		{"/" + strings.Repeat("a", 2047), false},
		{"/caf\xe9", false}, // not UTF-8
	}
	for _, tc := range cases {
		if got := logto.IsSafeReturnPath(tc.p); got != tc.want {
			t.Errorf("IsSafeReturnPath(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestWebRequireAuthAnonymous(t *testing.T) {
	a := newWebApp(t, nil)
	login := &logto.WebHandlers{App: a.app, Storage: logto.SessionStorageFunc(a.store, ""), SignInPath: "/login"}
	cases := []struct {
		name     string
		h        *logto.WebHandlers
		method   string
		target   string
		status   int
		location string
	}{
		{"GET", a.h, http.MethodGet, "/protected", http.StatusFound, "/sign-in?return_to=%2Fprotected"},
		{"GET with query", a.h, http.MethodGet, "/protected?x=1&y=a%20b", http.StatusFound,
			"/sign-in?return_to=%2Fprotected%3Fx%3D1%26y%3Da%2520b"},
		{"HEAD", a.h, http.MethodHead, "/protected", http.StatusFound, "/sign-in?return_to=%2Fprotected"},
		{"unsafe request URI", a.h, http.MethodGet, "//evil.example/x", http.StatusFound, "/sign-in"},
		{"custom SignInPath", login, http.MethodGet, "/a?b=c", http.StatusFound, "/login?return_to=%2Fa%3Fb%3Dc"},
		{"POST", a.h, http.MethodPost, "/protected", http.StatusUnauthorized, ""},
		{"PUT", a.h, http.MethodPut, "/protected", http.StatusUnauthorized, ""},
		{"DELETE", a.h, http.MethodDelete, "/protected", http.StatusUnauthorized, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
			w := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, tc.target, nil)
			tc.h.RequireAuth(next).ServeHTTP(w, r)
			if called {
				t.Fatal("an anonymous request reached the protected handler")
			}
			wantRedirect(t, w.Result(), tc.status, tc.location)
			wantNoStore(t, w.Header())
			if tc.status == http.StatusUnauthorized {
				if !strings.Contains(w.Body.String(), "<h1>not_authenticated</h1>") ||
					w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
					t.Errorf("401 page: %q %q", w.Header().Get("Content-Type"), w.Body.String())
				}
			}
		})
	}
}

func TestWebRequireAuthSignedIn(t *testing.T) {
	a := newWebApp(t, nil)
	b := a.browser(t)
	b.signIn("")
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
		resp, body := b.do(method, "/protected?x=1")
		want := "hello " + logtotest.DefaultUser().Subject + " (" + method + ")"
		if method == http.MethodHead {
			want = ""
		}
		if resp.StatusCode != http.StatusOK || body != want {
			t.Errorf("%s: %d %q, want 200 %q", method, resp.StatusCode, body, want)
		}
		if n := len(resp.Header.Values("Set-Cookie")); n != 0 {
			t.Errorf("%s: a signed-in request rewrote %d cookies", method, n)
		}
	}
}

func TestWebCallbackProviderError(t *testing.T) {
	a := newWebApp(t, nil)
	a.p.SetFaults(logtotest.Faults{AuthorizeError: "access_denied", AuthorizeErrorDescription: "<script>alert(1)</script>"})
	b := a.browser(t)
	resp, _ := b.get("/sign-in")
	resp, body := b.get(b.authorize(resp))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(body, "<h1>access_denied</h1>") || !strings.Contains(body, "The sign-in was cancelled or refused.") {
		t.Errorf("error page does not name the error: %s", body)
	}
	// The description is the provider's (or whoever crafted the redirect's)
	// text: it goes to the log, not to the page, escaped or not.
	if strings.Contains(body, "script") {
		t.Errorf("error page reflects the provider's description: %s", body)
	}
	// A sign-in the user cancelled is no alarm: Info.
	if logs := a.logs.String(); !strings.Contains(logs, "level=INFO") || !strings.Contains(logs, "path=/callback") ||
		!strings.Contains(logs, "<script>alert(1)</script>") {
		t.Errorf("log lacks the provider's error: %s", logs)
	}
	if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", resp.Header)
	}
	wantNoStore(t, resp.Header)
	// The spent state leaves an empty session behind: the cookie is deleted.
	if c := oneSetCookie(t, resp.Header, logto.DefaultSessionName); c.MaxAge >= 0 {
		t.Errorf("failed callback left a session cookie: %+v", c)
	}
	resp, _ = b.get("/protected")
	wantRedirect(t, resp, http.StatusFound, "/sign-in?return_to=%2Fprotected")
}

func TestWebCallbackRefused(t *testing.T) {
	a := newWebApp(t, nil)
	setQ := func(k, v string) func(url.Values) {
		return func(q url.Values) { q.Set(k, v) }
	}
	cases := []struct {
		name     string
		change   func(url.Values)
		other    bool // open the callback in another browser
		status   int
		code     string
		signedIn bool // whether the browser is signed in afterwards
	}{
		{name: "forged state", change: setQ("state", "forged"), status: 400, code: "invalid_state"},
		{name: "no state", change: func(q url.Values) { q.Del("state") }, status: 400, code: "invalid_state"},
		{name: "empty state", change: setQ("state", ""), status: 400, code: "invalid_state"},
		{name: "state of another browser", other: true, status: 400, code: "invalid_state"},
		{name: "repeated state", change: func(q url.Values) { q.Add("state", q.Get("state")) }, status: 400, code: "invalid_callback"},
		{name: "no code", change: func(q url.Values) { q.Del("code") }, status: 400, code: "invalid_callback"},
		{name: "iss of another provider", change: setQ("iss", "https://evil.example/oidc"), status: 400, code: "invalid_callback"},
		{name: "forged code", change: setQ("code", "forged"), status: 400, code: "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser(t)
			resp, _ := b.get("/sign-in")
			cb, err := url.Parse(b.authorize(resp))
			if err != nil {
				t.Fatal(err)
			}
			if tc.change != nil {
				q := cb.Query()
				tc.change(q)
				cb.RawQuery = q.Encode()
			}
			if tc.other {
				b = a.browser(t)
			}
			resp, body := b.get(cb.String())
			if resp.StatusCode != tc.status || !strings.Contains(body, "<h1>"+tc.code+"</h1>") {
				t.Errorf("got %d %s, want %d naming %s", resp.StatusCode, body, tc.status, tc.code)
			}
			wantNoStore(t, resp.Header)
			resp, _ = b.get("/protected")
			if got := resp.StatusCode == http.StatusOK; got != tc.signedIn {
				t.Errorf("signed in afterwards = %v, want %v", got, tc.signedIn)
			}
		})
	}
}

// A callback opened again (reloaded, or from the history) by a browser that
// is signed in goes where the sign-in went, without touching the session; a
// signed-out browser, and any other failure, still gets the error page.
func TestWebStaleCallback(t *testing.T) {
	a := newWebApp(t, func(h *logto.WebHandlers) { h.AfterSignIn = "/welcome" })
	b := a.browser(t)
	resp, _ := b.get("/sign-in")
	cb := b.authorize(resp)
	resp, _ = b.get(cb)
	wantRedirect(t, resp, http.StatusSeeOther, "/welcome")
	srvURL, _ := url.Parse(a.srv.URL)
	before := b.jar.Cookies(srvURL)

	// The reload of the callback that signed this browser in goes home.
	for range 2 {
		resp, body := b.get(cb)
		wantRedirect(t, resp, http.StatusSeeOther, "/welcome")
		wantNoStore(t, resp.Header)
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("reloaded callback changed the session: Set-Cookie %q", sc)
		}
		if body != "" && strings.Contains(body, "invalid_state") {
			t.Errorf("reloaded callback answered an error page: %s", body)
		}
	}
	// Any other callback without a state of this browser's is a failure
	// (a forged one, say: login CSRF), answered 4xx; the session stays.
	for _, forged := range []string{"/callback", "/callback?code=x&state=forged"} {
		resp, body := b.get(forged)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<h1>invalid_state</h1>") {
			t.Errorf("callback %s for a signed-in browser: %d %s, want the 400 error page", forged, resp.StatusCode, body)
		}
		if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("callback %s changed the session: Set-Cookie %q", forged, sc)
		}
	}
	if after := b.jar.Cookies(srvURL); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("session cookies changed: %v, then %v", before, after)
	}
	if resp, body := b.get("/protected"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the stale callbacks: %d %s, want still signed in", resp.StatusCode, body)
	}
	if logs := a.logs.String(); !strings.Contains(logs, "code=invalid_state") {
		t.Errorf("log lacks the stale callback: %s", logs)
	}

	// A second sign-in that fails at the provider is no stale callback: the
	// signed-in browser sees the error, and keeps its session.
	a.p.SetFaults(logtotest.Faults{AuthorizeError: "access_denied"})
	resp, _ = b.get("/sign-in")
	resp, body := b.get(b.authorize(resp))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<h1>access_denied</h1>") {
		t.Errorf("a refused second sign-in: %d %s, want the 400 error page", resp.StatusCode, body)
	}
	a.p.SetFaults(logtotest.Faults{})
	if resp, _ := b.get("/protected"); resp.StatusCode != http.StatusOK {
		t.Errorf("after a refused second sign-in: %d, want still signed in", resp.StatusCode)
	}

	// Signed out, the same callback is an error again.
	if resp, _ := b.get("/sign-out"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	resp, body = b.get(cb)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<h1>invalid_state</h1>") {
		t.Errorf("stale callback after sign-out: %d %s, want the 400 error page", resp.StatusCode, body)
	}
	resp, _ = b.get("/protected")
	wantRedirect(t, resp, http.StatusFound, "/sign-in?return_to=%2Fprotected")
}

// encodeSession returns the session cookie that store would set for values.
func encodeSession(t *testing.T, store sessions.Store, name string, values map[string]string) *http.Cookie {
	t.Helper()
	ctx := context.Background()
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, httptest.NewRequest(http.MethodGet, "/", nil), name)
	for k, v := range values {
		if err := s.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c := oneSetCookie(t, w.Header(), name)
	return &http.Cookie{Name: logto.DefaultSessionName, Value: c.Value}
}

func TestWebUndecodableCookie(t *testing.T) {
	a := newWebApp(t, nil)
	otherStore, err := logto.NewCookieStore(a.srv.URL+"/callback", webOtherSecret)
	if err != nil {
		t.Fatal(err)
	}
	// An unsigned ID token: whoever holds the cookie key is trusted.
	forged := map[string]string{logto.StorageKeyIDToken: "e30." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"forged-user"}`)) + ".",
		logto.StorageKeySession: logto.SessionRecord(time.Now(), "h")}
	cases := []struct {
		name   string
		cookie *http.Cookie
		authed bool
	}{
		{"garbage", &http.Cookie{Name: logto.DefaultSessionName, Value: "garbage"}, false},
		{"base64 garbage", &http.Cookie{Name: logto.DefaultSessionName, Value: "MTIzfGFiY3xkZWY="}, false},
		{"signed with another key", encodeSession(t, otherStore, logto.DefaultSessionName, forged), false},
		{"signed for another cookie name", encodeSession(t, a.store, "other", forged), false},
		// Control: the same cookie under the app's key is accepted, so the
		// cases above are refused for their key or name.
		{"signed with the app's key", encodeSession(t, a.store, logto.DefaultSessionName, forged), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser(t)
			srvURL, _ := url.Parse(a.srv.URL)
			b.jar.SetCookies(srvURL, []*http.Cookie{tc.cookie})

			resp, body := b.get("/protected")
			if tc.authed {
				if resp.StatusCode != http.StatusOK || body != "hello forged-user (GET)" {
					t.Fatalf("a cookie signed with the app's key: %d %s", resp.StatusCode, body)
				}
				return
			}
			wantRedirect(t, resp, http.StatusFound, "/sign-in?return_to=%2Fprotected")

			resp, _ = b.get("/sign-in")
			c := oneSetCookie(t, resp.Header, logto.DefaultSessionName)
			if c.Value == tc.cookie.Value {
				t.Error("sign-in did not replace the undecodable cookie")
			}
			wantSessionCookie(t, c, false)
			resp, _ = b.get(b.authorize(resp))
			wantRedirect(t, resp, http.StatusSeeOther, "/")
			if resp, body := b.get("/protected"); resp.StatusCode != http.StatusOK {
				t.Errorf("after sign-in: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestWebCookieAttributes(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	cases := []struct {
		redirect string
		secure   bool
	}{
		{"http://localhost:3000/callback", false},
		{"http://127.0.0.1/callback", false},
		{"https://app.example/callback", true},
		{"HTTPS://App.Example/callback", true},
	}
	for _, tc := range cases {
		t.Run(tc.redirect, func(t *testing.T) {
			store, err := logto.NewCookieStore(tc.redirect, webSecret)
			if err != nil {
				t.Fatal(err)
			}
			if want := logto.CookieOptions(tc.redirect); *store.Options != *want {
				t.Errorf("store options %+v, CookieOptions %+v", *store.Options, *want)
			}
			app, err := logto.NewApp(logto.Config{Endpoint: p.Endpoint(), AppID: p.ClientID(), RedirectURI: tc.redirect})
			if err != nil {
				t.Fatal(err)
			}
			h := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
			w := httptest.NewRecorder()
			h.SignIn().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/sign-in", nil))
			if w.Code != http.StatusFound {
				t.Fatalf("sign-in: %d %s", w.Code, w.Body)
			}
			line := w.Header().Get("Set-Cookie")
			wantSessionCookie(t, oneSetCookie(t, w.Header(), logto.DefaultSessionName), tc.secure)
			for _, attr := range []string{"; Path=/", "; HttpOnly", "; SameSite=Lax", fmt.Sprintf("; Max-Age=%d", logto.DefaultSessionMaxAge)} {
				if !strings.Contains(line, attr) {
					t.Errorf("Set-Cookie %q lacks %q", line, attr)
				}
			}
			if strings.Contains(line, "; Secure") != tc.secure {
				t.Errorf("Set-Cookie %q: Secure should be %v", line, tc.secure)
			}
		})
	}
}

func TestSessionStorageOneSetCookie(t *testing.T) {
	ctx := context.Background()
	store, err := logto.NewCookieStore("http://app.test/callback", webSecret)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	// Cookies of others, some with names that share a prefix, must survive.
	others := []string{"other=1; Path=/", "logto_extra=2", "logtox=3"}
	for _, l := range others {
		w.Header().Add("Set-Cookie", l)
	}
	r := httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
	s := logto.NewSessionStorage(store, w, r, "")
	steps := []func() error{
		func() error { return s.Set(ctx, "a", "1") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Set(ctx, "b", "2") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Delete(ctx, "a") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Flush(ctx) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	c := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	if c.MaxAge != logto.DefaultSessionMaxAge {
		t.Errorf("MaxAge = %d", c.MaxAge)
	}
	lines := w.Header().Values("Set-Cookie")
	if len(lines) != len(others)+1 {
		t.Fatalf("Set-Cookie lines %q", lines)
	}
	for i, l := range others {
		if lines[i] != l {
			t.Errorf("Set-Cookie[%d] = %q, want %q kept in place", i, lines[i], l)
		}
	}
	got := readSession(t, store, c, "a", "b")
	if got["a"] != "" || got["b"] != "2" {
		t.Errorf("cookie holds %v, want only b=2", got)
	}
}

func TestErrorStatusAndCode(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"not authenticated", wrap(logto.ErrNotAuthenticated), 401, "not_authenticated"},
		{"invalid state", logto.ErrInvalidState, 400, "invalid_state"},
		{"cross-site request", wrap(logto.ErrCrossSiteRequest), 403, "cross_site_request"},
		{"invalid callback", wrap(logto.ErrInvalidCallback), 400, "invalid_callback"},
		{"invalid request", wrap(logto.ErrInvalidRequest), 400, "invalid_request"},
		{"invalid token", wrap(logto.ErrInvalidToken), 502, "invalid_token"},
		{"provider", wrap(logto.ErrProvider), 502, "provider_error"},
		{"discovery", wrap(logto.ErrDiscovery), 502, "discovery_failed"},
		{"discovery of an unreachable provider", errors.Join(logto.ErrDiscovery, logto.ErrProvider), 502, "discovery_failed"},
		{"storage", wrap(logto.ErrStorage), 500, "storage_error"},
		{"invalid config", wrap(logto.ErrInvalidConfig), 500, "invalid_config"},
		{"anything else", errors.New("boom"), 500, "internal_error"},
		{"authorize error", &logto.OAuthError{Code: "access_denied", Endpoint: "authorize"}, 400, "access_denied"},
		{"wrapped authorize error", wrap(&logto.OAuthError{Code: "login_required", Endpoint: "authorize"}), 400, "login_required"},
		{"forged or replayed code", &logto.OAuthError{Code: "invalid_grant", Endpoint: "token", StatusCode: 400}, 400, "invalid_grant"},
		{"token endpoint failure", &logto.OAuthError{Code: "server_error", Endpoint: "token", StatusCode: 500}, 502, "server_error"},
		{"client rejected", &logto.OAuthError{Code: "invalid_client", Endpoint: "token", StatusCode: 401}, 502, "invalid_client"},
		{"userinfo error", &logto.OAuthError{Code: "invalid_token", Endpoint: "userinfo", StatusCode: 401}, 502, "invalid_token"},
		{"session ended at the provider", fmt.Errorf("%w: %w", logto.ErrNotAuthenticated,
			&logto.OAuthError{Code: "invalid_grant", Endpoint: "token", StatusCode: 400}), 401, "not_authenticated"},
	}
	for _, tc := range cases {
		if got := logto.ErrorStatus(tc.err); got != tc.status {
			t.Errorf("%s: ErrorStatus = %d, want %d", tc.name, got, tc.status)
		}
		if got := logto.ErrorCode(tc.err); got != tc.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tc.name, got, tc.code)
		}
	}
}

func TestWriteErrorPageEscapes(t *testing.T) {
	w := httptest.NewRecorder()
	logto.WriteErrorPage(w, &logto.OAuthError{Code: `<b>"x"</b>`, Description: "<img src=x onerror=alert(1)>", Endpoint: "authorize"})
	body := w.Body.String()
	if w.Code != http.StatusBadRequest {
		t.Errorf("status %d", w.Code)
	}
	if strings.Contains(body, "<b>") || strings.Contains(body, `"x"`) || strings.Contains(body, "img") {
		t.Errorf("unescaped code or the description shown: %s", body)
	}
	if !strings.Contains(body, "<h1>&lt;b&gt;&#34;x&#34;&lt;/b&gt;</h1>") {
		t.Errorf("body %s", body)
	}
	wantNoStore(t, w.Header())

	// A custom SignInPath is the page's "Sign in again" link, escaped.
	h := &logto.WebHandlers{App: newEnv(t, nil).app, SignInPath: `/login?a="b"&c=<d>`}
	w = httptest.NewRecorder()
	h.WriteError(w, httptest.NewRequest(http.MethodGet, "/x", nil), logto.ErrInvalidState)
	if body := w.Body.String(); !strings.Contains(body, `<a href="/login?a=&#34;b&#34;&amp;c=&lt;d&gt;">Sign in again</a>`) {
		t.Errorf("body %s", body)
	}
}

func TestWebErrorHandler(t *testing.T) {
	errs := make(chan error, 1)
	a := newWebApp(t, func(h *logto.WebHandlers) {
		h.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			errs <- err
			w.WriteHeader(http.StatusTeapot)
		}
	})
	b := a.browser(t)
	for _, tc := range []struct {
		method, target string
		want           error
	}{
		{http.MethodGet, "/callback?code=x&state=forged", logto.ErrInvalidState},
		{http.MethodGet, "/callback?code=x&code=y&state=s", logto.ErrInvalidCallback},
		{http.MethodPost, "/protected", logto.ErrNotAuthenticated},
	} {
		resp, _ := b.do(tc.method, tc.target)
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s %s: status %d, want the ErrorHandler's 418", tc.method, tc.target, resp.StatusCode)
			continue
		}
		if err := <-errs; !errors.Is(err, tc.want) {
			t.Errorf("%s %s: ErrorHandler got %v, want %v", tc.method, tc.target, err, tc.want)
		}
	}
}

// A session planted before sign-in (a cookie the attacker obtained from the
// app and handed to the victim) must not survive it: no session fixation.
func TestWebSignInRenewsSession(t *testing.T) {
	a := newWebApp(t, nil)
	b := a.browser(t)
	srvURL, _ := url.Parse(a.srv.URL)
	planted := encodeSession(t, a.store, logto.DefaultSessionName, map[string]string{
		"planted": "x", logto.StorageKeyIDToken: "planted-token", logto.StorageKeyRefreshToken: "planted-refresh",
	})
	b.jar.SetCookies(srvURL, []*http.Cookie{planted})
	b.signIn("")
	var got *http.Cookie
	for _, c := range b.jar.Cookies(srvURL) {
		if c.Name == logto.DefaultSessionName {
			got = c
		}
	}
	if got == nil {
		t.Fatal("no session cookie after sign-in")
	}
	s := readSession(t, a.store, got, "planted", logto.StorageKeyIDToken, logto.StorageKeyRefreshToken)
	if s["planted"] != "" || s[logto.StorageKeyIDToken] == "planted-token" || s[logto.StorageKeyIDToken] == "" ||
		s[logto.StorageKeyRefreshToken] == "planted-refresh" {
		t.Errorf("session after sign-in: %v", s)
	}
}
