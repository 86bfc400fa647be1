package logto_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/cookiekeys"
)

// benchSecret is the cookie stores' secret in benchmarks and budget tests.
var benchSecret = []byte("bench-session-secret-of-32+bytes!")

// signedInCookie signs a user in through SessionStorage and returns the store
// and the session cookies a browser would hold.
func signedInCookie(b *testing.B, e *env, resources ...string) (*logto.CookieStore, []*http.Cookie) {
	b.Helper()
	store, err := logto.NewCookieStore(testRedirect, benchSecret)
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
	jar := map[string]string{}
	applySetCookies(b, jar, w.Header(), logto.DefaultSessionName)
	for _, res := range resources {
		w = httptest.NewRecorder()
		r = httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
		for _, ck := range jarCookies(jar) {
			r.AddCookie(ck)
		}
		c = e.app.Client(logto.NewSessionStorage(store, w, r, ""))
		if _, err := c.GetAccessToken(ctx, res); err != nil {
			b.Fatal(err)
		}
		applySetCookies(b, jar, w.Header(), logto.DefaultSessionName)
	}
	if len(jar) == 0 {
		b.Fatal("no session cookie")
	}
	return store, jarCookies(jar)
}

// requestWith is a request to the app carrying cookies.
func requestWith(cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.test/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// sealFloor is the floor of the per-request benchmarks: the bare work no
// sealed cookie can skip, a base64url decode of the session cookie's value
// and an AES-256-GCM open of the bytes, under the key the store derives
// from benchSecret.
func sealFloor(b *testing.B, cookies []*http.Cookie) func(*testing.B) {
	if len(cookies) != 1 {
		b.Fatalf("%d session cookies; the floor reads one", len(cookies))
	}
	keys, err := cookiekeys.SealingKeys([][]byte{benchSecret})
	if err != nil {
		b.Fatal(err)
	}
	block, err := aes.NewCipher(keys[0])
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	value := cookies[0].Value
	ad := append([]byte{1}, logto.DefaultSessionName...)
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sealed, err := base64.RawURLEncoding.DecodeString(value)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := aead.Open(sealed[12:12], sealed[:12], sealed[12:], ad); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSignedInCheck is the per-request "is this user signed in" check
// (IsAuthenticated through SessionStorage) on a CookieStore session: with
// the cookie seen before (sdk: a signed-in user's cookie changes only when
// the session does, and the store remembers what it opened) and seen for
// the first time by a store in use (sdk-first-sight: decoded, opened and
// remembered). Beside it, the same
// check on the cookie of gorilla's CookieStore holding the same values
// (gorilla, the store this SDK used before), gorilla's bare securecookie
// decode of that cookie (gorilla-decode), and the floor: a bare base64url
// decode and AES-GCM open of the CookieStore cookie (floor). Each reports
// its cookie's size (cookie-B: name=value). A check that only reads leaves
// the request as it was, so the sdk cases reuse one; gorilla's registry
// marks every request it reads, so its cases copy one per check.
func BenchmarkSignedInCheck(b *testing.B) {
	e := newEnv(b, nil)
	store, cookies := signedInCookie(b, e)
	ctx := context.Background()

	// The same values, in gorilla's cookie store with keys from the same
	// secret, as this SDK built it before CookieStore.
	values := map[any]any{}
	sess, _ := store.New(requestWith(cookies), logto.DefaultSessionName)
	maps.Copy(values, sess.Values)
	pairs, err := cookiekeys.FromSecrets([][]byte{benchSecret})
	if err != nil {
		b.Fatal(err)
	}
	gorilla := sessions.NewCookieStore(pairs...)
	gorilla.MaxAge(logto.DefaultSessionMaxAge)
	encoded, err := securecookie.EncodeMulti(logto.DefaultSessionName, values, gorilla.Codecs...)
	if err != nil {
		b.Fatal(err)
	}
	gorillaCookies := []*http.Cookie{{Name: logto.DefaultSessionName, Value: encoded}}
	size := func(cs []*http.Cookie) float64 {
		n := 0
		for _, c := range cs {
			n += len(c.String())
		}
		return float64(n)
	}

	check := func(store sessions.Store, cookies []*http.Cookie, firstSight bool) func(*testing.B) {
		return func(b *testing.B) {
			base := requestWith(cookies)
			b.ReportAllocs()
			for b.Loop() {
				if cs, ok := store.(*logto.CookieStore); ok && firstSight {
					logto.ForgetOpenedSessions(cs)
				}
				r := base
				if _, ours := store.(*logto.CookieStore); !ours {
					// gorilla's registry marks the request it reads:
					// each check needs one of its own.
					r = base.WithContext(ctx)
				}
				ok, err := e.app.Client(logto.NewSessionStorage(store, nil, r, "")).IsAuthenticated(ctx)
				if err != nil || !ok {
					b.Fatalf("signed in = %v, %v", ok, err)
				}
			}
			b.ReportMetric(size(cookies), "cookie-B")
		}
	}
	b.Run("sdk", check(store, cookies, false))
	b.Run("sdk-first-sight", check(store, cookies, true))
	b.Run("gorilla", check(gorilla, gorillaCookies, false))
	b.Run("gorilla-decode", func(b *testing.B) {
		base := requestWith(gorillaCookies)
		b.ReportAllocs()
		for b.Loop() {
			ck, err := base.Cookie(logto.DefaultSessionName)
			if err != nil {
				b.Fatal(err)
			}
			v := map[any]any{}
			if err := securecookie.DecodeMulti(logto.DefaultSessionName, ck.Value, &v, gorilla.Codecs...); err != nil {
				b.Fatal(err)
			}
			if v[logto.StorageKeyIDToken] == "" {
				b.Fatal("no ID token")
			}
		}
		b.ReportMetric(size(gorillaCookies), "cookie-B")
	})
	b.Run("floor", sealFloor(b, cookies))
}

// BenchmarkSessionCheck is the per-request "is this user signed in, and who"
// check on a cookie session (sdk), beside its floor: a bare base64url decode
// and AES-GCM open of the same cookie (floor).
func BenchmarkSessionCheck(b *testing.B) {
	e := newEnv(b, nil)
	store, cookies := signedInCookie(b, e)
	base := requestWith(cookies)
	ctx := context.Background()

	b.Run("floor", sealFloor(b, cookies))
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
// cookie session (sdk), beside the bare base64url decode and AES-GCM open
// of the same cookie (floor).
func BenchmarkCachedAccessToken(b *testing.B) {
	e := newEnv(b, nil)
	store, cookies := signedInCookie(b, e, testResource)
	base := requestWith(cookies)
	ctx := context.Background()

	b.Run("floor", sealFloor(b, cookies))
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
