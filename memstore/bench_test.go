package memstore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/memstore"
)

// signedInSession signs in through the provider, so the session holds real
// tokens, and returns the harness holding its cookie.
func signedInSession(b *testing.B, store *memstore.Store) (*logto.App, *harness) {
	b.Helper()
	ctx := context.Background()
	p := logtotest.NewTestProvider(b, logtotest.Options{RedirectURIs: []string{testRedirect}})
	app, err := logto.NewApp(logto.Config{Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(), RedirectURI: testRedirect})
	must(b, err)
	h := newHarness(b, store, "")
	authURL, err := app.Client(h.cur).SignIn(ctx, logto.SignInOptions{})
	must(b, err)
	cb, err := p.Authorize(ctx, authURL)
	must(b, err)
	u, _ := url.Parse(cb)
	h.next()
	_, err = app.Client(h.cur).HandleSignInCallbackURL(ctx, u)
	must(b, err)
	h.next()
	return app, h
}

// BenchmarkSessionCheck is the hot path of a signed-in page on a memory
// session: "is this user signed in" through the SDK (sdk) and "and who"
// (claims), beside their floor, the cookie opened and a bare map lookup of
// the ID it holds (floor).
func BenchmarkSessionCheck(b *testing.B) {
	ctx := context.Background()
	store := newStore(b)
	app, h := signedInSession(b, store)
	id := onlySessionID(b, store)
	bare := map[string]map[string]string{id: {logto.StorageKeyIDToken: store.StoredValue(id, logto.StorageKeyIDToken)}}
	for i := range 10_000 { // a map as full as a busy store's
		bare[fmt.Sprintf("%043d", i)] = map[string]string{}
	}
	base := request(h.cookie)
	b.Logf("cookie value: %d bytes", len(h.cookie.Value))

	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := base.Cookie(logto.DefaultSessionName)
			if err != nil {
				b.Fatal(err)
			}
			raw, err := store.DecodeID(logto.DefaultSessionName, c.Value)
			if err != nil {
				b.Fatal(err)
			}
			if bare[string(raw)][logto.StorageKeyIDToken] == "" {
				b.Fatal("not signed in")
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := app.Client(logto.NewSessionStorage(store, nil, base.WithContext(ctx), ""))
			ok, err := c.IsAuthenticated(ctx)
			if err != nil || !ok {
				b.Fatalf("%v %v", ok, err)
			}
		}
	})
	b.Run("claims", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := app.Client(logto.NewSessionStorage(store, nil, base.WithContext(ctx), ""))
			claims, err := c.IDTokenClaims(ctx)
			if err != nil || claims.Subject == "" {
				b.Fatalf("%v %v", claims, err)
			}
		}
	})
}

// BenchmarkSessionSave is a write: a token refreshed and the session saved.
func BenchmarkSessionSave(b *testing.B) {
	ctx := context.Background()
	store := newStore(b)
	_, h := signedInSession(b, store)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s := logto.NewSessionStorage(store, w, request(h.cookie), "")
		if err := s.Set(ctx, logto.StorageKeyRefreshToken, "r"); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlood is one request of a flood of sign-ins into a full share:
// a new session stored and the oldest evicted.
func BenchmarkFlood(b *testing.B) {
	ctx := context.Background()
	store := newStore(b)
	store.MaxSessions = 10_000
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s := logto.NewSessionStorage(store, w, request(), "")
		if err := s.Set(ctx, logto.StorageKeySignIn, `{"state":{}}`); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if _, an := store.Counts(); an > 1000 {
		b.Fatalf("%d pending sign-ins held, over their share", an)
	}
}
