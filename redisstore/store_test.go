package redisstore_test

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

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/redisstore"
)

func TestNew(t *testing.T) {
	// New does no I/O: a client of nothing will do.
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = client.Close() })
	k := func(n int) []byte { return bytes.Repeat([]byte{'k'}, n) }
	cases := []struct {
		name     string
		client   redis.UniversalClient
		redirect string
		keys     [][]byte
		ok       bool
	}{
		{"no client", nil, testRedirect, [][]byte{k(32)}, false},
		{"no key", client, testRedirect, nil, false},
		{"nil key", client, testRedirect, [][]byte{nil}, false},
		{"short key", client, testRedirect, [][]byte{k(31)}, false},
		{"encryption key of 15 bytes", client, testRedirect, [][]byte{k(32), k(15)}, false},
		{"encryption key of 33 bytes", client, testRedirect, [][]byte{k(32), k(33)}, false},
		{"bad encryption key of an older pair", client, testRedirect, [][]byte{k(32), k(16), k(32), k(8)}, false},
		{"empty, non-nil encryption key (an unset variable)", client, testRedirect, [][]byte{k(32), {}}, false},
		{"short authentication key of an older pair", client, testRedirect, [][]byte{k(32), nil, k(8)}, false},
		{"relative redirect URI", client, "/callback", [][]byte{k(32)}, false},
		{"redirect URI with a fragment", client, "https://app.example/cb#x", [][]byte{k(32)}, false},
		{"redirect URI of another scheme", client, "ftp://app.example/cb", [][]byte{k(32)}, false},

		{"32-byte key", client, testRedirect, [][]byte{k(32)}, true},
		{"64-byte key", client, testRedirect, [][]byte{k(64)}, true},
		{"AES-128", client, testRedirect, [][]byte{k(32), k(16)}, true},
		{"AES-192", client, testRedirect, [][]byte{k(32), k(24)}, true},
		{"AES-256", client, testRedirect, [][]byte{k(32), k(32)}, true},
		{"no encryption, rotated", client, testRedirect, [][]byte{k(32), nil, k(64), nil}, true},
		{"encrypted, rotated", client, testRedirect, [][]byte{k(32), k(32), k(64), k(16)}, true},
		{"a cluster or sentinel client", redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"127.0.0.1:1"}}), testRedirect, [][]byte{k(32)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, err := redisstore.New(tc.client, tc.redirect, tc.keys...)
			if !tc.ok {
				if !errors.Is(err, logto.ErrInvalidConfig) || store != nil {
					t.Fatalf("got %v, %v; want nil and ErrInvalidConfig", store, err)
				}
				return
			}
			if err != nil || store == nil {
				t.Fatalf("got %v, %v", store, err)
			}
			if store.Options == nil || *store.Options != *logto.CookieOptions(tc.redirect) {
				t.Errorf("Options = %+v, want logto.CookieOptions", store.Options)
			}
		})
	}

	// Every problem at once.
	_, err := redisstore.New(nil, "/callback", k(8), k(15))
	for _, want := range []string{"client", "redirect URI", "authentication key 0", "encryption key 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestNewFromSecret(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // no I/O
	t.Cleanup(func() { _ = client.Close() })
	long := bytes.Repeat([]byte{'s'}, 32)
	for _, tc := range []struct {
		name     string
		client   redis.UniversalClient
		redirect string
		secrets  [][]byte
		want     []string
	}{
		{"no secret", client, testRedirect, nil, []string{"secret"}},
		{"31-byte secret", client, testRedirect, [][]byte{long[:31]}, []string{"secret 0 has 31 bytes"}},
		{"short older secret", client, testRedirect, [][]byte{long, long[:3]}, []string{"secret 1"}},
		{"every problem", nil, "/callback", [][]byte{{}}, []string{"client", "redirect URI", "secret 0"}},
	} {
		store, err := redisstore.NewFromSecret(tc.client, tc.redirect, tc.secrets...)
		if !errors.Is(err, logto.ErrInvalidConfig) || store != nil {
			t.Errorf("%s: got %v, %v; want nil and ErrInvalidConfig", tc.name, store, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}

	// Replicas with one secret share sessions; a rotated secret still reads
	// the old cookies.
	c := redisClient(t)
	prefix := uniquePrefix(t, c)
	oldSecret, newSecret := []byte("the old redisstore secret, 32+ bytes"), []byte("the new redisstore secret, 32+ bytes")
	fromSecrets := func(secrets ...[]byte) *redisstore.Store {
		t.Helper()
		st, err := redisstore.NewFromSecret(c, testRedirect, secrets...)
		must(t, err)
		st.Prefix = prefix
		return st
	}
	ctx := context.Background()
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(fromSecrets(oldSecret), w, request(), "")
	must(t, s.Set(ctx, "k", "v"))
	must(t, s.Flush(ctx))
	cookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	if got := get(t, logto.NewSessionStorage(fromSecrets(oldSecret), httptest.NewRecorder(), request(cookie), ""), "k"); got != "v" {
		t.Errorf("a second store with the secret reads %q", got)
	}
	if got := get(t, logto.NewSessionStorage(fromSecrets(newSecret, oldSecret), httptest.NewRecorder(), request(cookie), ""), "k"); got != "v" {
		t.Errorf("the rotated store reads %q", got)
	}
	if got := get(t, logto.NewSessionStorage(fromSecrets(newSecret), httptest.NewRecorder(), request(cookie), ""), "k"); got != "" {
		t.Errorf("another secret reads %q", got)
	}
}

func TestCookieAttributes(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	for _, tc := range []struct {
		redirect string
		secure   bool
	}{
		{"http://localhost:3000/callback", false},
		{"https://app.example.com/callback", true},
	} {
		t.Run(tc.redirect, func(t *testing.T) {
			store, err := redisstore.New(c, tc.redirect, authKey)
			must(t, err)
			store.Prefix = uniquePrefix(t, c)
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
			if gone.MaxAge >= 0 || !strings.Contains(w.Header().Get("Set-Cookie"), "; Max-Age=0") ||
				gone.Path != "/" || !gone.HttpOnly || gone.SameSite != http.SameSiteLaxMode || gone.Secure != tc.secure {
				t.Errorf("deletion: Set-Cookie %q", w.Header().Get("Set-Cookie"))
			}
		})
	}
}

// A cookie the store cannot read is a new, empty session: not an error, and
// never a session of someone else.
func TestUndecodableCookie(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// A real session, to make sure none of the bad cookies reach it.
	real := newHarness(t, f.store, "")
	must(t, real.cur.Set(ctx, "k", "real"))
	real.next()
	realID := f.onlySessionID()

	idCodec := func(key []byte) *securecookie.SecureCookie {
		return securecookie.New(key, nil).SetSerializer(securecookie.NopEncoder{})
	}
	encode := func(codec securecookie.Codec, name string, value any) string {
		v, err := codec.Encode(name, value)
		must(t, err)
		return v
	}
	name := logto.DefaultSessionName
	cases := []struct{ name, value string }{
		{"garbage", "not a cookie"},
		{"empty", ""},
		{"real session's ID, signed with another key", encode(idCodec(otherKey), name, []byte(realID))},
		{"real session's ID, signed for another cookie name", encode(idCodec(authKey), "other", []byte(realID))},
		{"real session's ID, truncated", real.cookie.Value[:len(real.cookie.Value)-4]},
		{"signed, but not an ID", encode(idCodec(authKey), name, []byte("short"))},
		{"signed, but a key pattern", encode(idCodec(authKey), name, []byte(strings.Repeat("*", 43)))},
		{"a gorilla cookie-store session with our key", encode(securecookie.New(authKey, nil), name, map[any]any{"k": "v"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request(&http.Cookie{Name: name, Value: tc.value})
			sess, err := f.store.Get(r, name)
			if err != nil || sess == nil || !sess.IsNew || len(sess.Values) != 0 || sess.ID != "" {
				t.Fatalf("Get = %+v, %v; want a new empty session and no error", sess, err)
			}

			w := httptest.NewRecorder()
			s := logto.NewSessionStorage(f.store, w, request(&http.Cookie{Name: name, Value: tc.value}), "")
			if v := get(t, s, "k"); v != "" {
				t.Fatalf("read %q through a bad cookie", v)
			}
			must(t, s.Set(ctx, "mine", "1"))
			must(t, s.Flush(ctx))
			fresh := oneSetCookie(t, w.Header(), name)
			if fresh.Value == tc.value || fresh.Value == real.cookie.Value {
				t.Error("the bad cookie was sent back")
			}
			if got := get(t, real.open(), "k"); got != "real" {
				t.Errorf("the real session now holds k=%q", got)
			}
			ids := f.sessionIDs()
			if len(ids) != 2 {
				t.Fatalf("%d sessions, want the real one and the fresh one", len(ids))
			}
			for _, id := range ids {
				if id != realID {
					must(t, f.store.DeleteSession(ctx, id))
				}
			}
		})
	}
}

// Keys are rotated newest first: a cookie signed with a key listed second
// still reads, and the next write re-signs it with the first.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	old := newFixture(t, otherKey, encKey)
	h := newHarness(t, old.store, "")
	must(t, h.cur.Set(ctx, "k", "v"))
	h.next()
	id := old.onlySessionID()
	oldCookie := h.cookie

	rotated := newFixtureOn(t, old.client, old.prefix, authKey, nil, otherKey, encKey)
	h.store = rotated.store
	s := h.open()
	if got := get(t, s, "k"); got != "v" {
		t.Fatalf("old cookie after rotation reads %q", got)
	}
	must(t, s.Set(ctx, "k", "v2"))
	h.next()
	if h.cookie.Value == oldCookie.Value {
		t.Fatal("the write after rotation kept the old cookie")
	}
	if got := old.onlySessionID(); got != id {
		t.Error("rotation changed the session ID")
	}

	newOnly := newFixtureOn(t, old.client, old.prefix, authKey)
	if got := get(t, logto.NewSessionStorage(newOnly.store, httptest.NewRecorder(), request(h.cookie), ""), "k"); got != "v2" {
		t.Errorf("new key alone reads %q", got)
	}
	if got := get(t, logto.NewSessionStorage(newOnly.store, httptest.NewRecorder(), request(oldCookie), ""), "k"); got != "" {
		t.Errorf("a cookie of the retired key still reads %q once the key is dropped", got)
	}
	if got := get(t, logto.NewSessionStorage(old.store, httptest.NewRecorder(), request(h.cookie), ""), "k"); got != "" {
		t.Errorf("the retired key reads the new cookie: %q", got)
	}
}

// A cookie naming a session Redis does not hold (ended, expired, never
// existed) is not signed in, and the ID is not brought back to life.
func TestUnknownSessionID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h := newHarness(t, f.store, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
	h.next()
	id := f.onlySessionID()

	must(t, f.store.DeleteSession(ctx, id))
	must(t, f.store.DeleteSession(ctx, id)) // again: not an error
	s := h.open()
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Fatalf("ended session still reads %q", v)
	}
	sess, err := f.store.Get(request(h.cookie), logto.DefaultSessionName)
	if err != nil || !sess.IsNew || sess.ID != "" {
		t.Errorf("Get = %+v, %v; want a new session", sess, err)
	}

	must(t, s.Set(ctx, "k", "v"))
	h.next()
	if got := f.onlySessionID(); got == id {
		t.Error("a write through the ended session's cookie revived its ID")
	}

	// A signed ID that never existed.
	codec := securecookie.New(authKey, nil).SetSerializer(securecookie.NopEncoder{})
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	forged, err := codec.Encode(logto.DefaultSessionName, []byte(base64.RawURLEncoding.EncodeToString(b)))
	must(t, err)
	sess, err = f.store.New(request(&http.Cookie{Name: logto.DefaultSessionName, Value: forged}), logto.DefaultSessionName)
	if err != nil || !sess.IsNew || len(sess.Values) != 0 {
		t.Errorf("unknown ID: %+v, %v", sess, err)
	}
}

// Renew must give the session a new ID and delete the old one, so an ID
// planted in the browser before sign-in never names the signed-in session.
func TestRenewReplacesSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	// The attacker's session, and its cookie.
	attacker := newHarness(t, f.store, "")
	must(t, attacker.cur.Set(ctx, "x", "attacker"))
	attacker.next()
	planted := attacker.cookie
	plantedID := f.onlySessionID()

	// The victim signs in with that cookie planted.
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(f.store, w, request(planted), "")
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
	id := f.onlySessionID()
	if id == plantedID {
		t.Fatal("Renew kept the planted session ID")
	}
	if n, err := f.client.Exists(ctx, f.key(plantedID)).Result(); err != nil || n != 0 {
		t.Errorf("the planted session's key still exists (%d, %v)", n, err)
	}
	if got := get(t, logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(planted), ""), logto.StorageKeyIDToken); got != "" {
		t.Fatalf("the planted cookie reads the victim's session (%q)", got)
	}
	if got := get(t, logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(fresh), ""), logto.StorageKeyIDToken); got != "victim" {
		t.Fatalf("the new session holds %q", got)
	}

	// Renew with nothing written after it (sign-out) ends the session.
	w = httptest.NewRecorder()
	s = logto.NewSessionStorage(f.store, w, request(fresh), "")
	must(t, s.Renew(ctx))
	must(t, s.Flush(ctx))
	if c := oneSetCookie(t, w.Header(), logto.DefaultSessionName); c.MaxAge >= 0 {
		t.Errorf("Renew without values kept the cookie: %+v", c)
	}
	if ids := f.sessionIDs(); len(ids) != 0 {
		t.Errorf("Renew without values left %q", ids)
	}
}

