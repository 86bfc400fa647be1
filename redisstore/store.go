package redisstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/cookiekeys"
	"github.com/seed098cf14d/logto/internal/sessionid"
)

// DefaultPrefix starts every Redis key a Store writes when its Prefix is "".
const DefaultPrefix = "logto:"

// Store is a gorilla sessions.Store keeping each session's values in Redis
// and only its ID in the cookie. Build it with New; a Store is safe for
// concurrent use once its fields are no longer changed.
type Store struct {
	// Prefix starts every key the store writes (<Prefix>session:<id>), so
	// apps or environments can share one Redis; "" means DefaultPrefix.
	Prefix string

	// Options are the cookie attributes of new sessions, as
	// logto.CookieOptions gives them. MaxAge is also the session's lifetime
	// in Redis, counted from its last save; a MaxAge of 0 (a cookie that
	// ends with the browser) still expires in Redis after
	// logto.DefaultSessionMaxAge. nil means logto.CookieOptions(redirectURI).
	Options *sessions.Options

	// LockLease bounds how long a session lock (LockSession) outlives a
	// holder that died; zero means DefaultLockLease.
	LockLease time.Duration

	redirectURI string
	client      redis.UniversalClient
	ids         *sessionid.Codec
}

// New returns a Store over client for the app whose callback is redirectURI
// (the cookie is Secure exactly when it is https). keyPairs are as
// gorilla's securecookie takes them, encryption optional (the cookie holds
// only a random session ID): an authentication key of at least 32
// bytes, then optionally an encryption key of 16, 24 or 32 bytes (nil for
// none), repeated for rotation with the newest pair first: cookies are
// written with the first pair and read with any. Every problem is reported
// at once, wrapped in logto.ErrInvalidConfig. New does no I/O.
func New(client redis.UniversalClient, redirectURI string, keyPairs ...[]byte) (*Store, error) {
	problems := checkStore(client, redirectURI)
	problems = append(problems, cookiekeys.Check(keyPairs, false)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: redisstore: %w", logto.ErrInvalidConfig, errors.Join(problems...))
	}
	return &Store{
		Options:     logto.CookieOptions(redirectURI),
		redirectURI: redirectURI,
		client:      client,
		ids:         sessionid.NewCodec(keyPairs...),
	}, nil
}

// NewFromSecret is New with the cookie's keys derived from secrets
// (HKDF-SHA256, an authentication and an encryption key per secret, with
// labels of their own; logto.NewCookieStore derives its sealing key from
// the same kind of secret). Each secret must have at
// least 32 bytes; to rotate, put the new secret first.
func NewFromSecret(client redis.UniversalClient, redirectURI string, secrets ...[]byte) (*Store, error) {
	pairs, err := cookiekeys.FromSecrets(secrets)
	if err != nil {
		problems := append(checkStore(client, redirectURI), err)
		return nil, fmt.Errorf("%w: redisstore: %w", logto.ErrInvalidConfig, errors.Join(problems...))
	}
	return New(client, redirectURI, pairs...)
}

// checkStore returns the problems of New's arguments other than the keys.
func checkStore(client redis.UniversalClient, redirectURI string) []error {
	var problems []error
	if client == nil {
		problems = append(problems, errors.New("a Redis client is required"))
	}
	if err := cookiekeys.CheckRedirectURI(redirectURI); err != nil {
		problems = append(problems, fmt.Errorf("redirect URI: %w", err))
	}
	return problems
}

// Get returns the session name of the request, loading it once per request
// (through the request's sessions.Registry).
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session the request's cookie names. A missing, undecodable
// or tampered cookie, or an ID Redis does not hold (expired, ended), gives a
// new empty session and no error. A Redis failure gives an empty session and
// the error, which logto.SessionStorage reports as logto.ErrStorage. Besides
// the stored strings, the session's Values hold what was read, under a key
// of the store's own type that is never stored: Save compares against it.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.options()
	session.Options = &opts
	session.IsNew = true

	id := s.ids.FromRequest(r, name)
	if id == "" {
		return session, nil
	}
	data, err := s.client.Get(r.Context(), s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return session, nil
	}
	if err != nil {
		return session, fmt.Errorf("redisstore: load session: %w", err)
	}
	values, head, version, ok := decodeSession(data)
	if !ok {
		// Not written by this package: as unreadable as a bad cookie. Save
		// gives the session a new ID and deletes this key.
		return session, nil
	}
	for k, v := range values {
		session.Values[k] = v
	}
	session.Values[readKey{}] = &read{head: head, version: version, values: values}
	session.ID = id
	session.IsNew = false
	return session, nil
}

