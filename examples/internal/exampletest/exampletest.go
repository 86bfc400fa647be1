// Package exampletest is the test kit of the example web apps: an example's
// routes served by httptest against an in-process logtotest provider, a
// browser that signs in through it, and the checks every example must pass
// (sign-in and sign-out, the pages and their links, the bearer-token API,
// the dev provider's refusals), so that examples/gin, examples/echo and
// examples/chi test their routers the same way:
//
//	func TestWeb(t *testing.T) { exampletest.Web(t, newRouter) }
package exampletest

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
	"github.com/seed098cf14d/logto/logtotest"
)

// Routes builds an example's router; each example has one.
type Routes func(*exampleapp.App) (http.Handler, error)

// App is an example under test: its routes on an httptest server, signing
// in against Provider, and a browser with a cookie jar that does not follow
// redirects, so that every hop can be checked.
type App struct {
	T        *testing.T
	Provider *logtotest.Provider
	Server   *httptest.Server
	App      *exampleapp.App
	Browser  *http.Client
}

// Start serves routes for a test: the app is configured through
// exampleapp.LoadSettings as the environment env would configure it, with
// LOGTO_ENDPOINT and the client pointed at a fresh logtotest provider,
// BASE_URL at the server, the provider's API resource and the organizations
// and email scopes (what the dev provider gets). The app's log goes to the
// test's log.
func Start(t *testing.T, routes Routes, env map[string]string) *App {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"},
	})
	full := map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_SCOPES":     logto.ScopeEmail + " " + logto.ScopeOrganizations,
		"LOGTO_RESOURCES":  logtotest.DefaultResource,
		"BASE_URL":         base,
		"SESSION_SECRET":   "an example test's session secret, 32+ bytes",
	}
	for k, v := range env {
		full[k] = v
	}
	s, err := exampleapp.LoadSettings(func(k string) string { return full[k] }, "")
	if err != nil {
		t.Fatalf("LoadSettings: %v", err)
	}
	app, err := exampleapp.New(s, testLog{t})
	if err != nil {
		t.Fatalf("exampleapp.New: %v", err)
	}
	h, err := routes(app)
	if err != nil {
		t.Fatalf("routes: %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return &App{T: t, Provider: p, Server: srv, App: app, Browser: NewBrowser(t)}
}

// testLog writes the app's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// NewBrowser returns a client with a cookie jar that does not follow
// redirects.
func NewBrowser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Get fetches u (absolute, or a path of the app) with header.
func (a *App) Get(u string, header http.Header) (*http.Response, string) {
	a.T.Helper()
	return a.Send(http.MethodGet, u, header)
}

// Send makes a request with header, without following redirects, and
// returns the response with its body read.
func (a *App) Send(method, u string, header http.Header) (*http.Response, string) {
	a.T.Helper()
	return Do(a.T, a.Browser, method, a.abs(u), header)
}

func (a *App) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return a.Server.URL + u
	}
	return u
}

// Do sends a request with client and returns the response with its body
// read.
func Do(t testing.TB, client *http.Client, method, u string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	return resp, string(body)
}

// SignIn goes from /sign-in?query through the provider to the callback, and
// returns the callback URL the provider sent the browser to and where the
// callback sent it then.
func (a *App) SignIn(query string) (callback string, after *url.URL) {
	a.T.Helper()
	resp, body := a.Get("/sign-in?"+query, nil)
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authURL, a.Provider.Endpoint()+"/oidc/auth") {
		a.T.Fatalf("/sign-in: %d to %q, want the provider %s; %.300s", resp.StatusCode, authURL, a.Provider.Endpoint(), body)
	}
	callback, err := a.Provider.Authorize(context.Background(), authURL)
	if err != nil {
		a.T.Fatalf("Authorize: %v", err)
	}
	if !strings.HasPrefix(callback, a.Server.URL+"/callback?") {
		a.T.Fatalf("the provider sent the browser to %q, want %s/callback", callback, a.Server.URL)
	}
	resp, body = a.Get(callback, nil)
	after, err = resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		a.T.Fatalf("callback: %d (%v): %.300s", resp.StatusCode, err, body)
	}
	return callback, after
}

// hrefs finds the targets of a page's links, images, forms and stylesheets.
var hrefs = regexp.MustCompile(`(?i)\s(?:href|src|action)\s*=\s*"([^"]*)"`)

// Links returns the targets of the page's links, images, forms and
// stylesheets, unescaped.
func Links(page string) []string {
	var out []string
	for _, m := range hrefs.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// CheckPage fails the test unless page is a styled page of the examples
// that needs nothing from elsewhere: the embedded stylesheet inlined, and
// every link, image, form and stylesheet on the app itself (a path), no
// script, no url() or @import in a style.
func CheckPage(t testing.TB, what, page string) {
	t.Helper()
	if !strings.Contains(page, "<style>") || !strings.Contains(page, "--accent") {
		t.Errorf("%s: no embedded stylesheet: %.300s", what, page)
	}
	for _, l := range Links(page) {
		if !strings.HasPrefix(l, "/") || strings.HasPrefix(l, "//") {
			t.Errorf("%s: a link to %q, want one on the app", what, l)
		}
	}
	for _, bad := range []string{"<script", "url(", "@import", "<link"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("%s: the page holds %q", what, bad)
		}
	}
}

// interactionField finds the sign-in page's interaction ID.
var interactionField = regexp.MustCompile(`name="interaction" value="([^"]+)"`)

// Approve plays the person at the provider's authorization endpoint: it
// opens authURL with client and, when the provider shows its sign-in page
// (logtotest.Options.SignInPage), posts the page's form continuing as user
// number choice (0 the provider's User, 1 the first of its ExtraUsers, ...).
// A provider without the page approves at once. It returns where the
// provider sends the browser then: the app's callback.
func Approve(t testing.TB, client *http.Client, authURL string, choice int) *url.URL {
	t.Helper()
	resp, body := Do(t, client, http.MethodGet, authURL, nil)
	if resp.StatusCode == http.StatusOK {
		m := interactionField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the provider answered a page with no sign-in form: %.600s", body)
		}
		// The form posts to "auth/confirm", relative to the page.
		confirm, err := resp.Request.URL.Parse("auth/confirm")
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"interaction": {m[1]}, "choice": {strconv.Itoa(choice)}}
		req, err := http.NewRequest(http.MethodPost, confirm.String(), strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err = client.Do(req); err != nil {
			t.Fatalf("POST %s: %v", confirm, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
	}
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("the provider answered %d (%v), want a redirect to the app: %.600s", resp.StatusCode, err, body)
	}
	return loc
}

// EndSession opens the provider's end-session URL with client and returns
// where the browser goes back to: the redirect, or with the provider's
// signed-out page (logtotest.Options.SignInPage) its link back to the app.
func EndSession(t testing.TB, client *http.Client, endURL string) *url.URL {
	t.Helper()
	resp, body := Do(t, client, http.MethodGet, endURL, nil)
	if resp.StatusCode == http.StatusOK {
		links := Links(body)
		if len(links) == 0 {
			t.Fatalf("the provider's signed-out page has no link back: %.600s", body)
		}
		back, err := url.Parse(links[len(links)-1])
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("end-session answered %d (%v): %.600s", resp.StatusCode, err, body)
	}
	return loc
}
