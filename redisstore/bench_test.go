package redisstore_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
)

// BenchmarkSessionCheck is the hot path of a signed-in page: load the
// session from Redis and read the ID token.
func BenchmarkSessionCheck(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	h := newHarness(b, f.store, "")
	must(b, h.cur.Set(ctx, logto.StorageKeyIDToken, strings.Repeat("i", 1200)))
	must(b, h.cur.Set(ctx, logto.StorageKeyRefreshToken, strings.Repeat("r", 300)))
	h.next()
	b.ReportAllocs()
	for b.Loop() {
		s := logto.NewSessionStorage(f.store, httptest.NewRecorder(), request(h.cookie), "")
		if v, err := s.Get(ctx, logto.StorageKeyIDToken); err != nil || v == "" {
			b.Fatalf("%q %v", v, err)
		}
	}
}

// BenchmarkSessionSave is a write: a token refreshed and the session saved.
func BenchmarkSessionSave(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	h := newHarness(b, f.store, "")
	must(b, h.cur.Set(ctx, logto.StorageKeyIDToken, strings.Repeat("i", 1200)))
	h.next()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s := logto.NewSessionStorage(f.store, w, request(h.cookie), "")
		if err := s.Set(ctx, logto.StorageKeyRefreshToken, "r"); err != nil {
			b.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
