package logto_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/testskip"
	"github.com/seed098cf14d/logto/storagetest"
)

const ssRedirect = "http://app.test/callback"

func ssStore(t testing.TB, secrets ...[]byte) *logto.CookieStore {
	t.Helper()
	if len(secrets) == 0 {
		secrets = [][]byte{webSecret}
	}
	store, err := logto.NewCookieStore(ssRedirect, secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// ssRequest returns a request to the app carrying cookies.
func ssRequest(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.test/page", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

// readSession reads keys from the session that cookie carries, as the next
// request would.
func readSession(t testing.TB, store sessions.Store, cookie *http.Cookie, keys ...string) map[string]string {
	t.Helper()
	s := logto.NewSessionStorage(store, httptest.NewRecorder(), ssRequest(cookie), "")
	got := map[string]string{}
	for _, k := range keys {
		v, err := s.Get(context.Background(), k)
		if err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		got[k] = v
	}
	return got
}

// sessionStorageHarness drives SessionStorage across requests like a browser:
// each reopen flushes the current request's storage and starts the next
// request with the cookies it set (and without those it deleted).
type sessionStorageHarness struct {
	t     *testing.T
	store sessions.Store
	jar   map[string]string // the session's cookies, by name
	w     *httptest.ResponseRecorder
	last  http.Header // the response headers of the request before cur
	cur   *logto.SessionStorage
}

func newSessionStorageHarness(t *testing.T, store sessions.Store) *sessionStorageHarness {
	h := &sessionStorageHarness{t: t, store: store, jar: map[string]string{}}
	h.next()
	return h
}

func (h *sessionStorageHarness) next() *logto.SessionStorage {
	h.t.Helper()
	if h.cur != nil {
		if err := h.cur.Flush(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		applySetCookies(h.t, h.jar, h.w.Header(), logto.DefaultSessionName)
		h.last = h.w.Header()
	}
	h.w = httptest.NewRecorder()
	h.cur = logto.NewSessionStorage(h.store, h.w, ssRequest(jarCookies(h.jar)...), "")
	return h.cur
}

// applySetCookies updates jar, a browser's cookies of the session name
// (the cookie name and its chunks name.1, name.2, ...), with the Set-Cookie
// lines of h, and fails the test when a line is over the budget or a cookie
// is set twice.
func applySetCookies(t testing.TB, jar map[string]string, h http.Header, name string) {
	t.Helper()
	seen := map[string]bool{}
	total := 0
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("unparsable Set-Cookie %q: %v", line, err)
		}
		if c.Name != name && !strings.HasPrefix(c.Name, name+".") {
			continue
		}
		if seen[c.Name] {
			t.Fatalf("two Set-Cookie lines for %s: %q", c.Name, h.Values("Set-Cookie"))
		}
		seen[c.Name] = true
		if len(line) > logto.MaxCookieBytes {
			t.Fatalf("a Set-Cookie line of %d bytes (> %d)", len(line), logto.MaxCookieBytes)
		}
		total += len(line)
		if c.MaxAge < 0 {
			delete(jar, c.Name)
		} else {
			jar[c.Name] = c.Value
		}
	}
	if total > logto.MaxSessionCookieBytes {
		t.Fatalf("Set-Cookie lines of %d bytes in all (> %d)", total, logto.MaxSessionCookieBytes)
	}
}

// jarCookies are the cookies of jar, as a request carries them.
func jarCookies(jar map[string]string) []*http.Cookie {
	var out []*http.Cookie
	for _, k := range slices.Sorted(maps.Keys(jar)) {
		out = append(out, &http.Cookie{Name: k, Value: jar[k]})
	}
	return out
}

// storageImpl is a Storage implementation under the shared contract: open
// returns an empty session, and reopen that session as the next request (or
// the next caller) sees it once everything written so far was sent.
type storageImpl struct {
	name string
	open func(t *testing.T) (s logto.Storage, reopen func() logto.Storage)
}

func storageImpls() []storageImpl {
	memory := func(newStorage func() *logto.MemoryStorage) func(*testing.T) (logto.Storage, func() logto.Storage) {
		return func(*testing.T) (logto.Storage, func() logto.Storage) {
			m := newStorage()
			return m, func() logto.Storage { return m }
		}
	}
	cookie := func(store func(t *testing.T) sessions.Store) func(*testing.T) (logto.Storage, func() logto.Storage) {
		return func(t *testing.T) (logto.Storage, func() logto.Storage) {
			h := newSessionStorageHarness(t, store(t))
			return h.cur, func() logto.Storage { return h.next() }
		}
	}
	return []storageImpl{
		{"MemoryStorage", memory(logto.NewMemoryStorage)},
		{"zero MemoryStorage", memory(func() *logto.MemoryStorage { return &logto.MemoryStorage{} })},
		{"SessionStorage CookieStore", cookie(func(t *testing.T) sessions.Store { return ssStore(t) })},
		{"SessionStorage CookieStore, rotated secrets", cookie(func(t *testing.T) sessions.Store { return ssStore(t, webSecret, webOtherSecret) })},
		// A gorilla CookieStore of the app's own making still works.
		{"SessionStorage gorilla CookieStore", cookie(func(*testing.T) sessions.Store {
			return sessions.NewCookieStore([]byte("gorilla-authentication-key-32+bytes"), []byte("gorilla-encryption-key-32-bytes!"))
		})},
	}
}

// TestStorageContract runs the shared Storage contract (storagetest) on
// every storage of this package.
func TestStorageContract(t *testing.T) {
	for _, impl := range storageImpls() {
		t.Run(impl.name, func(t *testing.T) { storagetest.Run(t, impl.open) })
	}
}

// TestMain says, after the run, which tests skipped and why: storagetest
// skips the cases that do not apply to a storage, and plain go test would
// not show it.
func TestMain(m *testing.M) {
	testskip.Main(m)
}

func TestSessionStorageBuffersUntilFlush(t *testing.T) {
	ctx := context.Background()
	store := ssStore(t)
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, ssRequest(), "")
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "nothing"); err != nil {
		t.Fatal(err)
	}
	if lines := w.Header().Values("Set-Cookie"); len(lines) != 0 {
		t.Fatalf("written before Flush: %q", lines)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	wantSessionCookie(t, c, false)
	if got := readSession(t, store, c, "k"); got["k"] != "v" {
		t.Errorf("next request reads %v", got)
	}
}

func TestSessionStorageFlushWithoutChanges(t *testing.T) {
	ctx := context.Background()
	store := ssStore(t)
	cookie := encodeSession(t, store, logto.DefaultSessionName, map[string]string{"k": "v"})
	cases := []struct {
		name string
		do   func(s *logto.SessionStorage) error
	}{
		{"nothing", func(*logto.SessionStorage) error { return nil }},
		{"Get", func(s *logto.SessionStorage) error { _, err := s.Get(ctx, "k"); return err }},
		{"Delete of a missing key", func(s *logto.SessionStorage) error { return s.Delete(ctx, "missing") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s := logto.NewSessionStorage(store, w, ssRequest(cookie), "")
			if err := tc.do(s); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if lines := w.Header().Values("Set-Cookie"); len(lines) != 0 {
				t.Errorf("an unchanged session was sent again: %q", lines)
			}
		})
	}
}

func TestSessionStorageEmptySessionDeletesCookie(t *testing.T) {
	ctx := context.Background()
	store := ssStore(t)
	cookie := encodeSession(t, store, logto.DefaultSessionName, map[string]string{"a": "1", "b": "2"})
	cases := []struct {
		name string
		do   func(s *logto.SessionStorage) error
	}{
		{"Delete every key", func(s *logto.SessionStorage) error {
			return errors.Join(s.Delete(ctx, "a"), s.Delete(ctx, "b"))
		}},
		{"Renew", func(s *logto.SessionStorage) error { return s.Renew(ctx) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s := logto.NewSessionStorage(store, w, ssRequest(cookie), "")
			if err := tc.do(s); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			c := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
			if c.MaxAge >= 0 || !strings.Contains(w.Header().Get("Set-Cookie"), "; Max-Age=0") {
				t.Errorf("empty session: Set-Cookie %q, want the cookie deleted", w.Header().Get("Set-Cookie"))
			}
			if c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("deletion does not match the cookie it deletes: %+v", c)
			}
		})
	}
}

