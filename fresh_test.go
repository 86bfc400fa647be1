package logto_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// A forced refresh asks the provider even while the cached token is good,
// returns the new token, caches it in place of the old one and keeps the
// rotated refresh token.
func TestRefreshAccessTokenSkipsTheCache(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	first, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	rt0, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)

	e.p.ResetCounters()
	second, err := c.RefreshAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	if second.Token == first.Token {
		t.Fatal("the cached token came back")
	}
	if n := e.p.Grants("refresh_token"); n != 1 {
		t.Errorf("%d refresh grants, want 1", n)
	}
	if e.p.LastTokenRequest().Get("resource") != testResource {
		t.Errorf("token request %v", e.p.LastTokenRequest())
	}
	if rt1, _ := storage.Get(ctx, logto.StorageKeyRefreshToken); rt1 == rt0 || rt1 == "" {
		t.Error("the rotated refresh token was not stored")
	}
	if again, err := c.GetAccessToken(ctx, testResource); err != nil || again.Token != second.Token {
		t.Errorf("the cache does not hold the new token: %v", err)
	}
	if n := e.p.Grants("refresh_token"); n != 1 {
		t.Errorf("%d refresh grants after a cached read, want 1", n)
	}

	// The default token too, and no resource outside Config.Resources.
	if _, err := c.RefreshAccessToken(ctx, ""); err != nil {
		t.Fatal(err)
	}
	e.p.ResetCounters()
	if _, err := c.RefreshAccessToken(ctx, "https://other.example.com"); !errors.Is(err, logto.ErrInvalidRequest) || e.p.Requests("token") != 0 {
		t.Errorf("unknown resource: err %v after %d token requests", err, e.p.Requests("token"))
	}
	if _, err := e.app.Client(logto.NewMemoryStorage()).RefreshAccessToken(ctx, testResource); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Errorf("signed out: err %v", err)
	}
}

// Forced refreshes of one session at once never overlap and never spend a
// refresh token twice: they share one grant when they all want to replace
// the same token.
func TestConcurrentForcedRefreshesShareOneGrant(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	seed := logto.NewMemoryStorage()
	e.signIn(t, seed)
	first, err := e.app.Client(seed).GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	e.p.ResetCounters()
	var newest rtWrites
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Go(func() {
			at, err := e.app.Client(newest.track(copyStorage(seed))).RefreshAccessToken(ctx, testResource)
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = at.Token
		})
	}
	wg.Wait()
	if slices.Contains(tokens, first.Token) {
		t.Error("a forced refresh returned the token it was to replace")
	}
	if n := e.p.Grants("refresh_token"); n != 1 {
		t.Errorf("%d refresh grants for 20 callers replacing one token, want 1", n)
	}
	// The session goes on: no spent refresh token was presented.
	c := e.app.Client(copyStorage(newest.last()))
	if _, err := c.RefreshAccessToken(ctx, testResource); err != nil {
		t.Fatalf("session lost: %v", err)
	}
	if n := e.p.Grants("refresh_token"); n != 2 {
		t.Errorf("%d refresh grants, want 2", n)
	}
}

// Logto re-reads organization membership on every refresh: a forced
// refresh hears at once that the user left, and the token it was to
// replace is no longer handed out.
func TestRefreshOrganizationToken(t *testing.T) {
	e := newOrgEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	first, err := c.GetOrganizationToken(ctx, "org1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.RefreshOrganizationToken(ctx, "org1")
	if err != nil || second.Token == first.Token {
		t.Fatalf("forced organization token: %v", err)
	}
	if req := e.p.LastTokenRequest(); req.Get("organization_id") != "org1" || req.Has("resource") {
		t.Errorf("token request %v", req)
	}
	if _, err := c.RefreshOrganizationResourceToken(ctx, testResource, "org2"); err != nil {
		t.Fatal(err)
	}
	if req := e.p.LastTokenRequest(); req.Get("organization_id") != "org2" || req.Get("resource") != testResource {
		t.Errorf("token request %v", req)
	}

	u := logtotest.DefaultUser()
	u.Organizations = []string{"org2"}
	e.p.SetUser(u)
	e.p.ResetCounters()
	if at, err := c.GetOrganizationToken(ctx, "org1"); err != nil || at.Token != second.Token || e.p.Grants("refresh_token") != 0 {
		t.Fatalf("the cached token: %v", err)
	}
	var oe *logto.OAuthError
	if _, err := c.RefreshOrganizationToken(ctx, "org1"); !errors.As(err, &oe) || oe.Code != "access_denied" {
		t.Fatalf("err %v, want access_denied", err)
	}
	if _, err := c.GetOrganizationToken(ctx, "org1"); !errors.As(err, &oe) || oe.Code != "access_denied" {
		t.Errorf("the refused token is still handed out: err %v", err)
	}
	if ok, _ := c.IsAuthenticated(ctx); !ok {
		t.Error("the session ended with one organization's refusal")
	}
	if _, err := c.RefreshOrganizationToken(ctx, ""); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("no organization: err %v", err)
	}
}

// An API that answers 401 to a token gets the request once more with a
// token refreshed for it; the cache then holds the new one.
func TestTransportRetriesAfter401WithAFreshToken(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	first, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seen, bodies []string
	refuseAll := false
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, tok)
		bodies = append(bodies, string(body))
		refuse := refuseAll || tok == first.Token
		mu.Unlock()
		if refuse {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer api.Close()
	hc := &http.Client{Transport: c.Transport(testResource, nil, api.URL)}

	e.p.ResetCounters()
	resp, err := hc.Post(api.URL, "text/plain", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d after the retry", resp.StatusCode)
	}
	mu.Lock()
	if len(seen) != 2 || seen[0] != first.Token || seen[1] == first.Token || bodies[1] != "payload" {
		t.Errorf("the API saw %d requests (%v), bodies %q", len(seen), seen[1:], bodies)
	}
	fresh := seen[len(seen)-1]
	mu.Unlock()
	if n := e.p.Grants("refresh_token"); n != 1 {
		t.Errorf("%d refresh grants, want 1", n)
	}
	if at, err := c.GetAccessToken(ctx, testResource); err != nil || at.Token != fresh {
		t.Errorf("the cache does not hold the fresh token: %v", err)
	}

	// An API that refuses every token: one retry, its 401 answered, one
	// refresh per request.
	mu.Lock()
	refuseAll, seen = true, nil
	mu.Unlock()
	e.p.ResetCounters()
	resp, err = hc.Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	n := len(seen)
	mu.Unlock()
	if resp.StatusCode != http.StatusUnauthorized || n != 2 || e.p.Grants("refresh_token") != 1 {
		t.Errorf("status %d after %d API requests and %d refresh grants, want 401 after 2 and 1",
			resp.StatusCode, n, e.p.Grants("refresh_token"))
	}
}
