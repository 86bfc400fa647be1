package memstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/memstore"
)

func TestNew(t *testing.T) {
	long := bytes.Repeat([]byte{'s'}, 32)
	for _, tc := range []struct {
		name     string
		redirect string
		secrets  [][]byte
		want     []string // in the error; nil for success
	}{
		{"no secret: a random key for this process", testRedirect, nil, nil},
		{"one secret", testRedirect, [][]byte{long}, nil},
		{"rotated secrets", "https://app.example.com/callback", [][]byte{long, bytes.Repeat([]byte{'o'}, 64)}, nil},
		{"31-byte secret", testRedirect, [][]byte{long[:31]}, []string{"secret 0 has 31 bytes"}},
		{"empty secret (an unset variable)", testRedirect, [][]byte{{}}, []string{"secret 0"}},
		{"short older secret", testRedirect, [][]byte{long, long[:3]}, []string{"secret 1"}},
		{"relative redirect URI", "/callback", [][]byte{long}, []string{"redirect URI"}},
		{"redirect URI with a fragment", "https://app.example/cb#x", [][]byte{long}, []string{"redirect URI"}},
		{"redirect URI of another scheme", "ftp://app.example/cb", [][]byte{long}, []string{"redirect URI"}},
		{"every problem", "/callback", [][]byte{long[:1]}, []string{"redirect URI", "secret 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, err := memstore.New(tc.redirect, tc.secrets...)
			if tc.want == nil {
				if err != nil || store == nil {
					t.Fatalf("got %v, %v", store, err)
				}
				if store.Options == nil || *store.Options != *logto.CookieOptions(tc.redirect) {
					t.Errorf("Options = %+v, want logto.CookieOptions", store.Options)
				}
				return
			}
			if !errors.Is(err, logto.ErrInvalidConfig) || store != nil {
				t.Fatalf("got %v, %v; want nil and ErrInvalidConfig", store, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		redirect string
		secure   bool
	}{
		{"http://localhost:3000/callback", false},
		{"https://app.example.com/callback", true},
	} {
		t.Run(tc.redirect, func(t *testing.T) {
			store, err := memstore.New(tc.redirect, secret)
			must(t, err)
			w := httptest.NewRecorder()
			s := logto.NewSessionStorage(store, w, request(), "")
			must(t, s.Set(ctx, "k", "v"))
			must(t, s.Flush(ctx))
			cookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
			if cookie.Path != "/" || cookie.Domain != "" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode ||
				cookie.Secure != tc.secure || cookie.MaxAge != logto.DefaultSessionMaxAge || cookie.Value == "" {
				t.Errorf("session cookie = %+v; want Path=/, HttpOnly, SameSite=Lax, Secure=%v, Max-Age=%d",
					cookie, tc.secure, logto.DefaultSessionMaxAge)
			}

			// Deleting the session expires a cookie with the same attributes.
			w = httptest.NewRecorder()
			s = logto.NewSessionStorage(store, w, request(cookie), "")
			must(t, s.Delete(ctx, "k"))
			must(t, s.Flush(ctx))
			gone := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
			if gone.MaxAge >= 0 || gone.Path != "/" || !gone.HttpOnly || gone.SameSite != http.SameSiteLaxMode || gone.Secure != tc.secure {
				t.Errorf("deletion: Set-Cookie %q", w.Header().Get("Set-Cookie"))
			}
			if ids := store.SessionIDs(); len(ids) != 0 {
				t.Errorf("the emptied session is still held: %q", ids)
			}
		})
	}
}

// A cookie the store cannot read, or that names a session it does not hold,
// is a new, empty session: not an error, and never a session of someone
// else. The attacker here knows (or guesses) a real session's ID but not the
// store's secret.
func TestForgedCookies(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	real := newHarness(t, store, "")
	must(t, real.cur.Set(ctx, logto.StorageKeyIDToken, "real"))
	real.next()
	realID := onlySessionID(t, store)

	other, err := memstore.New(testRedirect, otherSecret)
	must(t, err)
	encode := func(store *memstore.Store, name, id string) string {
		v, err := store.EncodeID(name, id)
		must(t, err)
		return v
	}
	name := logto.DefaultSessionName
	cases := []struct{ name, value string }{
		{"garbage", "not a cookie"},
		{"empty", ""},
		{"the real session's ID, bare (a guessed ID)", realID},
		{"the real session's ID, base64 of it", base64.RawURLEncoding.EncodeToString([]byte(realID))},
		{"the real session's ID, sealed with another secret", encode(other, name, realID)},
		{"the real session's ID, sealed for another cookie name", encode(store, "other", realID)},
		{"the real cookie, truncated", real.cookie.Value[:len(real.cookie.Value)-4]},
		{"the real cookie, one byte changed", flipByte(real.cookie.Value)},
		{"sealed, but not an ID", encode(store, name, "short")},
		{"sealed, but a key pattern", encode(store, name, strings.Repeat("*", 43))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request(&http.Cookie{Name: name, Value: tc.value})
			sess, err := store.Get(r, name)
			if err != nil || sess == nil || !sess.IsNew || len(sess.Values) != 0 || sess.ID != "" {
				t.Fatalf("Get = %+v, %v; want a new empty session and no error", sess, err)
			}

			w := httptest.NewRecorder()
			s := logto.NewSessionStorage(store, w, request(&http.Cookie{Name: name, Value: tc.value}), "")
			if v := get(t, s, logto.StorageKeyIDToken); v != "" {
				t.Fatalf("read %q through a forged cookie", v)
			}
			must(t, s.Set(ctx, "mine", "1"))
			must(t, s.Flush(ctx))
			fresh := oneSetCookie(t, w.Header(), name)
			if fresh.Value == tc.value || fresh.Value == real.cookie.Value {
				t.Error("the forged cookie was sent back")
			}
			if got := get(t, real.open(), logto.StorageKeyIDToken); got != "real" {
				t.Errorf("the real session now holds %q", got)
			}
			if got := get(t, real.cur, "mine"); got != "" {
				t.Errorf("the forged cookie wrote into the real session: mine=%q", got)
			}
			ids := store.SessionIDs()
			if len(ids) != 2 {
				t.Fatalf("%d sessions, want the real one and the fresh one", len(ids))
			}
			for _, id := range ids {
				if id != realID {
					must(t, store.DeleteSession(ctx, id))
				}
			}
		})
	}
}

func flipByte(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// A cookie naming a session the store does not hold (ended, expired, never
// existed) is not signed in, and the ID is not brought back to life: a
// signed ID planted in a browser never comes to name a signed-in session.
func TestUnknownSessionID(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := newHarness(t, store, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
	h.next()
	id := onlySessionID(t, store)

	must(t, store.DeleteSession(ctx, id))
	must(t, store.DeleteSession(ctx, id)) // again: not an error
	s := h.open()
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Fatalf("ended session still reads %q", v)
	}
	sess, err := store.Get(request(h.cookie), logto.DefaultSessionName)
	if err != nil || !sess.IsNew || sess.ID != "" {
		t.Errorf("Get = %+v, %v; want a new session", sess, err)
	}
	must(t, s.Set(ctx, logto.StorageKeyIDToken, "victim"))
	h.next()
	if got := onlySessionID(t, store); got == id {
		t.Error("a write through the ended session's cookie revived its ID")
	}

	// A well-formed, correctly sealed ID the store never issued.
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	plantedID := base64.RawURLEncoding.EncodeToString(b)
	forged, err := store.EncodeID(logto.DefaultSessionName, plantedID)
	must(t, err)
	planted := &http.Cookie{Name: logto.DefaultSessionName, Value: forged}
	w := httptest.NewRecorder()
	s = logto.NewSessionStorage(store, w, request(planted), "")
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Errorf("an unknown ID reads %q", v)
	}
	must(t, s.Set(ctx, logto.StorageKeyIDToken, "victim"))
	must(t, s.Flush(ctx))
	if c := oneSetCookie(t, w.Header(), logto.DefaultSessionName); c.Value == forged {
		t.Error("the store adopted the planted ID")
	}
	for _, held := range store.SessionIDs() {
		if held == plantedID {
			t.Error("the store holds a session under the planted ID")
		}
	}
}

// Renew (called at sign-in) gives the session a new ID and deletes the old
// one, so an ID planted in the browser before sign-in never names the
// signed-in session (session fixation).
func TestRenewReplacesSession(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)

	// The attacker's session, and its cookie.
	attacker := newHarness(t, store, "")
	must(t, attacker.cur.Set(ctx, "x", "attacker"))
	attacker.next()
	planted := attacker.cookie
	plantedID := onlySessionID(t, store)

	// The victim signs in with that cookie planted.
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, request(planted), "")
	if get(t, s, "x") != "attacker" {
		t.Fatal("the planted session does not read")
	}
	must(t, s.Renew(ctx))
	must(t, s.Set(ctx, logto.StorageKeyIDToken, "victim"))
	must(t, s.Flush(ctx))
	fresh := oneSetCookie(t, w.Header(), logto.DefaultSessionName)

	if fresh.Value == planted.Value {
		t.Fatal("Renew kept the planted cookie")
	}
	if id := onlySessionID(t, store); id == plantedID {
		t.Fatal("Renew kept the planted session ID (or left the planted session behind)")
	}
	if got := get(t, logto.NewSessionStorage(store, httptest.NewRecorder(), request(planted), ""), logto.StorageKeyIDToken); got != "" {
		t.Fatalf("the planted cookie reads the victim's session (%q)", got)
	}
	if got := get(t, logto.NewSessionStorage(store, httptest.NewRecorder(), request(fresh), ""), logto.StorageKeyIDToken); got != "victim" {
		t.Fatalf("the new session holds %q", got)
	}

	// Renew with nothing written after it (sign-out) ends the session.
	w = httptest.NewRecorder()
	s = logto.NewSessionStorage(store, w, request(fresh), "")
	must(t, s.Renew(ctx))
	must(t, s.Flush(ctx))
	if c := oneSetCookie(t, w.Header(), logto.DefaultSessionName); c.MaxAge >= 0 {
		t.Errorf("Renew without values kept the cookie: %+v", c)
	}
	if ids := store.SessionIDs(); len(ids) != 0 {
		t.Errorf("Renew without values left %q", ids)
	}
}

// The cookie holds the session ID and nothing else, whatever the session
// holds.
func TestCookieHoldsOnlyTheID(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	h := newHarness(t, store, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, strings.Repeat("i", 1200)))
	must(t, h.cur.Set(ctx, logto.StorageKeyRefreshToken, strings.Repeat("r", 300)))
	for i := range 50 {
		must(t, h.cur.Set(ctx, fmt.Sprintf("%s:https://api%d.example.com", logto.StorageKeyAccessTokens, i), strings.Repeat("a", 2000)))
	}
	s := h.next()
	if n := len(h.cookie.Value); n >= 200 {
		t.Errorf("cookie value has %d bytes, want < 200", n)
	}
	if got := get(t, s, fmt.Sprintf("%s:https://api49.example.com", logto.StorageKeyAccessTokens)); len(got) != 2000 {
		t.Errorf("an access token was dropped (%d bytes)", len(got))
	}
	raw, err := store.DecodeID(logto.DefaultSessionName, h.cookie.Value)
	must(t, err)
	if id := onlySessionID(t, store); string(raw) != id || len(id) != 43 {
		t.Errorf("the cookie holds %q; the session is %q", raw, id)
	}
}

