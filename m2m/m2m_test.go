package m2m_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/m2m"
)

const (
	apiResource = "https://api.example.com"
	grantCC     = "client_credentials"
)

// clock is a settable clock shared by the provider and the client.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newProvider(t testing.TB, opts logtotest.Options) *logtotest.Provider {
	t.Helper()
	return logtotest.NewTestProvider(t, opts)
}

func newClient(t testing.TB, p *logtotest.Provider, edit func(*m2m.Config)) *m2m.Client {
	t.Helper()
	cfg := m2m.Config{Endpoint: p.Endpoint(), AppID: p.M2MClientID(), AppSecret: p.M2MClientSecret()}
	if edit != nil {
		edit(&cfg)
	}
	c, err := m2m.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// claims decodes a JWT's payload, unverified: the provider is ours.
func claims(t testing.TB, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func oauthCode(t testing.TB, err error) string {
	t.Helper()
	var oe *logto.OAuthError
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not an *OAuthError", err, err)
	}
	if !errors.Is(err, logto.ErrProvider) {
		t.Errorf("error %v does not match ErrProvider", err)
	}
	return oe.Code
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := m2m.New(m2m.Config{Endpoint: "https://t.logto.app/oidc", ExpiryMargin: -time.Second})
	if !errors.Is(err, logto.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"/oidc", "AppID", "AppSecret", "ExpiryMargin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestClientCredentials(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ctx := context.Background()

	tok, err := c.Token(ctx, m2m.ClientCredentials{Resources: []string{apiResource}})
	if err != nil {
		t.Fatal(err)
	}
	cl := claims(t, tok.AccessToken)
	if cl["aud"] != apiResource || cl["sub"] != p.M2MClientID() {
		t.Errorf("resource token claims %v", cl)
	}
	if tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.IssuedTokenType != "" {
		t.Errorf("token %+v", tok)
	}

	org, err := c.Token(ctx, m2m.ClientCredentials{OrganizationID: logtotest.DefaultOrganization})
	if err != nil {
		t.Fatal(err)
	}
	if aud := claims(t, org.AccessToken)["aud"]; aud != "urn:logto:organization:"+logtotest.DefaultOrganization {
		t.Errorf("organization token aud = %v", aud)
	}
	if org.AccessToken == tok.AccessToken {
		t.Error("the organization token is the resource token")
	}
}

// Each refusal comes back typed, with the provider's code; none is cached.
func TestClientCredentialsRefusals(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	ctx := context.Background()
	cases := []struct {
		name  string
		edit  func(*m2m.Config)
		grant m2m.ClientCredentials
		code  string
	}{
		{"bad secret", func(c *m2m.Config) { c.AppSecret = "wrong" }, m2m.ClientCredentials{Resources: []string{apiResource}}, "invalid_client"},
		{"unknown resource", nil, m2m.ClientCredentials{Resources: []string{"https://unknown.example.com"}}, "invalid_target"},
		{"two resources", nil, m2m.ClientCredentials{Resources: []string{apiResource, "https://other.example.com"}}, "invalid_target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, p, tc.edit)
			for range 2 {
				_, err := c.Token(ctx, tc.grant)
				if code := oauthCode(t, err); code != tc.code {
					t.Errorf("code %q, want %q (%v)", code, tc.code, err)
				}
			}
		})
	}
	t.Run("organization the app is not in", func(t *testing.T) {
		c := newClient(t, p, nil)
		_, err := c.Token(ctx, m2m.ClientCredentials{OrganizationID: "org-elsewhere"})
		if code := oauthCode(t, err); code == "" {
			t.Errorf("no code in %v", err)
		}
	})
	t.Run("web app", func(t *testing.T) {
		c := newClient(t, p, func(c *m2m.Config) { c.AppID, c.AppSecret = p.ClientID(), p.ClientSecret() })
		_, err := c.Token(ctx, m2m.ClientCredentials{Resources: []string{apiResource}})
		if code := oauthCode(t, err); code != "unauthorized_client" {
			t.Errorf("code %q (%v)", code, err)
		}
	})
}

func TestBadGrantsFailBeforeSending(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ctx := context.Background()
	for name, g := range map[string]m2m.Grant{
		"nil":                      nil,
		"relative resource":        m2m.ClientCredentials{Resources: []string{"api"}},
		"resource with fragment":   m2m.ClientCredentials{Resources: []string{apiResource + "#x"}},
		"scope with a space":       m2m.ClientCredentials{Resources: []string{apiResource}, Scopes: []string{"a b"}},
		"exchange without token":   m2m.TokenExchange{SubjectTokenType: m2m.PersonalAccessToken},
		"actor token without type": m2m.TokenExchange{SubjectToken: "x", SubjectTokenType: m2m.PersonalAccessToken, ActorToken: "y"},
	} {
		if _, err := c.Token(ctx, g); !errors.Is(err, logto.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if n := p.Grants(grantCC); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// A hundred goroutines asking at once cost one request; so does asking
// again while the token is fresh.
func TestOneRequestForConcurrentCallers(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	g := m2m.ClientCredentials{Resources: []string{apiResource}, Scopes: []string{"read:messages"}}
	var wg sync.WaitGroup
	tokens := make([]string, 100)
	for i := range tokens {
		wg.Go(func() {
			tok, err := c.Token(context.Background(), g)
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatal("callers got different tokens")
		}
	}
	// The same grant spelt another way (scopes are a set) is the same token.
	again, err := c.Token(context.Background(), m2m.ClientCredentials{Resources: []string{apiResource}, Scopes: []string{"read:messages", "read:messages"}})
	if err != nil || again.AccessToken != tokens[0] {
		t.Errorf("asking again: %v", err)
	}
	if n := p.Grants(grantCC); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// A token is asked for again only once it is within the margin of its end.
func TestTokenRenewedOnlyInsideMargin(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	p := newProvider(t, logtotest.Options{Now: clk.Now, AccessTokenTTL: time.Hour})
	const margin = 2 * time.Minute
	c := newClient(t, p, func(c *m2m.Config) { c.Now = clk.Now; c.ExpiryMargin = margin })
	g := m2m.ClientCredentials{Resources: []string{apiResource}}
	first, err := c.Token(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour - margin - time.Second)
	if tok, err := c.Token(context.Background(), g); err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("outside the margin: new token (%v)", err)
	}
	if n := p.Grants(grantCC); n != 1 {
		t.Fatalf("%d requests outside the margin", n)
	}
	clk.Add(2 * time.Second)
	tok, err := c.Token(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == first.AccessToken || p.Grants(grantCC) != 2 {
		t.Errorf("inside the margin: the old token, %d requests", p.Grants(grantCC))
	}
}

// A caller that gives up does not fail the others' request.
func TestCanceledCallerLeavesRequestRunning(t *testing.T) {
	release := make(chan struct{})
	p := newProvider(t, logtotest.Options{})
	slow := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			<-release
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := newClient(t, p, func(c *m2m.Config) { c.HTTPClient = slow })
	g := m2m.ClientCredentials{Resources: []string{apiResource}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Token(ctx, g); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() { _, err := c.Token(context.Background(), g); done <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || !errors.Is(err, logto.ErrProvider) {
		t.Errorf("canceled caller: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the other caller: %v", err)
	}
	if n := p.Grants(grantCC); n != 1 {
		t.Errorf("%d requests", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTokenSource(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ts := c.TokenSource(context.Background(), m2m.ClientCredentials{Resources: []string{apiResource}})
	a, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.Token()
	if err != nil || a.AccessToken != b.AccessToken || !a.Valid() || a.Type() != "Bearer" {
		t.Errorf("tokens %+v, %+v, %v", a, b, err)
	}
	if n := p.Grants(grantCC); n != 1 {
		t.Errorf("%d requests", n)
	}
	if _, err := c.TokenSource(context.Background(), nil).Token(); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("nil grant: %v", err)
	}
}

// The token goes to its API only, and a 401 buys one retry with a new
// token.
func TestTransport(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	var seen atomic.Value
	var refuse atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if refuse.Swap(false) {
			seen.Store(auth)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(auth))
	}))
	defer api.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("the token reached another origin")
		}
	}))
	defer other.Close()

	c := newClient(t, p, nil)
	g := m2m.ClientCredentials{Resources: []string{apiResource}}
	hc := &http.Client{Transport: c.Transport(g, nil, api.URL)}

	get := func(url string) (string, error) {
		resp, err := hc.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	first, err := get(api.URL + "/x")
	if err != nil || !strings.HasPrefix(first, "Bearer ") {
		t.Fatalf("first call: %q, %v", first, err)
	}
	if _, err := get(other.URL); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("call to another origin: %v", err)
	}
	refuse.Store(true)
	second, err := get(api.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	if seen.Load() != first || second == first || !strings.HasPrefix(second, "Bearer ") {
		t.Errorf("after a 401 the retry sent %q (refused %q)", second, seen.Load())
	}
	if n := p.Grants(grantCC); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	// An organization token has no resource URL to go to.
	orgOnly := &http.Client{Transport: c.Transport(m2m.ClientCredentials{OrganizationID: "org-1"}, nil)}
	if _, err := orgOnly.Get(api.URL); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("organization token without origins: %v", err)
	}
}
