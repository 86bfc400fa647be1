package apiauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// tenant is one Logto tenant of the multi-issuer tests: a provider and the
// URL it is reached at.
type tenant struct {
	p    *logtotest.Provider
	base string // where it answers; p.Endpoint() unless routed
}

func newTenant(t testing.TB) *tenant {
	t.Helper()
	p := logtotest.NewTestProvider(t, logtotest.Options{
		Resources:      []string{testResource},
		ResourceScopes: map[string][]string{testResource: {"read:messages"}},
	})
	return &tenant{p: p, base: p.Endpoint()}
}

// routedTenant is a tenant that calls itself public and answers at its own
// URL only.
func routedTenant(t testing.TB, public string) *tenant {
	t.Helper()
	tn := newTenant(t)
	tn.p.SetBaseURL(public)
	return tn
}

// token mints an M2M access token of the API at tn under faults f.
func (tn *tenant) token(t testing.TB, f logtotest.Faults) string {
	t.Helper()
	return m2mToken(t, tn.p, tn.base, f)
}

// twoTenants is a Validator of a's issuer (Endpoint) and b's (Issuers),
// on clk, with b reached at its ProviderURL when routed.
func twoTenants(t testing.TB, a, b *tenant, clk *clock, edit ...func(*apiauth.Config)) *apiauth.Validator {
	t.Helper()
	second := apiauth.IssuerConfig{Endpoint: b.p.Endpoint()}
	if b.base != b.p.Endpoint() {
		second.ProviderURL = b.base
	}
	cfg := apiauth.Config{
		Endpoint: a.p.Endpoint(),
		Issuers:  []apiauth.IssuerConfig{second},
		Audience: testResource,
		Now:      clk.now,
	}
	for _, f := range edit {
		f(&cfg)
	}
	v, err := apiauth.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testKey is a signing key of the tests' own, for tokens no provider would
// sign: ES384, as logtotest's discovery advertises.
type testKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newTestKey(t testing.TB, kid string) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, priv: priv}
}

// jwk is the key's public half as a JWK.
func (k testKey) jwk(t testing.TB) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: string(jose.ES384), Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign makes an access token of the API naming issuer iss, signed by k,
// valid for an hour from now.
func (k testKey) sign(t testing.TB, iss string, now time.Time) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{
		"iss": iss, "sub": "user-1", "aud": testResource, "client_id": "app",
		"scope": "read:messages", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	jws, err := signer.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// keyServer serves a JWKS the test changes at will.
type keyServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []json.RawMessage
}

func newKeyServer(t testing.TB, keys ...json.RawMessage) *keyServer {
	t.Helper()
	ks := &keyServer{keys: keys}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": ks.keys})
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) set(keys ...json.RawMessage) {
	ks.mu.Lock()
	ks.keys = keys
	ks.mu.Unlock()
}

// Each tenant's tokens pass, checked with its own keys, fetched once from
// it (the second tenant at its ProviderURL), and the claims say which
// tenant vouched for them: the same M2M app ID in two tenants is two apps.
func TestIssuersTakeEachTenantsTokens(t *testing.T) {
	a, b := newTenant(t), routedTenant(t, "https://b.example.test")
	v := twoTenants(t, a, b, newClock())
	ctx := context.Background()
	toks := map[*tenant]string{a: a.token(t, noFaults), b: b.token(t, noFaults)}
	a.p.ResetCounters()
	b.p.ResetCounters()
	h := routes(v)
	for tn, tok := range toks {
		for range 2 {
			c, err := v.Validate(ctx, tok)
			if err != nil {
				t.Fatalf("token of %s: %v", tn.p.Issuer(), err)
			}
			if c.Issuer() != tn.p.Issuer() || c.Subject != tn.p.M2MClientID() {
				t.Errorf("token of %s: issuer %q, subject %q", tn.p.Issuer(), c.Issuer(), c.Subject)
			}
			if w := call(h, "/private", "Bearer "+tok); w.Code != http.StatusOK {
				t.Errorf("token of %s through Middleware: %d %s", tn.p.Issuer(), w.Code, w.Body)
			}
		}
	}
	for _, tn := range []*tenant{a, b} {
		if d, k := tn.p.Requests("discovery"), tn.p.Requests("jwks"); d != 1 || k != 1 {
			t.Errorf("%s: %d discovery and %d key requests, want 1 each", tn.p.Issuer(), d, k)
		}
	}
	if b.p.Issuer() != "https://b.example.test/oidc" {
		t.Fatalf("routed tenant's issuer %q", b.p.Issuer())
	}
}

