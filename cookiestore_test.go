package logto_test

import (
	"bytes"
	"context"
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
)

// decodings returns s and everything reachable from it by base64-decoding it
// or any of its "|"- or "."-separated parts, with any of the four alphabets,
// up to a few levels deep: every way a reader of the cookie could look at it.
func decodings(s []byte, depth int) [][]byte {
	out := [][]byte{s}
	if depth == 0 {
		return out
	}
	parts := append([][]byte{s}, bytes.Split(s, []byte("|"))...)
	parts = append(parts, bytes.Split(s, []byte("."))...)
	for _, p := range parts {
		for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
			if d, err := enc.DecodeString(string(p)); err == nil && len(d) > 0 {
				out = append(out, decodings(d, depth-1)...)
			}
		}
	}
	return out
}

// writeSession writes values into a new session of store under name and
// returns the response's headers.
func writeSession(t testing.TB, store sessions.Store, r *http.Request, name string, values map[string]string) http.Header {
	t.Helper()
	ctx := context.Background()
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, r, name)
	for k, v := range values {
		if err := s.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return w.Header()
}

// sessionCookies returns the cookies of the session name that h sets, as
// the next request carries them.
func sessionCookies(t testing.TB, h http.Header, name string) []*http.Cookie {
	t.Helper()
	jar := map[string]string{}
	applySetCookies(t, jar, h, name)
	return jarCookies(jar)
}

// readAll reads keys from the session name that cookies carry.
func readAll(t testing.TB, store sessions.Store, cookies []*http.Cookie, name string, keys ...string) map[string]string {
	t.Helper()
	s := logto.NewSessionStorage(store, httptest.NewRecorder(), ssRequest(cookies...), name)
	got := map[string]string{}
	for _, k := range keys {
		v, err := s.Get(context.Background(), k)
		if err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		if v != "" {
			got[k] = v
		}
	}
	return got
}

// Whoever sees the cookie (a log, a proxy, a shared machine) must not read
// the refresh token in it.
func TestCookieStoreSealsTokens(t *testing.T) {
	secrets := map[string]string{
		logto.StorageKeyRefreshToken: "refresh-token-Zq8mXc4TtL0pKs",
		logto.StorageKeyIDToken:      "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJl",
	}
	store := ssStore(t)
	cookies := sessionCookies(t, writeSession(t, store, ssRequest(), "", secrets), logto.DefaultSessionName)
	for _, c := range cookies {
		for _, d := range decodings([]byte(c.Value), 4) {
			for k, v := range secrets {
				// Any 12 bytes of a token, or of what its parts decode
				// to, would do to recognise it.
				for _, part := range []string{v, v[:12], v[len(v)-12:], `{"sub":"user-123"}`[:12], "signature"} {
					if bytes.Contains(d, []byte(part)) {
						t.Fatalf("the cookie shows %s (%q) once decoded: %q", k, part, d)
					}
				}
			}
		}
	}
	if got := readAll(t, store, cookies, "", logto.StorageKeyRefreshToken); got[logto.StorageKeyRefreshToken] != secrets[logto.StorageKeyRefreshToken] {
		t.Errorf("the store reads back %q", got)
	}
}

