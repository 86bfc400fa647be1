package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/redisstore"
)

// The tests of this file are about what happens when a refresh holder's lock
// lease runs out under it, and when a request writes a session that another
// one changed since it was read: the refresh token must never go back to a
// spent one, and a holder that lost its lock must not spend it.

const fenceResource = "https://api.example.com"

// process is one app process: its App and its Store, over a Redis client of
// its own.
type process struct {
	app    *logto.App
	store  *redisstore.Store
	rc     *redis.Client
	freeze *freezer
}

// client returns the process's client for one request carrying cookie.
func (p *process) client(cookie *http.Cookie) *logto.Client {
	return p.app.Client(logto.NewSessionStorage(p.store, httptest.NewRecorder(), request(cookie), ""))
}

// cluster is one Redis-backed session served by two processes.
type cluster struct {
	p      *logtotest.Provider
	clk    *testClock
	f      *fixture
	procs  [2]*process
	cookie *http.Cookie
}

// twoProcesses starts two processes with session locks of the given lease
// (0: the default) and signs the user in through the first.
func twoProcesses(t *testing.T, lease time.Duration) *cluster {
	t.Helper()
	c := &cluster{clk: &testClock{}}
	c.p = logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs: []string{testRedirect},
		Resources:    []string{fenceResource},
		Now:          c.clk.now,
	})
	c.f = newFixture(t)
	for i := range c.procs {
		rc := redisClient(t)
		fz := &freezer{}
		rc.AddHook(fz)
		st, err := redisstore.New(rc, testRedirect, authKey)
		must(t, err)
		st.Prefix = c.f.prefix
		st.LockLease = lease
		app, err := logto.NewApp(logto.Config{
			Endpoint: c.p.Endpoint(), AppID: c.p.ClientID(), AppSecret: c.p.ClientSecret(),
			RedirectURI: testRedirect, Resources: []string{fenceResource}, Now: c.clk.now,
		})
		must(t, err)
		c.procs[i] = &process{app: app, store: st, rc: rc, freeze: fz}
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.freeze.thaw()
		}
	})

	ctx := context.Background()
	a := c.procs[0]
	w := httptest.NewRecorder()
	authURL, err := a.app.Client(logto.NewSessionStorage(a.store, w, request(), "")).SignIn(ctx, logto.SignInOptions{})
	must(t, err)
	cookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	cb, err := c.p.Authorize(ctx, authURL)
	must(t, err)
	u, _ := url.Parse(cb)
	w = httptest.NewRecorder()
	_, err = a.app.Client(logto.NewSessionStorage(a.store, w, request(cookie), "")).HandleSignInCallbackURL(ctx, u)
	must(t, err)
	c.cookie = oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	return c
}

// storedRefreshToken returns the refresh token Redis holds for the session.
func (c *cluster) storedRefreshToken(t *testing.T) string {
	t.Helper()
	raw, err := c.f.client.Get(context.Background(), c.f.key(c.f.onlySessionID())).Bytes()
	must(t, err)
	values, ok := redisstore.DecodeValues(raw)
	if !ok {
		t.Fatalf("stored value %.60q is not in the store's format", raw)
	}
	return values[logto.StorageKeyRefreshToken]
}

// wantSessionLives checks that the session still refreshes, an hour later
// (the provider revokes the grant when a spent refresh token comes back).
func (c *cluster) wantSessionLives(t *testing.T) {
	t.Helper()
	c.clk.offset.Add(int64(2 * time.Hour))
	if _, err := c.procs[1].client(c.cookie).GetAccessToken(context.Background(), fenceResource); err != nil {
		t.Fatalf("the session is lost: %v", err)
	}
}

// freezer is a go-redis hook that stops a client's commands the way a
// paused process (a long GC pause, a stopped VM) or one cut off from Redis
// stops talking to it: once frozen, every command waits for thaw (or its
// context's end), lease renewals included.
type freezer struct {
	mu     sync.Mutex
	when   func(cmd redis.Cmder) bool // freeze after the first command it accepts
	gate   chan struct{}              // while frozen; closed by thaw
	frozen chan struct{}              // closed when the freeze starts
}

// arm makes the client freeze right after the first command when accepts;
// the returned channel is closed then.
func (f *freezer) arm(when func(cmd redis.Cmder) bool) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.when, f.frozen = when, make(chan struct{})
	return f.frozen
}

