package redisstore_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/redisstore"
)

func TestLockSessionExcludes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	unlock, err := f.store.LockSession(ctx, "s1")
	must(t, err)

	// Another session's lock is independent.
	other, err := f.store.LockSession(ctx, "s2")
	must(t, err)
	other()

	// The same session's lock waits for the holder.
	waitCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := f.store.LockSession(waitCtx, "s1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder: err = %v, want to wait until the deadline", err)
	}
	got := make(chan time.Time, 1)
	go func() {
		u, err := f.store.LockSession(ctx, "s1")
		if err == nil {
			got <- time.Now()
			u()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	released := time.Now()
	unlock()
	select {
	case at := <-got:
		if at.Before(released) {
			t.Error("the waiter took the lock before it was released")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never got the lock after release")
	}
}

// A holder that dies (never unlocks, never renews) blocks others for at most
// its lease; a live holder renews its lease through a slow refresh.
func TestLockSessionLease(t *testing.T) {
	f := newFixture(t)
	f.store.LockLease = 400 * time.Millisecond
	ctx := context.Background()

	// A dead holder: the key with a lease and no one renewing it.
	must(t, f.client.Set(ctx, f.prefix+"lock:dead", "someone-gone", 400*time.Millisecond).Err())
	start := time.Now()
	unlock, err := f.store.LockSession(ctx, "dead")
	must(t, err)
	unlock()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a dead holder blocked for %v with a 400ms lease", d)
	}

	// A live holder keeps it past several leases.
	unlock, err = f.store.LockSession(ctx, "live")
	must(t, err)
	time.Sleep(1200 * time.Millisecond)
	waitCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := f.store.LockSession(waitCtx, "live"); err == nil {
		t.Error("a renewed lock was taken by another holder")
	}
	unlock()
	if n, _ := f.client.Exists(ctx, f.prefix+"lock:live").Result(); n != 0 {
		t.Error("unlock left the lock key behind")
	}
}

// testClock is a settable clock shared by the apps and the provider.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Two processes (two Apps, each with its own Store and refresh memory) serve
// one Redis-backed session. After expiry, concurrent requests alternating
// between them cause exactly one refresh grant, and the session survives
// Logto's refresh-token reuse detection.
func TestOneRefreshAcrossProcesses(t *testing.T) {
	const resource = "https://api.example.com"
	clk := &testClock{}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs: []string{testRedirect},
		Resources:    []string{resource},
		Now:          clk.now,
	})
	first := newFixture(t)
	stores := []*fixture{first, newFixtureOn(t, redisClient(t), first.prefix)}
	var apps []*logto.App
	for range stores {
		app, err := logto.NewApp(logto.Config{
			Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
			RedirectURI: testRedirect, Resources: []string{resource}, Now: clk.now,
		})
		must(t, err)
		apps = append(apps, app)
	}
	ctx := context.Background()

	// Sign in through process 0.
	w := httptest.NewRecorder()
	c := apps[0].Client(logto.NewSessionStorage(stores[0].store, w, request(), ""))
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	must(t, err)
	cookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	cb, err := p.Authorize(ctx, authURL)
	must(t, err)
	u, _ := url.Parse(cb)
	w = httptest.NewRecorder()
	c = apps[0].Client(logto.NewSessionStorage(stores[0].store, w, request(cookie), ""))
	_, err = c.HandleSignInCallbackURL(ctx, u)
	must(t, err)
	cookie = oneSetCookie(t, w.Header(), logto.DefaultSessionName)

	clk.offset.Add(int64(2 * time.Hour))
	p.ResetCounters()
	var wg sync.WaitGroup
	tokens := make([]string, 40)
	errs := make([]error, 40)
	for i := range 40 {
		wg.Go(func() {
			n := i % 2
			storage := logto.NewSessionStorage(stores[n].store, httptest.NewRecorder(), request(cookie), "")
			at, err := apps[n].Client(storage).GetAccessToken(ctx, resource)
			if err == nil {
				tokens[i] = at.Token
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if tokens[i] != tokens[0] {
			t.Errorf("request %d got another token", i)
		}
	}
	if n := p.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d across both processes, want 1", n)
	}

	clk.offset.Add(int64(2 * time.Hour))
	storage := logto.NewSessionStorage(stores[1].store, httptest.NewRecorder(), request(cookie), "")
	if _, err := apps[1].Client(storage).GetAccessToken(ctx, resource); err != nil {
		t.Fatalf("session lost after the concurrent refresh: %v", err)
	}
}

// A lock whose lease ran out (the key expired, another process took it) is
// reported lost by its check, for good, and its unlock leaves the new
// holder's lock alone; while held, check renews the lease to a full one.
func TestLeaseLost(t *testing.T) {
	const lease = 400 * time.Millisecond
	f := newFixture(t)
	f.store.LockLease = lease
	ctx := context.Background()
	key := f.prefix + "lock:s"

	check, unlock, err := f.store.LeaseSession(ctx, "s")
	must(t, err)
	must(t, check(ctx))
	must(t, f.client.PExpire(ctx, key, 50*time.Millisecond).Err())
	must(t, check(ctx))
	if ttl := f.client.PTTL(ctx, key).Val(); ttl < lease/2 {
		t.Errorf("check left a lease of %v, want a full one (%v)", ttl, lease)
	}

	// The lease runs out (the holder did not renew it) and another takes it.
	must(t, f.client.Del(ctx, key).Err())
	other, err := f.store.LockSession(ctx, "s")
	must(t, err)
	if err := check(ctx); !errors.Is(err, redisstore.ErrLockLost) {
		t.Fatalf("check after the lock changed hands: %v, want ErrLockLost", err)
	}
	unlock()
	if n := f.client.Exists(ctx, key).Val(); n != 1 {
		t.Error("the first holder's unlock released the second holder's lock")
	}
	other()

	// A renewal finds out on its own, even when no one took the lock; check
	// then fails without asking Redis (here, frozen).
	c := redisClient(t)
	fz := &freezer{}
	c.AddHook(fz)
	t.Cleanup(fz.thaw)
	g := newFixtureOn(t, c, f.prefix)
	g.store.LockLease = lease
	check, unlock, err = g.store.LeaseSession(ctx, "s")
	must(t, err)
	must(t, f.client.Del(ctx, key).Err())
	time.Sleep(lease / 2) // a renewal runs
	fz.now()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := check(cctx); !errors.Is(err, redisstore.ErrLockLost) {
		t.Errorf("check after a renewal found the lock gone: %v", err)
	}
	fz.thaw()
	unlock()
}

// A holder that cannot reach Redis for longer than its lease (paused, or
// cut off) finds its lock lost once it can again.
func TestLeaseLostWhilePaused(t *testing.T) {
	const lease = 300 * time.Millisecond
	c := redisClient(t)
	fz := &freezer{}
	c.AddHook(fz)
	t.Cleanup(fz.thaw)
	f := newFixtureOn(t, c, uniquePrefix(t, c))
	f.store.LockLease = lease
	ctx := context.Background()

	check, unlock, err := f.store.LeaseSession(ctx, "s")
	must(t, err)
	defer unlock()
	fz.now()
	time.Sleep(3 * lease)
	fz.thaw()
	if err := check(ctx); !errors.Is(err, redisstore.ErrLockLost) {
		t.Errorf("check after a pause past the lease: %v, want ErrLockLost", err)
	}
}