func TestSessionStorageNameAndRotation(t *testing.T) {
	ctx := context.Background()
	oldSecret, newSecret := webOtherSecret, webSecret
	old := ssStore(t, oldSecret)
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(old, w, ssRequest(), "app_session")
	if err := errors.Join(s.Set(ctx, "k", "v"), s.Flush(ctx)); err != nil {
		t.Fatal(err)
	}
	c := oneSetCookie(t, w.Header(), "app_session")
	if len(setCookies(t, w.Header(), logto.DefaultSessionName)) != 0 {
		t.Error("a named session also wrote the default cookie")
	}

	// After rotation (newest key first) the old cookie still reads, and
	// what is written next is signed with the new key.
	rotated := ssStore(t, newSecret, oldSecret)
	w = httptest.NewRecorder()
	s = logto.NewSessionStorage(rotated, w, ssRequest(c), "app_session")
	if v, err := s.Get(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("old cookie after rotation: %q %v", v, err)
	}
	if err := errors.Join(s.Set(ctx, "k", "v2"), s.Flush(ctx)); err != nil {
		t.Fatal(err)
	}
	c = oneSetCookie(t, w.Header(), "app_session")
	s = logto.NewSessionStorage(ssStore(t, newSecret), httptest.NewRecorder(), ssRequest(c), "app_session")
	if v, err := s.Get(ctx, "k"); err != nil || v != "v2" {
		t.Errorf("new key alone reads %q %v", v, err)
	}
	s = logto.NewSessionStorage(old, httptest.NewRecorder(), ssRequest(c), "app_session")
	if v, err := s.Get(ctx, "k"); err != nil || v != "" {
		t.Errorf("the retired key still reads the new cookie: %q %v", v, err)
	}
}

