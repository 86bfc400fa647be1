package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
	"github.com/seed098cf14d/logto/logtotest"
)

// browserAccept is what a browser sends when it opens a page.
var browserAccept = http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}}

// walkHome signs in, then follows every link of the signed-in home page but
// sign-in and sign-out, as a browser would, wanting 200 for each, and
// returns the links.
func (a *testApp) walkHome() []string {
	a.t.Helper()
	resp, home := a.send(http.MethodGet, "/", browserAccept)
	if resp.StatusCode != http.StatusOK || !strings.Contains(home, "<h1>Authenticated</h1>") {
		a.t.Fatalf("signed-in /: %d %.300s", resp.StatusCode, home)
	}
	exampletest.CheckPage(a.t, "signed-in /", home)
	links := exampletest.Links(home)
	for _, l := range links {
		if strings.HasPrefix(l, "/sign-") {
			continue
		}
		if resp, body := a.send(http.MethodGet, l, browserAccept); resp.StatusCode != http.StatusOK {
			a.t.Errorf("the home page's link %s: %d %.300s", l, resp.StatusCode, body)
		}
	}
	return links
}

// Against the embedded dev provider, as `go run ./examples/nethttp` starts,
// the home page links every route with values that work: the app asks for
// the dev resource and the organizations scope.
func TestDevProviderHomeLinksWork(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)
	_, home := a.send(http.MethodGet, "/", browserAccept)
	exampletest.CheckPage(t, "signed-out /", home)
	a.signIn("")
	links := a.walkHome()
	for _, want := range exampletest.HomeRoutes {
		if !slices.Contains(links, want) {
			t.Errorf("no link to %s in %v", want, links)
		}
	}
}

// With a provider of one's own and no resource or organizations scope
// configured, the home page says what to set instead of linking routes that
// cannot work.
func TestHomeLinksFollowConfiguration(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	p := logtotest.NewTestProvider(t, logtotest.Options{RedirectURIs: []string{"http://" + addr + "/callback"}})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT": p.Endpoint(), "LOGTO_APP_ID": p.ClientID(), "LOGTO_APP_SECRET": p.ClientSecret(),
	})
	a.signIn("")
	links := a.walkHome()
	for _, l := range links {
		if strings.Contains(l, "access-token") || strings.Contains(l, "organization") {
			t.Errorf("a link to %s with no resource or organizations scope configured", l)
		}
	}
	_, home := a.get("/")
	for _, want := range []string{"LOGTO_RESOURCES", "LOGTO_SCOPES", "urn:logto:scope:organizations", "no email"} {
		if !strings.Contains(home, want) {
			t.Errorf("the home page does not mention %s: %.2000s", want, home)
		}
	}
}

// A callback opened again (a reload, the history) by a signed-in browser
// goes home; signed out, it is still an error page.
func TestStaleCallbackGoesHome(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)
	authURL := a.redirect("/sign-in")
	callback := exampletest.Approve(t, a.browser, authURL.String(), 0)
	if after := a.redirect(callback.String()); after.Path != "/" {
		t.Fatalf("callback went to %s", after)
	}
	if again := a.redirect(callback.String()); again.String() != a.base+"/" {
		t.Errorf("the callback again went to %s, want %s/", again, a.base)
	}
	a.wantPage("/", "Authenticated")

	a.redirect("/sign-out")
	resp, body := a.send(http.MethodGet, callback.RequestURI(), browserAccept)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "<h1>invalid_state</h1>") || !strings.Contains(body, ">Sign in again</a>") {
		t.Errorf("the callback again, signed out: %d %.600s, want the error page", resp.StatusCode, body)
	}
	exampletest.CheckPage(t, "the error page", body)
	a.wantPage("/", "Not authenticated")
}

// Two local apps on different ports keep their own session cookie,
// logto_<port>, though browsers keep cookies per host: signing in to one
// does not sign the other out.
func TestLocalAppsOnTwoPortsKeepTheirSessions(t *testing.T) {
	t.Parallel()
	one, other := startApp(t, "", nil), startApp(t, "", nil)
	other.browser.Jar = one.browser.Jar // one browser
	one.signIn("")
	other.signIn("")
	one.wantPage("/", "Authenticated")
	other.wantPage("/", "Authenticated")

	names := func(a *testApp) []string {
		u, _ := url.Parse(a.base)
		var out []string
		for _, c := range a.browser.Jar.Cookies(u) {
			out = append(out, c.Name)
		}
		return out
	}
	for _, a := range []*testApp{one, other} {
		u, _ := url.Parse(a.base)
		if got := names(a); !slices.Contains(got, "logto_"+u.Port()) {
			t.Errorf("cookies for %s: %v, want logto_%s", a.base, got, u.Port())
		}
	}
	if resp, body := one.send(http.MethodPost, "/sign-out", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d %s", resp.StatusCode, body)
	}
	one.wantPage("/", "Not authenticated")
	other.wantPage("/", "Authenticated")
}

// DEV_PROVIDER_AUTO_APPROVE=1 turns the dev provider's pages off, for
// programs that drive the app: the authorization endpoint sends the browser
// straight back to the callback, signed in as the dev user, and the
// end-session endpoint straight back to the app.
func TestDevProviderAutoApprove(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", map[string]string{"DEV_PROVIDER_AUTO_APPROVE": "1"})
	authURL := a.redirect("/sign-in")
	callback := a.redirect(authURL.String())
	a.checkCallbackURL(callback)
	if after := a.redirect(callback.String()); after.Path != "/" {
		t.Fatalf("callback went to %s", after)
	}
	a.wantPage("/", logtotest.DefaultUser().Name)
	end := a.redirect("/sign-out")
	if back := a.redirect(end.String()); back.String() != a.base+"/" {
		t.Errorf("end-session sent the browser to %s, want %s/", back, a.base)
	}
	a.wantPage("/", "Not authenticated")
}

// Without it, the dev provider shows its sign-in page, where the second
// user can be picked too.
func TestDevProviderSignInPage(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)
	_, home := a.get("/")
	if !strings.Contains(home, "Second User") {
		t.Errorf("the signed-out home page does not say who the dev provider offers: %.2000s", home)
	}
	authURL := a.redirect("/sign-in")
	resp, page := a.get(authURL.String())
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Continue as Dev User") || !strings.Contains(page, "Continue as Second User") {
		t.Fatalf("the dev provider's authorization endpoint: %d %.600s, want its sign-in page", resp.StatusCode, page)
	}
	callback := exampletest.Approve(t, a.browser, authURL.String(), 1)
	a.checkCallbackURL(callback)
	a.redirect(callback.String())
	claims := a.getJSON("/api/id-token-claims", http.StatusOK)
	if claims["sub"] != logtotest.SecondUser().Subject {
		t.Errorf("signed in as %v, want %s", claims["sub"], logtotest.SecondUser().Subject)
	}
	// The second user is in no organization: the home page says so and
	// links no organization route.
	links := a.walkHome()
	for _, l := range links {
		if strings.Contains(l, "organization") {
			t.Errorf("a link to %s for a user in no organization", l)
		}
	}
}
