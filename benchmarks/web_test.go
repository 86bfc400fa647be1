package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// BenchmarkSignedInRequest serves a signed-in browser request over
// loopback HTTP (keep-alive, one client) through:
//   - sdk-cookie: a net/http app on this SDK with its default cookie
//     sessions (WebHandlers.RequireAuth; GetAccessToken for the default
//     token, from the cookie's cache);
//   - plain-memory: the same routes in a plain go-oidc + x/oauth2 + gorilla
//     app whose sessions live in server memory (the cookie holds a signed
//     session ID), the usual hand-written setup.
//
// Each reports p50-ns, the median request latency, beside ns/op.
func BenchmarkSignedInRequest(b *testing.B) {
	p := logtotest.NewTestProvider(b, logtotest.Options{})
	sdk := &lateHandler{}
	sdkSrv := httptest.NewServer(sdk)
	defer sdkSrv.Close()
	sdk.set(newSDKApp(b, p, sdkSrv.URL))
	plain := &lateHandler{}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	plain.set(newPlainApp(b, p, plainSrv.URL))

	for _, app := range []struct{ name, base string }{{"sdk-cookie", sdkSrv.URL}, {"plain-memory", plainSrv.URL}} {
		client := signedInBrowser(b, p, app.base)
		for _, route := range []string{"/protected", "/token"} {
			b.Run(strings.TrimPrefix(route, "/")+"/"+app.name, func(b *testing.B) {
				get(b, client, app.base+route) // warm
				lat := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					get(b, client, app.base+route)
					lat = append(lat, time.Since(start))
				}
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			})
		}
	}
}

// lateHandler serves a handler set once its server's URL is known.
type lateHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (l *lateHandler) set(h http.Handler) { l.mu.Lock(); l.h = h; l.mu.Unlock() }
func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.RLock()
	h := l.h
	l.mu.RUnlock()
	h.ServeHTTP(w, r)
}

func get(b *testing.B, c *http.Client, u string) {
	resp, err := c.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
}

// signedInBrowser signs in to the app at base as a browser would and
// returns the browser.
func signedInBrowser(b *testing.B, p *logtotest.Provider, base string) *http.Client {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/sign-in")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	cb, err := p.Authorize(context.Background(), resp.Header.Get("Location"))
	if err != nil {
		b.Fatalf("Authorize: %v", err)
	}
	resp, err = c.Get(cb)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		b.Fatalf("callback: %d", resp.StatusCode)
	}
	return c
}

func newSDKApp(b *testing.B, p *logtotest.Provider, base string) http.Handler {
	b.Helper()
	app, err := logto.NewApp(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI: base + "/callback",
	})
	if err != nil {
		b.Fatal(err)
	}
	store, err := logto.NewCookieStore(base+"/callback", []byte(strings.Repeat("s", 32)))
	if err != nil {
		b.Fatal(err)
	}
	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
	mux := http.NewServeMux()
	mux.Handle("GET /sign-in", web.SignIn())
	mux.Handle("GET /callback", web.Callback())
	mux.Handle("GET /protected", web.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	mux.Handle("GET /token", web.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at, err := web.Client(w, r).GetAccessToken(r.Context(), "")
		if err != nil {
			http.Error(w, "no token", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, at.Token[:8])
	})))
	return mux
}

// newPlainApp is the hand-written go-oidc + x/oauth2 + gorilla app with
// sessions in server memory.
func newPlainApp(b *testing.B, p *logtotest.Provider, base string) http.Handler {
	b.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		b.Fatal(err)
	}
	cfg := &oauth2.Config{
		ClientID: p.ClientID(), ClientSecret: p.ClientSecret(),
		Endpoint: provider.Endpoint(), RedirectURL: base + "/callback",
		Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "profile"},
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: p.ClientID()})
	store := newMemoryStore([]byte(strings.Repeat("k", 32)))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sign-in", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "s")
		state, verifier := random(), oauth2.GenerateVerifier()
		sess.Values["state"], sess.Values["verifier"] = state, verifier
		_ = sess.Save(r, w)
		http.Redirect(w, r, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent")), http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "s")
		if r.URL.Query().Get("state") != sess.Values["state"] {
			http.Error(w, "state", http.StatusBadRequest)
			return
		}
		tok, err := cfg.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(sess.Values["verifier"].(string)))
		if err != nil {
			http.Error(w, "exchange", http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		if _, err := verifier.Verify(r.Context(), raw); err != nil {
			http.Error(w, "id token", http.StatusBadGateway)
			return
		}
		sess.Values = map[any]any{"id_token": raw, "token": tok}
		_ = sess.Save(r, w)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	signedIn := func(r *http.Request) (*sessions.Session, bool) {
		sess, _ := store.Get(r, "s")
		_, ok := sess.Values["id_token"].(string)
		return sess, ok
	}
	mux.HandleFunc("GET /protected", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := signedIn(r); !ok {
			http.Redirect(w, r, "/sign-in", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		sess, ok := signedIn(r)
		if !ok {
			http.Redirect(w, r, "/sign-in", http.StatusFound)
			return
		}
		tok, err := cfg.TokenSource(r.Context(), sess.Values["token"].(*oauth2.Token)).Token()
		if err != nil {
			http.Error(w, "no token", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, tok.AccessToken[:8])
	})
	return mux
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// memoryStore is the small gorilla store such an app writes: a signed
// session ID in the cookie, the values in a map.
type memoryStore struct {
	codec securecookie.Codec
	mu    sync.RWMutex
	m     map[string]map[any]any
}

func newMemoryStore(key []byte) *memoryStore {
	return &memoryStore{codec: securecookie.New(key, nil), m: map[string]map[any]any{}}
}

func (s *memoryStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

func (s *memoryStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.IsNew = true
	if c, err := r.Cookie(name); err == nil {
		var id string
		if s.codec.Decode(name, c.Value, &id) == nil {
			s.mu.RLock()
			vals, ok := s.m[id]
			s.mu.RUnlock()
			if ok {
				sess.ID, sess.IsNew = id, false
				for k, v := range vals {
					sess.Values[k] = v
				}
			}
		}
	}
	return sess, nil
}

func (s *memoryStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.ID == "" {
		sess.ID = random()
	}
	vals := make(map[any]any, len(sess.Values))
	for k, v := range sess.Values {
		vals[k] = v
	}
	s.mu.Lock()
	s.m[sess.ID] = vals
	s.mu.Unlock()
	v, err := s.codec.Encode(sess.Name(), sess.ID)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sess.Name(), Value: v, Path: "/", HttpOnly: true})
	return nil
}