// A token naming tenant A but signed by tenant B is refused, whichever way
// round: iss picks the keys, and only that issuer's keys are tried (the
// other tenant's are not even fetched).
func TestIssuersForgedIssuerKeyMixRefused(t *testing.T) {
	a, b := newTenant(t), newTenant(t)
	for _, tc := range []struct {
		name          string
		signer, named *tenant
		other         *tenant // whose keys must stay unasked
	}{
		{"signed by B, naming A", b, a, b},
		{"signed by A, naming B", a, b, a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := twoTenants(t, a, b, newClock())
			tok := tc.signer.token(t, logtotest.Faults{AccessTokenClaims: set("iss", tc.named.p.Issuer())})
			tc.other.p.ResetCounters()
			_, err := v.Validate(context.Background(), tok)
			if !errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "unknown signing key") {
				t.Fatalf("err = %v, want an unknown signing key", err)
			}
			if n := tc.other.p.Requests("jwks"); n != 0 {
				t.Errorf("the signer's keys were fetched %d times for a token naming the other tenant", n)
			}
		})
	}
}

// Two tenants may publish the same key ID for different keys: a token is
// checked with the key of that ID in its own issuer's set only.
func TestIssuersSharedKeyIDDoesNotCrossOver(t *testing.T) {
	a, b := newTenant(t), newTenant(t)
	ka, kb := newTestKey(t, "shared"), newTestKey(t, "shared")
	a.p.AddRawJWK(ka.jwk(t))
	b.p.AddRawJWK(kb.jwk(t))
	v := twoTenants(t, a, b, newClock())
	ctx := context.Background()
	now := time.Now()
	for _, tc := range []struct {
		name string
		tok  string
		iss  string // the issuer that vouches for it; "" for a refusal
	}{
		{"A's key naming A", ka.sign(t, a.p.Issuer(), now), a.p.Issuer()},
		{"B's key naming B", kb.sign(t, b.p.Issuer(), now), b.p.Issuer()},
		{"B's key naming A", kb.sign(t, a.p.Issuer(), now), ""},
		{"A's key naming B", ka.sign(t, b.p.Issuer(), now), ""},
	} {
		c, err := v.Validate(ctx, tc.tok)
		switch {
		case tc.iss != "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.iss != "" && c.Issuer() != tc.iss:
			t.Errorf("%s: issuer %q, want %q", tc.name, c.Issuer(), tc.iss)
		case tc.iss == "" && (!errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "bad signature")):
			t.Errorf("%s: err = %v, want a bad signature", tc.name, err)
		}
	}
}

// A verification the cache remembers lives only as long as the token's
// own issuer publishes the key that made it: another tenant publishing
// the same key does not keep it alive.
func TestIssuersCachedTokenDiesWithItsIssuersKey(t *testing.T) {
	a, b := newTenant(t), newTenant(t)
	shared, next := newTestKey(t, "k1"), newTestKey(t, "k2")
	keysA := newKeyServer(t, shared.jwk(t))
	a.p.SetFaults(logtotest.Faults{DiscoveryEdit: func(d map[string]any) { d["jwks_uri"] = keysA.URL }})
	b.p.AddRawJWK(shared.jwk(t))
	clk := newClock()
	v := twoTenants(t, a, b, clk)
	ctx := context.Background()
	now := time.Now()
	old := shared.sign(t, a.p.Issuer(), now)
	for _, tok := range []string{old, shared.sign(t, b.p.Issuer(), now)} {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	// A retires the shared key; B keeps publishing it.
	keysA.set(next.jwk(t))
	clk.advance(11 * time.Second)
	if _, err := v.Validate(ctx, next.sign(t, a.p.Issuer(), now)); err != nil {
		t.Fatalf("A's new key: %v", err)
	}
	if _, err := v.Validate(ctx, old); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Fatalf("A's cached token of the key A retired: err = %v, want ErrInvalidToken", err)
	}
}

