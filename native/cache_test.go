package native_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/native"
)

func TestFileCacheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "session.json")
	fc, err := native.NewFileCache(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := fc.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("written before Flush: %v", err)
	}
	if err := fc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, %v", st.Mode(), err)
		}
		st, err = os.Stat(filepath.Dir(path))
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("directory mode %v, %v", st.Mode(), err)
		}
	}
	// Another process (another FileCache) reads it.
	other, _ := native.NewFileCache(path)
	if v, err := other.Get(ctx, "k"); err != nil || v != "v" {
		t.Errorf("read back %q, %v", v, err)
	}
	// Nothing else is left in the directory: no temporary files.
	entries, _ := os.ReadDir(filepath.Dir(path))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"session.json"}) {
		t.Errorf("directory holds %v", names)
	}
	// A damaged file reads as no session.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged, _ := native.NewFileCache(path)
	if v, err := damaged.Get(ctx, "k"); err != nil || v != "" {
		t.Errorf("damaged file reads %q, %v", v, err)
	}
	if err := fc.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove left the file: %v", err)
	}
}

// Readers never see half a file, however often it is replaced.
func TestFileCacheAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json")
	ctx := context.Background()
	writer, _ := native.NewFileCache(path)
	big := string(make([]byte, 64<<10))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = writer.Set(ctx, "n", string(rune('a'+i%26)))
			_ = writer.Set(ctx, "big", big)
			if err := writer.Flush(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	deadline := time.Now().Add(500 * time.Millisecond)
	reads := 0
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil || len(m["big"]) != len(big) {
			t.Fatalf("read a partial file (%d bytes): %v", len(b), err)
		}
		reads++
	}
	close(stop)
	wg.Wait()
	if reads == 0 {
		t.Error("no complete read")
	}
}

// Two processes sharing the cache file refresh once between them, keep the
// rotated refresh token, and a logout revokes it and removes the file.
func TestFileCacheRefreshAndLogout(t *testing.T) {
	clk := &clock{now: time.Now()}
	p := logtotest.NewTestProvider(t, logtotest.Options{Now: clk.Now, AccessTokenTTL: 10 * time.Minute})
	path := filepath.Join(t.TempDir(), "session.json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mk := func() *native.Client {
		fc, err := native.NewFileCache(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := native.New(native.Config{Endpoint: p.Endpoint(), AppID: p.NativeClientID(), Resources: []string{apiResource}, Cache: fc, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := mk()
	var browser sync.WaitGroup
	if _, err := first.LoginBrowser(ctx, native.BrowserOptions{Open: func(authURL string) error {
		browser.Go(func() { _, _, _ = browse(ctx, p, authURL) })
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	browser.Wait()
	rt := readCache(t, path)[logto.StorageKeyRefreshToken]
	if rt == "" {
		t.Fatal("no refresh token cached")
	}
	for k := range readCache(t, path) {
		if k == logto.StorageKeySignIn {
			t.Error("the cache file holds the sign-in's state and verifier")
		}
	}

	clk.Add(time.Hour) // every access token has expired
	p.ResetCounters()
	a, b := first, mk()
	var wg sync.WaitGroup
	for _, c := range []*native.Client{a, b} {
		wg.Go(func() {
			if tok, err := c.AccessToken(ctx, apiResource, ""); err != nil || tok.Token == "" {
				t.Errorf("access token after expiry: %v", err)
			}
		})
	}
	wg.Wait()
	if n := p.Grants("refresh_token"); n != 1 {
		t.Errorf("%d refresh grants for two processes, want 1", n)
	}
	rotated := readCache(t, path)[logto.StorageKeyRefreshToken]
	if rotated == "" || rotated == rt {
		t.Errorf("refresh token in the cache not rotated: %q", rotated)
	}

	if err := mk().Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("logout left the cache file: %v", err)
	}
	if !slices.Contains(p.RevokedTokens(), rotated) {
		t.Errorf("logout did not revoke the refresh token (revoked: %v)", p.RevokedTokens())
	}
	if _, err := mk().IDTokenClaims(ctx); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Errorf("after logout: %v", err)
	}
}

func readCache(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
