package logto

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto/internal/cookiekeys"
	"github.com/seed098cf14d/logto/internal/sessioncodec"
)

// Cookie budget. A browser keeps at least 4096 bytes of one cookie, name,
// value and attributes together (RFC 6265 section 6.1), and common reverse
// proxies refuse a request whose Cookie header, or a response whose
// headers, pass 8 KiB.
const (
	// MaxCookieBytes is the longest Set-Cookie line CookieStore writes.
	MaxCookieBytes = 4096
	// MaxSessionCookieBytes bounds the Set-Cookie lines CookieStore writes
	// for one session in one response, deletions of stale chunks included.
	MaxSessionCookieBytes = 8192
)

// maxChunks is the most cookies one session is split into: the budget
// allows three at most, and the count is one digit.
const maxChunks = 9

// errSessionTooLarge is why CookieStore refuses to save a session: its
// cookies would pass MaxSessionCookieBytes. SessionStorage then gives up
// what it can and tries again.
var errSessionTooLarge = errors.New("the session does not fit in the cookie budget")

// CookieStore is a gorilla sessions.Store that keeps a session in the
// browser, sealed: the values are laid out compactly (session values must be
// strings, as SessionStorage writes them), encrypted and authenticated with
// AES-256-GCM under a key derived from a secret, and written in one unpadded
// base64url pass: a 500-byte JWT costs about 500 bytes of cookie (its
// parts are kept as the bytes they encode), against about 1 KB with
// gorilla's CookieStore (gob, then base64 twice).
//
// The seal binds the cookie's name and an expiry, now plus Options.MaxAge
// (DefaultSessionMaxAge for a cookie without one): a value does not open
// under another name, nor after its expiry, whatever the browser sends. An
// undecodable, tampered, expired or moved value reads as a new, empty
// session, never as an error.
//
// A session that fits in one cookie is written as the cookie called by the
// session's name. A longer one is split: the named cookie holds "<n>." and
// the first part, and cookies "<name>.1" to "<name>.<n-1>" the rest. Every
// save deletes the chunks the request carried that the new value no longer
// uses. No Set-Cookie line is longer than MaxCookieBytes, and the lines of
// one session add up to at most MaxSessionCookieBytes; Save refuses a
// session that needs more (wrapped in ErrStorage).
//
// SessionStorage keeps a session within that budget by giving up, in this
// order: cached access tokens, oldest issued first, but not the one just
// minted; pending sign-ins, oldest first, never the newest (at worst it
// loses its return path); then, when the ID token alone is too large (a
// user in a few hundred organizations), the ID token's raw form; then the
// access token just minted. The refresh token is never given up. Without
// its raw form the ID token is kept as a reduced, unsigned record of its
// verified claims (the cookie's seal vouches for it, as it does for the
// refresh token): the organization_roles claim goes first, then
// organizations, then everything but iss, sub, aud, exp, iat, auth_time,
// sid, azp, acr and amr. IsAuthenticated, IDTokenClaims and refreshes go on
// working; claims given up read as absent (OrganizationIDs returns none:
// organization tokens still work, and userinfo's organization_data lists
// them), IDToken returns the record (its header says alg "none": it proves
// nothing to anyone else), and sign-out sends no id_token_hint. Apps whose
// users are in that many organizations should keep sessions server-side
// (redisstore).
//
// A CookieStore remembers the sessions it opened (by cookie name and sealed
// value, until their expiry, 4 MiB at most), so that a cookie seen before,
// a signed-in user's on most requests, is not decoded and opened again.
//
// Each save seals with a fresh random 96-bit nonce, so one secret should
// seal fewer than 2^32 sessions (NIST SP 800-38D section 8.3): rotate it
// before then (a site saving 100 sessions a second reaches 2^32 in about
// 16 months).
type CookieStore struct {
	// Options are the session cookies' attributes; MaxAge also bounds how
	// long a sealed value opens. NewCookieStore sets
	// CookieOptions(redirectURI).
	Options *sessions.Options

	codec  *sessioncodec.Codec
	now    func() time.Time
	opened openedCache
}

