package logto

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// DefaultSessionName is the cookie (or session) name SessionStorage uses when
// given none.
const DefaultSessionName = "logto"

// DefaultSessionMaxAge is the cookie (and server-side session) lifetime, in
// seconds, that the SDK's stores set: DefaultSessionAbsoluteTimeout, 7
// days, past which the client ends a session anyway.
const DefaultSessionMaxAge = 7 * 24 * 60 * 60

// SessionStorage is a Storage over a gorilla sessions.Store for one request.
// It buffers writes and sends them in one save (the session's cookies, or a
// store save) when the client calls Flush; code that writes to it directly
// must call Flush before the response's headers are written. An
// undecodable, tampered or expired session reads as empty, never as an
// error. Over a CookieStore (or a gorilla CookieStore) it keeps the session
// within the cookie budget, giving up what can be given up (CookieStore
// says what, in which order).
type SessionStorage struct {
	store sessions.Store
	w     http.ResponseWriter
	r     *http.Request
	name  string

	session *sessions.Session
	dirty   bool
	// pairs are the values a CookieStore opened from the request's cookies,
	// shared and read-only: reads use them until something loads the
	// session for writing (see peek).
	pairs     []string
	peeked    bool
	peekedCtx context.Context // the request's context when peek last found nothing loaded
	lastToken string          // the access token written last, kept longest when space runs out

	// leaseCheck confirms the session lock Lock took, a lease
	// (SessionLeaser), is still held; nil when no such lock is held.
	leaseCheck func(context.Context) error
}

// NewSessionStorage returns the storage for request r, answered through w,
// kept in store under the session name name (DefaultSessionName when empty).
// The session name belongs to the SDK: do not keep other values in it.
func NewSessionStorage(store sessions.Store, w http.ResponseWriter, r *http.Request, name string) *SessionStorage {
	if name == "" {
		name = DefaultSessionName
	}
	return &SessionStorage{store: store, w: w, r: r, name: name}
}

func (s *SessionStorage) load() (*sessions.Session, error) {
	if s.session != nil {
		return s.session, nil
	}
	if s.store == nil || s.r == nil {
		return nil, errors.New("SessionStorage has no store or request")
	}
	sess, err := s.store.Get(s.r, s.name)
	if sess == nil {
		if err == nil {
			err = errors.New("session store returned no session")
		}
		return nil, err
	}
	if err != nil {
		// A cookie that fails to decode (bad MAC, rotated keys, expired
		// timestamp, garbage) is a session we cannot read: start afresh.
		// Anything else (a server-side store that is down) is a real failure.
		var cookieErr securecookie.Error
		if !errors.As(err, &cookieErr) || !cookieErr.IsDecode() {
			return nil, err
		}
		clear(sess.Values)
		sess.IsNew = true
	}
	s.session = sess
	if _, ok := s.store.(*CookieStore); ok {
		markLoaded(s.r, s.name)
	}
	return sess, nil
}

// peek serves reads over a CookieStore without a gorilla session, the
// most common request by far (a signed-in user's page or API call writes
// nothing): the values the store opened from the request's cookies, which
// it shares with every request carrying the same cookie. It reports false
// when reads must go through load instead: another kind of store, no
// request, or a session that a SessionStorage of this request (this one or
// another over the same request) has loaded, so that it may have written
// to it. The registry of gorilla's sessions shares that session between
// them; load marks the request so that peeking stops.
func (s *SessionStorage) peek() ([]string, bool) {
	cs, ok := s.store.(*CookieStore)
	if !ok || s.r == nil || s.session != nil {
		return nil, false
	}
	// markLoaded gives the request a new context: while it has the one
	// seen last, nothing was loaded since.
	if ctx := s.r.Context(); ctx != s.peekedCtx {
		if loaded(s.r, s.name) {
			return nil, false
		}
		s.peekedCtx = ctx
	}
	if !s.peeked {
		s.pairs, _ = cs.open(s.r, s.name)
		s.peeked = true
	}
	return s.pairs, true
}

// loadedKey marks, in a request's context, that a SessionStorage loaded the
// session called name (a CookieStore's) from gorilla's registry.
type loadedKey struct{ name string }

func loaded(r *http.Request, name string) bool {
	return r.Context().Value(loadedKey{name}) != nil
}

// markLoaded marks r as gorilla's registry marks it: in place, so every
// holder of r sees it.
func markLoaded(r *http.Request, name string) {
	if !loaded(r, name) {
		*r = *r.WithContext(context.WithValue(r.Context(), loadedKey{name}, true))
	}
}

// Get returns the value for key, or "" when there is none. While Lock's
// lock is held and is a lease (SessionLeaser), reading the refresh token
// first confirms the lease: the client reads it right before it spends it,
// and a holder whose lease ran out must not, since the next holder may be
// spending the same token.
func (s *SessionStorage) Get(ctx context.Context, key string) (string, error) {
	if pairs, ok := s.peek(); ok {
		// A cookie session: no lock, so no lease to check.
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i] == key {
				return pairs[i+1], nil
			}
		}
		return "", nil
	}
	sess, err := s.load()
	if err != nil {
		return "", err
	}
	if key == StorageKeyRefreshToken && s.leaseCheck != nil {
		if err := s.leaseCheck(ctx); err != nil {
			return "", err
		}
	}
	v, _ := sess.Values[key].(string)
	return v, nil
}

// Set stores value under key; it reaches the client on Flush.
func (s *SessionStorage) Set(_ context.Context, key, value string) error {
	sess, err := s.load()
	if err != nil {
		return err
	}
	sess.Values[key] = value
	s.dirty = true
	if strings.HasPrefix(key, StorageKeyAccessTokens+":") {
		s.lastToken = key
	}
	return nil
}

