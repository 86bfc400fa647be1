package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/memstore"
)

// signIn starts a browser whose session holds the tokens of a signed-in
// user: the ID token's sub is sub.
func signIn(t *testing.T, store *memstore.Store, sub string) *harness {
	t.Helper()
	ctx := context.Background()
	h := newHarness(t, store, "")
	must(t, h.cur.Renew(ctx))
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": sub, "sid": "sid-" + sub})))
	must(t, h.cur.Set(ctx, logto.StorageKeyRefreshToken, "refresh-"+sub))
	h.next()
	return h
}

// startSignIn starts a browser whose session holds a pending sign-in only,
// as a visit to /sign-in leaves it.
func startSignIn(t *testing.T, store *memstore.Store) *harness {
	t.Helper()
	h := newHarness(t, store, "")
	must(t, h.cur.Set(context.Background(), logto.StorageKeySignIn, `{"state":{"verifier":"v"}}`))
	h.next()
	return h
}

func signedInAs(t *testing.T, h *harness) string {
	t.Helper()
	return get(t, h.open(), logto.StorageKeyRefreshToken)
}

// An attacker can make sessions without signing in, as fast as it can ask
// for /sign-in: each visit stores a pending sign-in under a new ID. A flood
// of them must bound the store's memory and must not sign anyone out.
func TestFloodKeepsSignedInSessions(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	store.MaxSessions = 100 // 90 signed in, 10 mid-sign-in
	users := make([]*harness, 90)
	for i := range users {
		users[i] = signIn(t, store, fmt.Sprintf("user-%d", i))
	}

	const flood = 5000
	var last *harness
	for i := range flood {
		h := startSignIn(t, store)
		if i%3 == 0 {
			// Sign out (ending the pending session) and start again: a
			// session ending must not make room at the users' expense.
			must(t, h.cur.Renew(ctx))
			h.next()
			h = startSignIn(t, store)
		}
		last = h
		if n := len(store.SessionIDs()); n > 100 {
			t.Fatalf("after %d sessions of the flood the store holds %d, over MaxSessions", i+1, n)
		}
	}
	signedIn, anonymous := store.Counts()
	if signedIn != 90 || anonymous > 10 {
		t.Errorf("after the flood: %d signed in, %d mid-sign-in; want 90 and at most 10", signedIn, anonymous)
	}
	for i, u := range users {
		if got, want := signedInAs(t, u), fmt.Sprintf("refresh-user-%d", i); got != want {
			t.Fatalf("user %d was signed out by the flood (reads %q)", i, got)
		}
	}
	// The newest pending sign-ins are the ones kept.
	if get(t, last.open(), logto.StorageKeySignIn) == "" {
		t.Error("the newest pending sign-in was evicted")
	}

	// Users signing in while the flood goes on still get in: a pending
	// session becomes a signed-in one under a new ID.
	h := startSignIn(t, store)
	must(t, h.cur.Renew(ctx))
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "late"})))
	must(t, h.cur.Set(ctx, logto.StorageKeyRefreshToken, "refresh-late"))
	h.next()
	if signedInAs(t, h) != "refresh-late" {
		t.Error("a sign-in during the flood did not stick")
	}
	if n := len(store.SessionIDs()); n > 100 {
		t.Errorf("the store holds %d sessions, over MaxSessions", n)
	}
}

// Signed-in sessions are bounded too: when their share is full, the one
// closest to expiry (saved longest ago) makes room for a new sign-in.
func TestSignedInEvictsClosestToExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	store := newStore(t)
	store.Now = clk.Now
	store.MaxSessions = 20 // 18 signed in, 2 mid-sign-in
	users := make([]*harness, 18)
	for i := range users {
		users[i] = signIn(t, store, fmt.Sprintf("user-%d", i))
		clk.Advance(time.Minute)
	}
	// user-0 was saved first but saves again now (a refresh, say): now
	// user-1's session is the one closest to expiry.
	s := users[0].open()
	must(t, s.Set(ctx, logto.StorageKeyAccessTokens+":", "refreshed"))
	users[0].next()
	// Pending sign-ins do not count against signed-in sessions.
	startSignIn(t, store)
	startSignIn(t, store)

	late := signIn(t, store, "late")
	if signedInAs(t, late) != "refresh-late" {
		t.Fatal("the new sign-in was not kept")
	}
	if got := signedInAs(t, users[1]); got != "" {
		t.Errorf("user-1, closest to expiry, is still signed in (%q)", got)
	}
	for i, u := range users {
		if i == 1 {
			continue
		}
		if got := signedInAs(t, u); got != fmt.Sprintf("refresh-user-%d", i) {
			t.Errorf("user %d was evicted instead (reads %q)", i, got)
		}
	}
	if signedIn, anonymous := store.Counts(); signedIn != 18 || anonymous != 2 {
		t.Errorf("%d signed in, %d mid-sign-in; want 18 and 2", signedIn, anonymous)
	}
}

