package apiauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// routes is the API the tests call: a private route, scoped ones, an
// organization route and an organization-scoped resource route.
func routes(v *apiauth.Validator) http.Handler {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.ClaimsFrom(r.Context())
		fmt.Fprint(w, c.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /private", v.Middleware(ok))
	mux.Handle("GET /scoped", v.Middleware(apiauth.RequireScopes("read:messages", "delete:everything")(ok)))
	mux.Handle("GET /any", v.Middleware(apiauth.RequireAnyScope("delete:everything", "read:messages")(ok)))
	orgID := func(r *http.Request) string { return r.PathValue("id") }
	mux.Handle("GET /orgs/{id}", v.OrganizationMiddleware(orgID)(apiauth.RequireScopes("read:members")(ok)))
	mux.Handle("GET /orgs/{id}/reports", v.OrganizationResourceMiddleware(orgID)(apiauth.RequireScopes("read:reports")(ok)))
	return mux
}

func call(h http.Handler, path string, auth ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// reKid replaces the key ID in tok's header, leaving a bad signature.
func reKid(t testing.TB, tok, kid string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	if err := json.Unmarshal(b, &hdr); err != nil {
		t.Fatal(err)
	}
	hdr["kid"] = kid
	b, _ = json.Marshal(hdr)
	return base64.RawURLEncoding.EncodeToString(b) + "." + parts[1] + "." + parts[2]
}

func invalidToken(desc string) string {
	return `Bearer realm="api", error="invalid_token", error_description="` + desc + `"`
}

func TestRejections(t *testing.T) {
	e := newEnv(t)
	h := routes(e.v)
	good := e.token(t, logtotest.Faults{})
	now := time.Now()
	tests := []struct {
		name   string
		path   string
		auth   []string
		status int
		www    string
	}{
		{"valid", "/private", []string{"Bearer " + good}, 200, ""},
		{"lower-case scheme", "/private", []string{"bearer " + good}, 200, ""},
		{"any scope", "/any", []string{"Bearer " + good}, 200, ""},
		{"no header", "/private", nil, 401, `Bearer realm="api"`},
		{"wrong scheme", "/private", []string{"Basic dXNlcjpwYXNz"}, 401, `Bearer realm="api"`},
		{"two headers", "/private", []string{"Bearer " + good, "Bearer " + good}, 400,
			`Bearer realm="api", error="invalid_request", error_description="more than one Authorization header"`},
		{"empty bearer", "/private", []string{"Bearer "}, 400,
			`Bearer realm="api", error="invalid_request", error_description="malformed bearer credentials"`},
		{"malformed", "/private", []string{"Bearer not.a.jwt"}, 401, invalidToken("malformed token or unsupported algorithm")},
		{"bad signature", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignWrongKey})}, 401, invalidToken("bad signature")},
		{"wrong issuer", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "https://evil.example/oidc")})}, 401, invalidToken("wrong issuer")},
		{"wrong audience", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("aud", "https://other.example.com")})}, 401, invalidToken("wrong audience")},
		{"expired", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("exp", now.Add(-2*time.Minute).Unix())})}, 401, invalidToken("token expired")},
		{"no exp", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: func(m map[string]any) { delete(m, "exp") }})}, 401, invalidToken("no expiry")},
		{"not yet valid", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("nbf", now.Add(time.Hour).Unix())})}, 401, invalidToken("token not yet valid")},
		{"issued in the future", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("iat", now.Add(time.Hour).Unix())})}, 401, invalidToken("token issued in the future")},
		{"alg none", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignNone})}, 401, invalidToken("malformed token or unsupported algorithm")},
		{"HS256 with the public key", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignHS256PublicKey})}, 401, invalidToken("malformed token or unsupported algorithm")},
		{"missing scope", "/scoped", []string{"Bearer " + good}, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read:messages delete:everything"`},
		{"organization token", "/orgs/org1", []string{"Bearer " + e.orgToken(t, "org1")}, 200, ""},
		{"wrong organization", "/orgs/org2", []string{"Bearer " + e.orgToken(t, "org1")}, 401, invalidToken("wrong audience")},
		{"resource token for organization", "/orgs/org1", []string{"Bearer " + good}, 401, invalidToken("wrong audience")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(h, tt.path, tt.auth...)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.www {
				t.Errorf("WWW-Authenticate = %s, want %s", got, tt.www)
			}
			if tt.status == 200 {
				if w.Body.String() != logtotest.DefaultUser().Subject {
					t.Errorf("body = %q", w.Body)
				}
				return
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] == "" || body["error_description"] == "" {
				t.Errorf("body = %s (%v)", w.Body, err)
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "x")}))
	if !errors.Is(err, apiauth.ErrInvalidToken) || errors.Is(err, apiauth.ErrProvider) {
		t.Errorf("wrong issuer: err = %v", err)
	}
	c, err := e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: set("roles", []string{"admin"})}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != logtotest.DefaultUser().Subject || c.ClientID != e.p.ClientID() || !c.HasScope("read:messages") ||
		c.HasScope("write:messages") || !slices.Equal(c.Roles(), []string{"admin"}) || !slices.Equal(c.Audience(), []string{testResource}) ||
		!slices.Contains(c.Scopes(), "read:messages") || c.Expiry.IsZero() {
		t.Errorf("claims = %+v", c)
	}
	var all struct {
		JTI   string   `json:"jti"`
		Roles []string `json:"roles"`
	}
	if err := c.Unmarshal(&all); err != nil || all.JTI == "" || !slices.Equal(all.Roles, []string{"admin"}) {
		t.Errorf("Unmarshal: %+v, %v", all, err)
	}
	if err := c.RequireOrganization("org1"); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("RequireOrganization on a resource token: %v", err)
	}
	oc, err := e.v.ValidateOrganization(ctx, e.orgToken(t, "org1"), "org1")
	if err != nil {
		t.Fatal(err)
	}
	if oc.RequireOrganization("org1") != nil || !errors.Is(oc.RequireOrganization("org2"), apiauth.ErrInvalidToken) || oc.OrganizationID != "org1" {
		t.Errorf("organization claims = %+v", oc)
	}
}

