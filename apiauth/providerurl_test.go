package apiauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// publicBase is the provider's public base URL in the ProviderURL tests.
// Nothing answers there: the API runs where only the provider's internal
// URL is reachable.
const publicBase = "https://auth.example.test"

// reachOnly is a transport that lets requests through to one host:port
// and notes every host:port asked for.
type reachOnly struct {
	host string
	mu   sync.Mutex
	seen []string
}

func (r *reachOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.Host)
	r.mu.Unlock()
	if req.URL.Host != r.host {
		return nil, errors.New("no route to " + req.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *reachOnly) hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// m2mToken mints, under faults f, a JWT access token of testResource for
// p's M2M app (client credentials), asking p at base, where it is
// reached.
func m2mToken(t testing.TB, p *logtotest.Provider, base string, f logtotest.Faults) string {
	t.Helper()
	p.SetFaults(f)
	defer p.SetFaults(logtotest.Faults{})
	req, err := http.NewRequest(http.MethodPost, base+"/oidc/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"},
		"resource":   {testResource},
	}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.M2MClientID(), p.M2MClientSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("client credentials: HTTP %d, %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// routedProvider starts a provider that calls itself publicBase and
// answers at its own URL only, which it returns.
func routedProvider(t testing.TB) (*logtotest.Provider, string) {
	t.Helper()
	p := logtotest.NewTestProvider(t, logtotest.Options{
		Resources:      []string{testResource},
		ResourceScopes: map[string][]string{testResource: {"read:messages"}},
	})
	internal := p.Endpoint()
	p.SetBaseURL(publicBase)
	return p, internal
}

// routedValidator is a Validator of publicBase that reaches the provider
// at internal only.
func routedValidator(t testing.TB, p *logtotest.Provider, internal string, edit ...func(*apiauth.Config)) (*apiauth.Validator, *reachOnly) {
	t.Helper()
	u, err := url.Parse(internal)
	if err != nil {
		t.Fatal(err)
	}
	reach := &reachOnly{host: u.Host}
	cfg := apiauth.Config{
		Endpoint:    publicBase,
		ProviderURL: internal,
		Audience:    testResource,
		HTTPClient:  &http.Client{Transport: reach},
	}
	for _, f := range edit {
		f(&cfg)
	}
	v, err := apiauth.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v, reach
}

// With ProviderURL, discovery, keys and introspection are fetched at the
// internal URL, and tokens naming the public issuer pass.
func TestProviderURLReachesTheProviderInside(t *testing.T) {
	p, internal := routedProvider(t)
	v, reach := routedValidator(t, p, internal, func(c *apiauth.Config) {
		c.Introspection = apiauth.Introspection{ClientID: p.M2MClientID(), ClientSecret: p.M2MClientSecret()}
	})
	ctx := context.Background()
	tok := m2mToken(t, p, internal, noFaults)
	p.ResetCounters()
	c, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != p.M2MClientID() || !c.HasScope("read:messages") || c.Issuer() != publicBase+"/oidc" {
		t.Errorf("claims %+v of issuer %q", c, c.Issuer())
	}
	opaque, err := p.MintOpaqueAccessToken("", testResource, "read:messages")
	if err != nil {
		t.Fatal(err)
	}
	oc, err := v.Validate(ctx, opaque)
	if err != nil {
		t.Fatalf("opaque token: %v", err)
	}
	if oc.Issuer() != publicBase+"/oidc" {
		t.Errorf("opaque token of issuer %q", oc.Issuer())
	}
	for ep, want := range map[string]int{"discovery": 1, "jwks": 1, "introspection": 1} {
		if n := p.Requests(ep); n != want {
			t.Errorf("%s requests at the internal URL: %d, want %d", ep, n, want)
		}
	}
	u, _ := url.Parse(internal)
	for _, h := range reach.hosts() {
		if h != u.Host {
			t.Errorf("the validator asked %s, not the internal URL", h)
		}
	}
}

// A provider at the internal URL is believed about its keys, not about who
// it is: a document naming another issuer than the public one, or
// downgrading the keys to http, is refused (503: no token can be judged),
// and a token naming the internal URL as its issuer is not the public
// issuer's.
func TestProviderURLLyingDocumentRefused(t *testing.T) {
	for name, f := range map[string]logtotest.Faults{
		"another issuer":      {DiscoveryIssuer: "https://evil.example/oidc"},
		"the internal issuer": {DiscoveryIssuer: "<internal>"},
		"http keys":           {DiscoveryEdit: func(d map[string]any) { d["jwks_uri"] = "http://auth.example.test/oidc/jwks" }},
	} {
		t.Run(name, func(t *testing.T) {
			p, internal := routedProvider(t)
			v, _ := routedValidator(t, p, internal)
			tok := m2mToken(t, p, internal, noFaults)
			if f.DiscoveryIssuer == "<internal>" {
				f.DiscoveryIssuer = internal + "/oidc"
			}
			p.SetFaults(f)
			p.ResetCounters()
			_, err := v.Validate(context.Background(), tok)
			if !errors.Is(err, apiauth.ErrProvider) || errors.Is(err, apiauth.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrProvider", err)
			}
			if n := p.Requests("discovery"); n != 1 {
				t.Errorf("%d discovery requests at the internal URL, want 1: the document refused must be the one fetched there", n)
			}
			if n := p.Requests("jwks"); n != 0 {
				t.Errorf("%d key fetches after a refused document", n)
			}
		})
	}
	t.Run("token naming the internal issuer", func(t *testing.T) {
		p, internal := routedProvider(t)
		v, _ := routedValidator(t, p, internal)
		tok := m2mToken(t, p, internal, logtotest.Faults{AccessTokenClaims: set("iss", internal+"/oidc")})
		_, err := v.Validate(context.Background(), tok)
		if !errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "wrong issuer") {
			t.Fatalf("err = %v, want a wrong issuer", err)
		}
	})
}

// A jwks_uri on another host than the public one is fetched where the
// provider names it: ProviderURL moves only what lies under Endpoint.
func TestProviderURLKeysElsewhereFetchedAsNamed(t *testing.T) {
	p, internal := routedProvider(t)
	v, reach := routedValidator(t, p, internal)
	tok := m2mToken(t, p, internal, noFaults)
	p.SetFaults(logtotest.Faults{DiscoveryEdit: func(d map[string]any) { d["jwks_uri"] = "https://keys.example.test/jwks" }})
	if _, err := v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrProvider) {
		t.Fatalf("err = %v, want ErrProvider (keys unreachable)", err)
	}
	if !slices.Contains(reach.hosts(), "keys.example.test") {
		t.Errorf("hosts asked: %v, want keys.example.test", reach.hosts())
	}
}

// ProviderURL is checked as the root package checks it.
func TestProviderURLChecked(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://logto:3001":                 true,
		"http://10.0.0.7:3001":              true,
		"http://127.0.0.1:3001":             true,
		"https://logto.internal.example":    true,
		"http://logto.example.com":          false,
		"http://logto:3001/oidc":            false,
		"http://logto:3001/?x=1":            false,
		"ftp://logto":                       false,
		"http://logto:3001/.well-known/foo": false,
	} {
		_, err := apiauth.NewValidator(apiauth.Config{Endpoint: publicBase, ProviderURL: raw, Audience: testResource})
		if (err == nil) != ok {
			t.Errorf("ProviderURL %q: err = %v", raw, err)
		}
		if err != nil && (!errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), "ProviderURL")) {
			t.Errorf("ProviderURL %q: err = %v, want ErrInvalidConfig naming ProviderURL", raw, err)
		}
	}
	if _, err := apiauth.NewValidator(apiauth.Config{Endpoint: publicBase, ProviderURL: "http://logto.example.com", Audience: testResource, InsecureAllowHTTP: true}); err != nil {
		t.Errorf("InsecureAllowHTTP: %v", err)
	}
}
