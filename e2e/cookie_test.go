package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCookieSessionManyOrganizations: a user in 60 organizations (an ID
// token of about 4 KB with their IDs and roles) signs in with cookie
// sessions against the real engine, reads their claims, gets 5 organization
// tokens and uses every other route, and signs out. No Set-Cookie line is
// over 4096 bytes, no response's Set-Cookie lines add up to more than 8192,
// and neither does the Cookie header the browser sends. With gorilla's
// cookie store, the SDK's before, the callback answered 500.
func TestCookieSessionManyOrganizations(t *testing.T) {
	p := startProvider(t, ProviderOptions{ExtraOrganizations: 59})
	app := startApp(t, p, map[string]string{"LOGTO_SCOPES": defaultAppScopes + " urn:logto:scope:organization_roles"})
	b := app.Client(t)
	b.SignIn(t, p)
	signedIn := b.LargestSetCookieTotal()

	status, claims := b.GetJSON(t, "/api/id-token-claims")
	if status != http.StatusOK {
		t.Fatalf("/api/id-token-claims: %d %v", status, claims)
	}
	orgs, _ := claims["organizations"].([]any)
	roles, _ := claims["organization_roles"].([]any)
	if len(orgs) != 60 || len(roles) != 60 || claims["sub"] != e2eUser {
		t.Fatalf("claims hold %d organizations and %d roles for %v, want 60 and 60 for %s", len(orgs), len(roles), claims["sub"], e2eUser)
	}

	var last, lastPath string
	for _, o := range orgs[len(orgs)-5:] {
		id, _ := o.(string)
		lastPath = "/api/organization-token?organization_id=" + url.QueryEscape(id)
		tok, c := getToken(t, b, lastPath)
		if !audienceIs(c["aud"], "urn:logto:organization:"+id) || c["scope"] != "read:members" {
			t.Errorf("organization %s: token claims %v", id, c)
		}
		last = tok
	}
	before := p.Stats(t).RefreshGrants
	if again, _ := getToken(t, b, lastPath); again != last {
		t.Errorf("the organization token just minted was not served from the cookie")
	}
	if n := p.Stats(t).RefreshGrants - before; n != 0 {
		t.Errorf("asking again cost %d refresh grants", n)
	}
	for _, path := range []string{
		"/api/userinfo",
		"/api/access-token?resource=" + url.QueryEscape(apiResource),
	} {
		if status, body := b.GetJSON(t, path); status != http.StatusOK {
			t.Errorf("%s: %d %v", path, status, body)
		}
	}
	if page := b.Get(t, "/protected"); page.Status != http.StatusOK {
		t.Errorf("/protected: %v", page)
	}
	home := b.Get(t, "/")
	if !strings.Contains(string(home.Body), "Authenticated") || strings.Contains(string(home.Body), "Not authenticated") {
		t.Fatalf("/ says: %v", home)
	}

	// Sign-out: the refresh token is revoked, and the provider asked to end
	// its session with the ID token as the hint.
	form := findForm(t, home, func(f *Form) bool { return f.Action.Path == "/sign-out" })
	page := b.Submit(t, form, "")
	if page.Location == nil || page.Location.Query().Get("id_token_hint") == "" {
		t.Fatalf("POST /sign-out: %v", page)
	}
	confirm, _ := b.Follow(t, page.Location.String())
	page = b.Submit(t, findForm(t, confirm, func(f *Form) bool { return f.Has("xsrf") }), "yes")
	if page.Location == nil || page.Location.String() != app.Base+"/" {
		t.Fatalf("after confirming sign-out: %v", page)
	}
	if home, _ := b.Follow(t, page.Location.String()); !strings.Contains(string(home.Body), "Not authenticated") {
		t.Errorf("after sign-out / says: %v", home)
	}

	t.Logf("60 organizations: Set-Cookie lines %d bytes at sign-in; largest line %d, largest response %d, largest Cookie header %d (of %d Set-Cookie lines)",
		signedIn, b.LargestSetCookie(), b.LargestSetCookieTotal(), b.LargestCookieHeader(), b.SetCookies())
	if n := b.LargestSetCookie(); n > 4096 {
		t.Errorf("a %d-byte Set-Cookie line; browsers keep at most 4096", n)
	}
	if n := b.LargestSetCookieTotal(); n > 8192 {
		t.Errorf("a response set %d bytes of cookies; at most 8192", n)
	}
	if n := b.LargestCookieHeader(); n > 8192 {
		t.Errorf("the browser sent a %d-byte Cookie header; at most 8192", n)
	}
}

// TestCookieBudgetTable measures, against the node provider, the cookie
// bytes of a cookie session holding 0, 1, 3 and 10 resource tokens, and of
// users in 1, 10, 60 and 200 organizations (after sign-in and the claims,
// then one organization token), and holds every case to the budget: no
// Set-Cookie line over 4096 bytes, no response's lines or Cookie header
// over 8192. The figures are in the README's cookie budget.
func TestCookieBudgetTable(t *testing.T) {
	check := func(t *testing.T, b *Browser, what string) {
		t.Helper()
		t.Logf("%s: largest Cookie header %d, largest response's Set-Cookie lines %d, largest line %d",
			what, b.LargestCookieHeader(), b.LargestSetCookieTotal(), b.LargestSetCookie())
		if n := b.LargestSetCookie(); n > 4096 {
			t.Errorf("%s: a %d-byte Set-Cookie line", what, n)
		}
		if n := b.LargestSetCookieTotal(); n > 8192 {
			t.Errorf("%s: a response set %d bytes of cookies", what, n)
		}
		if n := b.LargestCookieHeader(); n > 8192 {
			t.Errorf("%s: a %d-byte Cookie header", what, n)
		}
	}
	t.Run("resource tokens", func(t *testing.T) {
		p := startProvider(t, ProviderOptions{ExtraResources: 10})
		resources := []string{apiResource}
		for i := 1; i <= 10; i++ {
			resources = append(resources, fmt.Sprintf("https://api-%d.example.com", i))
		}
		app := startApp(t, p, map[string]string{"LOGTO_RESOURCES": strings.Join(resources, " ")})
		for _, n := range []int{0, 1, 3, 10} {
			b := app.Client(t)
			b.SignIn(t, p)
			for _, r := range resources[1 : n+1] {
				getToken(t, b, "/api/access-token?resource="+url.QueryEscape(r))
			}
			b.GetJSON(t, "/api/id-token-claims")
			check(t, b, fmt.Sprintf("%d resource tokens", n))
		}
	})
	for _, orgs := range []int{1, 10, 60, 200} {
		t.Run(fmt.Sprintf("%d organizations", orgs), func(t *testing.T) {
			p := startProvider(t, ProviderOptions{ExtraOrganizations: orgs - 1})
			app := startApp(t, p, map[string]string{"LOGTO_SCOPES": defaultAppScopes + " urn:logto:scope:organization_roles"})
			b := app.Client(t)
			b.SignIn(t, p)
			status, claims := b.GetJSON(t, "/api/id-token-claims")
			if status != http.StatusOK || claims["sub"] != e2eUser {
				t.Fatalf("/api/id-token-claims: %d %v", status, claims)
			}
			getToken(t, b, "/api/organization-token?organization_id=org-e2e")
			got, _ := claims["organizations"].([]any)
			check(t, b, fmt.Sprintf("%d organizations (%d in the claims)", orgs, len(got)))
		})
	}
}
