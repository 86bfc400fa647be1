// Package storagetest is the contract every logto.Storage must pass, as one
// suite, so the SDK's storages and any storage of your own are held to the
// same behaviour:
//
//	func TestMyStorage(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) (logto.Storage, func() logto.Storage) {
//			s := newMyStorage(t)
//			return s, func() logto.Storage { return s.reopen(t) }
//		})
//	}
package storagetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/testskip"
)

// Open starts a new, empty session and returns its storage, and next, which
// sends what was written (flushing a logto.Flusher) and returns the same
// session as the next request sees it. Each call of Open is a session of its
// own.
type Open func(t *testing.T) (s logto.Storage, next func() logto.Storage)

// Values Run writes that trouble naive encodings: separators, quotes,
// control bytes, non-ASCII, and a size beyond a small buffer.
var (
	oddValue  = "ü \x00;=,\"\\\n<>%|:"
	longValue = strings.Repeat("x", 1500)
)

// Run runs the contract on the storages open returns.
func Run(t *testing.T, open Open) {
	t.Run("missing keys", func(t *testing.T) { missing(t, open) })
	t.Run("set get delete across requests", func(t *testing.T) { roundTrip(t, open) })
	t.Run("renew", func(t *testing.T) { renew(t, open) })
	t.Run("sessions are apart", func(t *testing.T) { apart(t, open) })
}

func get(t *testing.T, s logto.Storage, key string) string {
	t.Helper()
	v, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func missing(t *testing.T, open Open) {
	ctx := context.Background()
	s, next := open(t)
	if v := get(t, s, "missing"); v != "" {
		t.Errorf("a missing key reads %q, want \"\"", v)
	}
	must(t, s.Delete(ctx, "missing"))
	s = next()
	if v := get(t, s, "missing"); v != "" {
		t.Errorf("a missing key reads %q in the next request", v)
	}
}

func roundTrip(t *testing.T, open Open) {
	ctx := context.Background()
	s, next := open(t)
	must(t, s.Set(ctx, "a", "1"))
	must(t, s.Set(ctx, "a", "2"))
	must(t, s.Set(ctx, "b", "gone soon"))
	must(t, s.Set(ctx, "odd", oddValue))
	must(t, s.Set(ctx, "long", longValue))
	must(t, s.Set(ctx, "ключ", "значение"))
	must(t, s.Delete(ctx, "b"))
	check := func(when string, s logto.Storage) {
		t.Helper()
		for k, want := range map[string]string{"a": "2", "b": "", "odd": oddValue, "long": longValue, "ключ": "значение"} {
			if got := get(t, s, k); got != want {
				t.Errorf("%s: %q = %.40q, want %.40q", when, k, got, want)
			}
		}
	}
	check("within the request", s)
	s = next()
	check("in the next request", s)
	must(t, s.Delete(ctx, "a"))
	s = next()
	if v := get(t, s, "a"); v != "" {
		t.Errorf("a deleted key reads %q in the next request", v)
	}
}

func renew(t *testing.T, open Open) {
	ctx := context.Background()
	s, next := open(t)
	if _, ok := s.(logto.Renewer); !ok {
		testskip.Skipf(t, "%T is not a logto.Renewer: the client deletes its own keys instead", s)
	}
	must(t, s.Set(ctx, "before", "x"))
	s = next()
	must(t, s.(logto.Renewer).Renew(ctx))
	if v := get(t, s, "before"); v != "" {
		t.Errorf("Renew kept a value: %q", v)
	}
	must(t, s.Set(ctx, "after", "y"))
	s = next()
	if get(t, s, "before") != "" || get(t, s, "after") != "y" {
		t.Errorf("after Renew and a write: before=%q after=%q", get(t, s, "before"), get(t, s, "after"))
	}
}

// apart writes to several sessions at once, each from its own goroutine as
// requests would, and wants each to see only its own values.
func apart(t *testing.T, open Open) {
	ctx := context.Background()
	const n = 8
	type session struct {
		s    logto.Storage
		next func() logto.Storage
	}
	sessions := make([]session, n)
	for i := range sessions {
		s, next := open(t)
		sessions[i] = session{s, next}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range sessions {
		wg.Go(func() {
			for j := range 20 {
				if err := sessions[i].s.Set(ctx, fmt.Sprintf("k%d", j), fmt.Sprintf("session %d value %d", i, j)); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	for i := range sessions {
		s := sessions[i].next()
		for j := range 20 {
			if got, want := get(t, s, fmt.Sprintf("k%d", j)), fmt.Sprintf("session %d value %d", i, j); got != want {
				t.Fatalf("session %d key k%d = %q, want %q", i, j, got, want)
			}
		}
	}
}