func TestKeysUnavailable(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, logtotest.Faults{})
	e.p.SetFaults(logtotest.Faults{DiscoveryStatus: http.StatusInternalServerError})
	_, err := e.v.Validate(context.Background(), tok)
	if !errors.Is(err, apiauth.ErrProvider) || errors.Is(err, apiauth.ErrInvalidToken) {
		t.Fatalf("err = %v", err)
	}
	w := call(routes(e.v), "/private", "Bearer "+tok)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
		t.Errorf("answer = %d %s", w.Code, w.Body)
	}
	// A bad token is still judged without the provider.
	bad := e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "x")})
	e.p.SetFaults(logtotest.Faults{DiscoveryStatus: http.StatusInternalServerError})
	if _, err := e.v.Validate(context.Background(), bad); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("bad token during outage: %v", err)
	}
	// After the cooldown, the provider is asked again.
	e.p.SetFaults(logtotest.Faults{})
	e.clock.advance(11 * time.Second)
	if _, err := e.v.Validate(context.Background(), tok); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

func TestCheapChecksNeverFetch(t *testing.T) {
	e := newEnv(t)
	toks := []string{
		"junk",
		e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "x")}),
		e.token(t, logtotest.Faults{AccessTokenClaims: set("aud", "x")}),
		e.token(t, logtotest.Faults{AccessTokenClaims: set("exp", 1)}),
		e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignNone}),
		e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignHS256PublicKey}),
	}
	e.p.ResetCounters()
	for _, tok := range toks {
		if _, err := e.v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrInvalidToken) {
			t.Errorf("err = %v", err)
		}
	}
	if n := e.p.Requests("discovery") + e.p.Requests("jwks"); n != 0 {
		t.Errorf("%d fetches for bad tokens", n)
	}
}

func TestRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Mint first: the SDK's own ID token checks fetch keys too.
	first := e.token(t, logtotest.Faults{})
	unknown := e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignUnknownKey})
	e.p.ResetCounters()
	if _, err := e.v.Validate(ctx, first); err != nil {
		t.Fatal(err)
	}
	if n := e.p.Requests("jwks"); n != 1 {
		t.Fatalf("jwks fetches = %d", n)
	}
	e.clock.advance(11 * time.Second)
	_, err := e.v.Validate(ctx, unknown)
	if !errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "unknown signing key") {
		t.Fatalf("unknown kid: %v", err)
	}
	if n := e.p.Requests("jwks"); n != 2 {
		t.Fatalf("jwks fetches after unknown kid = %d, want 2", n)
	}
	e.clock.advance(11 * time.Second)
	e.p.RotateKeys()
	rotated := e.token(t, logtotest.Faults{})
	e.p.ResetCounters()
	if _, err := e.v.Validate(ctx, rotated); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if n := e.p.Requests("jwks"); n != 1 {
		t.Errorf("jwks fetches after rotation = %d, want 1", n)
	}
	// Within the cooldown an unknown kid fails at once, without a fetch.
	if _, err := e.v.Validate(ctx, reKid(t, rotated, "nope")); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("err = %v", err)
	}
	if n := e.p.Requests("jwks"); n != 1 {
		t.Errorf("jwks fetches = %d, want 1", n)
	}
}

