package memstore_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/memstore"
)

var (
	secret      = []byte("memstore test secret, 32 bytes +")
	otherSecret = []byte("another memstore test secret, 32+")
)

const testRedirect = "http://app.test/callback"

// newStore returns a Store for testRedirect with secret.
func newStore(t testing.TB) *memstore.Store {
	t.Helper()
	s, err := memstore.New(testRedirect, secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeClock is a settable clock for a Store's Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// request returns a request to the app carrying cookies.
func request(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.test/page", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// setCookies parses the Set-Cookie lines of h for the cookie name.
func setCookies(t testing.TB, h http.Header, name string) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("unparsable Set-Cookie %q: %v", line, err)
		}
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// oneSetCookie returns the only Set-Cookie of h for the cookie name.
func oneSetCookie(t testing.TB, h http.Header, name string) *http.Cookie {
	t.Helper()
	cs := setCookies(t, h, name)
	if len(cs) != 1 {
		t.Fatalf("%d Set-Cookie lines for %q, want 1: %q", len(cs), name, h.Values("Set-Cookie"))
	}
	return cs[0]
}

// harness drives logto.SessionStorage across requests like a browser: next
// flushes the current request's storage and starts the next request with the
// cookie it set (or without the one it deleted).
type harness struct {
	t      testing.TB
	store  *memstore.Store
	name   string
	cookie *http.Cookie
	w      *httptest.ResponseRecorder
	cur    *logto.SessionStorage
}

func newHarness(t testing.TB, store *memstore.Store, name string) *harness {
	h := &harness{t: t, store: store, name: name}
	if h.name == "" {
		h.name = logto.DefaultSessionName
	}
	h.open()
	return h
}

func (h *harness) open() *logto.SessionStorage {
	h.w = httptest.NewRecorder()
	r := request()
	if h.cookie != nil {
		r = request(h.cookie)
	}
	h.cur = logto.NewSessionStorage(h.store, h.w, r, h.name)
	return h.cur
}

// step flushes the current request and opens the next, reporting failures
// instead of ending the test (for goroutines).
func (h *harness) step() (*logto.SessionStorage, error) {
	if err := h.cur.Flush(context.Background()); err != nil {
		return nil, err
	}
	for _, line := range h.w.Header().Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != h.name {
			continue
		}
		h.cookie = c
		if c.MaxAge < 0 {
			h.cookie = nil
		}
	}
	return h.open(), nil
}

func (h *harness) next() *logto.SessionStorage {
	h.t.Helper()
	s, err := h.step()
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// onlySessionID returns the ID of the one session store holds.
func onlySessionID(t testing.TB, store *memstore.Store) string {
	t.Helper()
	ids := store.SessionIDs()
	if len(ids) != 1 {
		t.Fatalf("the store holds %d sessions, want 1: %q", len(ids), ids)
	}
	return ids[0]
}

// fakeIDToken is an unsigned JWT with the claims; the store does not verify.
func fakeIDToken(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

// get reads key in s, failing the test on an error.
func get(t testing.TB, s logto.Storage, key string) string {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