// NewCookieStore returns a CookieStore whose cookies are sealed with keys
// derived from secrets by HKDF-SHA256 (RFC 5869), with the attributes a
// sign-in session needs: HttpOnly, SameSite=Lax (the provider's redirect
// back to the callback is a top-level navigation, so the cookie is sent),
// Path=/, Max-Age DefaultSessionMaxAge, and Secure exactly when redirectURI
// is https, so http://localhost works in development. Each secret must have
// at least 32 bytes (32 random bytes, say, from a secret store). To rotate,
// put the new secret first and keep the old ones after it until their
// cookies have expired: the first seals, all open. Every problem is
// reported at once, wrapped in ErrInvalidConfig.
func NewCookieStore(redirectURI string, secrets ...[]byte) (*CookieStore, error) {
	var problems []error
	if err := cookiekeys.CheckRedirectURI(redirectURI); err != nil {
		problems = append(problems, fmt.Errorf("redirect URI: %w", err))
	}
	keys, err := cookiekeys.SealingKeys(secrets)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: cookie store: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	codec, err := sessioncodec.New(keys)
	if err != nil {
		return nil, fmt.Errorf("%w: cookie store: %w", ErrInvalidConfig, err)
	}
	return &CookieStore{Options: CookieOptions(redirectURI), codec: codec, now: time.Now}, nil
}

// CookieOptions returns the session cookie attributes NewCookieStore uses, for
// a store built some other way.
func CookieOptions(redirectURI string) *sessions.Options {
	u, err := url.Parse(redirectURI)
	return &sessions.Options{
		Path:     "/",
		MaxAge:   DefaultSessionMaxAge,
		HttpOnly: true,
		Secure:   err == nil && u.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	}
}