// fakeStore is a sessions.Store whose Get answers what it is told and whose
// Save fails when saveErr is set.
type fakeStore struct {
	sess    *sessions.Session
	err     error
	saveErr error
}

func (s *fakeStore) Get(*http.Request, string) (*sessions.Session, error) { return s.sess, s.err }
func (s *fakeStore) New(*http.Request, string) (*sessions.Session, error) { return s.sess, s.err }
func (s *fakeStore) Save(*http.Request, http.ResponseWriter, *sessions.Session) error {
	return s.saveErr
}

func TestSessionStoreFailures(t *testing.T) {
	ctx := context.Background()
	errDown := errors.New("session backend is down")
	var decodeErr, usageErr error
	{
		var dst map[any]any
		decodeErr = securecookie.New([]byte("an-authentication-key-of-32-bytes"), nil).Decode("logto", "garbage", &dst)
		usageErr = securecookie.New(nil, nil).Decode("logto", "garbage", &dst)
		var ce securecookie.Error
		if !errors.As(decodeErr, &ce) || !ce.IsDecode() || !errors.As(usageErr, &ce) || ce.IsDecode() {
			t.Fatalf("fixture errors: %v / %v", decodeErr, usageErr)
		}
	}
	signedIn := func() *sessions.Session {
		s := sessions.NewSession(&fakeStore{}, logto.DefaultSessionName)
		s.Options = &sessions.Options{Path: "/", MaxAge: 60}
		s.Values[logto.StorageKeyIDToken] = "stale-or-forged"
		s.Values[logto.StorageKeySession] = logto.SessionRecord(time.Now(), "h")
		return s
	}
	cases := []struct {
		name    string
		store   sessions.Store
		authed  bool
		wantErr error // nil: no error
	}{
		{"store down", &fakeStore{err: errDown}, false, errDown},
		{"session and a backend error", &fakeStore{sess: signedIn(), err: errDown}, false, errDown},
		{"securecookie usage error", &fakeStore{sess: signedIn(), err: usageErr}, false, usageErr},
		{"no session and no error", &fakeStore{}, false, logto.ErrStorage},
		{"no store", nil, false, logto.ErrStorage},
		// An undecodable cookie is an empty session, whatever the store
		// had decoded before it failed.
		{"decode error", &fakeStore{sess: signedIn(), err: decodeErr}, false, nil},
		{"decode error in a MultiError", &fakeStore{sess: signedIn(), err: securecookie.MultiError{decodeErr, decodeErr}}, false, nil},
		{"healthy", &fakeStore{sess: signedIn()}, true, nil},
	}
	e := newEnv(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := ssRequest()
			s := logto.NewSessionStorage(tc.store, w, r, "")
			ok, err := e.app.Client(s).IsAuthenticated(ctx)
			if ok != tc.authed {
				t.Errorf("IsAuthenticated = %v, want %v", ok, tc.authed)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, logto.ErrStorage) || !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want ErrStorage wrapping %v", err, tc.wantErr)
			}
			if err := s.Set(ctx, "k", "v"); err == nil {
				t.Error("Set on a failed store succeeded")
			}
			if _, err := e.app.Client(s).SignIn(ctx, logto.SignInOptions{}); !errors.Is(err, logto.ErrStorage) {
				t.Errorf("SignIn: err = %v, want ErrStorage", err)
			}

			// Through RequireAuth the failure is a 500 page, not a redirect.
			h := &logto.WebHandlers{App: e.app, Storage: logto.SessionStorageFunc(tc.store, "")}
			w = httptest.NewRecorder()
			h.RequireAuth(http.NotFoundHandler()).ServeHTTP(w, ssRequest())
			if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "<h1>storage_error</h1>") {
				t.Errorf("RequireAuth: %d %s", w.Code, w.Body)
			}
		})
	}
}

