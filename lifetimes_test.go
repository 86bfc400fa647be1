package logto_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// countingStorage counts the writes of the session's lifetime record.
type countingStorage struct {
	*logto.MemoryStorage
	recordWrites atomic.Int32
}

func (s *countingStorage) Set(ctx context.Context, k, v string) error {
	if k == logto.StorageKeySession {
		s.recordWrites.Add(1)
	}
	return s.MemoryStorage.Set(ctx, k, v)
}

func TestSessionIdleTimeout(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Now, p.Now = clk.now, clk.now
		c.SessionIdleTimeout = 30 * time.Minute
	})
	ctx := context.Background()
	s := &countingStorage{MemoryStorage: logto.NewMemoryStorage()}
	e.signIn(t, s)
	c := e.app.Client(s)
	// In use every 20 minutes for 5 hours: never lapses, and the record is
	// rewritten at most once per tenth of the timeout (3 minutes), not on
	// every request.
	before := s.recordWrites.Load()
	for range 15 {
		clk.advance(20 * time.Minute)
		for range 10 { // ten requests in a burst
			if ok, err := c.IsAuthenticated(ctx); !ok || err != nil {
				t.Fatalf("a session in use lapsed: %v", err)
			}
		}
	}
	if n := s.recordWrites.Load() - before; n != 15 {
		t.Errorf("%d record writes for 15 bursts of 10 requests, want 15", n)
	}
	// Idle past the timeout: over, and its tokens are dropped.
	clk.advance(31 * time.Minute)
	if ok, err := c.IsAuthenticated(ctx); ok || err != nil {
		t.Fatalf("idle session: authenticated %v, %v", ok, err)
	}
	if _, err := c.GetAccessToken(ctx, testResource); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Errorf("access token of an idle session: %v", err)
	}
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeySession} {
		if v, _ := s.Get(ctx, k); v != "" {
			t.Errorf("%s kept after the idle timeout", k)
		}
	}
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Now, p.Now = clk.now, clk.now
	})
	ctx := context.Background()
	s := logto.NewMemoryStorage()
	e.signIn(t, s)
	c := e.app.Client(s)
	// Used every 12 hours (within the 24-hour idle timeout): alive until
	// the seventh day, over after it, refresh token and all.
	for elapsed := 12 * time.Hour; elapsed < logto.DefaultSessionAbsoluteTimeout; elapsed += 12 * time.Hour {
		clk.advance(12 * time.Hour)
		if ok, err := c.IsAuthenticated(ctx); !ok {
			t.Fatalf("after %v: not authenticated (%v)", elapsed, err)
		}
	}
	clk.advance(12 * time.Hour)
	if ok, err := c.IsAuthenticated(ctx); ok || err != nil {
		t.Fatalf("past the absolute timeout: authenticated %v, %v", ok, err)
	}
	if v, _ := s.Get(ctx, logto.StorageKeyRefreshToken); v != "" {
		t.Error("the refresh token outlived the session")
	}
}

// A session whose tokens were stored without a lifetime record (planted, or
// written by another version) is not trusted.
func TestSessionWithoutRecordRefused(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := logto.NewMemoryStorage()
	e.signIn(t, s)
	_ = s.Delete(ctx, logto.StorageKeySession)
	if ok, err := e.app.Client(s).IsAuthenticated(ctx); ok || err != nil {
		t.Fatalf("authenticated %v, %v", ok, err)
	}
}

// A copy of a session taken before sign-out (a copied cookie) no longer
// authenticates after it, and its refresh token buys nothing.
func TestSignOutEndsCopies(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s := logto.NewMemoryStorage()
	e.signIn(t, s)
	copied := copyStorage(s)
	if _, err := e.app.Client(s).SignOut(ctx, logto.SignOutOptions{}); err != nil {
		t.Fatal(err)
	}
	c := e.app.Client(copied)
	if ok, err := c.IsAuthenticated(ctx); ok || err != nil {
		t.Fatalf("the copy after sign-out: authenticated %v, %v", ok, err)
	}
	if _, err := c.GetAccessToken(ctx, testResource); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Fatalf("the copy's access token: %v", err)
	}
	// Another session of the same user is not touched.
	other := logto.NewMemoryStorage()
	e.signIn(t, other)
	if ok, _ := e.app.Client(other).IsAuthenticated(ctx); !ok {
		t.Fatal("a later session was ended too")
	}
}

// The record must be readable to let a session through: an outage of a
// shared record is a storage error, never a silent pass.
func TestEndedSessionsOutage(t *testing.T) {
	down := failingEnded{}
	e := newEnv(t, func(c *logto.Config, _ *logtotest.Options) { c.EndedSessions = down })
	ctx := context.Background()
	s := logto.NewMemoryStorage()
	e.signIn(t, s)
	if ok, err := e.app.Client(s).IsAuthenticated(ctx); ok || !errors.Is(err, logto.ErrStorage) {
		t.Fatalf("authenticated %v, %v; want ErrStorage", ok, err)
	}
	if v, _ := s.Get(ctx, logto.StorageKeyRefreshToken); v == "" {
		t.Fatal("the session was dropped for an outage")
	}
	if _, err := e.app.Client(s).SignOut(ctx, logto.SignOutOptions{}); !errors.Is(err, logto.ErrStorage) {
		t.Fatalf("sign-out with the record down: %v", err)
	}
	if v, _ := s.Get(ctx, logto.StorageKeyRefreshToken); v == "" {
		t.Fatal("sign-out dropped the session although the end could not be recorded")
	}
}

type failingEnded struct{}

func (failingEnded) Put(context.Context, string, time.Time, time.Time) error {
	return errors.New("record down")
}
func (failingEnded) Get(context.Context, []string) ([]time.Time, error) {
	return nil, errors.New("record down")
}

// A cached access token belongs to its session: once the session is over
// (signed out elsewhere, idle, too old) the cache serves nothing.
func TestCachedTokenEndsWithItsSession(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Now, p.Now = clk.now, clk.now
		c.SessionIdleTimeout = 30 * time.Minute
	})
	ctx := context.Background()
	s := logto.NewMemoryStorage()
	e.signIn(t, s)
	if _, err := e.app.Client(s).GetAccessToken(ctx, ""); err != nil {
		t.Fatal(err)
	}
	copied := copyStorage(s)
	if _, err := e.app.Client(s).SignOut(ctx, logto.SignOutOptions{}); err != nil {
		t.Fatal(err)
	}
	if tok, err := e.app.Client(copied).GetAccessToken(ctx, ""); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Fatalf("a copy signed out elsewhere still got its cached token (%v, %v)", tok != nil, err)
	}

	idle := logto.NewMemoryStorage()
	e.signIn(t, idle)
	clk.advance(31 * time.Minute)
	if _, err := e.app.Client(idle).GetAccessToken(ctx, ""); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Fatalf("an idle session's cached token was served: %v", err)
	}
}