// The cookie holds the session ID and nothing else, whatever the session
// holds.
func TestCookieHoldsOnlyTheID(t *testing.T) {
	ctx := context.Background()
	for _, keyPairs := range [][][]byte{{authKey}, {authKey, encKey}, {authKey, encKey, otherKey, encKey}} {
		t.Run(fmt.Sprintf("%d keys", len(keyPairs)), func(t *testing.T) {
			f := newFixture(t, keyPairs...)
			h := newHarness(t, f.store, "")
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
			if len(keyPairs) == 1 {
				var raw []byte
				codec := securecookie.New(authKey, nil).SetSerializer(securecookie.NopEncoder{})
				must(t, codec.Decode(logto.DefaultSessionName, h.cookie.Value, &raw))
				if id := f.onlySessionID(); string(raw) != id || len(id) != 43 {
					t.Errorf("the cookie holds %q; the session is %q", raw, id)
				}
			}
		})
	}
}

// Only strings are stored, and only what JSON gives back unchanged; a
// refused session writes nothing.
func TestSaveRejectsWhatItCannotStore(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name  string
		key   any
		value any
	}{
		{"int key", 1, "v"},
		{"int value", "k", 42},
		{"byte slice value", "k", []byte("v")},
		{"nil value", "k", nil},
		{"invalid UTF-8 value", "k", "\xff\xfe"},
		{"invalid UTF-8 key", "\xff", "v"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := request()
			sess, err := f.store.Get(r, logto.DefaultSessionName)
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
			if ids := f.sessionIDs(); len(ids) != 0 {
				t.Errorf("a refused session wrote %q", ids)
			}
		})
	}
}