func TestSessionStorageSaveFailure(t *testing.T) {
	ctx := context.Background()
	errFull := errors.New("disk full")
	e := newEnv(t, nil)
	store := &fakeStore{saveErr: errFull}
	store.sess = sessions.NewSession(store, logto.DefaultSessionName)
	store.sess.Options = &sessions.Options{Path: "/"}
	s := logto.NewSessionStorage(store, httptest.NewRecorder(), ssRequest(), "")
	if _, err := e.app.Client(s).SignIn(ctx, logto.SignInOptions{}); !errors.Is(err, logto.ErrStorage) || !errors.Is(err, errFull) {
		t.Errorf("SignIn with a failing Save: err = %v, want ErrStorage wrapping the cause", err)
	}
}

func TestMemoryStorageConcurrent(t *testing.T) {
	ctx := context.Background()
	m := logto.NewMemoryStorage()
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("own-%d", g)
			for i := range rounds {
				v := fmt.Sprint(i)
				if err := m.Set(ctx, own, v); err != nil {
					t.Error(err)
					return
				}
				if got, _ := m.Get(ctx, own); got != v {
					t.Errorf("%s = %q right after Set(%q)", own, got, v)
					return
				}
				_ = m.Set(ctx, "shared", v)
				_, _ = m.Get(ctx, "shared")
				_ = m.Delete(ctx, "shared")
			}
		}()
	}
	wg.Wait()
	for g := range workers {
		if got, _ := m.Get(ctx, fmt.Sprintf("own-%d", g)); got != fmt.Sprint(rounds-1) {
			t.Errorf("own-%d = %q", g, got)
		}
	}

	// Renew racing writers is for the race detector; a last Renew leaves
	// nothing behind.
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range rounds {
			_ = m.Renew(ctx)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range rounds {
			_ = m.Set(ctx, "k", fmt.Sprint(i))
		}
	}()
	wg.Wait()
	if err := m.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k", "own-0", "shared"} {
		if v, _ := m.Get(ctx, k); v != "" {
			t.Errorf("%s = %q after Renew", k, v)
		}
	}
}