// Only strings under string keys are stored; a refused session writes
// nothing.
func TestSaveRejectsWhatItCannotStore(t *testing.T) {
	store := newStore(t)
	cases := []struct {
		name  string
		key   any
		value any
	}{
		{"int key", 1, "v"},
		{"int value", "k", 42},
		{"byte slice value", "k", []byte("v")},
		{"map value", "k", map[string]string{"a": "b"}},
		{"nil value", "k", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request()
			sess, err := store.Get(r, logto.DefaultSessionName)
			must(t, err)
			sess.Values["ok"] = "fine"
			sess.Values[tc.key] = tc.value
			w := httptest.NewRecorder()
			if err := sess.Save(r, w); err == nil {
				t.Fatal("Save succeeded")
			}
			if lines := w.Header().Values("Set-Cookie"); len(lines) != 0 {
				t.Errorf("a refused session set %q", lines)
			}
			if ids := store.SessionIDs(); len(ids) != 0 {
				t.Errorf("a refused session was stored: %q", ids)
			}
		})
	}
}

// Values are copied into the store on Save and out of it on every load: no
// request sees another's map, and nothing changes the stored session but a
// Save.
func TestValuesAreCopied(t *testing.T) {
	store := newStore(t)
	r := request()
	sess, err := store.Get(r, logto.DefaultSessionName)
	must(t, err)
	sess.Values["k"] = "saved"
	w := httptest.NewRecorder()
	must(t, sess.Save(r, w))
	cookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)

	// The saving request changes its map after the save.
	sess.Values["k"] = "changed after Save"
	sess.Values["extra"] = "x"

	load := func() *sessions.Session {
		t.Helper()
		s, err := store.New(request(cookie), logto.DefaultSessionName)
		must(t, err)
		if s.IsNew {
			t.Fatal("the session did not load")
		}
		return s
	}
	a, b := load(), load()
	if a.Values["k"] != "saved" || len(a.Values) != 1 {
		t.Fatalf("stored values %v changed without a Save", a.Values)
	}
	// One request's changes, unsaved, reach no other.
	a.Values["k"] = "a's own"
	delete(b.Values, "k")
	if c := load(); c.Values["k"] != "saved" {
		t.Errorf("a loaded map is the store's: %v", c.Values)
	}
	if a.Values["k"] != "a's own" {
		t.Error("two loads share a map")
	}
}

