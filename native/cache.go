package native

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/seed098cf14d/logto"
)

// Cache keeps a native app's session between runs. It is a logto.Storage
// that buffers writes until Flush, can start afresh (Renew), serializes
// refreshes (Lock: across processes when the session is shared by several,
// as a file is) and forgets everything (Remove, at logout).
type Cache interface {
	logto.Storage
	logto.Flusher
	logto.Renewer
	logto.Locker
	// Remove forgets the session, stored copy included.
	Remove(ctx context.Context) error
}

// MemoryCache is a Cache in process memory: the session lasts as long as
// the process.
type MemoryCache struct {
	mu     sync.Mutex
	values map[string]string
	lock   chan struct{}
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache {
	return &MemoryCache{values: map[string]string{}, lock: make(chan struct{}, 1)}
}

// Get implements logto.Storage.
func (m *MemoryCache) Get(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[key], nil
}

// Set implements logto.Storage.
func (m *MemoryCache) Set(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[key] = value
	return nil
}

// Delete implements logto.Storage.
func (m *MemoryCache) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.values, key)
	return nil
}

// Flush implements logto.Flusher; memory needs none.
func (m *MemoryCache) Flush(context.Context) error { return nil }

// Renew implements logto.Renewer.
func (m *MemoryCache) Renew(ctx context.Context) error { return m.Remove(ctx) }

// Remove implements Cache.
func (m *MemoryCache) Remove(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.values)
	return nil
}

// Lock implements logto.Locker, within the process.
func (m *MemoryCache) Lock(ctx context.Context) (func(), error) {
	select {
	case m.lock <- struct{}{}:
		return func() { <-m.lock }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for the session lock: %w", logto.ErrStorage, ctx.Err())
	}
}

func (m *MemoryCache) snapshot() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.values)
}

// DefaultCachePath is where a FileCache for endpoint and appID lives by
// default: a file named for both under the user's configuration directory
// (os.UserConfigDir, then "logto"), so that tools signed in to several
// tenants or apps keep apart.
func DefaultCachePath(endpoint, appID string) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: no configuration directory for the token cache: %w", logto.ErrStorage, err)
	}
	sum := sha256.Sum256([]byte(endpoint + "\x00" + appID))
	return filepath.Join(dir, "logto", "session-"+hex.EncodeToString(sum[:8])+".json"), nil
}

// maxCacheBytes bounds a cache file read: a session is a few KiB.
const maxCacheBytes = 1 << 20

// FileCache is a Cache in one file, which every process of the tool
// shares: mode 0600 in a directory of mode 0700, replaced atomically
// (written beside, synced, renamed) on every Flush, and locked (an
// advisory lock on a companion ".lock" file, which the system releases if
// the holder dies) across refreshes. It holds the session's values only:
// tokens, their expiry and the session's lifetime record.
type FileCache struct {
	path string

	mu     sync.Mutex
	values map[string]string // nil until loaded
	dirty  bool
}

// NewFileCache returns the FileCache kept at path (DefaultCachePath, say);
// the file and its directory are made on the first Flush that has
// something to keep.
func NewFileCache(path string) (*FileCache, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: the token cache needs a file path", logto.ErrInvalidConfig)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: token cache path %q: %w", logto.ErrInvalidConfig, path, err)
	}
	return &FileCache{path: abs}, nil
}

// Path is the file the cache is kept in.
func (f *FileCache) Path() string { return f.path }

// load reads the file once, unless there are unsaved changes. A file that
// cannot be read as a session reads as an empty one.
func (f *FileCache) load(force bool) error {
	if f.values != nil && (!force || f.dirty) {
		return nil
	}
	b, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f.values = map[string]string{}
		return nil
	case err != nil:
		return fmt.Errorf("%w: reading the token cache: %w", logto.ErrStorage, err)
	}
	values := map[string]string{}
	if len(b) > maxCacheBytes || json.Unmarshal(b, &values) != nil {
		values = map[string]string{} // not ours, or damaged: start afresh
	}
	f.values = values
	return nil
}

// Get implements logto.Storage.
func (f *FileCache) Get(_ context.Context, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(false); err != nil {
		return "", err
	}
	return f.values[key], nil
}

// Set implements logto.Storage; the value is written on Flush.
func (f *FileCache) Set(_ context.Context, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(false); err != nil {
		return err
	}
	if f.values[key] != value {
		f.values[key] = value
		f.dirty = true
	}
	return nil
}

// Delete implements logto.Storage; the deletion is written on Flush.
func (f *FileCache) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(false); err != nil {
		return err
	}
	if _, ok := f.values[key]; ok {
		delete(f.values, key)
		f.dirty = true
	}
	return nil
}

// Renew implements logto.Renewer: the next Flush writes an empty session
// plus what is set meanwhile.
func (f *FileCache) Renew(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values, f.dirty = map[string]string{}, true
	return nil
}

// Flush writes the session if it changed: to a temporary file beside the
// cache file, synced, then renamed over it, so a reader sees the old
// session or the new one, never half of one. An empty session removes the
// file.
func (f *FileCache) Flush(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirty {
		return nil
	}
	if len(f.values) == 0 {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: removing the token cache: %w", logto.ErrStorage, err)
		}
		f.dirty = false
		return nil
	}
	b, err := json.Marshal(f.values)
	if err != nil {
		return fmt.Errorf("%w: %w", logto.ErrStorage, err)
	}
	if err := writeAtomic(f.path, b); err != nil {
		return fmt.Errorf("%w: writing the token cache: %w", logto.ErrStorage, err)
	}
	f.dirty = false
	return nil
}

// writeAtomic replaces path with b, mode 0600.
func writeAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; say so for any umask.
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Remove implements Cache: the file goes, and the session with it.
func (f *FileCache) Remove(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values, f.dirty = map[string]string{}, false
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: removing the token cache: %w", logto.ErrStorage, err)
	}
	return nil
}

// Lock implements logto.Locker: it takes the file's advisory lock, waiting
// for another process's refresh to end, then reads the file again (that
// process may have stored a rotated refresh token meanwhile).
func (f *FileCache) Lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", logto.ErrStorage, err)
	}
	release, err := lockFile(ctx, f.path+".lock")
	if err != nil {
		return nil, fmt.Errorf("%w: locking the token cache: %w", logto.ErrStorage, err)
	}
	f.mu.Lock()
	err = f.load(true)
	f.mu.Unlock()
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}