func TestNewCookieStore(t *testing.T) {
	long := bytes.Repeat([]byte{'s'}, 32)
	for _, tc := range []struct {
		name     string
		redirect string
		secrets  [][]byte
		want     []string // in the error
	}{
		{"no secret", ssRedirect, nil, []string{"secret"}},
		{"empty secret (an unset variable)", ssRedirect, [][]byte{{}}, []string{"secret 0"}},
		{"31-byte secret", ssRedirect, [][]byte{long[:31]}, []string{"secret 0", "32"}},
		{"short older secret", ssRedirect, [][]byte{long, []byte("old")}, []string{"secret 1"}},
		{"relative redirect URI, short secret", "/callback", [][]byte{long[:8]}, []string{"/callback", "secret 0"}},
		{"redirect URI with a fragment", "https://app.example/cb#x", [][]byte{long}, []string{"fragment"}},
		{"redirect URI of another scheme", "ftp://app.example/cb", [][]byte{long}, []string{"ftp"}},
	} {
		store, err := logto.NewCookieStore(tc.redirect, tc.secrets...)
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

	for _, redirect := range []string{"https://app.example/callback", "http://localhost:3000/callback"} {
		store, err := logto.NewCookieStore(redirect, long, bytes.Repeat([]byte{'o'}, 64))
		if err != nil {
			t.Fatal(err)
		}
		if *store.Options != *logto.CookieOptions(redirect) {
			t.Errorf("Options = %+v, want CookieOptions", *store.Options)
		}
		// An accepted store writes and reads a session.
		h := newSessionStorageHarness(t, store)
		if err := h.cur.Set(context.Background(), "k", "v"); err != nil {
			t.Fatal(err)
		}
		if v, err := h.next().Get(context.Background(), "k"); err != nil || v != "v" {
			t.Errorf("round trip: %q %v", v, err)
		}
	}
}

// A secret is rotated by putting the new one first: cookies sealed with the
// old one still open, new ones are sealed with the new one, and the old
// secret alone cannot open those.
func TestCookieStoreSecretRotation(t *testing.T) {
	oldSecret := []byte("the old session secret, 32+ bytes long")
	newSecret := []byte("the new session secret, 32+ bytes long")
	old := ssStore(t, oldSecret)
	oldCookies := sessionCookies(t, writeSession(t, old, ssRequest(), "", map[string]string{"k": "old"}), logto.DefaultSessionName)

	rotated := ssStore(t, newSecret, oldSecret)
	if got := readAll(t, rotated, oldCookies, "", "k")["k"]; got != "old" {
		t.Fatalf("the rotated store reads %q from an old cookie, want old", got)
	}
	newCookies := sessionCookies(t, writeSession(t, rotated, ssRequest(oldCookies...), "", map[string]string{"k": "new"}), logto.DefaultSessionName)
	if got := readAll(t, ssStore(t, newSecret), newCookies, "", "k")["k"]; got != "new" {
		t.Errorf("the new secret alone reads %q, want new", got)
	}
	if got := readAll(t, old, newCookies, "", "k")["k"]; got != "" {
		t.Errorf("the retired secret reads %q from a cookie sealed after rotation", got)
	}
	if got := readAll(t, ssStore(t, []byte("someone else's secret, 32+ bytes")), oldCookies, "", "k")["k"]; got != "" {
		t.Errorf("another secret reads %q", got)
	}
}

// bigValues are session values that need two cookies.
func bigValues() map[string]string {
	return map[string]string{
		logto.StorageKeyRefreshToken: "refresh-token",
		"a":                          strings.Repeat("a", 3000),
		"b":                          strings.Repeat("b", 2000),
	}
}

// The attacks on a stored session: each reads as a new, empty session, never
// as an error, and the control (the same cookies untouched) reads.
func TestCookieStoreRefusesAttacks(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	store := ssStore(t)
	logto.SetCookieStoreClock(store, func() time.Time { return now })
	small := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{logto.StorageKeyRefreshToken: "refresh-token"}), logto.DefaultSessionName)
	big := sessionCookies(t, writeSession(t, store, ssRequest(), "", bigValues()), logto.DefaultSessionName)
	if len(small) != 1 || len(big) != 2 {
		t.Fatalf("%d and %d cookies, want 1 and 2", len(small), len(big))
	}
	other := sessionCookies(t, writeSession(t, store, ssRequest(), "other", map[string]string{logto.StorageKeyRefreshToken: "refresh-token"}), "other")
	// Each read once where it belongs and while it is fresh, as the app
	// would have before the attack: what the store remembers of sessions
	// it has opened must not open them anywhere else, or later.
	for _, fresh := range []struct {
		name    string
		cookies []*http.Cookie
	}{{"", small}, {"", big}, {"other", other}} {
		if got := readAll(t, store, fresh.cookies, fresh.name, logto.StorageKeyRefreshToken); got[logto.StorageKeyRefreshToken] != "refresh-token" {
			t.Fatalf("%q: the fresh session reads %q", fresh.name, got)
		}
	}

	rename := func(cs []*http.Cookie, from, to string) []*http.Cookie {
		var out []*http.Cookie
		for _, c := range cs {
			out = append(out, &http.Cookie{Name: strings.Replace(c.Name, from, to, 1), Value: c.Value})
		}
		return out
	}
	edit := func(cs []*http.Cookie, i int, f func(string) string) []*http.Cookie {
		out := make([]*http.Cookie, len(cs))
		for j, c := range cs {
			out[j] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
		out[i].Value = f(out[i].Value)
		return out
	}
	flip := func(at int) func(string) string {
		return func(v string) string {
			if at < 0 {
				at += len(v)
			}
			b := []byte(v)
			b[at] ^= 'A' ^ 'B'
			if b[at] == v[at] || !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", rune(b[at])) {
				b[at] = map[bool]byte{true: 'A', false: 'B'}[v[at] != 'A']
			}
			return string(b)
		}
	}
	cases := []struct {
		name    string
		cookies []*http.Cookie
		later   time.Duration // the clock when the cookies come back
	}{
		{"moved from the session \"other\"", rename(other, "other", logto.DefaultSessionName), 0},
		{"past its Max-Age, sent anyway", small, logto.DefaultSessionMaxAge*time.Second + time.Second},
		{"a chunked session past its Max-Age", big, logto.DefaultSessionMaxAge*time.Second + time.Second},
		{"first character changed", edit(small, 0, flip(0)), 0},
		{"last character changed", edit(small, 0, flip(-1)), 0},
		{"a chunk's last character changed", edit(big, 1, flip(-1)), 0},
		{"chunk count changed", edit(big, 0, func(v string) string { return "3" + v[1:] }), 0},
		{"chunk count taken away", edit(big, 0, func(v string) string { return v[2:] }), 0},
		{"second chunk missing", big[:1], 0},
		{"chunks swapped", []*http.Cookie{{Name: big[0].Name, Value: big[0].Value[:2] + big[1].Value}, {Name: big[1].Name, Value: big[0].Value[2:]}}, 0},
		{"a chunk of another session", []*http.Cookie{big[0], {Name: big[1].Name, Value: sessionCookies(t, writeSession(t, store, ssRequest(), "", bigValues()), logto.DefaultSessionName)[1].Value}}, 0},
		{"oversized", []*http.Cookie{{Name: logto.DefaultSessionName, Value: strings.Repeat("A", 100<<10)}}, 0},
		{"oversized chunks", []*http.Cookie{{Name: logto.DefaultSessionName, Value: "9." + strings.Repeat("A", 4000)}, {Name: "logto.1", Value: strings.Repeat("A", 4000)}, {Name: "logto.2", Value: strings.Repeat("A", 4000)}, {Name: "logto.3", Value: strings.Repeat("A", 4000)}, {Name: "logto.4", Value: strings.Repeat("A", 4000)}, {Name: "logto.5", Value: strings.Repeat("A", 4000)}, {Name: "logto.6", Value: strings.Repeat("A", 4000)}, {Name: "logto.7", Value: strings.Repeat("A", 4000)}, {Name: "logto.8", Value: strings.Repeat("A", 4000)}}, 0},
		{"too many chunks", edit(big, 0, func(v string) string { return "10" + v[1:] }), 0},
		{"garbage", []*http.Cookie{{Name: logto.DefaultSessionName, Value: "garbage"}}, 0},
		{"a gorilla cookie", []*http.Cookie{{Name: logto.DefaultSessionName, Value: "MTcwMDAwMDAwMHxhYmN8ZGVm"}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := now.Add(tc.later)
			logto.SetCookieStoreClock(store, func() time.Time { return at })
			defer logto.SetCookieStoreClock(store, func() time.Time { return now })
			if got := readAll(t, store, tc.cookies, "", logto.StorageKeyRefreshToken, "a"); len(got) != 0 {
				t.Errorf("read %.40q", got)
			}
			sess, err := store.Get(ssRequest(tc.cookies...), logto.DefaultSessionName)
			if err != nil || !sess.IsNew || len(sess.Values) != 0 {
				t.Errorf("Get = %d values, new=%v, %v; want a new, empty session and no error", len(sess.Values), sess.IsNew, err)
			}
		})
	}
	// The controls.
	for _, cs := range [][]*http.Cookie{small, big} {
		if got := readAll(t, store, cs, "", logto.StorageKeyRefreshToken); got[logto.StorageKeyRefreshToken] != "refresh-token" {
			t.Errorf("the untouched cookies read %q", got)
		}
	}
	logto.SetCookieStoreClock(store, func() time.Time { return now.Add(logto.DefaultSessionMaxAge*time.Second - time.Second) })
	if got := readAll(t, store, small, "", logto.StorageKeyRefreshToken); got[logto.StorageKeyRefreshToken] != "refresh-token" {
		t.Errorf("a second before its expiry the cookie reads %q", got)
	}
}