// A session lives MaxAge seconds from its last save.
func TestSessionLifetime(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	full := time.Duration(logto.DefaultSessionMaxAge) * time.Second

	t.Run("default is 7 days, renewed on save", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		h := newHarness(t, f.store, "")
		must(t, h.cur.Set(ctx, "k", "v"))
		s := h.next()
		key := f.key(f.onlySessionID())
		ttl := f.client.TTL(ctx, key).Val()
		if full != 7*day || ttl > full || ttl < full-time.Minute {
			t.Fatalf("TTL %v, want 7 days", ttl)
		}
		must(t, f.client.Expire(ctx, key, time.Hour).Err())
		must(t, s.Set(ctx, "k", "v2"))
		h.next()
		if ttl := f.client.TTL(ctx, key).Val(); ttl < full-time.Minute {
			t.Errorf("TTL after a save %v, want it back to 7 days", ttl)
		}
	})

	t.Run("MaxAge 0: browser-session cookie, default TTL", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.store.Options.MaxAge = 0
		h := newHarness(t, f.store, "")
		must(t, h.cur.Set(ctx, "k", "v"))
		h.next()
		if h.cookie.MaxAge != 0 || !h.cookie.Expires.IsZero() {
			t.Errorf("cookie %+v, want no Max-Age or Expires", h.cookie)
		}
		if ttl := f.client.TTL(ctx, f.key(f.onlySessionID())).Val(); ttl < full-time.Minute {
			t.Errorf("TTL %v, want 7 days", ttl)
		}
	})

	t.Run("MaxAge 1s expires", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.store.Options.MaxAge = 1
		h := newHarness(t, f.store, "")
		must(t, h.cur.Set(ctx, logto.StorageKeyIDToken, "token"))
		s := h.next()
		if h.cookie.MaxAge != 1 {
			t.Errorf("cookie Max-Age %d, want 1", h.cookie.MaxAge)
		}
		if get(t, s, logto.StorageKeyIDToken) != "token" {
			t.Fatal("session did not read back at once")
		}
		key := f.key(f.onlySessionID())
		if ttl := f.client.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Second {
			t.Errorf("PTTL %v, want at most 1s", ttl)
		}
		time.Sleep(1200 * time.Millisecond)
		// The browser would have dropped the cookie; one that is replayed
		// anyway names nothing.
		if v := get(t, h.open(), logto.StorageKeyIDToken); v != "" {
			t.Errorf("expired session reads %q", v)
		}
		if n := f.client.Exists(ctx, key).Val(); n != 0 {
			t.Error("expired key still exists")
		}
	})
}

