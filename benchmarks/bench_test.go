package benchmarks

// Run: cd benchmarks && go test -run '^$' -bench . -benchmem

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/jwks"
	auth0validator "github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

const (
	resource    = logtotest.DefaultResource
	redirectURI = "http://127.0.0.1/callback"
	pool        = 64
)

// minter signs in once and mints fresh access tokens for resource.
type minter struct {
	p       *logtotest.Provider
	client  *logto.Client
	storage *logto.MemoryStorage
}

func newMinter(b *testing.B) *minter {
	b.Helper()
	p := logtotest.NewTestProvider(b, logtotest.Options{RedirectURIs: []string{redirectURI}})
	app, err := logto.NewApp(logto.Config{
		Endpoint:    p.Endpoint(),
		AppID:       p.ClientID(),
		AppSecret:   p.ClientSecret(),
		RedirectURI: redirectURI,
		Resources:   []string{resource},
		Scopes:      []string{"read:messages"},
	})
	if err != nil {
		b.Fatalf("NewApp: %v", err)
	}
	storage := logto.NewMemoryStorage()
	c := app.Client(storage)
	ctx := context.Background()
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		b.Fatalf("SignIn: %v", err)
	}
	cb, err := p.Authorize(ctx, authURL)
	if err != nil {
		b.Fatalf("Authorize: %v", err)
	}
	cbURL, err := url.Parse(cb)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.HandleSignInCallbackURL(ctx, cbURL); err != nil {
		b.Fatalf("callback: %v", err)
	}
	return &minter{p: p, client: c, storage: storage}
}

// token mints a new access token: the client's cache is dropped first, so
// GetAccessToken runs a refresh grant.
func (m *minter) token(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	for _, k := range []string{logto.StorageKeyAccessTokens, logto.StorageKeyAccessTokens + ":" + resource} {
		if err := m.storage.Delete(ctx, k); err != nil {
			b.Fatal(err)
		}
	}
	at, err := m.client.GetAccessToken(ctx, resource)
	if err != nil {
		b.Fatalf("GetAccessToken: %v", err)
	}
	return at.Token
}

func serve(b *testing.B, h http.Handler, tok string) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

var ok = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// newAPIAuth returns apiauth's middleware with discovery and keys already
// fetched (by validating warm, a token outside the pool).
func newAPIAuth(b *testing.B, p *logtotest.Provider, warm string) http.Handler {
	b.Helper()
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: p.Endpoint(), Audience: resource})
	if err != nil {
		b.Fatalf("NewValidator: %v", err)
	}
	if _, err := v.Validate(context.Background(), warm); err != nil {
		b.Fatalf("warm-up: %v", err)
	}
	return v.Middleware(ok)
}

// BenchmarkMiddleware serves one request with a valid token through:
//   - apiauth/first-sight: apiauth with a token it has not seen (full check
//     with signature); a fresh, warmed Validator per cycle of the token pool
//     stands in for an empty verification cache.
//   - apiauth/repeated: apiauth with the same token again (cache hit).
//   - floor/go-jose: no middleware, go-jose parsing and verifying alone.
//   - auth0/go-jwt-middleware: auth0's middleware and validator, keys from
//     the provider's JWKS through its caching provider.
func BenchmarkMiddleware(b *testing.B) {
	m := newMinter(b)
	warm := m.token(b)
	toks := make([]string, pool)
	for i := range toks {
		toks[i] = m.token(b)
	}

	b.Run("apiauth/first-sight", func(b *testing.B) {
		b.ReportAllocs()
		var h http.Handler
		i := 0
		for b.Loop() {
			if i%pool == 0 {
				b.StopTimer()
				h = newAPIAuth(b, m.p, warm)
				b.StartTimer()
			}
			serve(b, h, toks[i%pool])
			i++
		}
	})

	b.Run("apiauth/repeated", func(b *testing.B) {
		h := newAPIAuth(b, m.p, warm)
		serve(b, h, toks[0])
		b.ReportAllocs()
		for b.Loop() {
			serve(b, h, toks[0])
		}
	})

	b.Run("floor/go-jose", func(b *testing.B) {
		resp, err := http.Get(m.p.Endpoint() + "/oidc/jwks")
		if err != nil {
			b.Fatal(err)
		}
		var set jose.JSONWebKeySet
		err = json.NewDecoder(resp.Body).Decode(&set)
		resp.Body.Close()
		if err != nil || len(set.Keys) == 0 {
			b.Fatalf("jwks: %v (%d keys)", err, len(set.Keys))
		}
		key := set.Keys[0].Key
		algs := []jose.SignatureAlgorithm{jose.ES384}
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(toks[0], algs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(key); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("auth0/go-jwt-middleware", func(b *testing.B) {
		issuer, err := url.Parse(m.p.Issuer())
		if err != nil {
			b.Fatal(err)
		}
		keys := jwks.NewCachingProvider(issuer, 5*time.Minute)
		v, err := auth0validator.New(keys.KeyFunc, auth0validator.ES384, m.p.Issuer(), []string{resource})
		if err != nil {
			b.Fatalf("validator: %v", err)
		}
		h := jwtmiddleware.New(v.ValidateToken).CheckJWT(ok)
		serve(b, h, toks[0]) // fetch discovery and keys
		b.ReportAllocs()
		for b.Loop() {
			serve(b, h, toks[0])
		}
	})
}