// Deleting the session in one Flush must not make later writes of the same
// request go out already expired (sign-out then sign-in in one request).
func TestSessionStorageWriteAfterDelete(t *testing.T) {
	store := ssStore(t)
	ctx := context.Background()
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, ssRequest(), "")
	for _, step := range []func() error{
		func() error { return s.Set(ctx, "a", "1") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Delete(ctx, "a") },
		func() error { return s.Flush(ctx) },
		func() error { return s.Set(ctx, "b", "2") },
		func() error { return s.Flush(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	cs := setCookies(t, w.Header(), logto.DefaultSessionName)
	if len(cs) != 1 || cs[0].MaxAge < 0 {
		t.Fatalf("session cookie = %+v, want one live cookie", cs)
	}
	if got := readSession(t, store, cs[0], "b")["b"]; got != "2" {
		t.Errorf("b = %q", got)
	}
}

// Renew must give a server-side session a new ID: a session ID planted in the
// browser before sign-in must not come to name the signed-in session.
func TestSessionStorageRenewChangesServerSideID(t *testing.T) {
	store := sessions.NewFilesystemStore(t.TempDir(), []byte("an-authentication-key-of-32-bytes"))
	ctx := context.Background()

	// The attacker's session, and its cookie.
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, ssRequest(), "")
	_ = s.Set(ctx, "x", "attacker")
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	planted := setCookies(t, w.Header(), logto.DefaultSessionName)[0]

	// The victim signs in with that cookie planted.
	w = httptest.NewRecorder()
	s = logto.NewSessionStorage(store, w, ssRequest(planted), "")
	if err := s.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	_ = s.Set(ctx, logto.StorageKeyIDToken, "victim")
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := setCookies(t, w.Header(), logto.DefaultSessionName)[0]
	if got := readSession(t, store, planted, logto.StorageKeyIDToken)[logto.StorageKeyIDToken]; got != "" {
		t.Fatalf("the planted session ID reads the victim's session (%q)", got)
	}
	if got := readSession(t, store, fresh, logto.StorageKeyIDToken)[logto.StorageKeyIDToken]; got != "victim" {
		t.Fatalf("the new session holds %q", got)
	}
}

// leaseStore is a fakeStore whose sessions lock with a lease
// (logto.SessionLeaser) that a test can take away.
type leaseStore struct {
	fakeStore
	checks int
	lost   error
	locked bool
}

func (s *leaseStore) LockSession(ctx context.Context, id string) (func(), error) {
	_, unlock, err := s.LeaseSession(ctx, id)
	return unlock, err
}

func (s *leaseStore) LeaseSession(context.Context, string) (func(context.Context) error, func(), error) {
	s.locked = true
	check := func(context.Context) error {
		s.checks++
		return s.lost
	}
	return check, func() { s.locked = false }, nil
}

// Under a lock that is a lease, reading the refresh token confirms the lease
// first, and fails once it is lost; nothing else is checked, and nothing
// once the lock is released.
func TestSessionStorageChecksLease(t *testing.T) {
	ctx := context.Background()
	sess := sessions.NewSession(nil, logto.DefaultSessionName)
	sess.ID = "shared"
	sess.Values[logto.StorageKeyRefreshToken] = "rt0"
	store := &leaseStore{fakeStore: fakeStore{sess: sess}}
	s := logto.NewSessionStorage(store, httptest.NewRecorder(), ssRequest(), "")

	if v, err := s.Get(ctx, logto.StorageKeyRefreshToken); v != "rt0" || err != nil || store.checks != 0 {
		t.Fatalf("unlocked: %q, %v, %d checks", v, err, store.checks)
	}
	unlock, err := s.Lock(ctx)
	if err != nil || !store.locked {
		t.Fatalf("Lock: %v (locked %v)", err, store.locked)
	}
	if v, err := s.Get(ctx, logto.StorageKeyRefreshToken); v != "rt0" || err != nil || store.checks != 1 {
		t.Fatalf("locked: %q, %v, %d checks", v, err, store.checks)
	}
	if _, err := s.Get(ctx, logto.StorageKeyIDToken); err != nil || store.checks != 1 {
		t.Fatalf("another key: %v, %d checks", err, store.checks)
	}
	errLost := errors.New("lease lost")
	store.lost = errLost
	if v, err := s.Get(ctx, logto.StorageKeyRefreshToken); v != "" || !errors.Is(err, errLost) {
		t.Fatalf("lease lost: %q, %v", v, err)
	}
	unlock()
	if store.locked {
		t.Fatal("unlock did not release the store's lock")
	}
	if v, err := s.Get(ctx, logto.StorageKeyRefreshToken); v != "rt0" || err != nil || store.checks != 2 {
		t.Fatalf("after unlock: %q, %v, %d checks", v, err, store.checks)
	}
}