func TestKeySetTTL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token(t, logtotest.Faults{})
	e.p.ResetCounters()
	if _, err := e.v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	apiauth.ResetCache(e.v)
	e.clock.advance(9 * time.Minute)
	if _, err := e.v.Validate(ctx, tok); err != nil || e.p.Requests("jwks") != 1 {
		t.Fatalf("within TTL: %v, %d fetches", err, e.p.Requests("jwks"))
	}
	apiauth.ResetCache(e.v)
	e.clock.advance(2 * time.Minute)
	if _, err := e.v.Validate(ctx, tok); err != nil || e.p.Requests("jwks") != 2 {
		t.Fatalf("past TTL: %v, %d fetches", err, e.p.Requests("jwks"))
	}
	// A failed refresh keeps the last good set.
	apiauth.ResetCache(e.v)
	e.clock.advance(11 * time.Minute)
	e.p.AddRawJWK(json.RawMessage(`{not json`))
	if _, err := e.v.Validate(ctx, tok); err != nil || e.p.Requests("jwks") != 3 {
		t.Fatalf("failed refresh: %v, %d fetches", err, e.p.Requests("jwks"))
	}
}

func TestUnknownKeyTypesSkipped(t *testing.T) {
	e := newEnv(t)
	e.p.AddRawJWK(json.RawMessage(`{"kty":"foo","kid":"x"}`))
	e.p.AddRawJWK(json.RawMessage(`{"kty":"OKP","crv":"Ed448","x":"AAAA","kid":"y"}`))
	if _, err := e.v.Validate(context.Background(), e.token(t, logtotest.Faults{})); err != nil {
		t.Fatal(err)
	}
}

func TestRandomKidsFetchFewTimes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	good := e.token(t, logtotest.Faults{})
	if _, err := e.v.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}
	e.p.ResetCounters()
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if g == 0 && i == 25 {
					e.clock.advance(11 * time.Second) // one more fetch allowed
				}
				_, err := e.v.Validate(ctx, reKid(t, good, fmt.Sprintf("kid-%d-%d", g, i)))
				if !errors.Is(err, apiauth.ErrInvalidToken) {
					t.Errorf("err = %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if n := e.p.Requests("jwks"); n > 2 {
		t.Errorf("1000 random kids caused %d key fetches", n)
	}
}

func TestVerificationCache(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.token(t, logtotest.Faults{})
	for range 3 {
		if _, err := e.v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := apiauth.Verifies(e.v); n != 1 {
		t.Errorf("signature checks = %d, want 1", n)
	}
	// The entry does not outlive exp: just past it, the token is checked
	// again (and passes within the leeway); past the leeway it fails.
	c, _ := e.v.Validate(ctx, tok)
	e.clock.advance(c.Expiry.Sub(e.clock.now()) + time.Second)
	if _, err := e.v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := apiauth.Verifies(e.v); n != 2 {
		t.Errorf("signature checks past exp = %d, want 2", n)
	}
	e.clock.advance(time.Minute)
	if _, err := e.v.Validate(ctx, tok); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("past exp and leeway: %v", err)
	}
}

// An oversized key set is the provider's failure (503), not the token's.
func TestJWKSBodyCapped(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, logtotest.Faults{})
	big, _ := json.Marshal(map[string]string{"kty": "foo", "pad": strings.Repeat("a", 1<<20)})
	e.p.AddRawJWK(big)
	_, err := e.v.Validate(context.Background(), tok)
	if !errors.Is(err, apiauth.ErrProvider) || errors.Is(err, apiauth.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrProvider", err)
	}
	if w := call(routes(e.v), "/private", "Bearer "+tok); w.Code != http.StatusServiceUnavailable {
		t.Errorf("answer %d %s, want 503", w.Code, w.Body)
	}
}
