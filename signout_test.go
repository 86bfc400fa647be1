package logto_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// sessionCookie returns the browser's session cookie for the app, or nil.
func (b *webBrowser) sessionCookie() *http.Cookie {
	u, err := url.Parse(b.a.srv.URL)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range b.jar.Cookies(u) {
		if c.Name == logto.DefaultSessionName {
			return c
		}
	}
	return nil
}

// Another site must not be able to sign the user out (a link, an image, a
// form posting to /sign-out): the browser marks such requests, and they are
// refused with the session, tokens and all, left as it was.
func TestWebSignOutCrossSiteRefused(t *testing.T) {
	a := newWebApp(t, nil)
	cases := []struct {
		name   string
		method string
		header http.Header
	}{
		{"cross-site GET", http.MethodGet, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site GET", http.MethodGet, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"GET from a foreign Origin", http.MethodGet, http.Header{"Origin": {"https://evil.example"}}},
		{"GET from an opaque origin", http.MethodGet, http.Header{"Origin": {"null"}}},
		{"cross-site POST", http.MethodPost, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
		{"same-site POST", http.MethodPost, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"POST from a foreign Origin", http.MethodPost, http.Header{"Origin": {"https://evil.example"}}},
		{"POST from an opaque origin", http.MethodPost, http.Header{"Origin": {"null"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser(t)
			b.signIn("")
			before := b.sessionCookie()
			revoked := len(a.p.RevokedTokens())

			resp, body := b.doWith(tc.method, "/sign-out", tc.header)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d (Location %q), want 403", resp.StatusCode, resp.Header.Get("Location"))
			}
			if n := len(resp.Header.Values("Set-Cookie")); n != 0 {
				t.Errorf("the refused sign-out set %d cookies", n)
			}
			if n := len(a.p.RevokedTokens()) - revoked; n != 0 {
				t.Errorf("the refused sign-out revoked %d tokens at the provider", n)
			}
			after := b.sessionCookie()
			if after == nil || after.Value != before.Value {
				t.Fatal("the refused sign-out changed the session cookie")
			}
			s := readSession(t, a.store, after, logto.StorageKeyIDToken, logto.StorageKeyRefreshToken)
			if s[logto.StorageKeyIDToken] == "" || s[logto.StorageKeyRefreshToken] == "" {
				t.Errorf("session after the refused sign-out: %v", s)
			}
			if resp, _ := b.get("/protected"); resp.StatusCode != http.StatusOK {
				t.Errorf("/protected after the refused sign-out: %d, want 200", resp.StatusCode)
			}
			if resp.StatusCode == http.StatusForbidden && (body == "" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8") {
				t.Errorf("403 answer %q %q, want a page", resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

// The app's own pages, a typed URL and clients that are not browsers sign
// out as before.
func TestWebSignOutSameOrigin(t *testing.T) {
	a := newWebApp(t, nil)
	cases := []struct {
		name   string
		method string
		header http.Header
	}{
		{"same-origin GET", http.MethodGet, http.Header{"Sec-Fetch-Site": {"same-origin"}}},
		{"typed URL", http.MethodGet, http.Header{"Sec-Fetch-Site": {"none"}}},
		{"GET, no browser headers", http.MethodGet, nil},
		{"same-origin POST", http.MethodPost, http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {a.srv.URL}}},
		{"POST from the app's Origin, no Sec-Fetch-Site", http.MethodPost, http.Header{"Origin": {a.srv.URL}}},
		{"POST, no browser headers", http.MethodPost, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser(t)
			b.signIn("")
			revoked := len(a.p.RevokedTokens())
			resp, body := b.doWith(tc.method, "/sign-out", tc.header)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body %s", resp.StatusCode, body)
			}
			if n := len(a.p.RevokedTokens()) - revoked; n != 1 {
				t.Errorf("%d tokens revoked, want the refresh token", n)
			}
			if resp, _ := b.get("/protected"); resp.StatusCode != http.StatusFound {
				t.Errorf("/protected after sign-out: %d, want 302", resp.StatusCode)
			}
		})
	}
}

// Behind a proxy the Host header is the app's internal address while Origin
// is its public one, the origin of the redirect URI: that Origin is the
// app's own. Another origin is still refused.
func TestWebSignOutBehindProxy(t *testing.T) {
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.RedirectURI = proxiedRedirect
		p.RedirectURIs = []string{proxiedRedirect}
	})
	store, err := logto.NewCookieStore(proxiedRedirect, webSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &logto.WebHandlers{App: e.app, Storage: logto.SessionStorageFunc(store, "")}
	cases := []struct {
		method, origin string
		want           int
	}{
		{http.MethodPost, "https://app.example", http.StatusSeeOther},
		{http.MethodPost, "http://app.example", http.StatusForbidden},
		{http.MethodPost, "https://evil.example", http.StatusForbidden},
		{http.MethodGet, "https://app.example", http.StatusSeeOther},
		{http.MethodGet, "https://APP.example:443", http.StatusSeeOther},
		{http.MethodGet, "http://app.example", http.StatusForbidden},
		{http.MethodGet, "https://app.example:8443", http.StatusForbidden},
		{http.MethodGet, "https://evil.example", http.StatusForbidden},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, "/sign-out", nil)
		r.Host = "internal.test:8080"
		r.Header.Set("Origin", tc.origin)
		w := httptest.NewRecorder()
		h.SignOut().ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s with Origin %s: %d, want %d", tc.method, tc.origin, w.Code, tc.want)
		}
	}
}