// Save writes the session to Redis, with a TTL of its MaxAge, and sets the
// cookie naming it. A session whose ID is "" (new, or cleared by
// logto.SessionStorage.Renew) gets a fresh random ID, and the session the
// request's cookie named before is deleted, so an ID planted in a browser
// never comes to name a signed-in session. A session with a negative MaxAge
// or no values is deleted from Redis and its cookie expired. Values must be
// strings under string keys; anything else is an error and nothing is
// written.
//
// Saving a session that exists is a compare-and-set on its version: when
// another request saved it since this one read it, this request's own
// changes are applied to what Redis holds now, and the save fails with
// ErrConflict, writing nothing, when both changed the refresh token or the
// ID token (two rotations, above all). See the package doc.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	ctx := r.Context()
	opts := session.Options
	if opts == nil {
		opts = s.options()
	}
	// The session the browser presented; once this save gives the session
	// another ID, it must not live on.
	prev := s.ids.FromRequest(r, session.Name())

	var values map[string]string
	if opts.MaxAge >= 0 {
		var err error
		if values, err = stringValues(session.Values); err != nil {
			return err
		}
	}
	if len(values) == 0 {
		if err := s.del(ctx, session.ID, prev); err != nil {
			return fmt.Errorf("redisstore: delete session: %w", err)
		}
		s.ended(w, session, opts)
		return nil
	}

	id := session.ID
	if id == "" {
		var err error
		if id, err = sessionid.New(); err != nil {
			return err
		}
	}
	cookie, err := s.ids.Encode(session.Name(), id)
	if err != nil {
		return fmt.Errorf("redisstore: encode cookie: %w", err)
	}
	ttl := time.Duration(opts.MaxAge) * time.Second
	if ttl == 0 {
		ttl = logto.DefaultSessionMaxAge * time.Second
	}
	var prevRefs []indexRef
	if prev != "" && prev != id {
		// Best effort: a failure here shows again in the write below.
		prevRefs, _ = s.indexRefs(ctx, prev)
	}
	// The write and the deletion of the session the cookie named before go
	// in one pipeline, not MULTI: the keys may sit on different cluster
	// slots. Should the delete fail, the error stops the cookie from naming
	// the new session, and the old one stays as it was.
	dropPrev := func(p redis.Pipeliner) {
		if prev != "" && prev != id {
			p.Del(ctx, s.key(prev))
			for _, ref := range prevRefs {
				p.SRem(ctx, ref.set, ref.id)
			}
		}
	}
	var saved *read
	if session.ID == "" {
		saved, err = s.create(ctx, id, values, ttl, dropPrev)
	} else {
		// A session ended meanwhile (back-channel logout, DeleteSession)
		// must not come back with this request's save: the write needs
		// the session to be there.
		before, _ := session.Values[readKey{}].(*read)
		saved, err = s.update(ctx, id, before, values, ttl, dropPrev)
		if errors.Is(err, errEnded) {
			s.ended(w, session, opts)
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("redisstore: save session: %w", err)
	}
	for k := range session.Values {
		if ks, ok := k.(string); ok {
			if _, kept := saved.values[ks]; !kept {
				delete(session.Values, k)
			}
		}
	}
	for k, v := range saved.values {
		session.Values[k] = v
	}
	session.Values[readKey{}] = saved
	session.ID = id
	http.SetCookie(w, sessions.NewCookie(session.Name(), cookie, opts))
	return nil
}

// ended forgets the session, whose Redis key is gone, and expires its
// cookie.
func (s *Store) ended(w http.ResponseWriter, session *sessions.Session, opts *sessions.Options) {
	session.ID = ""
	delete(session.Values, readKey{})
	expired := *opts
	expired.MaxAge = -1
	http.SetCookie(w, sessions.NewCookie(session.Name(), "", &expired))
}