// now freezes the client at once.
func (f *freezer) now() {
	f.arm(nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.startLocked()
}

func (f *freezer) startLocked() {
	f.when = nil
	f.gate = make(chan struct{})
	close(f.frozen)
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate != nil {
		close(f.gate)
		f.gate = nil
	}
}

// wait waits while frozen, or until ctx ends (a command's timeout, as when
// Redis is out of reach).
func (f *freezer) wait(ctx context.Context) error {
	f.mu.Lock()
	g := f.gate
	f.mu.Unlock()
	if g == nil {
		return nil
	}
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// after freezes when cmd is the one armed for, and waits while frozen.
func (f *freezer) after(ctx context.Context, cmd redis.Cmder) error {
	f.mu.Lock()
	if f.when != nil && f.when(cmd) {
		f.startLocked()
	}
	f.mu.Unlock()
	return f.wait(ctx)
}

func (f *freezer) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *freezer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := f.wait(ctx); err != nil {
			return err
		}
		err := next(ctx, cmd)
		if ferr := f.after(ctx, cmd); ferr != nil {
			return ferr
		}
		return err
	}
}

func (f *freezer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := f.wait(ctx); err != nil {
			return err
		}
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if ferr := f.after(ctx, cmd); ferr != nil {
				return ferr
			}
		}
		return err
	}
}

// afterLockedRead accepts the first read of a session that follows taking
// a session lock: the holder's read of the session under its lock, the last
// thing it asks Redis before it spends the refresh token.
func afterLockedRead() func(redis.Cmder) bool {
	locked := false
	return func(cmd redis.Cmder) bool {
		args := cmd.Args()
		if len(args) < 2 {
			return false
		}
		key := fmt.Sprint(args[1])
		switch {
		case cmd.Name() == "set" && strings.Contains(key, "lock:"):
			if b, ok := cmd.(*redis.BoolCmd); ok && b.Val() {
				locked = true
			}
		case cmd.Name() == "get" && strings.Contains(key, "session:") && locked:
			return true
		}
		return false
	}
}

// waitFor fails the test unless ch is closed within d.
func waitFor(t *testing.T, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s did not happen within %v", what, d)
	}
}

// A holder paused past its lease after reading the session under its lock
// (it holds refresh token RT0) while another process takes the lock,
// refreshes (RT0 -> RT1) and stores RT1. When the first one wakes, it must
// not spend RT0: the provider would see a spent token again and revoke the
// whole grant, signing the user out everywhere.
func TestPausedHolderDoesNotSpend(t *testing.T) {
	const lease = 300 * time.Millisecond
	c := twoProcesses(t, lease)
	a, b := c.procs[0], c.procs[1]
	ctx := context.Background()
	rt0 := c.storedRefreshToken(t)
	c.clk.offset.Add(int64(2 * time.Hour)) // every access token has expired
	c.p.ResetCounters()

	frozen := a.freeze.arm(afterLockedRead())
	type result struct {
		at  *logto.AccessToken
		err error
	}
	done := make(chan result, 1)
	go func() {
		at, err := a.client(c.cookie).GetAccessToken(ctx, fenceResource)
		done <- result{at, err}
	}()
	waitFor(t, frozen, 10*time.Second, "process A's read of the session under its lock")
	time.Sleep(3 * lease) // A's lease runs out: it cannot renew while paused

	atB, err := b.client(c.cookie).GetAccessToken(ctx, fenceResource)
	if err != nil {
		t.Fatalf("process B, once A's lease ran out: %v", err)
	}
	rt1 := c.storedRefreshToken(t)
	if rt1 == rt0 {
		t.Fatal("B's refresh stored no rotated refresh token")
	}

	a.freeze.thaw()
	var res result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("process A never finished after waking")
	}
	if n := c.p.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1: the holder that lost its lock spent the refresh token again", n)
	}
	if res.err == nil {
		if res.at.Token != atB.Token {
			t.Errorf("A handed out a token of its own refresh after losing its lock")
		}
	} else if !errors.Is(res.err, logto.ErrStorage) || !errors.Is(res.err, redisstore.ErrLockLost) {
		t.Errorf("A: %v; want a storage error (its lock was lost), not a sign-out", res.err)
	} else {
		t.Logf("A after losing its lock: %v", res.err)
	}
	if got := c.storedRefreshToken(t); got != rt1 {
		t.Errorf("stored refresh token changed after A woke: want B's rotation")
	}
	c.wantSessionLives(t)
}