// The seal's expiry is the cookie's own Max-Age, whatever it is set to.
func TestCookieStoreSealsItsMaxAge(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	store := ssStore(t)
	store.Options.MaxAge = 3600
	logto.SetCookieStoreClock(store, func() time.Time { return now })
	cookies := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": "v"}), logto.DefaultSessionName)
	for _, tc := range []struct {
		later time.Duration
		want  string
	}{{3599 * time.Second, "v"}, {3600 * time.Second, ""}, {30 * 24 * time.Hour, ""}} {
		logto.SetCookieStoreClock(store, func() time.Time { return now.Add(tc.later) })
		if got := readAll(t, store, cookies, "", "k")["k"]; got != tc.want {
			t.Errorf("%v later: k = %q, want %q", tc.later, got, tc.want)
		}
	}
}

// A session read from the store is the caller's to change: the next read
// of the same cookies is what the cookies hold.
func TestCookieStoreSessionsAreApart(t *testing.T) {
	store := ssStore(t)
	cookies := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": "v"}), logto.DefaultSessionName)
	for range 3 {
		sess, err := store.New(ssRequest(cookies...), logto.DefaultSessionName)
		if err != nil || sess.Values["k"] != "v" || len(sess.Values) != 1 {
			t.Fatalf("session %v, %v", sess.Values, err)
		}
		sess.Values["k"] = "changed"
		sess.Values["added"] = "x"
		sess.Options.MaxAge = -1
	}
	if *store.Options != *logto.CookieOptions(ssRedirect) {
		t.Errorf("a session's options changed the store's: %+v", *store.Options)
	}
}