// DeleteSession ends the session id at once, wherever its cookie is: the
// next request presenting it is not signed in. Deleting a session that does
// not exist is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.del(ctx, id); err != nil {
		return fmt.Errorf("redisstore: delete session: %w", err)
	}
	return nil
}

// del deletes the sessions ids, skipping "" and repeats, one key per
// command so that a cluster can route each, and drops them from the sub and
// sid sets their ID tokens put them in.
func (s *Store) del(ctx context.Context, ids ...string) error {
	var keep []string
	for _, id := range ids {
		if id != "" && !slices.Contains(keep, id) {
			keep = append(keep, id)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	refs, err := s.indexRefs(ctx, keep...)
	if err != nil {
		return err
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range keep {
			p.Del(ctx, s.key(id))
		}
		for _, ref := range refs {
			p.SRem(ctx, ref.set, ref.id)
		}
		return nil
	})
	return err
}

func (s *Store) key(id string) string {
	p := s.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return p + "session:" + id
}

func (s *Store) options() *sessions.Options {
	if s.Options != nil {
		return s.Options
	}
	return logto.CookieOptions(s.redirectURI)
}

// A stored session is a format byte, for valuesFormat its version (8 bytes,
// big-endian), then each entry as uvarint key length, key, uvarint value
// length, value. Reading it back is a few slices, not a JSON parse, on every
// request of a signed-in user. The version goes up by one with every save;
// Save compares it before it writes (see read and updateScript).
const (
	valuesFormat = 'V'
	headLen      = 1 + 8
	// legacyFormat is the format before versions: the same entries, no
	// version. It is read as it is; the first save writes valuesFormat.
	legacyFormat = 'L'
)

// stringValues returns a session's values as strings, refusing anything
// else (and strings that are not valid UTF-8, which no SDK value is). The
// store's own entry (readKey) is left out.
func stringValues(values map[any]any) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for k, v := range values {
		if _, ok := k.(readKey); ok {
			continue
		}
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("redisstore: session key %v is a %T; only strings are stored", k, k)
		}
		vs, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("redisstore: session value of %q is a %T; only strings are stored", ks, v)
		}
		if !utf8.ValidString(ks) || !utf8.ValidString(vs) {
			return nil, fmt.Errorf("redisstore: session entry %q is not valid UTF-8", ks)
		}
		out[ks] = vs
	}
	return out, nil
}

// encodeValues serializes a session's values as version version.
func encodeValues(values map[string]string, version uint64) []byte {
	size := headLen
	for k, v := range values {
		size += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	b := make([]byte, 1, size)
	b[0] = valuesFormat
	b = binary.BigEndian.AppendUint64(b, version)
	for k, v := range values {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeValues reads what encodeValues wrote; ok is false for anything else.
func decodeValues(data []byte) (values map[string]string, ok bool) {
	values, _, _, ok = decodeSession(data)
	return values, ok
}

// decodeSession reads a stored session: its values, its head (what Save
// compares: the format byte and version, or the whole of a legacy value) and
// its version (0 for a legacy value).
func decodeSession(data []byte) (values map[string]string, head string, version uint64, ok bool) {
	if len(data) == 0 {
		return nil, "", 0, false
	}
	switch data[0] {
	case valuesFormat:
		if len(data) < headLen {
			return nil, "", 0, false
		}
		head, version = string(data[:headLen]), binary.BigEndian.Uint64(data[1:headLen])
		data = data[headLen:]
	case legacyFormat:
		head = string(data)
		data = data[1:]
	default:
		return nil, "", 0, false
	}
	values = map[string]string{}
	next := func() (string, bool) {
		n, w := binary.Uvarint(data)
		if w <= 0 || n > uint64(len(data)-w) {
			return "", false
		}
		s := string(data[w : w+int(n)])
		data = data[w+int(n):]
		return s, true
	}
	for len(data) > 0 {
		k, ok1 := next()
		v, ok2 := next()
		if !ok1 || !ok2 {
			return nil, "", 0, false
		}
		values[k] = v
	}
	return values, head, version, true
}
