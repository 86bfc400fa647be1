package redisstore_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// BenchmarkSessionCheck is the hot path of a signed-in page on a Redis
// session: "is this user signed in, and who" through the SDK (sdk), beside
// its floor, a bare Redis GET of the same session key (floor).
func BenchmarkSessionCheck(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	p := logtotest.NewTestProvider(b, logtotest.Options{RedirectURIs: []string{testRedirect}})
	app, err := logto.NewApp(logto.Config{Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(), RedirectURI: testRedirect})
	must(b, err)
	// A real sign-in, so the session holds real tokens.
	h := newHarness(b, f.store, "")
	authURL, err := app.Client(h.cur).SignIn(ctx, logto.SignInOptions{})
	must(b, err)
	cb, err := p.Authorize(ctx, authURL)
	must(b, err)
	u, _ := url.Parse(cb)
	h.next()
	_, err = app.Client(h.cur).HandleSignInCallbackURL(ctx, u)
	must(b, err)
	h.next()
	key := f.key(f.onlySessionID())

	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v, err := f.client.Get(ctx, key).Result(); err != nil || v == "" {
				b.Fatalf("%q %v", v, err)
			}
		}
	})
	base := request(h.cookie)
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := app.Client(logto.NewSessionStorage(f.store, nil, base.WithContext(ctx), ""))
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
	f := newFixture(b)
	h := newHarness(b, f.store, "")
	must(b, h.cur.Set(ctx, logto.StorageKeyIDToken, strings.Repeat("i", 1200)))
	h.next()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s := logto.NewSessionStorage(f.store, w, request(h.cookie), "")
		if err := s.Set(ctx, logto.StorageKeyRefreshToken, "r"); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