// Delete removes key; it reaches the client on Flush.
func (s *SessionStorage) Delete(_ context.Context, key string) error {
	sess, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := sess.Values[key]; ok {
		delete(sess.Values, key)
		s.dirty = true
	}
	return nil
}

// SessionLocker is implemented by a sessions.Store whose sessions several
// processes share (redisstore.Store): LockSession holds the lock of the
// session with ID id until unlock is called, with a lease that outlives a
// holder that dies only briefly.
type SessionLocker interface {
	LockSession(ctx context.Context, id string) (unlock func(), err error)
}

// SessionLeaser is a SessionLocker whose lock is a lease that a holder can
// lose without knowing: one that stalls longer than the lease (a long
// pause, the store out of reach) finds another process holding it
// (redisstore.Store). LeaseSession takes the lock as LockSession does and
// also returns check, which confirms the lock is still held (and may extend
// it) or returns an error once it is not. SessionStorage.Lock prefers it, and
// calls check whenever the refresh token is read under the lock.
type SessionLeaser interface {
	SessionLocker
	LeaseSession(ctx context.Context, id string) (check func(context.Context) error, unlock func(), err error)
}

// Lock implements Locker. When the store is a SessionLocker and the session
// has an ID, it takes the session's lock and then reloads the session from
// the store, so the caller sees what other processes wrote meanwhile. Otherwise
// (a cookie store: one browser's session, which no other process writes) there
// is nothing to lock and it returns at once.
func (s *SessionStorage) Lock(ctx context.Context) (func(), error) {
	sess, err := s.load()
	if err != nil {
		return nil, err
	}
	locker, ok := s.store.(SessionLocker)
	if !ok || sess.ID == "" {
		return func() {}, nil
	}
	var check func(context.Context) error
	var unlock func()
	if leaser, ok := locker.(SessionLeaser); ok {
		check, unlock, err = leaser.LeaseSession(ctx, sess.ID)
	} else {
		unlock, err = locker.LockSession(ctx, sess.ID)
	}
	if err != nil {
		return nil, err
	}
	if !s.dirty {
		fresh, err := s.store.New(s.r, s.name)
		if err != nil {
			unlock()
			return nil, err
		}
		if fresh != nil && fresh.ID == sess.ID {
			sess.Values = fresh.Values
		}
	}
	s.leaseCheck = check
	return func() {
		s.leaseCheck = nil
		unlock()
	}, nil
}

// sharesSession reports whether Lock takes a real lock: the store is a
// SessionLocker and the session has an ID.
func (s *SessionStorage) sharesSession() bool {
	if _, ok := s.store.(SessionLocker); !ok {
		return false
	}
	sess, err := s.load()
	return err == nil && sess.ID != ""
}

// Renew drops every value of the session and, for a server-side store, its
// ID, so the next save starts a session under a new ID and a cookie planted
// before sign-in never names the signed-in session.
func (s *SessionStorage) Renew(context.Context) error {
	sess, err := s.load()
	if err != nil {
		return err
	}
	clear(sess.Values)
	sess.ID = ""
	sess.IsNew = true
	s.dirty = true
	return nil
}

// Flush saves the session if anything changed since the last Flush. An empty
// session is deleted (its cookies expire). Only one Set-Cookie per cookie of
// the session is ever left on the response, however often Flush runs.
func (s *SessionStorage) Flush(context.Context) error {
	if !s.dirty || s.session == nil {
		return nil
	}
	// An empty session is deleted by this save only: the options are the
	// session's own again afterwards, so a later write in the same request
	// is not sent already expired.
	orig := s.session.Options
	if len(s.session.Values) == 0 {
		opts := sessions.Options{}
		if orig != nil {
			opts = *orig
		}
		opts.MaxAge = -1
		s.session.Options = &opts
	}
	defer func() { s.session.Options = orig }()
	dropSetCookie(s.w.Header(), s.name)
	if err := s.save(); err != nil {
		return err
	}
	s.dirty = false
	return nil
}

// save writes the session. A cookie session too large for its store (over
// CookieStore's budget, or refused by a gorilla CookieStore's codec) gives up
// what it can and is tried again (giveUp says in which order); the refresh
// token is never given up. Any other store saves as it is.
func (s *SessionStorage) save() error {
	switch cs := s.store.(type) {
	case *CookieStore:
		for {
			cookies, err := cs.cookies(s.r, s.session)
			if err == nil {
				for _, c := range cookies {
					http.SetCookie(s.w, c)
				}
				return nil
			}
			if !errors.Is(err, errSessionTooLarge) || !giveUp(s.session.Values, s.lastToken) {
				return err
			}
		}
	case *sessions.CookieStore:
		for {
			encoded, err := securecookie.EncodeMulti(s.name, s.session.Values, cs.Codecs...)
			if err == nil {
				http.SetCookie(s.w, sessions.NewCookie(s.name, encoded, s.session.Options))
				return nil
			}
			if !giveUp(s.session.Values, s.lastToken) {
				return err
			}
		}
	default:
		return s.session.Save(s.r, s.w)
	}
}

// dropSetCookie removes earlier Set-Cookie lines for the cookie name and
// its chunks (CookieStore's name.1, name.2, ...).
func dropSetCookie(h http.Header, name string) {
	lines := h.Values("Set-Cookie")
	if len(lines) == 0 {
		return
	}
	kept := lines[:0:0]
	for _, l := range lines {
		cookie, _, _ := strings.Cut(l, "=")
		if _, chunk := chunkIndex(name, cookie); cookie != name && !chunk {
			kept = append(kept, l)
		}
	}
	h.Del("Set-Cookie")
	for _, l := range kept {
		h.Add("Set-Cookie", l)
	}
}
