package memstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/cookiekeys"
	"github.com/seed098cf14d/logto/internal/sessionid"
)

// Store is a gorilla sessions.Store keeping each session's values in this
// process's memory and only its ID in the cookie. Build it with New; a
// Store is safe for concurrent use once its fields are no longer changed.
type Store struct {
	// Options are the cookie attributes of new sessions, as
	// logto.CookieOptions gives them. MaxAge is also the session's lifetime
	// in the store, counted from its last save; a MaxAge of 0 (a cookie that
	// ends with the browser) still ends in the store after
	// logto.DefaultSessionMaxAge. nil means logto.CookieOptions(redirectURI).
	Options *sessions.Options

	// MaxSessions bounds the sessions held at once, and so the memory:
	// about MaxSessions times a session's size (signed in, its tokens: the
	// ID and refresh tokens, 1 to 2 KB with Logto, and each cached access
	// token; mid-sign-in, at most a few KB). Zero means DefaultMaxSessions;
	// at least 2 are needed, and a Store with fewer fails every Save with
	// logto.ErrInvalidConfig.
	// A tenth of them (at least one) are for sessions not signed in, the
	// rest for signed-in ones; see the package documentation for what
	// gives way when a share is full.
	MaxSessions int

	// Now is the store's clock for session lifetimes; nil means time.Now.
	Now func() time.Time

	redirectURI string
	ids         *sessionid.Codec

	mu        sync.RWMutex
	sessions  map[string]*entry
	signedIn  pool // sessions holding an ID token
	anonymous pool // the others: sign-ins under way
	bySub     map[string]map[string]struct{}
	bySID     map[string]map[string]struct{}

	lockMu sync.Mutex
	locks  map[string]*sessionLock
}

// New returns a Store for the app whose callback is redirectURI (the cookie
// is Secure exactly when it is https). The cookie's keys are derived from
// secrets (HKDF-SHA256, an authentication and an encryption key per
// secret, as redisstore.NewFromSecret derives them, each secret of at least
// 32 bytes; the first seals, all open). With no secret the store draws a
// random one: its sessions live in this process only, so a key that dies
// with the process loses nothing. Every problem is reported at once,
// wrapped in logto.ErrInvalidConfig.
func New(redirectURI string, secrets ...[]byte) (*Store, error) {
	var problems []error
	if err := cookiekeys.CheckRedirectURI(redirectURI); err != nil {
		problems = append(problems, fmt.Errorf("redirect URI: %w", err))
	}
	if len(secrets) == 0 {
		random := make([]byte, cookiekeys.MinSecretBytes)
		if _, err := rand.Read(random); err != nil {
			return nil, fmt.Errorf("memstore: cookie key: %w", err)
		}
		secrets = [][]byte{random}
	}
	pairs, err := cookiekeys.FromSecrets(secrets)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: memstore: %w", logto.ErrInvalidConfig, errors.Join(problems...))
	}
	return &Store{
		Options:     logto.CookieOptions(redirectURI),
		redirectURI: redirectURI,
		ids:         sessionid.NewCodec(pairs...),
		sessions:    make(map[string]*entry),
		bySub:       make(map[string]map[string]struct{}),
		bySID:       make(map[string]map[string]struct{}),
		locks:       make(map[string]*sessionLock),
	}, nil
}

// Get returns the session name of the request, loading it once per request
// (through the request's sessions.Registry).
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session the request's cookie names, as a copy: changing it
// changes nothing in the store until Save. A missing, undecodable or
// tampered cookie, or an ID the store does not hold (expired, ended,
// evicted, never issued), gives a new empty session. It never fails.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.options()
	session.Options = &opts
	session.IsNew = true

	id := s.ids.FromRequest(r, name)
	if id == "" {
		return session, nil
	}
	now := s.now()
	s.mu.RLock()
	e := s.sessions[id]
	s.mu.RUnlock()
	if e == nil || !e.live(now) {
		return session, nil
	}
	// An entry is never changed once stored (Save stores a new one), so it
	// is read without the lock.
	for _, kv := range e.boxed {
		session.Values[kv.k] = kv.v
	}
	session.ID = id
	session.IsNew = false
	return session, nil
}

