package redisstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/redisstore"
)

// Cookie sessions on two replicas sharing the record of ended sessions in
// Redis: a session signed out on one is refused on the other, copies
// included, and back-channel logout received by one ends it on both.
func TestEndedSessionsAcrossReplicas(t *testing.T) {
	c := redisClient(t)
	prefix := uniquePrefix(t, c)
	p := logtotest.NewTestProvider(t, logtotest.Options{RedirectURIs: []string{testRedirect}})
	var apps [2]*logto.App
	for i := range apps {
		ended, err := redisstore.NewEndedSessions(c, prefix)
		must(t, err)
		apps[i], err = logto.NewApp(logto.Config{
			Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
			RedirectURI: testRedirect, EndedSessions: ended,
		})
		must(t, err)
	}
	ctx := context.Background()
	signIn := func(app *logto.App) *logto.MemoryStorage {
		s := logto.NewMemoryStorage()
		client := app.Client(s)
		authURL, err := client.SignIn(ctx, logto.SignInOptions{})
		must(t, err)
		cb, err := p.Authorize(ctx, authURL)
		must(t, err)
		u, _ := url.Parse(cb)
		_, err = client.HandleSignInCallbackURL(ctx, u)
		must(t, err)
		return s
	}
	copyOf := func(s *logto.MemoryStorage) *logto.MemoryStorage {
		cp := logto.NewMemoryStorage()
		for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeySession} {
			_ = cp.Set(ctx, k, get(t, s, k))
		}
		return cp
	}
	authed := func(app *logto.App, s logto.Storage) bool {
		ok, err := app.Client(s).IsAuthenticated(ctx)
		must(t, err)
		return ok
	}

	// Sign-out on replica 0; the copy is presented to replica 1.
	s := signIn(apps[0])
	copied := copyOf(s)
	if !authed(apps[1], copyOf(s)) {
		t.Fatal("replica 1 does not accept replica 0's session")
	}
	_, err := apps[0].Client(s).SignOut(ctx, logto.SignOutOptions{})
	must(t, err)
	if authed(apps[1], copied) {
		t.Fatal("a copy of a signed-out session still authenticates on the other replica")
	}

	// Back-channel logout received by replica 1 ends a session on replica 0.
	s = signIn(apps[0])
	claims, err := apps[0].Client(s).IDTokenClaims(ctx)
	must(t, err)
	tok, err := p.LogoutToken(logtotest.LogoutTokenOptions{SessionID: claims.SessionID})
	must(t, err)
	r := httptest.NewRequest(http.MethodPost, "http://app.test/backchannel-logout",
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	apps[1].BackchannelLogoutHandler(nil).ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("back-channel logout: %d %s", w.Code, w.Body)
	}
	if authed(apps[0], s) {
		t.Fatal("a session logged out through the other replica still authenticates")
	}
	// A session that was not named lives on.
	if !authed(apps[0], signIn(apps[1])) {
		t.Fatal("an unrelated session was ended")
	}
}

// With Redis down the record cannot be read: a storage error, not a pass.
func TestEndedSessionsOutage(t *testing.T) {
	c := redisClient(t)
	ended, err := redisstore.NewEndedSessions(c, uniquePrefix(t, c))
	must(t, err)
	_ = c.Close()
	if _, err := ended.Get(context.Background(), []string{"h:x"}); err == nil {
		t.Fatal("a closed client read the record")
	}
}