// Expired sessions make room before any live one is evicted.
func TestExpiredSessionsGoFirst(t *testing.T) {
	clk := newFakeClock()
	store := newStore(t)
	store.Now = clk.Now
	store.MaxSessions = 10 // 9 signed in, 1 mid-sign-in
	store.Options.MaxAge = 3600
	for i := range 9 {
		signIn(t, store, fmt.Sprintf("old-%d", i))
	}
	clk.Advance(2 * time.Hour)
	kept := signIn(t, store, "kept")
	for i := range 8 {
		signIn(t, store, fmt.Sprintf("new-%d", i))
	}
	if signedInAs(t, kept) != "refresh-kept" {
		t.Error("a live session was evicted while expired ones were held")
	}
	if n := len(store.SessionIDs()); n != 9 {
		t.Errorf("the store holds %d sessions, want the 9 live ones", n)
	}
}

// A session that signs in without a new ID (a store used without Renew)
// moves to the signed-in share, and back when it loses its ID token.
func TestSessionChangesShare(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := startSignIn(t, store)
	if si, an := store.Counts(); si != 0 || an != 1 {
		t.Fatalf("counts %d, %d; want 0 signed in, 1 mid-sign-in", si, an)
	}
	s := h.open()
	must(t, s.Set(ctx, logto.StorageKeyIDToken, fakeIDToken(map[string]any{"sub": "u"})))
	h.next()
	if si, an := store.Counts(); si != 1 || an != 0 {
		t.Fatalf("counts %d, %d; want 1 signed in, 0 mid-sign-in", si, an)
	}
	s = h.open()
	must(t, s.Delete(ctx, logto.StorageKeyIDToken))
	h.next()
	if si, an := store.Counts(); si != 0 || an != 1 {
		t.Fatalf("counts %d, %d; want 0 signed in, 1 mid-sign-in", si, an)
	}
}

func TestMaxSessionsShares(t *testing.T) {
	for _, tc := range []struct {
		max                 int
		signedIn, anonymous int
	}{
		{0, 90_000, 10_000},
		{100, 90, 10},
		{19, 18, 1},
		{2, 1, 1},
	} {
		store := newStore(t)
		store.MaxSessions = tc.max
		si, an, err := store.Shares()
		if err != nil || si != tc.signedIn || an != tc.anonymous {
			t.Errorf("MaxSessions %d: shares %d, %d, %v; want %d, %d", tc.max, si, an, err, tc.signedIn, tc.anonymous)
		}
	}
	// Too small to hold a signed-in and a pending session: every save fails,
	// and nothing is stored.
	for _, max := range []int{1, -1} {
		store := newStore(t)
		store.MaxSessions = max
		w := httptest.NewRecorder()
		s := logto.NewSessionStorage(store, w, request(), "")
		must(t, s.Set(context.Background(), "k", "v"))
		if err := s.Flush(context.Background()); !errors.Is(err, logto.ErrInvalidConfig) {
			t.Errorf("MaxSessions %d: Flush = %v, want ErrInvalidConfig", max, err)
		}
		if ids := store.SessionIDs(); len(ids) != 0 || len(w.Header().Values("Set-Cookie")) != 0 {
			t.Errorf("MaxSessions %d: stored %q, set %q", max, ids, w.Header().Values("Set-Cookie"))
		}
	}
}

// Expired sessions are reclaimed by the next save of any session, full or
// not: memory follows the sessions alive, not the peak.
func TestExpiredSessionsAreReclaimed(t *testing.T) {
	clk := newFakeClock()
	store := newStore(t)
	store.Now = clk.Now
	store.Options.MaxAge = 60
	for i := range 5 {
		signIn(t, store, fmt.Sprintf("user-%d", i))
		startSignIn(t, store)
	}
	clk.Advance(time.Minute)
	startSignIn(t, store)
	if si, an := store.Counts(); si != 0 || an != 1 {
		t.Errorf("after expiry and one save: %d signed in, %d mid-sign-in held; want 0 and 1", si, an)
	}
	if subs, sids := store.IndexSizes(); subs != 0 || sids != 0 {
		t.Errorf("the index keeps %d subjects and %d sids of expired sessions", subs, sids)
	}
}
