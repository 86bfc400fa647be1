package main

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
	"github.com/seed098cf14d/logto/logtotest"
)

// withCookies returns a browser that presents cookies, as one that copied
// them would.
func (a *testApp) withCookies(cookies []*http.Cookie) *testApp {
	a.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	u, _ := url.Parse(a.base)
	jar.SetCookies(u, cookies)
	b := *a
	c := *a.browser
	c.Jar = jar
	b.browser = &c
	return &b
}

func (a *testApp) cookieCopy() []*http.Cookie {
	u, _ := url.Parse(a.base)
	return a.browser.Jar.Cookies(u)
}

// Cookie sessions end for real: a cookie copied before sign-out no longer
// authenticates, and back-channel logout answers 200 and ends the session
// from its next request on.
func TestCookieSessionsEnd(t *testing.T) {
	t.Parallel()
	addr := exampletest.FreeAddr(t)
	base := "http://" + addr
	p := logtotest.NewTestProvider(t, logtotest.Options{
		ClientID: "own-app", ClientSecret: "own-secret",
		RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
	})
	a := startApp(t, addr, map[string]string{
		"LOGTO_ENDPOINT": p.Endpoint(), "LOGTO_APP_ID": p.ClientID(), "LOGTO_APP_SECRET": p.ClientSecret(),
	})

	a.signIn("")
	copied := a.withCookies(a.cookieCopy())
	copied.getJSON("/api/id-token-claims", http.StatusOK)
	if resp, body := a.send(http.MethodPost, "/sign-out", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d %s", resp.StatusCode, body)
	}
	copied.wantJSONError("/api/id-token-claims", http.StatusUnauthorized)
	copied.wantPage("/", "Not authenticated")

	a.signIn("")
	claims := a.getJSON("/api/id-token-claims", http.StatusOK)
	sid, _ := claims["sid"].(string)
	if sid == "" {
		t.Fatal("no sid in the ID token")
	}
	resp, err := p.SendBackchannelLogout(t.Context(), base+"/backchannel-logout", logtotest.LogoutTokenOptions{SessionID: sid})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout in cookie mode: %d", resp.StatusCode)
	}
	a.wantJSONError("/api/id-token-claims", http.StatusUnauthorized)
}

// SESSION_IDLE_TIMEOUT ends a session left alone; one in use lives on.
func TestSessionIdleTimeoutFromEnv(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", map[string]string{"SESSION_IDLE_TIMEOUT": "1500ms", "SESSION_MAX_AGE": "1h"})
	a.signIn("")
	for range 4 { // 2 s of use, every 500 ms
		time.Sleep(500 * time.Millisecond)
		a.wantPage("/", "Authenticated")
	}
	time.Sleep(1600 * time.Millisecond)
	a.wantPage("/", "Not authenticated")
}

// The dev user belongs to logtotest.DefaultOrganization: organization
// tokens work out of the box.
func TestDevOrganizationTokens(t *testing.T) {
	t.Parallel()
	a := startApp(t, "", nil)
	a.signIn("")
	org := logtotest.DefaultOrganization
	tok := a.getJSON("/api/organization-token?organization_id="+org, http.StatusOK)
	wantToken(t, tok, "urn:logto:organization:"+org)
	tok = a.getJSON("/api/organization-resource-token?resource="+url.QueryEscape(apiResource)+"&organization_id="+org, http.StatusOK)
	wantToken(t, tok, apiResource)
	if c, _ := tok["claims"].(map[string]any); c["organization_id"] != org {
		t.Errorf("organization-scoped token claims %v, want organization_id %s", c, org)
	}
	if e := a.wantJSONError("/api/organization-token?organization_id=not-a-member", http.StatusForbidden); !strings.Contains(e, "access_denied") {
		t.Errorf("a non-member's organization token: %s", e)
	}
}
