package logto_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto"
)

var (
	benchAuthKey = []byte("0123456789abcdef0123456789abcdef")
	benchEncKey  = []byte("fedcba9876543210fedcba9876543210")
)

// signedInCookie signs a user in through SessionStorage and returns the store
// and the session cookie a browser would hold.
func signedInCookie(b *testing.B, e *env, resources ...string) (*sessions.CookieStore, *http.Cookie) {
	b.Helper()
	store, err := logto.NewCookieStore(testRedirect, benchAuthKey, benchEncKey)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Start: the pending sign-in lands in a cookie.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://app.test/sign-in", nil)
	c := e.app.Client(logto.NewSessionStorage(store, w, r, ""))
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		b.Fatal(err)
	}
	cbURL, err := e.p.Authorize(ctx, authURL)
	if err != nil {
		b.Fatal(err)
	}
	// Callback, carrying that cookie.
	r = httptest.NewRequest(http.MethodGet, cbURL, nil)
	for _, ck := range w.Result().Cookies() {
		r.AddCookie(ck)
	}
	w = httptest.NewRecorder()
	c = e.app.Client(logto.NewSessionStorage(store, w, r, ""))
	if _, err := c.HandleSignInCallback(ctx, r); err != nil {
		b.Fatal(err)
	}
	for _, res := range resources {
		if _, err := c.GetAccessToken(ctx, res); err != nil {
			b.Fatal(err)
		}
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == logto.DefaultSessionName {
			return store, ck
		}
	}
	b.Fatal("no session cookie")
	return nil, nil
}

// decodeFloor is the floor of the per-request benchmarks: the bare
// securecookie decode of the session cookie that base carries, and a look at
// key.
func decodeFloor(base *http.Request, store *sessions.CookieStore, key string) func(*testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			r := base.WithContext(ctx)
			ck, err := r.Cookie(logto.DefaultSessionName)
			if err != nil {
				b.Fatal(err)
			}
			values := map[any]any{}
			if err := securecookie.DecodeMulti(logto.DefaultSessionName, ck.Value, &values, store.Codecs...); err != nil {
				b.Fatal(err)
			}
			if values[key] == "" {
				b.Fatalf("no %s in the session", key)
			}
		}
	}
}

// BenchmarkSessionCheck is the per-request "is this user signed in, and who"
// check on a cookie session (sdk), beside its floor: a bare securecookie
// decode of the same cookie (floor).
func BenchmarkSessionCheck(b *testing.B) {
	e := newEnv(b, nil)
	store, cookie := signedInCookie(b, e)
	base := httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
	base.AddCookie(cookie)
	ctx := context.Background()
	b.Logf("session cookie: %d bytes", len(cookie.Value))

	b.Run("floor", decodeFloor(base, store, logto.StorageKeyIDToken))
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := base.WithContext(ctx)
			c := e.app.Client(logto.NewSessionStorage(store, nil, r, ""))
			claims, err := c.IDTokenClaims(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if claims.Subject == "" {
				b.Fatal("no subject")
			}
		}
	})
}

// BenchmarkCallback is the callback (code exchange plus ID-token validation)
// against the in-process provider (sdk), beside its floor: a hand-written
// x/oauth2 Exchange plus go-oidc Verify against the same provider (floor).
// Minting each code happens with the timer stopped in both.
func BenchmarkCallback(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()

	b.Run("floor", func(b *testing.B) {
		provider, err := oidc.NewProvider(ctx, e.p.Issuer())
		if err != nil {
			b.Fatal(err)
		}
		verifier := provider.Verifier(&oidc.Config{ClientID: e.p.ClientID()})
		conf := oauth2.Config{
			ClientID: e.p.ClientID(), ClientSecret: e.p.ClientSecret(),
			Endpoint: provider.Endpoint(), RedirectURL: testRedirect,
			Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "profile"},
		}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			pkce := oauth2.GenerateVerifier()
			state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
			authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce), oauth2.SetAuthURLParam("prompt", "consent"))
			cb, err := e.p.Authorize(ctx, authURL)
			if err != nil {
				b.Fatal(err)
			}
			u, _ := url.Parse(cb)
			b.StartTimer()

			q := u.Query()
			if q.Get("state") != state {
				b.Fatal("state")
			}
			tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, raw)
			if err != nil {
				b.Fatal(err)
			}
			if idt.Nonce != nonce {
				b.Fatal("nonce")
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		storage := logto.NewMemoryStorage()
		c := e.app.Client(storage)
		e.signIn(b, storage) // warm discovery and keys, as the floor's NewProvider does
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			cb := e.startSignIn(b, c, logto.SignInOptions{})
			b.StartTimer()
			if _, err := c.HandleSignInCallbackURL(ctx, cb); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCachedAccessToken is GetAccessToken served from the cache of a
// cookie session (sdk), beside the bare securecookie decode of the same
// cookie (floor).
func BenchmarkCachedAccessToken(b *testing.B) {
	e := newEnv(b, nil)
	store, cookie := signedInCookie(b, e, testResource)
	base := httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
	base.AddCookie(cookie)
	ctx := context.Background()
	b.Logf("session cookie with one resource token: %d bytes", len(cookie.Value))

	b.Run("floor", decodeFloor(base, store, logto.StorageKeyAccessTokens+":"+testResource))
	b.Run("sdk", func(b *testing.B) {
		e.p.ResetCounters()
		b.ReportAllocs()
		for b.Loop() {
			r := base.WithContext(ctx)
			c := e.app.Client(logto.NewSessionStorage(store, nil, r, ""))
			at, err := c.GetAccessToken(ctx, testResource)
			if err != nil {
				b.Fatal(err)
			}
			if at.Token == "" {
				b.Fatal("no token")
			}
		}
		if n := e.p.Requests("token"); n != 0 {
			b.Fatalf("a cached token cost %d token requests", n)
		}
	})
}
