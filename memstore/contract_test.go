package memstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/testskip"
	"github.com/seed098cf14d/logto/memstore"
	"github.com/seed098cf14d/logto/storagetest"
)

// TestMain says, after the run, which tests skipped and why: storagetest
// skips the cases that do not apply to a storage, and plain go test would
// not show it.
func TestMain(m *testing.M) {
	testskip.Main(m)
}

// TestSharedStorageContract runs the SDK's shared Storage contract
// (storagetest) on logto.SessionStorage over a Store.
func TestSharedStorageContract(t *testing.T) {
	for name, secrets := range map[string][][]byte{
		"random key":      nil,
		"secret":          {secret},
		"rotated secrets": {secret, otherSecret},
	} {
		t.Run(name, func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) (logto.Storage, func() logto.Storage) {
				store, err := memstore.New(testRedirect, secrets...)
				must(t, err)
				h := newHarness(t, store, "")
				return h.cur, func() logto.Storage { return h.next() }
			})
		})
	}
}

// TestStorageContract adds what a server-side store must do beyond the
// shared contract: values of any size behind a small cookie, one session
// held per browser, the ID kept across writes and changed by Renew, and an
// emptied session removed.
func TestStorageContract(t *testing.T) {
	ctx := context.Background()
	huge := strings.Repeat("y", 64<<10) // far beyond any cookie
	for _, name := range []string{"", "app_session"} {
		t.Run("session name "+name, func(t *testing.T) {
			store := newStore(t)
			h := newHarness(t, store, name)
			s := h.cur

			if v := get(t, s, "missing"); v != "" {
				t.Errorf("missing key = %q", v)
			}
			must(t, s.Delete(ctx, "missing"))
			s = h.next()
			if h.cookie != nil || len(store.SessionIDs()) != 0 {
				t.Fatalf("reading a new session wrote it: cookie %v, sessions %q", h.cookie, store.SessionIDs())
			}

			must(t, s.Set(ctx, "a", "1"))
			must(t, s.Set(ctx, "huge", huge))
			s = h.next()
			if h.cookie == nil {
				t.Fatal("no session cookie after a write")
			}
			if get(t, s, "a") != "1" || get(t, s, "huge") != huge {
				t.Errorf("next request: a=%q len(huge)=%d", get(t, s, "a"), len(get(t, s, "huge")))
			}
			if n := len(h.cookie.Value); n >= 200 {
				t.Errorf("cookie value has %d bytes, want < 200 for a session of %d KB", n, len(huge)>>10)
			}
			id := onlySessionID(t, store)

			must(t, s.Delete(ctx, "huge"))
			s = h.next()
			if get(t, s, "huge") != "" || get(t, s, "a") != "1" {
				t.Errorf("after Delete: huge=%q a=%q", get(t, s, "huge"), get(t, s, "a"))
			}
			if got := onlySessionID(t, store); got != id {
				t.Errorf("a write outside Renew changed the session ID")
			}

			must(t, s.Renew(ctx))
			must(t, s.Set(ctx, "c", "3"))
			s = h.next()
			if get(t, s, "a") != "" || get(t, s, "c") != "3" {
				t.Errorf("after Renew and Set: a=%q c=%q", get(t, s, "a"), get(t, s, "c"))
			}
			if got := onlySessionID(t, store); got == id {
				t.Error("Renew kept the session ID")
			}

			// Deleting every key ends the session: cookie and entry.
			must(t, s.Delete(ctx, "c"))
			s = h.next()
			if h.cookie != nil {
				t.Errorf("empty session kept its cookie %v", h.cookie)
			}
			if ids := store.SessionIDs(); len(ids) != 0 {
				t.Errorf("empty session left %q in the store", ids)
			}
			if get(t, s, "c") != "" {
				t.Error("ended session still reads")
			}
		})
	}
}
