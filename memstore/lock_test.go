package memstore_test

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
)

func TestLockSessionExcludes(t *testing.T) {
	store := newStore(t)
	ctx := context.Background()
	unlock, err := store.LockSession(ctx, "s1")
	must(t, err)

	// Another session's lock is independent.
	other, err := store.LockSession(ctx, "s2")
	must(t, err)
	other()

	// The same session's lock waits for the holder, up to its context.
	waitCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := store.LockSession(waitCtx, "s1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder: err = %v, want to wait until the deadline", err)
	}
	var released atomic.Bool
	got := make(chan bool, 1)
	go func() {
		u, err := store.LockSession(ctx, "s1")
		if err == nil {
			got <- released.Load()
			u()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	released.Store(true)
	unlock()
	select {
	case wasReleased := <-got:
		if !wasReleased {
			t.Error("the waiter took the lock before it was released")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never got the lock after release")
	}
	unlock() // twice: a no-op, not a release of the waiter's lock
}

// A context already ended gets no lock, even a free one; waiters that give
// up leave nothing behind.
func TestLockSessionCancel(t *testing.T) {
	store := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.LockSession(ctx, "s"); !errors.Is(err, context.Canceled) {
		t.Errorf("LockSession with an ended context: %v", err)
	}

	unlock, err := store.LockSession(context.Background(), "s")
	must(t, err)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if _, err := store.LockSession(ctx, "s"); err == nil {
				t.Error("a waiter took a held lock")
			}
		})
	}
	wg.Wait()
	unlock()
	if n := store.Locks(); n != 0 {
		t.Errorf("%d locks left after every holder and waiter is gone", n)
	}
	unlock, err = store.LockSession(context.Background(), "s")
	must(t, err)
	unlock()
}

// testClock is a settable clock shared by the apps and the provider.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Two Apps of one process (say, the site and its admin pages) serve one
// session from one Store. After the access token expires, concurrent
// requests alternating between them cause exactly one refresh grant, and the
// session survives Logto's refresh-token reuse detection.
func TestOneRefreshThroughOneStore(t *testing.T) {
	const resource = "https://api.example.com"
	clk := &testClock{}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs: []string{testRedirect},
		Resources:    []string{resource},
		Now:          clk.now,
	})
	store := newStore(t)
	var apps []*logto.App
	for range 2 {
		app, err := logto.NewApp(logto.Config{
			Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
			RedirectURI: testRedirect, Resources: []string{resource}, Now: clk.now,
		})
		must(t, err)
		apps = append(apps, app)
	}
	ctx := context.Background()

	// Sign in through the first App.
	w := httptest.NewRecorder()
	c := apps[0].Client(logto.NewSessionStorage(store, w, request(), ""))
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	must(t, err)
	cookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	cb, err := p.Authorize(ctx, authURL)
	must(t, err)
	u, _ := url.Parse(cb)
	w = httptest.NewRecorder()
	c = apps[0].Client(logto.NewSessionStorage(store, w, request(cookie), ""))
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
			storage := logto.NewSessionStorage(store, httptest.NewRecorder(), request(cookie), "")
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
		t.Errorf("refresh grants = %d through one store, want 1", n)
	}
	if n := store.Locks(); n != 0 {
		t.Errorf("%d session locks left", n)
	}

	clk.offset.Add(int64(2 * time.Hour))
	storage := logto.NewSessionStorage(store, httptest.NewRecorder(), request(cookie), "")
	if _, err := apps[1].Client(storage).GetAccessToken(ctx, resource); err != nil {
		t.Fatalf("session lost after the concurrent refresh: %v", err)
	}
}
