package logto

import (
	"context"
	"sync"
)

// Storage holds one user session's values: tokens and pending sign-ins. The
// client reads and writes it through these three calls only, so any
// key-value place works (a cookie, a server-side store, memory).
//
// Get returns "" and a nil error for a missing key. Errors are returned to the
// caller wrapped in ErrStorage; an implementation must never treat an
// undecodable or stale session as an error but as an empty one.
type Storage interface {
	Get(ctx context.Context, key string) (string, error)
	Set(ctx context.Context, key, value string) error
	Delete(ctx context.Context, key string) error
}

// Flusher is implemented by a Storage that buffers writes (SessionStorage
// buffers them into one save of the session's cookies). The client calls Flush once at the end
// of every flow that wrote something, successful or not.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Renewer is implemented by a Storage that can start a new session: drop
// every value and, for server-side sessions, issue a new session identifier.
// The client calls Renew before storing the tokens of a new sign-in, so a
// session from before sign-in is never reused (no session fixation). A
// Storage without it has the client's own keys deleted instead.
type Renewer interface {
	Renew(ctx context.Context) error
}

// Locker is implemented by a Storage that several processes share (a
// server-side session seen by several app replicas). The client holds the lock
// across a refresh: it takes it, reads the session again (another process may
// have refreshed meanwhile), spends the refresh token, stores the rotated one
// and only then releases it. Logto revokes the whole grant when a spent
// refresh token is presented again, so refreshes of one session must never
// overlap, in one process or across many. The lock must have a lease, so that
// a holder that dies blocks others no longer than that.
//
// A holder that stalls past its lease loses the lock without knowing, so a
// Storage whose lock is a lease must fence it: while the lock is held, a read
// of StorageKeyRefreshToken fails once the lease is lost (the client reads
// the token right before it spends it), and a write must not replace a
// refresh token that someone else stored since the session was read (the
// failed read or write is reported as ErrStorage, and nothing is handed
// out). SessionStorage over redisstore does both.
type Locker interface {
	// Lock blocks until the session's lock is held or ctx ends, and returns
	// the function that releases it.
	Lock(ctx context.Context) (unlock func(), err error)
}

// Keys the client uses in a Storage.
const (
	// StorageKeyIDToken holds the raw, verified ID token.
	StorageKeyIDToken = "idToken"
	// StorageKeyRefreshToken holds the refresh token.
	StorageKeyRefreshToken = "refreshToken"
	// StorageKeyAccessTokens holds the list of cached access tokens (JSON);
	// each token is kept under StorageKeyAccessTokens + ":" + its resource
	// (and "#org:<id>" for an organization token; "" for the default token).
	StorageKeyAccessTokens = "accessToken"
	// StorageKeySignIn holds the pending sign-ins, keyed by state (JSON).
	StorageKeySignIn = "signInSession"
	// StorageKeySession holds the session's lifetime record: when it
	// started, when it was last used, and the handle that names it in the
	// record of ended sessions.
	StorageKeySession = "session"
)

// MemoryStorage is a Storage in process memory, safe for concurrent use. It
// suits command-line tools, background jobs and tests; a web app wants one
// per user session, which SessionStorage gives.
type MemoryStorage struct {
	mu     sync.RWMutex
	values map[string]string
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{values: make(map[string]string)}
}

// Get returns the value for key, or "" when there is none.
func (m *MemoryStorage) Get(_ context.Context, key string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.values[key], nil
}

// Set stores value under key.
func (m *MemoryStorage) Set(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.values == nil {
		m.values = make(map[string]string)
	}
	m.values[key] = value
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (m *MemoryStorage) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.values, key)
	return nil
}

// Renew drops every value.
func (m *MemoryStorage) Renew(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.values)
	return nil
}