// Sessions of many users written at once stay apart (run with -race).
func TestConcurrentSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const users, rounds = 16, 25
	harnesses := make([]*harness, users)
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for u := range users {
		h := newHarness(t, f.store, "")
		harnesses[u] = h
		wg.Go(func() {
			own := fmt.Sprintf("user-%d", u)
			s := h.cur
			for i := range rounds {
				v := fmt.Sprintf("%s/%d", own, i)
				if err := s.Set(ctx, "who", own); err != nil {
					errs <- err
					return
				}
				if err := s.Set(ctx, "round", v); err != nil {
					errs <- err
					return
				}
				if i%5 == 4 {
					// Sign in again now and then: new ID, old one gone.
					if err := s.Renew(ctx); err != nil {
						errs <- err
						return
					}
					if err := errors.Join(s.Set(ctx, "who", own), s.Set(ctx, "round", v)); err != nil {
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
	shared := newHarness(t, f.store, "")
	must(t, shared.cur.Set(ctx, "k", "shared"))
	shared.next()
	for range 8 {
		wg.Go(func() {
			for range rounds {
				s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(shared.cookie), "")
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
	if ids := f.sessionIDs(); len(ids) != users+1 {
		t.Errorf("Redis holds %d sessions, want %d (one per user, old IDs deleted, plus the shared one)", len(ids), users+1)
	}
}

// Store works as a plain gorilla store too: Get once per request through
// the registry, sessions.Save for every session of the request.
func TestGorillaRegistry(t *testing.T) {
	f := newFixture(t)
	r := request()
	a, err := f.store.Get(r, "a")
	must(t, err)
	again, err := f.store.Get(r, "a")
	must(t, err)
	if a != again {
		t.Error("Get loaded the session twice in one request")
	}
	b, err := f.store.Get(r, "b")
	must(t, err)
	a.Values["k"] = "in a"
	b.Values["k"] = "in b"
	w := httptest.NewRecorder()
	must(t, sessions.Save(r, w))
	if ids := f.sessionIDs(); len(ids) != 2 {
		t.Fatalf("%d sessions, want 2", len(ids))
	}
	r = request(oneSetCookie(t, w.Header(), "a"), oneSetCookie(t, w.Header(), "b"))
	for name, want := range map[string]string{"a": "in a", "b": "in b"} {
		s, err := f.store.Get(r, name)
		if err != nil || s.IsNew || s.Values["k"] != want {
			t.Errorf("%s: %+v %v", name, s, err)
		}
	}
}
