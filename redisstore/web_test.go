package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/redisstore"
)

// replicas is one app run as several replicas behind a round-robin load
// balancer: each replica has its own App and its own Store (and Redis
// client), sharing only Redis. Each serves /sign-in, /callback, /sign-out,
// and /protected behind RequireAuth; X-Replica names the one that answered.
type replicas struct {
	p      *logtotest.Provider
	srv    *httptest.Server
	apps   []*logto.App
	stores []*redisstore.Store
	turn   atomic.Int64
}

// newReplicas starts n replicas; store builds each replica's store for the
// app's redirect URI.
func newReplicas(t *testing.T, n int, store func(redirect string) *redisstore.Store) *replicas {
	t.Helper()
	rs := &replicas{}
	var handlers []http.Handler
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers[int(rs.turn.Add(1)-1)%len(handlers)].ServeHTTP(w, r)
	}))
	t.Cleanup(rs.srv.Close)
	redirect, postLogout := rs.srv.URL+"/callback", rs.srv.URL+"/"
	rs.p = logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{redirect},
		PostLogoutRedirectURIs: []string{postLogout},
	})
	for i := range n {
		app, err := logto.NewApp(logto.Config{
			Endpoint: rs.p.Endpoint(), AppID: rs.p.ClientID(), AppSecret: rs.p.ClientSecret(),
			RedirectURI: redirect, PostLogoutRedirectURI: postLogout,
		})
		if err != nil {
			t.Fatal(err)
		}
		st := store(redirect)
		rs.apps = append(rs.apps, app)
		rs.stores = append(rs.stores, st)
		h := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(st, "")}
		mux := http.NewServeMux()
		mux.Handle("/sign-in", h.SignIn())
		mux.Handle("/callback", h.Callback())
		mux.Handle("/sign-out", h.SignOut())
		mux.Handle("/protected", h.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := h.Client(w, r).IDTokenClaims(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "hello %s", claims.Subject)
		})))
		handlers = append(handlers, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Replica", strconv.Itoa(i))
			mux.ServeHTTP(w, r)
		}))
	}
	return rs
}

// browser is a cookie jar that does not follow redirects.
type browser struct {
	t  *testing.T
	rs *replicas
	c  *http.Client
}

func (rs *replicas) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, rs: rs, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get fetches target ("/..." is on the app).
func (b *browser) get(target string) (*http.Response, string) {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.rs.srv.URL + target
	}
	resp, err := b.c.Get(target)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

// signIn runs /sign-in, the provider and /callback, and returns the
// callback's answer.
func (b *browser) signIn() *http.Response {
	b.t.Helper()
	resp, body := b.get("/sign-in")
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	cb, err := b.rs.p.Authorize(context.Background(), resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	resp, body = b.get(cb)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	return resp
}

// wantSignedIn checks that /protected answers the signed-in user.
func (b *browser) wantSignedIn() (replica string) {
	b.t.Helper()
	resp, body := b.get("/protected")
	if want := "hello " + logtotest.DefaultUser().Subject; resp.StatusCode != http.StatusOK || body != want {
		b.t.Fatalf("/protected on replica %s: %d %q, want 200 %q", resp.Header.Get("X-Replica"), resp.StatusCode, body, want)
	}
	return resp.Header.Get("X-Replica")
}

func TestWebSignInAcrossReplicas(t *testing.T) {
	c := redisClient(t)
	prefix := uniquePrefix(t, c)
	f := newFixtureOn(t, c, prefix)
	rs := newReplicas(t, 2, func(redirect string) *redisstore.Store {
		// Each replica has a client of its own, as separate processes would.
		st, err := redisstore.New(redisClient(t), redirect, authKey)
		must(t, err)
		st.Prefix = prefix
		return st
	})
	b := rs.browser(t)

	resp, _ := b.get("/protected")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/sign-in") {
		t.Fatalf("anonymous /protected: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(f.sessionIDs()); n != 0 {
		t.Errorf("an anonymous visit made %d sessions", n)
	}

	// The sign-in starts on one replica and the callback lands on the other.
	resp = b.signIn()
	cookie := oneSetCookie(t, resp.Header, logto.DefaultSessionName)
	if n := len(cookie.Value); n >= 200 {
		t.Errorf("session cookie value has %d bytes, want < 200", n)
	}
	if cookie.MaxAge != logto.DefaultSessionMaxAge || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Errorf("session cookie %+v", cookie)
	}
	raw, err := f.client.Get(context.Background(), f.key(f.onlySessionID())).Bytes()
	must(t, err)
	stored, ok := redisstore.DecodeValues(raw)
	if !ok {
		t.Fatalf("stored value %.60q is not in the store's format", raw)
	}
	if stored[logto.StorageKeyIDToken] == "" || stored[logto.StorageKeyRefreshToken] == "" {
		t.Errorf("Redis holds keys %v; want the ID and refresh tokens", slices.Sorted(maps.Keys(stored)))
	}
	t.Logf("signed-in session: %d bytes in Redis, %d-byte cookie value", len(raw), len(cookie.Value))

	// Both replicas see the session.
	seen := map[string]bool{}
	for range 4 {
		seen[b.wantSignedIn()] = true
	}
	if len(seen) != 2 {
		t.Errorf("served by replicas %v, want both", seen)
	}

	// Sign-out on either replica ends it for both.
	resp, _ = b.get("/sign-out")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if c := oneSetCookie(t, resp.Header, logto.DefaultSessionName); c.MaxAge >= 0 {
		t.Errorf("sign-out kept the cookie %+v", c)
	}
	if ids := f.sessionIDs(); len(ids) != 0 {
		t.Errorf("sign-out left %q in Redis", ids)
	}
	for range 2 {
		if resp, _ := b.get("/protected"); resp.StatusCode != http.StatusFound {
			t.Errorf("/protected after sign-out on replica %s: %d", resp.Header.Get("X-Replica"), resp.StatusCode)
		}
	}
}

// A session ID planted before sign-in is not the signed-in session's.
func TestWebSignInRenewsPlantedSession(t *testing.T) {
	c := redisClient(t)
	prefix := uniquePrefix(t, c)
	f := newFixtureOn(t, c, prefix)
	rs := newReplicas(t, 1, func(redirect string) *redisstore.Store {
		st, err := redisstore.New(c, redirect, authKey)
		must(t, err)
		st.Prefix = prefix
		return st
	})
	b := rs.browser(t)
	resp, _ := b.get("/sign-in")
	planted := oneSetCookie(t, resp.Header, logto.DefaultSessionName)
	plantedID := f.onlySessionID()

	b.signIn()
	b.wantSignedIn()
	if id := f.onlySessionID(); id == plantedID {
		t.Error("the signed-in session kept the pre-sign-in ID")
	}
	s := logto.NewSessionStorage(rs.stores[0], httptest.NewRecorder(), request(planted), "")
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Error("the pre-sign-in cookie reads the signed-in session")
	}
}
