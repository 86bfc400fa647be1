package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
	"github.com/seed098cf14d/logto/internal/testskip"
	"github.com/seed098cf14d/logto/logtotest"
)

// redisURL is the Redis the replica test shares, from REDIS_URL; without it
// the test skips, unless LOGTO_REDIS_REQUIRED=1 makes that a failure (CI).
func redisURL(t *testing.T) string {
	u := os.Getenv("REDIS_URL")
	if u == "" {
		testskip.Unavailablef(t, "LOGTO_REDIS_REQUIRED", "REDIS_URL is not set: start redis-server and set REDIS_URL=redis://127.0.0.1:6379/0")
	}
	return u
}

// Two app processes with one SESSION_SECRET and one REDIS_URL behave as one:
// requests alternate between them, and each sees what the other did.
func TestReplicasShareRedisSessions(t *testing.T) {
	redis := redisURL(t)
	addrA, addrB := exampletest.FreeAddr(t), exampletest.FreeAddr(t)
	base := "http://" + addrA // the public URL both replicas serve
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"},
		AccessTokenTTL:         2 * time.Second, // reused for 1 s, then refreshed
	})
	env := map[string]string{
		"LOGTO_ENDPOINT":   p.Endpoint(),
		"LOGTO_APP_ID":     p.ClientID(),
		"LOGTO_APP_SECRET": p.ClientSecret(),
		"LOGTO_RESOURCES":  apiResource,
		"SESSION_SECRET":   "the replicas share this secret of 32+ bytes",
		"REDIS_URL":        redis,
	}
	a := startApp(t, addrA, env)
	envB := map[string]string{"BASE_URL": base, "ADDR": addrB}
	for k, v := range env {
		envB[k] = v
	}
	startApp(t, addrB, envB)
	onB := func(path string) string { return "http://" + addrB + path }

	// Sign-in starts on A; the callback is answered by B, reached the way a
	// load balancer would forward it: to B's address, with the public Host.
	authURL := a.redirect("/sign-in")
	callback := a.redirect(authURL.String())
	req, err := http.NewRequest(http.MethodGet, "http://"+addrB+callback.RequestURI(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = addrA
	resp, err := a.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := resp.Location(); resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/" {
		t.Fatalf("callback on B: %d to %v", resp.StatusCode, loc)
	}
	a.wantPage("/", "Authenticated")
	a.wantPage(onB("/"), "Authenticated")

	claims := a.getJSON(onB("/api/id-token-claims"), http.StatusOK)
	if claims["sub"] != logtotest.DefaultUser().Subject {
		t.Errorf("B's claims: %v", claims)
	}
	first := a.getJSON("/api/access-token?resource="+url.QueryEscape(apiResource), http.StatusOK)
	again := a.getJSON(onB("/api/access-token?resource="+url.QueryEscape(apiResource)), http.StatusOK)
	if first["access_token"] != again["access_token"] {
		t.Error("B minted another token for the one A cached in the shared session")
	}
	// After expiry, concurrent requests alternating between the replicas
	// cause one refresh grant: the session's lock is held across processes.
	time.Sleep(1100 * time.Millisecond)
	p.ResetCounters()
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			target := a.base
			if i%2 == 1 {
				target = "http://" + addrB
			}
			resp, err := a.browser.Get(target + "/api/access-token?resource=" + url.QueryEscape(apiResource))
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
		t.Errorf("refresh grants across both replicas = %d, want 1", n)
	}
	if n := a.cookies.largest.Load(); n > 300 {
		t.Errorf("largest Set-Cookie %d bytes; with Redis the cookie holds only a session ID", n)
	}

	// Sign-out on B ends the session for A too.
	if end := a.redirect(onB("/sign-out")); !strings.HasPrefix(end.String(), p.Issuer()) {
		t.Errorf("sign-out on B went to %s", end)
	}
	a.wantPage("/", "Not authenticated")

	// Back-channel logout through B ends the session A serves; the same
	// logout token again is refused.
	a.signIn("")
	a.wantPage("/", "Authenticated")
	opts := logtotest.LogoutTokenOptions{Subject: logtotest.DefaultUser().Subject, JTI: "replicas-logout-1"}
	resp, err = p.SendBackchannelLogout(context.Background(), onB("/backchannel-logout"), opts)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout: %d", resp.StatusCode)
	}
	a.wantPage("/", "Not authenticated")
	resp, err = p.SendBackchannelLogout(context.Background(), onB("/backchannel-logout"), opts)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("replayed logout token: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}
