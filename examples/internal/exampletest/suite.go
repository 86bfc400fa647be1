package exampletest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// Web checks sign-in and sign-out: /protected sends a signed-out browser to
// sign in and back, the home page says who is signed in and has the
// sign-out form, and only the app's own pages can sign the user out.
func Web(t *testing.T, routes Routes) {
	a := Start(t, routes, nil)

	resp, _ := a.Get("/protected", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/sign-in?return_to=%2Fprotected" {
		t.Fatalf("signed-out /protected: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, after := a.SignIn("return_to=/protected"); after.RequestURI() != "/protected" {
		t.Fatalf("the callback went to %s, want /protected", after)
	}
	resp, body := a.Get("/protected", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Protected</h1>") {
		t.Fatalf("signed-in /protected: %d: %s", resp.StatusCode, body)
	}
	resp, body = a.Get("/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authenticated</h1>") || strings.Contains(body, "Not authenticated") {
		t.Fatalf("signed-in /: %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `<form method="post" action="/sign-out"`) {
		t.Errorf("the home page has no sign-out form: %s", body)
	}

	// Another site cannot sign the user out.
	for _, tc := range []struct {
		method string
		header http.Header
	}{
		{http.MethodGet, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{http.MethodGet, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{http.MethodPost, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
		{http.MethodPost, http.Header{"Origin": {"https://evil.example"}}},
	} {
		resp, body = a.Send(tc.method, "/sign-out", tc.header)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s /sign-out %v: %d %.200q, want 403", tc.method, tc.header, resp.StatusCode, body)
		}
		if n := len(a.Provider.RevokedTokens()); n != 0 {
			t.Errorf("%s /sign-out %v: %d tokens revoked", tc.method, tc.header, n)
		}
		if resp, _ = a.Get("/protected", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("/protected after a refused sign-out: %d, want 200", resp.StatusCode)
		}
	}

	resp, _ = a.Send(http.MethodPost, "/sign-out", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {a.Server.URL}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), a.Provider.Endpoint()+"/oidc/") {
		t.Fatalf("POST /sign-out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(a.Provider.RevokedTokens()); n != 1 {
		t.Errorf("POST /sign-out revoked %d tokens, want the refresh token", n)
	}
	if resp, _ = a.Get("/protected", nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("/protected after sign-out: %d, want 302", resp.StatusCode)
	}
}

// browserAccept is what a browser sends when it opens a page.
var browserAccept = http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}

// HomeRoutes are the routes the signed-in home page links to, with the
// values that work for the dev provider's user.
var HomeRoutes = []string{
	"/protected",
	"/api/id-token-claims",
	"/api/userinfo",
	"/api/access-token?" + url.Values{"resource": {logtotest.DefaultResource}}.Encode(),
	"/api/organization-token?organization_id=" + logtotest.DefaultOrganization,
	"/api/organization-resource-token?" + url.Values{"resource": {logtotest.DefaultResource}, "organization_id": {logtotest.DefaultOrganization}}.Encode(),
}

// Pages checks the pages: styled with the embedded stylesheet and nothing
// from elsewhere; signed out, sign-in and sign-up; signed in, the user's
// name, email and picture (a placeholder, as the dev user has none) and a
// link to every route, each answering 200 when followed, JSON indented for
// a browser and compact otherwise; error pages with the code, a sentence
// and the links home and to sign in again; JSON errors as JSON; and a
// reloaded callback of a signed-in browser going home.
func Pages(t *testing.T, routes Routes) {
	a := Start(t, routes, nil)

	resp, body := a.Get("/", browserAccept)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Not authenticated</h1>") {
		t.Fatalf("signed-out /: %d %.300s", resp.StatusCode, body)
	}
	CheckPage(t, "signed-out /", body)
	for _, want := range []string{"/sign-in", "/sign-in?first_screen=register"} {
		if !slices.Contains(Links(body), want) {
			t.Errorf("signed-out /: no link to %s in %v", want, Links(body))
		}
	}
	resp, _ = a.Get("/sign-in?first_screen=register", browserAccept)
	if loc, err := resp.Location(); err != nil || loc.Query().Get("first_screen") != logto.FirstScreenRegister {
		t.Errorf("sign-up: %d to %v, want the provider with first_screen=register", resp.StatusCode, loc)
	}

	// Errors: a page for pages, JSON for the JSON routes.
	resp, body = a.Get("/callback", browserAccept)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<h1>invalid_state</h1>") ||
		!strings.Contains(body, logto.ErrorMessage(logto.ErrInvalidState)) {
		t.Errorf("signed-out /callback: %d %.600s, want the 400 error page naming invalid_state", resp.StatusCode, body)
	}
	CheckPage(t, "the error page", body)
	if l := Links(body); !slices.Contains(l, "/") || !slices.Contains(l, "/sign-in") ||
		!strings.Contains(body, ">Home</a>") || !strings.Contains(body, ">Sign in again</a>") {
		t.Errorf("the error page lacks Home and Sign in again: %v", l)
	}
	resp, body = a.Get("/api/userinfo", browserAccept)
	var e map[string]string
	if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e["error"] != "not_authenticated" {
		t.Errorf("signed-out /api/userinfo: %d %s, want 401 {\"error\": \"not_authenticated\"}", resp.StatusCode, body)
	}

	callback, _ := a.SignIn("")
	resp, body = a.Get("/", browserAccept)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Authenticated</h1>") || strings.Contains(body, "Not authenticated") {
		t.Fatalf("signed-in /: %d %.300s", resp.StatusCode, body)
	}
	CheckPage(t, "signed-in /", body)
	user := logtotest.DefaultUser()
	for _, want := range []string{user.Name, user.Email, `class="avatar"`} {
		if !strings.Contains(body, want) {
			t.Errorf("signed-in /: no %q", want)
		}
	}
	links := Links(body)
	for _, want := range HomeRoutes {
		if !slices.Contains(links, want) {
			t.Errorf("signed-in /: no link to %s in %v", want, links)
		}
	}
	for _, l := range links {
		if strings.HasPrefix(l, "/sign-") {
			continue
		}
		resp, page := a.Get(l, browserAccept)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the home page's link %s: %d %.300s", l, resp.StatusCode, page)
			continue
		}
		if !strings.HasPrefix(l, "/api/") {
			CheckPage(t, l, page)
			continue
		}
		if !json.Valid([]byte(page)) || !strings.Contains(page, "{\n  \"") {
			t.Errorf("%s for a browser: %.300q, want indented JSON", l, page)
		}
		_, page = a.Get(l, nil)
		if !json.Valid([]byte(page)) || strings.Contains(strings.TrimSuffix(page, "\n"), "\n") {
			t.Errorf("%s for a program: %.300q, want compact JSON", l, page)
		}
	}

	// The callback again (a reload): home, still signed in.
	resp, _ = a.Get(callback, browserAccept)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Errorf("the callback again: %d to %q, want 303 to /", resp.StatusCode, loc)
	}
	if _, body = a.Get("/", nil); !strings.Contains(body, "<h1>Authenticated</h1>") {
		t.Error("signed out by a reloaded callback")
	}
}

