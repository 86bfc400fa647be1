package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/testskip"
	"github.com/seed098cf14d/logto/redisstore"
)

// The tests run against a real Redis named by REDIS_URL. Without one they
// skip, unless LOGTO_REDIS_REQUIRED=1, when they fail: CI sets it.
const redisHint = "start redis-server and set REDIS_URL=redis://127.0.0.1:6379/0"

var (
	authKey  = []byte("redisstore-test-authentication-k")
	otherKey = []byte("another-redisstore-test-auth-key")
	encKey   = []byte("0123456789abcdef0123456789abcdef")
)

const testRedirect = "http://app.test/callback"

// unavailable skips, or fails under LOGTO_REDIS_REQUIRED=1; TestMain prints
// the skips after the run, as plain go test hides them.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	testskip.Unavailablef(t, "LOGTO_REDIS_REQUIRED", format, args...)
}

func TestMain(m *testing.M) {
	testskip.Main(m)
}

// redisClient returns a client of the Redis at REDIS_URL, closed when the
// test ends.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		unavailable(t, "REDIS_URL is not set: %s", redisHint)
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("REDIS_URL=%q: %v", raw, err)
	}
	if err := probe(opts); err != nil {
		unavailable(t, "Redis at REDIS_URL=%s does not answer (%v): %s", raw, err, redisHint)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// probe pings the Redis of REDIS_URL once per test binary, so that a
// missing server costs one timeout, not one per test.
func probe(opts *redis.Options) error {
	probeOnce.Do(func() {
		o := *opts
		o.MaxRetries, o.DialerRetries, o.DialTimeout = -1, 1, 2*time.Second
		c := redis.NewClient(&o)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		probeErr = c.Ping(ctx).Err()
	})
	return probeErr
}

var (
	probeOnce sync.Once
	probeErr  error
)

// uniquePrefix returns a key prefix no other test uses, and deletes every
// key under it when the test ends.
func uniquePrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, t.Name())
	prefix := "logtotest:" + name + ":" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, _ := scanKeys(ctx, c, prefix+"*")
		if len(keys) > 0 {
			_ = c.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

func scanKeys(ctx context.Context, c redis.UniversalClient, match string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, match, 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	slices.Sort(keys)
	return keys, iter.Err()
}

// fixture is a Store under a prefix of its own, with the client it uses.
type fixture struct {
	t      testing.TB
	client redis.UniversalClient
	store  *redisstore.Store
	prefix string
}

func newFixture(t testing.TB, keyPairs ...[]byte) *fixture {
	t.Helper()
	c := redisClient(t)
	return newFixtureOn(t, c, uniquePrefix(t, c), keyPairs...)
}

// newFixtureOn builds a store over c under prefix (as a second replica
// would); with no keys it uses authKey.
func newFixtureOn(t testing.TB, c redis.UniversalClient, prefix string, keyPairs ...[]byte) *fixture {
	t.Helper()
	if len(keyPairs) == 0 {
		keyPairs = [][]byte{authKey}
	}
	store, err := redisstore.New(c, testRedirect, keyPairs...)
	if err != nil {
		t.Fatal(err)
	}
	store.Prefix = prefix
	return &fixture{t: t, client: c, store: store, prefix: prefix}
}

// sessionIDs lists the IDs of the sessions the fixture's prefix holds.
func (f *fixture) sessionIDs() []string {
	f.t.Helper()
	keys, err := scanKeys(context.Background(), f.client, f.prefix+"session:*")
	if err != nil {
		f.t.Fatal(err)
	}
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, f.prefix+"session:")
	}
	return keys
}

// onlySessionID returns the ID of the one session the prefix holds.
func (f *fixture) onlySessionID() string {
	f.t.Helper()
	ids := f.sessionIDs()
	if len(ids) != 1 {
		f.t.Fatalf("Redis holds %d sessions, want 1: %q", len(ids), ids)
	}
	return ids[0]
}

func (f *fixture) key(id string) string { return f.prefix + "session:" + id }

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
	store  *redisstore.Store
	name   string
	cookie *http.Cookie
	w      *httptest.ResponseRecorder
	cur    *logto.SessionStorage
}

func newHarness(t testing.TB, store *redisstore.Store, name string) *harness {
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
