package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/redisstore"
	"github.com/seed098cf14d/logto/storagetest"
)

// TestStorageContract is the root package's Storage contract (get, set,
// delete, missing keys, renew, values surviving across requests through the
// cookie), run on logto.SessionStorage over a Store, with what a server-side
// store must add: where the values are in Redis, and which keys exist.
func TestStorageContract(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("x", 1500)
	huge := strings.Repeat("y", 64<<10) // far beyond any cookie
	odd := "ü \x00;=,\"\\\n<>%"
	impls := []struct {
		name     string
		keyPairs [][]byte
		cookie   string
	}{
		{"signed cookie", [][]byte{authKey}, ""},
		{"encrypted cookie", [][]byte{authKey, encKey}, ""},
		{"rotated keys", [][]byte{authKey, encKey, otherKey, nil}, ""},
		{"named session", [][]byte{authKey}, "app_session"},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, impl.keyPairs...)
			h := newHarness(t, f.store, impl.cookie)
			s := h.cur

			if v := get(t, s, "missing"); v != "" {
				t.Errorf("missing key = %q", v)
			}
			must(t, s.Delete(ctx, "missing"))
			s = h.next()
			if h.cookie != nil || len(f.sessionIDs()) != 0 {
				t.Fatalf("reading a new session wrote it: cookie %v, sessions %q", h.cookie, f.sessionIDs())
			}

			must(t, s.Set(ctx, "a", "1"))
			must(t, s.Set(ctx, "a", "2"))
			must(t, s.Set(ctx, "b", "gone soon"))
			must(t, s.Set(ctx, "odd", odd))
			must(t, s.Set(ctx, "long", long))
			must(t, s.Set(ctx, "huge", huge))
			must(t, s.Set(ctx, "ключ", "значение"))
			must(t, s.Delete(ctx, "b"))
			if get(t, s, "a") != "2" || get(t, s, "b") != "" || get(t, s, "odd") != odd {
				t.Errorf("within one request: a=%q b=%q odd=%q", get(t, s, "a"), get(t, s, "b"), get(t, s, "odd"))
			}

			s = h.next()
			if h.cookie == nil {
				t.Fatal("no session cookie after a write")
			}
			if get(t, s, "a") != "2" || get(t, s, "b") != "" || get(t, s, "odd") != odd ||
				get(t, s, "long") != long || get(t, s, "huge") != huge || get(t, s, "ключ") != "значение" {
				t.Errorf("next request: a=%q b=%q odd=%q len(long)=%d len(huge)=%d", get(t, s, "a"), get(t, s, "b"),
					get(t, s, "odd"), len(get(t, s, "long")), len(get(t, s, "huge")))
			}
			if n := len(h.cookie.Value); n >= 200 {
				t.Errorf("cookie value has %d bytes, want < 200 for a session of %d KB", n, len(huge)>>10)
			}

			// In Redis: one key holding the values.
			id := f.onlySessionID()
			raw, err := f.client.Get(ctx, f.key(id)).Bytes()
			must(t, err)
			stored, ok := redisstore.DecodeValues(raw)
			if !ok {
				t.Fatalf("stored value %.60q is not in the store's format", raw)
			}
			if len(stored) != 5 || stored["a"] != "2" || stored["odd"] != odd {
				t.Errorf("stored keys: %d, a=%q", len(stored), stored["a"])
			}

			must(t, s.Delete(ctx, "long"))
			s = h.next()
			if get(t, s, "long") != "" || get(t, s, "a") != "2" {
				t.Errorf("after Delete: long=%q a=%q", get(t, s, "long"), get(t, s, "a"))
			}
			if got := f.onlySessionID(); got != id {
				t.Errorf("a write outside Renew changed the session ID")
			}

			r, ok := logto.Storage(s).(logto.Renewer)
			if !ok {
				t.Fatalf("%T is not a Renewer", s)
			}
			must(t, r.Renew(ctx))
			if get(t, s, "a") != "" || get(t, s, "odd") != "" {
				t.Error("Renew kept values")
			}
			must(t, s.Set(ctx, "c", "3"))
			s = h.next()
			if get(t, s, "a") != "" || get(t, s, "huge") != "" || get(t, s, "c") != "3" {
				t.Errorf("after Renew and Set: a=%q c=%q", get(t, s, "a"), get(t, s, "c"))
			}
			if got := f.onlySessionID(); got == id {
				t.Error("Renew kept the session ID")
			}

			// Deleting every key ends the session: cookie and Redis key.
			must(t, s.Delete(ctx, "c"))
			s = h.next()
			if h.cookie != nil {
				t.Errorf("empty session kept its cookie %v", h.cookie)
			}
			if ids := f.sessionIDs(); len(ids) != 0 {
				t.Errorf("empty session left %q in Redis", ids)
			}
			if get(t, s, "c") != "" {
				t.Error("ended session still reads")
			}
		})
	}
}

// TestSharedStorageContract runs the SDK's shared Storage contract
// (storagetest) on logto.SessionStorage over a Store; TestStorageContract
// above adds what is particular to a server-side store.
func TestSharedStorageContract(t *testing.T) {
	for name, keyPairs := range map[string][][]byte{
		"signed cookie":    {authKey},
		"encrypted cookie": {authKey, encKey},
	} {
		t.Run(name, func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) (logto.Storage, func() logto.Storage) {
				h := newHarness(t, newFixture(t, keyPairs...).store, "")
				return h.cur, func() logto.Storage { return h.next() }
			})
		})
	}
}