// Get returns the session called name of request r, decoding it once per
// request (gorilla's registry) as sessions.Store asks.
func (s *CookieStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New decodes the session called name from r's cookies. A session the
// cookies do not hold, or hold in a form that does not open, is new and
// empty; the error is always nil.
func (s *CookieStore) New(r *http.Request, name string) (*sessions.Session, error) {
	session := sessions.NewSession(s, name)
	opts := *s.options()
	session.Options = &opts
	session.IsNew = true
	pairs, ok := s.open(r, name)
	if !ok {
		return session, nil
	}
	session.IsNew = false
	for i := 0; i+1 < len(pairs); i += 2 {
		session.Values[pairs[i]] = pairs[i+1]
	}
	return session, nil
}

// open returns the values of the session called name that r's cookies
// hold, as pairs (key, value, ...) that the caller must not change, or
// false when they hold none that opens.
func (s *CookieStore) open(r *http.Request, name string) ([]string, bool) {
	if s.codec == nil {
		return nil, false
	}
	value, ok := readChunks(r, name)
	if !ok {
		return nil, false
	}
	now := s.clock()
	if pairs, ok := s.opened.get(name, value, now); ok {
		return pairs, true
	}
	pairs, expires, ok := s.codec.Open(name, value, now)
	if ok {
		s.opened.put(name, value, expires, pairs)
	}
	return pairs, ok
}

// maxOpenedBytes bounds what a CookieStore remembers of the sessions it
// opened: the sealed values and the values they hold.
const maxOpenedBytes = 4 << 20

// openedCache remembers sessions a CookieStore opened, by cookie name and
// sealed value, until their expiry: a signed-in user's cookie changes only
// when the session does, so most requests find it here and skip the
// decoding and the AEAD (which already vouched for exactly these bytes
// under this name). What it holds is never changed, by it or by its
// callers. When full it starts over, which bounds it simply.
type openedCache struct {
	mu    sync.RWMutex
	m     map[openedKey]openedSession
	bytes int
}

type openedKey struct{ name, value string }

type openedSession struct {
	pairs   []string // key, value, key, value, ...
	expires time.Time
}

// get returns the values of the session name=value, if it is remembered
// and not expired at now.
func (c *openedCache) get(name, value string, now time.Time) ([]string, bool) {
	c.mu.RLock()
	o, ok := c.m[openedKey{name, value}]
	c.mu.RUnlock()
	if !ok || !now.Before(o.expires) {
		return nil, false
	}
	return o.pairs, true
}

func (c *openedCache) put(name, value string, expires time.Time, pairs []string) {
	// Copies: the request's header is not kept.
	key := openedKey{strings.Clone(name), strings.Clone(value)}
	size := len(name) + len(value)
	for _, p := range pairs {
		size += len(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes+size > maxOpenedBytes {
		c.m, c.bytes = make(map[openedKey]openedSession), 0
	}
	if _, ok := c.m[key]; !ok {
		c.m[key] = openedSession{pairs: pairs, expires: expires}
		c.bytes += size
	}
}

// Save writes session's cookies to w: the sealed value in one or more
// chunks and the deletion of stale chunks r carried, or, for a session
// without values or with a negative MaxAge, the deletion of every cookie
// of the session. A value that is not a string, or a session over the
// cookie budget, is an error wrapping ErrStorage, and nothing is written.
func (s *CookieStore) Save(r *http.Request, w http.ResponseWriter, session *sessions.Session) error {
	cookies, err := s.cookies(r, session)
	if err != nil {
		return err
	}
	for _, c := range cookies {
		http.SetCookie(w, c)
	}
	return nil
}

func (s *CookieStore) options() *sessions.Options {
	if s.Options == nil {
		return CookieOptions("https://")
	}
	return s.Options
}

func (s *CookieStore) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// cookies are the Set-Cookie lines that save session for request r.
func (s *CookieStore) cookies(r *http.Request, session *sessions.Session) ([]*http.Cookie, error) {
	if s.codec == nil {
		return nil, fmt.Errorf("%w: a CookieStore must come from NewCookieStore", ErrInvalidConfig)
	}
	name := session.Name()
	opts := session.Options
	if opts == nil {
		opts = s.options()
	}
	if err := (&http.Cookie{Name: name, Value: "x"}).Valid(); err != nil {
		return nil, fmt.Errorf("%w: cookie store: %q is not a valid cookie name", ErrStorage, name)
	}
	carried := carriedChunks(r, name)

	if opts.MaxAge < 0 || len(session.Values) == 0 {
		gone := *opts
		gone.MaxAge = -1
		out := []*http.Cookie{sessions.NewCookie(name, "", &gone)}
		for _, k := range carried {
			out = append(out, sessions.NewCookie(chunkName(name, k), "", &gone))
		}
		return out, nil
	}

	lifetime := time.Duration(opts.MaxAge) * time.Second
	if opts.MaxAge == 0 {
		lifetime = DefaultSessionMaxAge * time.Second
	}
	value, err := s.codec.Seal(name, session.Values, s.clock().Add(lifetime))
	if err != nil {
		return nil, fmt.Errorf("%w: cookie store: %w", ErrStorage, err)
	}
	out, err := chunk(name, value, opts)
	if err != nil {
		return nil, err
	}
	for _, k := range carried {
		if k >= len(out) {
			gone := *opts
			gone.MaxAge = -1
			out = append(out, sessions.NewCookie(chunkName(name, k), "", &gone))
		}
	}
	total := 0
	for _, c := range out {
		total += len(c.String())
	}
	if total > MaxSessionCookieBytes {
		return nil, fmt.Errorf("%w: cookie store: %w: %d bytes of Set-Cookie lines, over %d", ErrStorage, errSessionTooLarge, total, MaxSessionCookieBytes)
	}
	return out, nil
}