// A session lives MaxAge seconds from its last save, by the store's clock.
func TestSessionLifetime(t *testing.T) {
	ctx := context.Background()
	full := time.Duration(logto.DefaultSessionMaxAge) * time.Second

	t.Run("default is 7 days, renewed on save", func(t *testing.T) {
		clk := newFakeClock()
		store := newStore(t)
		store.Now = clk.Now
		h := newHarness(t, store, "")
		must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
		h.next()
		clk.Advance(full - time.Minute)
		s := h.open()
		if get(t, s, logto.StorageKeyIDToken) != "token" {
			t.Fatal("the session ended before 7 days")
		}
		must(t, s.Set(ctx, "k", "v")) // a save: 7 days again from now
		h.next()
		clk.Advance(full - time.Minute)
		if get(t, h.open(), logto.StorageKeyIDToken) != "token" {
			t.Fatal("a save did not renew the lifetime")
		}
		clk.Advance(2 * time.Minute)
		if v := get(t, h.open(), logto.StorageKeyIDToken); v != "" {
			t.Fatalf("the session outlived 7 days from its last save: %q", v)
		}
	})

	t.Run("reading does not extend it", func(t *testing.T) {
		clk := newFakeClock()
		store := newStore(t)
		store.Now = clk.Now
		h := newHarness(t, store, "")
		must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
		h.next()
		for range 14 {
			clk.Advance(24 * time.Hour)
			get(t, h.open(), logto.StorageKeyIDToken)
		}
		if v := get(t, h.open(), logto.StorageKeyIDToken); v != "" {
			t.Fatalf("reads kept the session past its lifetime: %q", v)
		}
	})

	t.Run("MaxAge 0: browser-session cookie, default lifetime", func(t *testing.T) {
		clk := newFakeClock()
		store := newStore(t)
		store.Now = clk.Now
		store.Options.MaxAge = 0
		h := newHarness(t, store, "")
		must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
		h.next()
		if h.cookie.MaxAge != 0 || !h.cookie.Expires.IsZero() {
			t.Errorf("cookie %+v, want no Max-Age or Expires", h.cookie)
		}
		clk.Advance(full - time.Minute)
		if get(t, h.open(), logto.StorageKeyIDToken) != "token" {
			t.Fatal("ended before the default lifetime")
		}
		clk.Advance(2 * time.Minute)
		if v := get(t, h.open(), logto.StorageKeyIDToken); v != "" {
			t.Fatalf("outlived the default lifetime: %q", v)
		}
	})

	t.Run("MaxAge 60s expires, and the expired session is reclaimed", func(t *testing.T) {
		clk := newFakeClock()
		store := newStore(t)
		store.Now = clk.Now
		store.Options.MaxAge = 60
		h := newHarness(t, store, "")
		must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
		s := h.next()
		if h.cookie.MaxAge != 60 {
			t.Errorf("cookie Max-Age %d, want 60", h.cookie.MaxAge)
		}
		if get(t, s, logto.StorageKeyIDToken) != "token" {
			t.Fatal("session did not read back at once")
		}
		expired := onlySessionID(t, store)
		clk.Advance(59 * time.Second)
		if get(t, h.open(), logto.StorageKeyIDToken) != "token" {
			t.Fatal("ended before 60 s")
		}
		clk.Advance(time.Second)
		// The browser would have dropped the cookie; one replayed anyway
		// names nothing, and a write through it starts another session.
		s = h.open()
		if v := get(t, s, logto.StorageKeyIDToken); v != "" {
			t.Fatalf("expired session reads %q", v)
		}
		must(t, s.Set(ctx, "k", "v"))
		h.next()
		if id := onlySessionID(t, store); id == expired {
			t.Error("the expired session came back, or was not reclaimed")
		}
	})
}

