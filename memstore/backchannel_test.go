package memstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// newSessions returns the session IDs in after that are not in before.
func newSessions(before, after []string) []string {
	return slices.DeleteFunc(slices.Clone(after), func(id string) bool { return slices.Contains(before, id) })
}

// tokenSID returns the sid claim of an ID token.
func tokenSID(t *testing.T, idToken string) string {
	t.Helper()
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("%.40q is no ID token", idToken)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var c struct{ Sid string }
	must(t, json.Unmarshal(b, &c))
	if c.Sid == "" {
		t.Fatal("the ID token has no sid")
	}
	return c.Sid
}

func TestBackchannelLogoutEndsSessions(t *testing.T) {
	a := newWebApp(t)
	logout := func(opts logtotest.LogoutTokenOptions) {
		t.Helper()
		resp, err := a.p.SendBackchannelLogout(context.Background(), a.srv.URL+"/backchannel-logout", opts)
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
	a1, a2, b1 := a.browser(t), a.browser(t), a.browser(t)
	a1.signIn()
	a1IDs := a.store.SessionIDs()
	a2.signIn()
	a2IDs := newSessions(a1IDs, a.store.SessionIDs())
	a.p.SetUser(bob)
	b1.signIn()
	if len(a1IDs) != 1 || len(a2IDs) != 1 || len(a.store.SessionIDs()) != 3 {
		t.Fatalf("sessions %q", a.store.SessionIDs())
	}
	for _, b := range []*browser{a1, a2, b1} {
		if !b.signedIn() {
			t.Fatal("a browser is not signed in")
		}
	}

	// By sid: only that session ends.
	sid := tokenSID(t, a.store.StoredValue(a1IDs[0], logto.StorageKeyIDToken))
	logout(logtotest.LogoutTokenOptions{SessionID: sid})
	if a1.signedIn() || !a2.signedIn() || !b1.signedIn() {
		t.Fatal("logout by sid: want only a1 signed out")
	}

	// By sub: every session of alice ends, bob's lives on. a1 signs in as
	// bob, then as alice: the renewal takes the old ID out of bob's index.
	a1.signIn()
	a.p.SetUser(alice)
	a1.signIn()
	if !a1.signedIn() {
		t.Fatal("a1 did not sign in again")
	}
	logout(logtotest.LogoutTokenOptions{Subject: alice.Subject})
	if a1.signedIn() || a2.signedIn() {
		t.Error("logout by sub left a session of alice")
	}
	if !b1.signedIn() {
		t.Error("logout of alice ended bob's session")
	}
	if n := len(a.store.SessionIDs()); n != 1 {
		t.Errorf("%d sessions left, want bob's", n)
	}
	if subs, sids := a.store.IndexSizes(); subs != 1 || sids != 1 {
		t.Errorf("index holds %d subjects and %d sids, want bob's only", subs, sids)
	}

	// Sign-out takes the session out of the index too.
	b1.get("/sign-out")
	if subs, sids := a.store.IndexSizes(); subs != 0 || sids != 0 || len(a.store.SessionIDs()) != 0 {
		t.Errorf("after sign-out: %d subjects, %d sids, sessions %q", subs, sids, a.store.SessionIDs())
	}
}

// A request in flight when its session is ended must not bring it back.
func TestEndedSessionIsNotResurrected(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	h := newHarness(t, store, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u1", "sid": "s1"})))
	s := h.next()
	if get(t, s, logto.StorageKeyIDToken) == "" {
		t.Fatal("session not saved")
	}
	// s has loaded the session; now it is ended elsewhere.
	must(t, store.EndSessions(ctx, "u1", "s1"))
	must(t, s.Set(ctx, logto.StorageKeyRefreshToken, "rotated"))
	s = h.next()
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Error("the ended session came back")
	}
	if ids := store.SessionIDs(); len(ids) != 0 {
		t.Errorf("sessions %q", ids)
	}
}

func TestEndSessionsArguments(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	if err := store.EndSessions(ctx, "", ""); err == nil {
		t.Error("EndSessions with neither sub nor sid succeeded")
	}
	// Sessions that do not exist: nothing to do.
	must(t, store.EndSessions(ctx, "nobody", ""))
	must(t, store.EndSessions(ctx, "", "no-session"))

	// Both sub and sid: only sessions matching both end.
	h1, h2 := newHarness(t, store, ""), newHarness(t, store, "")
	must(t, h1.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u1", "sid": "s1"})))
	must(t, h2.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u1", "sid": "s2"})))
	h1.next()
	h2.next()
	must(t, store.EndSessions(ctx, "u1", "s2"))
	if len(store.SessionIDs()) != 1 || get(t, h1.next(), logto.StorageKeyIDToken) == "" || get(t, h2.next(), logto.StorageKeyIDToken) != "" {
		t.Errorf("sub+sid ended the wrong sessions: %q left", store.SessionIDs())
	}
	// A sub of one session and the sid of another: neither ends.
	must(t, store.EndSessions(ctx, "u2", "s1"))
	if get(t, h1.next(), logto.StorageKeyIDToken) == "" {
		t.Error("a sub and sid of different sessions ended one")
	}
	// A token with odd claim types, or no JWT at all, indexes nothing and
	// breaks nothing.
	h3, h4 := newHarness(t, store, ""), newHarness(t, store, "")
	must(t, h3.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": 7, "sid": []int{1}})))
	must(t, h4.cur.Set(ctx, logto.StorageKeyIDToken, "not.a.jwt!"))
	h3.next()
	h4.next()
	must(t, store.EndSessions(ctx, "7", ""))
	if get(t, h3.next(), logto.StorageKeyIDToken) == "" || get(t, h4.next(), logto.StorageKeyIDToken) == "" {
		t.Error("a session without a readable string sub was ended")
	}
}