// MessagesAPI checks GET /api/messages, the framework examples' route
// behind apiauth: 401 with a Bearer challenge without a valid token, 200
// with the subject for an access token of the app's API.
func MessagesAPI(t *testing.T, routes Routes) {
	a := Start(t, routes, nil)
	resp, body := a.Get("/api/messages", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d (WWW-Authenticate %q): %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	if resp, _ = a.Get("/api/messages", bearer("not-a-jwt")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %d, want 401", resp.StatusCode)
	}

	a.SignIn("")
	resp, body = a.Get("/api/access-token?"+url.Values{"resource": {logtotest.DefaultResource}}.Encode(), nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("/api/access-token: %d %s", resp.StatusCode, body)
	}
	resp, body = a.Get("/api/messages", bearer(tok.AccessToken))
	var got struct {
		Subject  string   `json:"subject"`
		Messages []string `json:"messages"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("with a token: %d: %s", resp.StatusCode, body)
	}
	if got.Subject != logtotest.DefaultUser().Subject || len(got.Messages) == 0 {
		t.Fatalf("body %+v", got)
	}
}

// RunFunc is an example's run: it serves until ctx ends.
type RunFunc func(ctx context.Context, getenv func(string) string, stdout io.Writer) error

// DevProviderNeverStandsIn checks that run, with LOGTO_ENDPOINT unset,
// refuses to start for app credentials or a BASE_URL on a real host, naming
// LOGTO_ENDPOINT.
func DevProviderNeverStandsIn(t *testing.T, run RunFunc) {
	for _, env := range []map[string]string{
		{"LOGTO_APP_ID": "real-app"},
		{"LOGTO_APP_SECRET": "real-secret"},
		{"BASE_URL": "https://app.example.com"},
		{"BASE_URL": "http://192.168.1.20:3000"},
		{"BASE_URL": "http://localhost.evil.example:3000"},
	} {
		env["ADDR"] = "127.0.0.1:0"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out strings.Builder
		err := run(ctx, func(k string) string { return env[k] }, &out)
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Errorf("%v: run started (err %v); output:\n%s", env, err, out.String())
			continue
		}
		if !strings.Contains(err.Error(), "LOGTO_ENDPOINT") {
			t.Errorf("%v: error %q does not name LOGTO_ENDPOINT", env, err)
		}
	}
}

// Framework runs every check on a framework example (chi, gin, echo):
// its router (routes) and its program (run), /api/messages included.
func Framework(t *testing.T, routes Routes, run RunFunc) {
	t.Run("Web", func(t *testing.T) { Web(t, routes) })
	t.Run("Pages", func(t *testing.T) { Pages(t, routes) })
	t.Run("MessagesAPI", func(t *testing.T) { MessagesAPI(t, routes) })
	t.Run("DevProviderNeverStandsIn", func(t *testing.T) { DevProviderNeverStandsIn(t, run) })
	t.Run("RunsWithDevProvider", func(t *testing.T) { RunsWithDevProvider(t, run) })
}