// Sessions of many users written at once stay apart (run with -race).
func TestConcurrentSessions(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	const users, rounds = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, users+8)
	for u := range users {
		h := newHarness(t, store, "")
		wg.Go(func() {
			own := fmt.Sprintf("user-%d", u)
			s := h.cur
			for i := range rounds {
				v := fmt.Sprintf("%s/%d", own, i)
				if err := errors.Join(s.Set(ctx, "who", own), s.Set(ctx, "round", v)); err != nil {
					errs <- err
					return
				}
				if i%5 == 4 {
					// Sign in again now and then: new ID, old one gone.
					if err := errors.Join(s.Renew(ctx), s.Set(ctx, "who", own), s.Set(ctx, "round", v)); err != nil {
						errs <- err
						return
					}
				}
				next, err := h.step()
				if err != nil {
					errs <- err
					return
				}
				s = next
				who, err1 := s.Get(ctx, "who")
				round, err2 := s.Get(ctx, "round")
				if err := errors.Join(err1, err2); err != nil {
					errs <- err
					return
				}
				if who != own || round != v {
					errs <- fmt.Errorf("%s reads who=%q round=%q after writing %q", own, who, round, v)
					return
				}
			}
		})
	}
	// Meanwhile, many requests read one session at once.
	shared := newHarness(t, store, "")
	must(t, shared.cur.Set(ctx, "k", "shared"))
	shared.next()
	for range 8 {
		wg.Go(func() {
			for range rounds {
				s := logto.NewSessionStorage(store, httptest.NewRecorder(), request(shared.cookie), "")
				if v, err := s.Get(ctx, "k"); err != nil || v != "shared" {
					errs <- fmt.Errorf("shared session reads %q, %v", v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ids := store.SessionIDs(); len(ids) != users+1 {
		t.Errorf("the store holds %d sessions, want %d (one per user, old IDs deleted, plus the shared one)", len(ids), users+1)
	}
}

// Store works as a plain gorilla store too: Get once per request through
// the registry, sessions.Save for every session of the request.
func TestGorillaRegistry(t *testing.T) {
	store := newStore(t)
	r := request()
	a, err := store.Get(r, "a")
	must(t, err)
	again, err := store.Get(r, "a")
	must(t, err)
	if a != again {
		t.Error("Get loaded the session twice in one request")
	}
	b, err := store.Get(r, "b")
	must(t, err)
	a.Values["k"] = "in a"
	b.Values["k"] = "in b"
	w := httptest.NewRecorder()
	must(t, sessions.Save(r, w))
	if ids := store.SessionIDs(); len(ids) != 2 {
		t.Fatalf("%d sessions, want 2", len(ids))
	}
	r = request(oneSetCookie(t, w.Header(), "a"), oneSetCookie(t, w.Header(), "b"))
	for name, want := range map[string]string{"a": "in a", "b": "in b"} {
		s, err := store.Get(r, name)
		if err != nil || s.IsNew || s.Values["k"] != want {
			t.Errorf("%s: %+v %v", name, s, err)
		}
	}
}

// Two stores are apart: a cookie of one names nothing in the other, even
// with the same secret (as after a restart: sessions live in one process).
func TestStoresAreApart(t *testing.T) {
	ctx := context.Background()
	a, b := newStore(t), newStore(t)
	h := newHarness(t, a, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "in a"))
	h.next()
	if v := get(t, logto.NewSessionStorage(b, httptest.NewRecorder(), request(h.cookie), ""), logto.StorageKeyIDToken); v != "" {
		t.Errorf("store b reads a's session: %q", v)
	}
}

// A Store not built with New cannot store sessions, and says so; it never
// panics.
func TestZeroStore(t *testing.T) {
	var store memstore.Store
	ctx := context.Background()
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(&store, w, request(&http.Cookie{Name: logto.DefaultSessionName, Value: "x"}), "")
	if v := get(t, s, "k"); v != "" {
		t.Errorf("reads %q", v)
	}
	must(t, s.Set(ctx, "k", "v"))
	if err := s.Flush(ctx); err == nil {
		t.Error("a Store without keys saved a session")
	}
	must(t, store.EndSessions(ctx, "u", ""))
	must(t, store.DeleteSession(ctx, "id"))
	unlock, err := store.LockSession(ctx, "id")
	must(t, err)
	unlock()
}
