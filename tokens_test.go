package logto_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

func newOrgEnv(t testing.TB, clk *clock, resources ...string) *env {
	if len(resources) == 0 {
		resources = []string{testResource}
	}
	return newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Scopes = []string{logto.ScopeOrganizations}
		c.Resources, p.Resources = resources, resources
		u := logtotest.DefaultUser()
		u.Organizations = []string{"org1", "org2"}
		p.User = &u
		if clk != nil {
			c.Now, p.Now = clk.now, clk.now
		}
	})
}

func TestOrganizationTokens(t *testing.T) {
	e := newOrgEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)

	ids, err := c.OrganizationIDs(ctx)
	if err != nil || !slices.Equal(ids, []string{"org1", "org2"}) {
		t.Fatalf("OrganizationIDs = %v, %v", ids, err)
	}

	at, err := c.GetOrganizationToken(ctx, "org1")
	if err != nil {
		t.Fatal(err)
	}
	req := e.p.LastTokenRequest()
	if req.Get("organization_id") != "org1" || req.Has("resource") || req.Get("grant_type") != "refresh_token" {
		t.Errorf("token request = %v", req)
	}
	claims, _ := at.Claims()
	if claims["aud"] != logto.OrganizationAudience("org1") {
		t.Errorf("aud = %v", claims["aud"])
	}

	rt, err := c.GetOrganizationResourceToken(ctx, testResource, "org2")
	if err != nil {
		t.Fatal(err)
	}
	claims, _ = rt.Claims()
	if claims["aud"] != testResource || claims["organization_id"] != "org2" {
		t.Errorf("organization resource token claims = %v", claims)
	}
	if req := e.p.LastTokenRequest(); req.Get("resource") != testResource || req.Get("organization_id") != "org2" {
		t.Errorf("token request = %v", req)
	}

	// Not a member: the provider says no, and the session is intact.
	_, err = c.GetOrganizationToken(ctx, "org3")
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || oe.StatusCode != http.StatusForbidden || errors.Is(err, logto.ErrNotAuthenticated) {
		t.Fatalf("non-member: err = %v", err)
	}
	if _, err := c.GetOrganizationToken(ctx, "org2"); err != nil {
		t.Fatalf("session lost after a refused organization: %v", err)
	}
	// Each (resource, organization) pair has its own cache entry.
	e.p.ResetCounters()
	for _, get := range []func() (*logto.AccessToken, error){
		func() (*logto.AccessToken, error) { return c.GetOrganizationToken(ctx, "org1") },
		func() (*logto.AccessToken, error) { return c.GetOrganizationResourceToken(ctx, testResource, "org2") },
	} {
		if _, err := get(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.p.Requests("token"); n != 0 {
		t.Errorf("cached organization tokens cost %d token requests", n)
	}
}

// 100 goroutines of one session ask for 3 resources and 2 organizations at
// once, with rotation and reuse detection on: nobody presents a spent
// refresh token, and the session survives.
func TestConcurrentResourcesAndOrganizations(t *testing.T) {
	clk := &clock{}
	resources := []string{testResource, "https://b.example.com", "https://c.example.com"}
	e := newOrgEnv(t, clk, resources...)
	ctx := context.Background()
	seed := logto.NewMemoryStorage()
	e.signIn(t, seed)
	clk.advance(2 * time.Hour)
	e.p.ResetCounters()

	type want struct{ resource, org string }
	wants := []want{{resources[0], ""}, {resources[1], ""}, {resources[2], ""}, {"", "org1"}, {"", "org2"}}
	var wg sync.WaitGroup
	errs := make([]error, 100)
	var newest rtWrites
	for i := range 100 {
		wg.Go(func() {
			s := newest.track(copyStorage(seed))
			c := e.app.Client(s)
			w := wants[i%len(wants)]
			var at *logto.AccessToken
			var err error
			if w.org != "" {
				at, err = c.GetOrganizationToken(ctx, w.org)
			} else {
				at, err = c.GetAccessToken(ctx, w.resource)
			}
			if err == nil {
				claims, _ := at.Claims()
				aud := w.resource
				if w.org != "" {
					aud = logto.OrganizationAudience(w.org)
				}
				if claims["aud"] != aud {
					err = errors.New("wrong audience")
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if n := e.p.Grants("refresh_token"); n != len(wants) {
		t.Errorf("refresh grants = %d, want %d (one per token)", n, len(wants))
	}
	clk.advance(2 * time.Hour)
	if _, err := e.app.Client(copyStorage(newest.last())).GetOrganizationToken(ctx, "org1"); err != nil {
		t.Fatalf("session lost: %v", err)
	}
}

// copyStorage copies a session, as each request of a cookie session reads
// its own copy.
func copyStorage(from logto.Storage) *logto.MemoryStorage {
	ctx := context.Background()
	s := logto.NewMemoryStorage()
	for _, k := range sessionKeys(from) {
		v, _ := from.Get(ctx, k)
		_ = s.Set(ctx, k, v)
	}
	return s
}

// sessionKeys lists the keys a signed-in session occupies in s.
func sessionKeys(s logto.Storage) []string {
	ctx := context.Background()
	keys := []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySession}
	index, _ := s.Get(ctx, logto.StorageKeyAccessTokens)
	var tokens []string
	_ = json.Unmarshal([]byte(index), &tokens)
	for _, k := range tokens {
		keys = append(keys, logto.StorageKeyAccessTokens+":"+k)
	}
	return keys
}

func TestShortLivedTokensAreReused(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Now, p.Now = clk.now, clk.now
		p.AccessTokenTTL = 40 * time.Second // below twice the 30 s margin
	})
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	first, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(10 * time.Second)
	again, err := c.GetAccessToken(ctx, testResource)
	if err != nil || again.Token != first.Token {
		t.Fatalf("a 40 s token was not reused after 10 s: %v", err)
	}
	clk.advance(15 * time.Second) // past half its life
	third, err := c.GetAccessToken(ctx, testResource)
	if err != nil || third.Token == first.Token {
		t.Fatalf("a token past half its life was reused: %v", err)
	}
}

func TestTokenSourceAndTransport(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	want, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+want.Token {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer api.Close()

	for name, hc := range map[string]*http.Client{
		"TokenSource": oauth2.NewClient(ctx, c.TokenSource(ctx, testResource)),
		"Transport":   {Transport: c.Transport(testResource, nil, api.URL)},
	} {
		resp, err := hc.Get(api.URL)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}

	// Signed out: the error reaches the caller typed.
	hc := &http.Client{Transport: e.app.Client(logto.NewMemoryStorage()).Transport(testResource, nil, api.URL)}
	if _, err := hc.Get(api.URL); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Errorf("signed out: err = %v", err)
	}
}

// Ten resource tokens do not fit in a cookie: the cookie session gives up
// cached access tokens, never the identity, and never sends more than a
// browser keeps.
func TestCookieSessionStaysWithinBudget(t *testing.T) {
	resources := make([]string, 10)
	for i := range resources {
		resources[i] = fmt.Sprintf("https://api%d.example.com", i)
	}
	orgs := make([]string, 10)
	for i := range orgs {
		orgs[i] = fmt.Sprintf("org%d", i)
	}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Resources, p.Resources = resources, resources
		c.Scopes = []string{logto.ScopeOrganizations}
		u := logtotest.DefaultUser()
		u.Organizations = orgs
		p.User = &u
	})
	store, err := logto.NewCookieStore(testRedirect, benchSecret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	jar := map[string]string{}
	request := func() (*httptest.ResponseRecorder, *logto.Client) {
		w := httptest.NewRecorder()
		return w, e.app.Client(logto.NewSessionStorage(store, w, requestWith(jarCookies(jar)), ""))
	}
	// keep takes the response's cookies, as a browser would, checking every
	// Set-Cookie line and their sum against the budget.
	keep := func(w *httptest.ResponseRecorder) { applySetCookies(t, jar, w.Header(), logto.DefaultSessionName) }
	size := func() int {
		n := 0
		for _, c := range jarCookies(jar) {
			n += len(c.String())
		}
		return n
	}
	w, c := request()
	authURL, _ := c.SignIn(ctx, logto.SignInOptions{})
	keep(w)
	cb, err := e.p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	w, c = request()
	if _, err := c.HandleSignInCallbackURL(ctx, u); err != nil {
		t.Fatal(err)
	}
	keep(w)
	sizes := []int{size()}
	type want struct{ resource, org, aud string }
	var wants []want
	for _, res := range resources {
		wants = append(wants, want{resource: res, aud: res})
	}
	for _, org := range orgs {
		wants = append(wants, want{org: org, aud: logto.OrganizationAudience(org)})
	}
	get := func(c *logto.Client, w want) (*logto.AccessToken, error) {
		if w.org != "" {
			return c.GetOrganizationToken(ctx, w.org)
		}
		return c.GetAccessToken(ctx, w.resource)
	}
	for _, wt := range wants {
		res := wt.aud
		w, c = request()
		at, err := get(c, wt)
		if err != nil {
			t.Fatalf("%s: %v", res, err)
		}
		if claims, _ := at.Claims(); claims["aud"] != res {
			t.Fatalf("%s: aud %v", res, claims["aud"])
		}
		keep(w)
		sizes = append(sizes, size())
		// The token just minted is the one kept: asking again costs nothing.
		grants := e.p.Grants("refresh_token")
		w, c = request()
		again, err := get(c, wt)
		if err != nil || again.Token != at.Token {
			t.Fatalf("%s asked again: %v", res, err)
		}
		if n := e.p.Grants("refresh_token"); n != grants {
			t.Errorf("%s: the token just minted was not kept in the cookie", res)
		}
		keep(w)
		if ok, _ := c.IsAuthenticated(ctx); !ok {
			t.Fatalf("identity lost after %s", res)
		}
	}
	_, c = request()
	if _, err := c.GetAccessToken(ctx, ""); err != nil {
		t.Fatalf("session unusable at the end: %v", err)
	}
	t.Logf("session cookie (name=value, bytes) after 0, 1, 3, 10 resource tokens and 10 more organization tokens: %d, %d, %d, %d, %d",
		sizes[0], sizes[1], sizes[3], sizes[10], sizes[20])
}

// rtWrites finds, among sessions refreshed concurrently, the one that
// stored a refresh token last: each request stores the newest token of the
// rotation chain it can see, so the last write holds the chain's end (as a
// browser keeps the cookie of the response that came back last).
type rtWrites struct {
	mu     sync.Mutex
	newest *logto.MemoryStorage
}

type rtTracked struct {
	*logto.MemoryStorage
	w *rtWrites
}

func (w *rtWrites) track(s *logto.MemoryStorage) logto.Storage { return rtTracked{s, w} }

func (w *rtWrites) last() *logto.MemoryStorage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newest
}

func (s rtTracked) Set(ctx context.Context, k, v string) error {
	if k != logto.StorageKeyRefreshToken {
		return s.MemoryStorage.Set(ctx, k, v)
	}
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.newest = s.MemoryStorage
	return s.MemoryStorage.Set(ctx, k, v)
}