func TestCookieStoreRefusesOtherValueTypes(t *testing.T) {
	store := ssStore(t)
	for _, v := range []any{1, []byte("v"), nil, map[string]string{}} {
		sess, _ := store.New(ssRequest(), logto.DefaultSessionName)
		sess.Values["k"] = v
		w := httptest.NewRecorder()
		if err := store.Save(ssRequest(), w, sess); !errors.Is(err, logto.ErrStorage) {
			t.Errorf("Save of a %T: err = %v, want ErrStorage", v, err)
		}
		if lines := w.Header().Values("Set-Cookie"); len(lines) != 0 {
			t.Errorf("Save of a %T wrote %q", v, lines)
		}
	}
	sess, _ := store.New(ssRequest(), logto.DefaultSessionName)
	sess.Values[42] = "v"
	if err := store.Save(ssRequest(), httptest.NewRecorder(), sess); !errors.Is(err, logto.ErrStorage) {
		t.Errorf("Save with a non-string key: err = %v, want ErrStorage", err)
	}
}

// A session over one cookie is split into name, name.1, ...; every line
// fits a browser, all of them the budget, and each write deletes the chunks
// the request carried that it no longer uses.
func TestCookieStoreChunks(t *testing.T) {
	store := ssStore(t)
	h := newSessionStorageHarness(t, store)
	ctx := context.Background()
	for k, v := range bigValues() {
		if err := h.cur.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	s := h.next()
	lines := h.last.Values("Set-Cookie")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "logto=2.") || !strings.HasPrefix(lines[1], "logto.1=") {
		t.Fatalf("Set-Cookie = %.80q, want logto=2.... and logto.1=...", lines)
	}
	for _, l := range lines {
		c, _ := http.ParseSetCookie(l)
		wantSessionCookie(t, c, false)
	}
	for k, want := range bigValues() {
		if got, _ := s.Get(ctx, k); got != want {
			t.Errorf("%s = %.20q..., want %.20q...", k, got, want)
		}
	}

	// Shrinking to one cookie deletes logto.1 in the same response.
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	s = h.next()
	c := oneSetCookie(t, h.last, logto.DefaultSessionName)
	if strings.Contains(c.Value, ".") {
		t.Errorf("a session that fits is still chunked: %.20q", c.Value)
	}
	if gone := oneSetCookie(t, h.last, "logto.1"); gone.MaxAge >= 0 || gone.Value != "" {
		t.Errorf("logto.1 = %+v, want it deleted", gone)
	}
	if len(h.jar) != 1 {
		t.Errorf("the browser keeps %v", h.jar)
	}
	if got, _ := s.Get(ctx, "b"); got != bigValues()["b"] {
		t.Errorf("b = %.20q", got)
	}

	// Signing out deletes every chunk the request carried.
	for k, v := range bigValues() {
		_ = s.Set(ctx, k, v)
	}
	s = h.next()
	if err := s.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	h.next()
	for _, name := range []string{"logto", "logto.1"} {
		if c := oneSetCookie(t, h.last, name); c.MaxAge >= 0 {
			t.Errorf("after Renew, %s = %+v, want it deleted", name, c)
		}
	}
	if len(h.jar) != 0 {
		t.Errorf("the browser keeps %v", h.jar)
	}
}

