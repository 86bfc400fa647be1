package redisstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/redisstore"
)

// sessionSID returns the sid claim of the ID token session id holds.
func (f *fixture) sessionSID(id string) string {
	f.t.Helper()
	raw, err := f.client.Get(context.Background(), f.key(id)).Bytes()
	must(f.t, err)
	values, ok := redisstore.DecodeValues(raw)
	if !ok {
		f.t.Fatalf("session %s is not in the store's format", id)
	}
	parts := strings.Split(values[logto.StorageKeyIDToken], ".")
	if len(parts) != 3 {
		f.t.Fatalf("session %s holds no ID token", id)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(f.t, err)
	var c struct{ Sid string }
	must(f.t, json.Unmarshal(b, &c))
	if c.Sid == "" {
		f.t.Fatal("the ID token has no sid")
	}
	return c.Sid
}

// newSessions returns the session IDs in after that are not in before.
func newSessions(before, after []string) []string {
	return slices.DeleteFunc(slices.Clone(after), func(id string) bool { return slices.Contains(before, id) })
}

func signedIn(t *testing.T, b *browser) bool {
	t.Helper()
	resp, _ := b.get("/protected")
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusFound:
		return false
	}
	t.Fatalf("/protected: %d", resp.StatusCode)
	return false
}

func TestBackchannelLogoutEndsSessions(t *testing.T) {
	c := redisClient(t)
	prefix := uniquePrefix(t, c)
	f := newFixtureOn(t, c, prefix)
	rs := newReplicas(t, 1, func(redirect string) *redisstore.Store {
		st, err := redisstore.New(c, redirect, authKey)
		must(t, err)
		st.Prefix = prefix
		return st
	})
	bcl := httptest.NewServer(rs.apps[0].BackchannelLogoutHandler(rs.stores[0]))
	t.Cleanup(bcl.Close)
	logout := func(opts logtotest.LogoutTokenOptions) {
		t.Helper()
		resp, err := rs.p.SendBackchannelLogout(context.Background(), bcl.URL, opts)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("back-channel logout: %d", resp.StatusCode)
		}
	}
	alice := logtotest.DefaultUser()
	bob := logtotest.DefaultUser()
	bob.Subject = "bob-subject"

	// Two sessions of alice, one of bob.
	a1, a2, b1 := rs.browser(t), rs.browser(t), rs.browser(t)
	a1.signIn()
	a1IDs := f.sessionIDs()
	a2.signIn()
	a2ID := newSessions(a1IDs, f.sessionIDs())
	rs.p.SetUser(bob)
	b1.signIn()
	if len(a1IDs) != 1 || len(a2ID) != 1 || len(f.sessionIDs()) != 3 {
		t.Fatalf("sessions %q", f.sessionIDs())
	}
	for _, b := range []*browser{a1, a2, b1} {
		if !signedIn(t, b) {
			t.Fatal("a browser is not signed in")
		}
	}

	// By sid: only that session ends.
	logout(logtotest.LogoutTokenOptions{SessionID: f.sessionSID(a1IDs[0])})
	if signedIn(t, a1) || !signedIn(t, a2) || !signedIn(t, b1) {
		t.Fatal("logout by sid: want only a1 signed out")
	}

	// By sub: every session of alice ends, bob's lives on. a1 signs in as
	// bob, then as alice: the renewal takes the old ID out of bob's sets.
	a1.signIn()
	rs.p.SetUser(alice)
	a1.signIn()
	if !signedIn(t, a1) {
		t.Fatal("a1 did not sign in again")
	}
	logout(logtotest.LogoutTokenOptions{Subject: alice.Subject})
	if signedIn(t, a1) || signedIn(t, a2) {
		t.Error("logout by sub left a session of alice")
	}
	if !signedIn(t, b1) {
		t.Error("logout of alice ended bob's session")
	}
	if n := c.Exists(context.Background(), prefix+"sub:"+alice.Subject).Val(); n != 0 {
		t.Error("alice's sub set outlived her sessions")
	}
	// Only bob's session (and its index sets) remain.
	keys, err := scanKeys(context.Background(), c, prefix+"*")
	must(t, err)
	if len(keys) != 3 {
		t.Errorf("keys left: %q, want bob's session, sub and sid", keys)
	}

	// Sign-out removes the session from its sets too.
	b1.get("/sign-out")
	keys, err = scanKeys(context.Background(), c, prefix+"*")
	must(t, err)
	if len(keys) != 0 {
		t.Errorf("keys left after sign-out: %q", keys)
	}
}

// fakeIDToken is an unsigned JWT with the claims; the store does not verify.
func fakeIDToken(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

// A request in flight when its session is ended must not bring it back.
func TestEndedSessionIsNotResurrected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := newHarness(t, f.store, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u1", "sid": "s1"})))
	s := h.next()
	if get(t, s, logto.StorageKeyIDToken) == "" {
		t.Fatal("session not saved")
	}
	// s has loaded the session; now it is ended elsewhere.
	must(t, f.store.EndSessions(ctx, "u1", "s1"))
	must(t, s.Set(ctx, logto.StorageKeyRefreshToken, "rotated"))
	s = h.next()
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Error("the ended session came back")
	}
	if ids := f.sessionIDs(); len(ids) != 0 {
		t.Errorf("sessions %q", ids)
	}
}

func TestEndSessionsArguments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.store.EndSessions(ctx, "", ""); err == nil {
		t.Error("EndSessions with neither sub nor sid succeeded")
	}
	// Sessions that do not exist: nothing to do.
	must(t, f.store.EndSessions(ctx, "nobody", ""))
	must(t, f.store.EndSessions(ctx, "", "no-session"))

	// Both sub and sid: only sessions matching both end.
	h1, h2 := newHarness(t, f.store, ""), newHarness(t, f.store, "")
	must(t, h1.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u1", "sid": "s1"})))
	must(t, h2.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u1", "sid": "s2"})))
	h1.next()
	h2.next()
	must(t, f.store.EndSessions(ctx, "u1", "s2"))
	if len(f.sessionIDs()) != 1 || get(t, h1.next(), logto.StorageKeyIDToken) == "" || get(t, h2.next(), logto.StorageKeyIDToken) != "" {
		t.Errorf("sub+sid ended the wrong sessions: %q left", f.sessionIDs())
	}
	// A token with odd claim types indexes nothing and breaks nothing.
	h3 := newHarness(t, f.store, "")
	must(t, h3.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": 7, "sid": []int{1}})))
	h3.next()
	must(t, f.store.EndSessions(ctx, "7", ""))
	if get(t, h3.next(), logto.StorageKeyIDToken) == "" {
		t.Error("a session with a non-string sub was ended")
	}
}