// A request that read the session before another one refreshed it (a
// sign-in started in another tab, say) and then saves a change of its own
// must not write the spent refresh token back.
func TestStaleWriteKeepsRotation(t *testing.T) {
	c := twoProcesses(t, 0)
	a, b := c.procs[0], c.procs[1]
	ctx := context.Background()
	rt0 := c.storedRefreshToken(t)

	// Request X reads the session (RT0) ...
	wx := httptest.NewRecorder()
	x := a.app.Client(logto.NewSessionStorage(a.store, wx, request(c.cookie), ""))
	if ok, err := x.IsAuthenticated(ctx); !ok || err != nil {
		t.Fatalf("IsAuthenticated = %v, %v", ok, err)
	}
	// ... another refreshes it (RT0 -> RT1) ...
	c.clk.offset.Add(int64(2 * time.Hour))
	if _, err := b.client(c.cookie).GetAccessToken(ctx, fenceResource); err != nil {
		t.Fatal(err)
	}
	rt1 := c.storedRefreshToken(t)
	if rt1 == rt0 {
		t.Fatal("the refresh stored no rotated refresh token")
	}
	// ... and X saves a change of its own.
	if _, err := x.SignIn(ctx, logto.SignInOptions{}); err != nil {
		t.Fatalf("a sign-in started alongside a refresh: %v", err)
	}
	if got := c.storedRefreshToken(t); got != rt1 {
		t.Fatalf("a stale write put back the spent refresh token (rt0: %v)", got == rt0)
	}
	raw, err := c.f.client.Get(ctx, c.f.key(c.f.onlySessionID())).Bytes()
	must(t, err)
	values, _ := redisstore.DecodeValues(raw)
	if values[logto.StorageKeySignIn] == "" {
		t.Error("the sign-in's pending state was not stored")
	}
	c.wantSessionLives(t)
}

// Two holders that both read RT0 and both store a rotation of their own
// (the first lost its lock while its grant ran): the later write must not
// replace the rotation stored first; it is refused, and the client hands
// out nothing from it.
func TestLapsedWriteRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := newHarness(t, f.store, "")
	must(t, h.cur.Set(ctx, logto.StorageKeyRefreshToken, "rt0"))
	must(t, h.cur.Set(ctx, "other", "0"))
	h.next()

	open := func() *logto.SessionStorage {
		s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
		if get(t, s, logto.StorageKeyRefreshToken) != "rt0" {
			t.Fatal("the session does not read back")
		}
		return s
	}
	lapsed, next := open(), open()
	must(t, next.Set(ctx, logto.StorageKeyRefreshToken, "rt1-next"))
	must(t, next.Flush(ctx))

	must(t, lapsed.Set(ctx, logto.StorageKeyRefreshToken, "rt1-lapsed"))
	must(t, lapsed.Set(ctx, "other", "lapsed"))
	if err := lapsed.Flush(ctx); !errors.Is(err, redisstore.ErrConflict) {
		t.Errorf("the lapsed holder's save: %v; want ErrConflict", err)
	}
	got := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
	if v := get(t, got, logto.StorageKeyRefreshToken); v != "rt1-next" {
		t.Errorf("stored refresh token = %q, want rt1-next", v)
	}
	if v := get(t, got, "other"); v != "0" {
		t.Errorf("a refused save wrote part of itself: other = %q", v)
	}
}

