package apiauth_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

const (
	testResource = "https://api.example.com"
	testRedirect = "https://app.example.com/callback"
)

// clock is a settable clock for the client and the validator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a signed-in client of an in-process provider, and a validator.
type env struct {
	p       *logtotest.Provider
	client  *logto.Client
	storage *logto.MemoryStorage
	clock   *clock
	v       *apiauth.Validator
}

func newEnv(t testing.TB) *env {
	t.Helper()
	u := logtotest.DefaultUser()
	u.Organizations = []string{"org1", "org2"}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs: []string{testRedirect},
		Resources:    []string{testResource},
		ResourceScopes: map[string][]string{
			testResource: {"read:messages", "write:messages", "read:reports"},
		},
		User: &u,
	})
	// The client and the validator share a clock, so a test that moves
	// time past the key sets' refetch cooldown moves it for both.
	clk := newClock()
	app, err := logto.NewApp(logto.Config{
		Now:         clk.now,
		Endpoint:    p.Endpoint(),
		AppID:       p.ClientID(),
		AppSecret:   p.ClientSecret(),
		RedirectURI: testRedirect,
		Resources:   []string{testResource},
		Scopes:      []string{logto.ScopeOrganizations, "read:messages", "read:reports"},
	})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	storage := logto.NewMemoryStorage()
	c := app.Client(storage)
	ctx := context.Background()
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	cb, err := p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	cbURL, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleSignInCallbackURL(ctx, cbURL); err != nil {
		t.Fatalf("callback: %v", err)
	}
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: p.Endpoint(), Audience: testResource, Now: clk.now})
	if err != nil {
		t.Fatalf("NewValidator: %v", err)
	}
	return &env{p: p, client: c, storage: storage, clock: clk, v: v}
}

// forget drops the client's cached access tokens, so the next
// GetAccessToken mints a fresh one.
func (e *env) forget(t testing.TB, key string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []string{logto.StorageKeyAccessTokens, logto.StorageKeyAccessTokens + ":" + key} {
		if err := e.storage.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

// token mints a fresh resource token under faults f.
func (e *env) token(t testing.TB, f logtotest.Faults) string {
	t.Helper()
	e.p.SetFaults(f)
	defer e.p.SetFaults(logtotest.Faults{})
	e.forget(t, testResource)
	at, err := e.client.GetAccessToken(context.Background(), testResource)
	if err != nil {
		t.Fatalf("GetAccessToken: %v", err)
	}
	return at.Token
}

// orgToken mints a fresh organization token.
func (e *env) orgToken(t testing.TB, org string) string {
	t.Helper()
	e.forget(t, "#org:"+org)
	at, err := e.client.GetOrganizationToken(context.Background(), org)
	if err != nil {
		t.Fatalf("GetOrganizationToken: %v", err)
	}
	return at.Token
}

// orgResourceToken mints a fresh organization-scoped token of the API
// (aud testResource, organization_id org) under faults f.
func (e *env) orgResourceToken(t testing.TB, org string, f logtotest.Faults) string {
	t.Helper()
	e.p.SetFaults(f)
	defer e.p.SetFaults(logtotest.Faults{})
	e.forget(t, testResource+"#org:"+org)
	at, err := e.client.GetOrganizationResourceToken(context.Background(), testResource, org)
	if err != nil {
		t.Fatalf("GetOrganizationResourceToken: %v", err)
	}
	return at.Token
}

// orgTokenWith mints a fresh organization token under faults f.
func (e *env) orgTokenWith(t testing.TB, org string, f logtotest.Faults) string {
	t.Helper()
	e.p.SetFaults(f)
	defer e.p.SetFaults(logtotest.Faults{})
	return e.orgToken(t, org)
}

// noFaults mints well-behaved tokens.
var noFaults = logtotest.Faults{}

func set(k string, v any) func(map[string]any) {
	return func(m map[string]any) { m[k] = v }
}