// Chunks left over from elsewhere (a response that never arrived, an older
// version with more chunks) do not confuse the reader, and the next write
// deletes them.
func TestCookieStoreStaleChunks(t *testing.T) {
	store := ssStore(t)
	cookies := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": "v"}), logto.DefaultSessionName)
	stale := append(cookies, &http.Cookie{Name: "logto.1", Value: "stale"}, &http.Cookie{Name: "logto.5", Value: "stale"}, &http.Cookie{Name: "logto.x", Value: "not ours"})
	if got := readAll(t, store, stale, "", "k")["k"]; got != "v" {
		t.Fatalf("with stale chunks beside it the session reads %q", got)
	}
	h := writeSession(t, store, ssRequest(stale...), "", map[string]string{"k": "v2"})
	for _, name := range []string{"logto.1", "logto.5"} {
		if c := oneSetCookie(t, h, name); c.MaxAge >= 0 {
			t.Errorf("stale %s = %+v, want it deleted", name, c)
		}
	}
	if cs := setCookies(t, h, "logto.x"); len(cs) != 0 {
		t.Errorf("a cookie that is no chunk of ours was touched: %+v", cs)
	}
}

// Flushing several times in one request leaves one line per cookie, chunks
// and deletions included.
func TestCookieStoreFlushTwiceWithChunks(t *testing.T) {
	store := ssStore(t)
	ctx := context.Background()
	carried := append(sessionCookies(t, writeSession(t, store, ssRequest(), "", bigValues()), logto.DefaultSessionName),
		&http.Cookie{Name: "logto.2", Value: "stale"})
	w := httptest.NewRecorder()
	w.Header().Add("Set-Cookie", "logto_other=1")
	s := logto.NewSessionStorage(store, w, ssRequest(carried...), "")
	for _, step := range []func() error{
		func() error { return s.Set(ctx, "x", "1") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Delete(ctx, "a") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Set(ctx, "a", strings.Repeat("c", 3000)) },
		func() error { return s.Flush(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	jar := map[string]string{}
	applySetCookies(t, jar, w.Header(), logto.DefaultSessionName) // fails on a name set twice
	if len(setCookies(t, w.Header(), "logto_other")) != 1 {
		t.Error("another cookie's line was dropped")
	}
	if _, ok := jar["logto.2"]; ok || len(jar) != 2 {
		t.Errorf("the browser keeps %v, want logto and logto.1", jar)
	}
	if got := readAll(t, store, jarCookies(jar), "", "x", "a"); got["x"] != "1" || got["a"] != strings.Repeat("c", 3000) {
		t.Errorf("read %.30q", got)
	}
}

// Save refuses a session over the budget, rather than write cookies a
// browser or a proxy would drop.
func TestCookieStoreRefusesOverBudget(t *testing.T) {
	store := ssStore(t)
	sess, _ := store.New(ssRequest(), logto.DefaultSessionName)
	sess.Values["k"] = strings.Repeat("k", logto.MaxSessionCookieBytes)
	w := httptest.NewRecorder()
	if err := store.Save(ssRequest(), w, sess); !errors.Is(err, logto.ErrStorage) {
		t.Errorf("err = %v, want ErrStorage", err)
	}
	if lines := w.Header().Values("Set-Cookie"); len(lines) != 0 {
		t.Errorf("wrote %d lines", len(lines))
	}
	// Just under the budget, it fits.
	sess.Values["k"] = strings.Repeat("k", 5500)
	w = httptest.NewRecorder()
	if err := store.Save(ssRequest(), w, sess); err != nil {
		t.Fatal(err)
	}
	applySetCookies(t, map[string]string{}, w.Header(), logto.DefaultSessionName)
}

// A zero CookieStore, not made by NewCookieStore, neither panics nor writes
// an unsealed cookie.
func TestZeroCookieStore(t *testing.T) {
	store := &logto.CookieStore{}
	sess, err := store.Get(ssRequest(&http.Cookie{Name: "logto", Value: "x"}), logto.DefaultSessionName)
	if err != nil || !sess.IsNew {
		t.Fatalf("Get = %+v, %v", sess, err)
	}
	sess.Values["k"] = "v"
	w := httptest.NewRecorder()
	if err := store.Save(ssRequest(), w, sess); !errors.Is(err, logto.ErrInvalidConfig) || len(w.Header().Values("Set-Cookie")) != 0 {
		t.Errorf("Save = %v, %q", err, w.Header().Values("Set-Cookie"))
	}
}

// The session is found among the other cookies of the request, whatever
// their names, order or number of Cookie header lines.
func TestCookieStoreFindsItsCookie(t *testing.T) {
	store := ssStore(t)
	value := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": "v"}), logto.DefaultSessionName)[0].Value
	for _, header := range [][]string{
		{"logto=" + value},
		{"logtox=1; xlogto=2; logto_=3; logto.1=4; logto=" + value + "; other=5"},
		{"a=1;logto=" + value + ";b=2"},
		{"a=1", "logto=" + value},
		{"logto" + "=" + value + " ", "logto=second"},
	} {
		r := ssRequest()
		r.Header["Cookie"] = header
		if got := readAll(t, store, nil, "", "k")["k"]; got != "" {
			t.Fatal("no cookies read a value")
		}
		s := logto.NewSessionStorage(store, httptest.NewRecorder(), r, "")
		if got, err := s.Get(context.Background(), "k"); err != nil || got != "v" {
			t.Errorf("Cookie %q: k = %q, %v", header, got, err)
		}
	}
	r := ssRequest()
	r.Header["Cookie"] = []string{"xlogto=" + value + "; logto_=" + value + "; logto.1=" + value}
	if got, _ := logto.NewSessionStorage(store, httptest.NewRecorder(), r, "").Get(context.Background(), "k"); got != "" {
		t.Errorf("another cookie's value read as the session: %q", got)
	}
}

// Requests read sessions of one store at once, the same cookies and others,
// while it remembers and forgets them (for the race detector).
func TestCookieStoreConcurrentReads(t *testing.T) {
	store := ssStore(t)
	var all [][]*http.Cookie
	for i := range 4 {
		all = append(all, sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": fmt.Sprint(i)}), logto.DefaultSessionName))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if g == 0 && i%50 == 0 {
					logto.ForgetOpenedSessions(store)
				}
				j := (g + i) % len(all)
				sess, err := store.New(ssRequest(all[j]...), logto.DefaultSessionName)
				if err != nil || sess.Values["k"] != fmt.Sprint(j) {
					t.Errorf("session %d reads %v, %v", j, sess.Values, err)
					return
				}
				sess.Values["k"] = "changed"
			}
		})
	}
	wg.Wait()
}