// A live holder keeps its lock through a refresh slower than its lease: it
// renews the lease while the grant runs, so the other process waits and
// then takes the rotated token. One grant in all.
func TestSlowRefreshKeepsLease(t *testing.T) {
	const lease = 300 * time.Millisecond
	c := twoProcesses(t, lease)
	a, b := c.procs[0], c.procs[1]
	ctx := context.Background()
	c.clk.offset.Add(int64(2 * time.Hour))
	c.p.ResetCounters()
	c.p.SetFaults(logtotest.Faults{TokenDelay: 4 * lease})

	var wg sync.WaitGroup
	var atA, atB *logto.AccessToken
	var errA, errB error
	wg.Go(func() { atA, errA = a.client(c.cookie).GetAccessToken(ctx, fenceResource) })
	deadline := time.Now().Add(5 * time.Second)
	for c.p.Grants("refresh_token") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("A's grant never reached the provider")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.p.SetFaults(logtotest.Faults{})
	wg.Go(func() { atB, errB = b.client(c.cookie).GetAccessToken(ctx, fenceResource) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("A: %v; B: %v", errA, errB)
	}
	if atA.Token != atB.Token {
		t.Error("B did not take A's token: it refreshed on its own")
	}
	if n := c.p.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	c.wantSessionLives(t)
}

// The limit of the lease: a holder that stalls past it while its grant is in
// flight (its renewals cannot reach Redis, or the whole process is paused)
// lets the next holder spend the same refresh token, and the provider
// revokes the grant. The outcome must then be a clean sign-out, never a
// session left holding a spent refresh token.
func TestLeaseLostMidGrantEndsSession(t *testing.T) {
	const lease = 300 * time.Millisecond
	c := twoProcesses(t, lease)
	a, b := c.procs[0], c.procs[1]
	ctx := context.Background()
	c.clk.offset.Add(int64(2 * time.Hour))
	c.p.ResetCounters()
	c.p.SetFaults(logtotest.Faults{TokenDelay: 10 * lease})

	errA := make(chan error, 1)
	go func() {
		_, err := a.client(c.cookie).GetAccessToken(ctx, fenceResource)
		errA <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for c.p.Grants("refresh_token") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("A's grant never reached the provider")
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.freeze.now() // A's renewals stop while its grant is in flight
	c.p.SetFaults(logtotest.Faults{})
	time.Sleep(3 * lease)
	_, errB := b.client(c.cookie).GetAccessToken(ctx, fenceResource)
	a.freeze.thaw()
	var err error
	select {
	case err = <-errA:
	case <-time.After(10 * time.Second):
		t.Fatal("A never finished")
	}
	t.Logf("A: %v; B: %v", err, errB)
	if n := c.p.Grants("refresh_token"); n != 2 {
		t.Errorf("refresh grants = %d, want 2 (both spent the refresh token)", n)
	}
	ok, aerr := b.client(c.cookie).IsAuthenticated(ctx)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if ok {
		c.clk.offset.Add(int64(2 * time.Hour))
		if _, err := b.client(c.cookie).GetAccessToken(ctx, fenceResource); !errors.Is(err, logto.ErrNotAuthenticated) {
			t.Errorf("the session outlived its revoked grant: %v", err)
		}
		t.Error("the session still looks signed in after its grant was revoked")
	}
}

// A session stored before values had versions is read as it is, and its
// first save is fenced like any other.
func TestLegacySessionFenced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := newHarness(t, f.store, "")
	must(t, h.cur.Set(ctx, "placeholder", "x"))
	h.next()
	legacy := []byte{'L'}
	for _, kv := range [][2]string{{logto.StorageKeyRefreshToken, "rt0"}, {"other", "0"}} {
		for _, s := range kv {
			legacy = append(legacy, byte(len(s)))
			legacy = append(legacy, s...)
		}
	}
	must(t, f.client.Set(ctx, f.key(f.onlySessionID()), legacy, time.Hour).Err())

	open := func() *logto.SessionStorage {
		s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
		if get(t, s, logto.StorageKeyRefreshToken) != "rt0" || get(t, s, "other") != "0" {
			t.Fatal("the legacy session does not read")
		}
		return s
	}
	first, second, third := open(), open(), open()
	must(t, first.Set(ctx, logto.StorageKeyRefreshToken, "rt1"))
	must(t, first.Flush(ctx))
	must(t, second.Set(ctx, logto.StorageKeyRefreshToken, "rt1-other"))
	if err := second.Flush(ctx); !errors.Is(err, redisstore.ErrConflict) {
		t.Errorf("a second rotation from the legacy session: %v; want ErrConflict", err)
	}
	must(t, third.Set(ctx, "other", "3"))
	must(t, third.Flush(ctx))
	s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
	if rt, other := get(t, s, logto.StorageKeyRefreshToken), get(t, s, "other"); rt != "rt1" || other != "3" {
		t.Errorf("refresh token %q, other %q; want rt1 and 3", rt, other)
	}
}

// Saves that change different values of one session all land, whatever the
// order they read and wrote in; each save bumps the version.
func TestConcurrentSavesMerge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := newHarness(t, f.store, "")
	must(t, h.cur.Set(ctx, "base", "0"))
	h.next()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
			if _, err := s.Get(ctx, "base"); err != nil {
				errs[i] = err
				return
			}
			_ = s.Set(ctx, fmt.Sprintf("k%d", i), "v")
			errs[i] = s.Flush(ctx)
		})
	}
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		if errors.Is(err, redisstore.ErrConflict) {
			conflicts++ // gave up after several newer sessions
		} else if err != nil {
			t.Fatal(err)
		}
	}
	s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
	for i := range n {
		if v := get(t, s, fmt.Sprintf("k%d", i)); (v == "v") != (errs[i] == nil) {
			t.Errorf("save %d: err %v, value %q", i, errs[i], v)
		}
	}
	t.Logf("%d of %d saves gave up", conflicts, n)
	if conflicts > n/2 {
		t.Errorf("%d of %d disjoint saves gave up", conflicts, n)
	}
}