// Save stores a copy of the session, to live MaxAge seconds from now, and
// sets the cookie naming it. A session whose ID is "" (new, or cleared by
// logto.SessionStorage.Renew) gets a fresh random ID, and the session the
// request's cookie named before is deleted, so an ID planted in a browser
// never comes to name a signed-in session. A session the store no longer
// holds (ended by EndSessions or DeleteSession while the request ran,
// expired, evicted) is not brought back: its cookie is expired instead. A
// session with a negative MaxAge or no values is deleted and its cookie
// expired. Values must be strings under string keys; anything else is an
// error and nothing is written.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	opts := session.Options
	if opts == nil {
		opts = s.options()
	}
	// The session the browser presented; once this save gives the session
	// another ID, it must not live on.
	prev := s.ids.FromRequest(r, session.Name())

	if opts.MaxAge < 0 || len(session.Values) == 0 {
		s.mu.Lock()
		s.removeLocked(session.ID)
		s.removeLocked(prev)
		s.mu.Unlock()
		expireCookie(w, session, opts)
		return nil
	}

	values, err := copyValues(session.Values)
	if err != nil {
		return err
	}
	boxed := box(values)
	signedInShare, anonymousShare, err := s.shares()
	if err != nil {
		return err
	}
	id := session.ID
	existing := id != ""
	if !existing {
		if id, err = sessionid.New(); err != nil {
			return err
		}
	}
	cookie, err := s.ids.Encode(session.Name(), id)
	if err != nil {
		return fmt.Errorf("memstore: encode cookie: %w", err)
	}
	ttl := time.Duration(opts.MaxAge) * time.Second
	if ttl == 0 {
		ttl = logto.DefaultSessionMaxAge * time.Second
	}

	s.mu.Lock()
	now := s.now()
	s.sweepLocked(now)
	old := s.sessions[id]
	if existing && old == nil {
		// Ended, expired or evicted meanwhile: so is this session.
		s.removeLocked(prev)
		s.mu.Unlock()
		expireCookie(w, session, opts)
		return nil
	}
	if prev != id {
		s.removeLocked(prev)
	}
	e := &entry{id: id, values: values, boxed: boxed, expires: now.Add(ttl)}
	e.sub, e.sid = old.subSID(values)
	s.removeLocked(id)
	if e.signedIn() {
		s.insertLocked(e, &s.signedIn, signedInShare)
	} else {
		s.insertLocked(e, &s.anonymous, anonymousShare)
	}
	s.mu.Unlock()

	session.ID = id
	http.SetCookie(w, sessions.NewCookie(session.Name(), cookie, opts))
	return nil
}

// expireCookie ends session in the browser.
func expireCookie(w http.ResponseWriter, session *sessions.Session, opts *sessions.Options) {
	session.ID = ""
	expired := *opts
	expired.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(session.Name(), "", &expired))
}

// DeleteSession ends the session id at once, wherever its cookie is: the
// next request presenting it is not signed in. Deleting a session that does
// not exist is not an error. It never fails; the error is there to match
// redisstore.Store.DeleteSession.
func (s *Store) DeleteSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(id)
	return nil
}

func (s *Store) options() *sessions.Options {
	if s.Options != nil {
		return s.Options
	}
	return logto.CookieOptions(s.redirectURI)
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// copyValues copies a session's values, refusing anything but strings under
// string keys: only those can be copied without sharing memory between
// requests.
func copyValues(values map[any]any) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for k, v := range values {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("memstore: session key %v is a %T; only strings are stored", k, k)
		}
		vs, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("memstore: session value of %q is a %T; only strings are stored", ks, v)
		}
		out[ks] = vs
	}
	return out, nil
}