// Reads of a cookie session skip gorilla's session until something loads
// it to write; then every SessionStorage of the request (RequireAuth's and
// the handler's, say) reads what the others wrote, as with gorilla's
// registry alone, and a session read before a write is not read stale.
func TestCookieSessionStoragesOfOneRequestAgree(t *testing.T) {
	ctx := context.Background()
	store := ssStore(t)
	cookies := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": "v", "gone": "x"}), logto.DefaultSessionName)
	r := ssRequest(cookies...)
	w := httptest.NewRecorder()
	get := func(s *logto.SessionStorage, key string) string {
		t.Helper()
		v, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := logto.NewSessionStorage(store, w, r, "")
	if v := get(first, "k"); v != "v" {
		t.Fatalf("first reads %q", v)
	}
	second := logto.NewSessionStorage(store, w, r, "")
	if err := second.Set(ctx, "k", "w"); err != nil {
		t.Fatal(err)
	}
	if err := second.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if v := get(first, "k"); v != "w" {
		t.Errorf("after another storage of the request wrote, first reads %q, want %q", v, "w")
	}
	if v := get(first, "gone"); v != "" {
		t.Errorf("after another storage of the request deleted it, first reads %q", v)
	}
	third := logto.NewSessionStorage(store, w, r, "")
	if v := get(third, "k"); v != "w" {
		t.Errorf("a storage made after the write reads %q, want %q", v, "w")
	}
	if err := second.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, store, sessionCookies(t, w.Header(), logto.DefaultSessionName), "", "k", "gone"); got["k"] != "w" || len(got) != 1 {
		t.Errorf("the saved session holds %v", got)
	}
}

// What one request writes to its session, saved or not, never shows in
// another request carrying the same cookie: the values a CookieStore
// remembers are shared by every such request and changed by none.
func TestCookieSessionWritesStayInTheirRequest(t *testing.T) {
	ctx := context.Background()
	store := ssStore(t)
	cookies := sessionCookies(t, writeSession(t, store, ssRequest(), "", map[string]string{"k": "v"}), logto.DefaultSessionName)
	for i := range 3 {
		s := logto.NewSessionStorage(store, httptest.NewRecorder(), ssRequest(cookies...), "")
		if v, err := s.Get(ctx, "k"); err != nil || v != "v" {
			t.Fatalf("request %d reads %q, %v", i, v, err)
		}
		if err := s.Set(ctx, "k", "changed"); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, "added", "x"); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := readAll(t, store, cookies, "", "k", "added"); got["k"] != "v" || len(got) != 1 {
		t.Errorf("the cookie now reads %v", got)
	}
}