// A token of an issuer the Validator does not know is refused before any
// fetch; the error names what it holds and every issuer expected, the
// client hears "wrong issuer" only.
func TestIssuersUnknownIssuerRefused(t *testing.T) {
	a, b := newTenant(t), newTenant(t)
	v := twoTenants(t, a, b, newClock())
	const evil = "https://evil.example/oidc"
	tok := a.token(t, logtotest.Faults{AccessTokenClaims: set("iss", evil)})
	a.p.ResetCounters()
	_, err := v.Validate(context.Background(), tok)
	if !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`"` + evil + `"`, `"` + a.p.Issuer() + `"`, `"` + b.p.Issuer() + `"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to name %s", err, want)
		}
	}
	w := call(routes(v), "/private", "Bearer "+tok)
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != invalidToken("wrong issuer") {
		t.Errorf("answer %d, %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	for _, s := range []string{evil, a.p.Issuer(), b.p.Issuer()} {
		if strings.Contains(w.Body.String()+w.Header().Get("WWW-Authenticate"), s) {
			t.Errorf("the answer names %s: %s", s, w.Body)
		}
	}
	if n := a.p.Requests("discovery") + b.p.Requests("discovery"); n != 0 {
		t.Errorf("%d discovery requests for a token of no known issuer", n)
	}
}

// One tenant's outage is its own: its tokens get 503, the other tenant's
// still pass.
func TestIssuersOneTenantDown(t *testing.T) {
	for name, f := range map[string]logtotest.Faults{
		"keys":      {JWKSStatus: http.StatusServiceUnavailable},
		"discovery": {DiscoveryStatus: http.StatusInternalServerError},
	} {
		t.Run(name, func(t *testing.T) {
			a, b := newTenant(t), newTenant(t)
			v := twoTenants(t, a, b, newClock())
			tokA, tokB := a.token(t, noFaults), b.token(t, noFaults)
			b.p.SetFaults(f)
			h := routes(v)
			if w := call(h, "/private", "Bearer "+tokB); w.Code != http.StatusServiceUnavailable {
				t.Errorf("token of the tenant down: %d %s", w.Code, w.Body)
			}
			if w := call(h, "/private", "Bearer "+tokA); w.Code != http.StatusOK {
				t.Errorf("token of the tenant up: %d %s", w.Code, w.Body)
			}
			if _, err := v.Validate(context.Background(), tokB); !errors.Is(err, apiauth.ErrProvider) || errors.Is(err, apiauth.ErrInvalidToken) {
				t.Errorf("token of the tenant down: err = %v, want ErrProvider", err)
			}
		})
	}
}

// The resource metadata names every issuer, the public one of a routed
// tenant, in the order configured.
func TestIssuersMetadata(t *testing.T) {
	a, b := newTenant(t), routedTenant(t, "https://b.example.test")
	v := twoTenants(t, a, b, newClock())
	r := httptest.NewRequest(http.MethodGet, apiauth.ResourceMetadataPath, nil)
	w := httptest.NewRecorder()
	v.ResourceMetadataHandler().ServeHTTP(w, r)
	var doc struct {
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if want := []string{a.p.Issuer(), "https://b.example.test/oidc"}; !slices.Equal(doc.AuthorizationServers, want) {
		t.Errorf("authorization_servers %q, want %q", doc.AuthorizationServers, want)
	}
}

// Opaque tokens name no issuer: only one issuer may introspect them, and
// tokens of the others are never sent to it nor by it to them.
func TestIssuersIntrospectionAtOneIssuer(t *testing.T) {
	a, b := newTenant(t), newTenant(t)
	v := twoTenants(t, a, b, newClock(), func(c *apiauth.Config) {
		c.Issuers[0].Introspection = apiauth.Introspection{ClientID: b.p.M2MClientID(), ClientSecret: b.p.M2MClientSecret()}
	})
	ctx := context.Background()
	opaqueB, err := b.p.MintOpaqueAccessToken("", testResource, "read:messages")
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Validate(ctx, opaqueB)
	if err != nil {
		t.Fatalf("B's opaque token: %v", err)
	}
	if c.Issuer() != b.p.Issuer() {
		t.Errorf("B's opaque token of issuer %q", c.Issuer())
	}
	opaqueA, err := a.p.MintOpaqueAccessToken("", testResource, "read:messages")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, opaqueA); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("A's opaque token: err = %v, want ErrInvalidToken", err)
	}
	if n := a.p.Requests("introspection"); n != 0 {
		t.Errorf("A's introspection endpoint asked %d times", n)
	}
	if _, err := v.Validate(ctx, a.token(t, noFaults)); err != nil {
		t.Errorf("A's JWT: %v", err)
	}
	// B vouching for a token of A's is not A vouching for it.
	opaque2, err := b.p.MintOpaqueAccessToken("", testResource, "read:messages")
	if err != nil {
		t.Fatal(err)
	}
	b.p.SetFaults(logtotest.Faults{IntrospectionClaims: set("iss", a.p.Issuer())})
	if _, err := v.Validate(ctx, opaque2); !errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "wrong issuer") {
		t.Errorf("B's answer naming A: err = %v, want a wrong issuer", err)
	}
}

// Issuers are checked as Endpoint is, each problem named by its place, and
// an issuer may appear once; at most one may introspect.
func TestIssuersConfigChecked(t *testing.T) {
	const (
		one = "https://one.logto.app"
		two = "https://two.logto.app"
	)
	intro := apiauth.Introspection{ClientID: "api", ClientSecret: "secret"}
	for name, tc := range map[string]struct {
		cfg  apiauth.Config
		word string // "" for a valid config
	}{
		"two issuers":             {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two}}}, ""},
		"a routed second issuer":  {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two, ProviderURL: "http://logto-two:3001"}}}, ""},
		"the second introspects":  {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two, Introspection: intro}}}, ""},
		"no endpoint":             {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{}}}, "Issuers[0].Endpoint must be provided"},
		"an issuer URL":           {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two}, {Endpoint: two + "/oidc"}}}, `Issuers[1].Endpoint "https://two.logto.app/oidc" is the issuer`},
		"http":                    {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: "http://two.example.com"}}}, "Issuers[0].Endpoint"},
		"public http ProviderURL": {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two, ProviderURL: "http://two.example.com"}}}, "Issuers[0].ProviderURL"},
		"Endpoint again":          {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: one + "/"}}}, "Issuers[0].Endpoint"},
		"twice in Issuers":        {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two}, {Endpoint: two}}}, "Issuers[1].Endpoint"},
		"half credentials":        {apiauth.Config{Endpoint: one, Issuers: []apiauth.IssuerConfig{{Endpoint: two, Introspection: apiauth.Introspection{ClientID: "api"}}}}, "Issuers[0].Introspection"},
		"two introspect":          {apiauth.Config{Endpoint: one, Introspection: intro, Issuers: []apiauth.IssuerConfig{{Endpoint: two, Introspection: intro}}}, "at most one issuer"},
	} {
		tc.cfg.Audience = testResource
		_, err := apiauth.NewValidator(tc.cfg)
		switch {
		case tc.word == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.word != "" && (!errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.word)):
			t.Errorf("%s: err = %v, want ErrInvalidConfig saying %q", name, err, tc.word)
		}
	}
}
