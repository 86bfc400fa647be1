// Package jwks is the SDK's one cache of a provider's JSON Web Key Set
// (RFC 7517). Every verifier uses it: ID tokens and logout tokens (through
// go-oidc, as an oidc.KeySet) and API access tokens (apiauth).
//
// A token an attacker makes can name any key ID; a refetch it triggers is
// therefore rationed: at most one per Cooldown, one at a time, and callers
// during the cooldown fail fast. The set's lifetime comes from the answer's
// Cache-Control max-age, bounded to [MinTTL, MaxTTL]. A failed refresh keeps
// the last good set.
package jwks

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/kind"
)

// Bounds on how long a fetched key set is trusted.
const (
	DefaultTTL = 10 * time.Minute
	MinTTL     = time.Minute
	MaxTTL     = 24 * time.Hour
)

// Cooldown is the least time between two fetches forced by tokens (an
// unknown key ID, a failed fetch).
const Cooldown = 10 * time.Second

// AsymmetricAlgs are the only signature algorithms ever accepted, whatever a
// provider advertises: never "none", never an HMAC (whose key would be the
// public one).
var AsymmetricAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// IsAsymmetric reports whether alg is one of AsymmetricAlgs.
func IsAsymmetric(alg string) bool {
	for _, a := range AsymmetricAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// Errors. ErrUnknownKey and ErrBadSignature match kind.ErrInvalidToken: the
// token is at fault. A set that cannot be had matches kind.ErrProvider.
var (
	ErrUnknownKey   = fmt.Errorf("%w: unknown signing key", kind.ErrInvalidToken)
	ErrBadSignature = fmt.Errorf("%w: bad signature", kind.ErrInvalidToken)
	ErrAlgorithm    = fmt.Errorf("%w: signature algorithm not accepted", kind.ErrInvalidToken)
)

// Key is a verification key with its RFC 7638 thumbprint, by which a
// verification can be tied to the key that made it.
type Key struct {
	jose.JSONWebKey
	Thumbprint string
}

// Set caches one JWKS URI's keys. It is safe for concurrent use.
type Set struct {
	uri    string
	client *http.Client
	now    func() time.Time
	algs   []jose.SignatureAlgorithm

	mu       sync.Mutex
	keys     []Key         // last good set; nil before the first
	expires  time.Time     // when keys should be refreshed
	tried    time.Time     // start of the last fetch
	lastErr  error         // error of the last fetch, if it failed
	inflight chan struct{} // closed when the running fetch ends

	fetches atomic.Int64
}

// New returns a Set for uri. client nil means httpx.Client(nil); now nil
// means time.Now. algs limits the algorithms VerifySignature accepts (those
// the provider advertises); nil means AsymmetricAlgs. Algorithms outside
// AsymmetricAlgs are dropped.
func New(uri string, client *http.Client, now func() time.Time, algs []string) *Set {
	s := &Set{uri: uri, client: httpx.Client(client), now: now}
	if s.now == nil {
		s.now = time.Now
	}
	for _, a := range algs {
		if IsAsymmetric(a) {
			s.algs = append(s.algs, jose.SignatureAlgorithm(a))
		}
	}
	if algs == nil {
		s.algs = AsymmetricAlgs
	}
	return s
}

// Fetches reports how many times the set was fetched, for tests.
func (s *Set) Fetches() int64 { return s.fetches.Load() }

// Keys returns the keys that may have signed a token with key ID kid (all
// keys when kid is empty), fetching the set when it is missing, stale, or
// lacks kid, within the refetch rations.
func (s *Set) Keys(ctx context.Context, kid string) ([]Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		now := s.now()
		found := match(s.keys, kid)
		if len(found) > 0 && now.Before(s.expires) {
			return found, nil
		}
		if ch := s.inflight; ch != nil {
			// One fetch at a time; wait for it and look again.
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				s.mu.Lock()
				return nil, fmt.Errorf("%w: waiting for the key set: %w", kind.ErrProvider, ctx.Err())
			}
			s.mu.Lock()
			continue
		}
		if !s.tried.IsZero() && now.Sub(s.tried) < Cooldown {
			// Fetched a moment ago and still no (fresh) key: fail fast.
			switch {
			case len(found) > 0:
				return found, nil // stale, kept because the refresh failed
			case s.keys == nil:
				return nil, fmt.Errorf("%w: key set: %w", kind.ErrProvider, s.lastErr)
			default:
				return nil, ErrUnknownKey
			}
		}
		s.tried = now
		ch := make(chan struct{})
		s.inflight = ch
		s.mu.Unlock()
		s.fetches.Add(1)
		// Detached from this caller: others may be waiting for the answer.
		// The HTTP client's timeout bounds it.
		keys, ttl, err := fetch(context.WithoutCancel(ctx), s.client, s.uri)
		s.mu.Lock()
		if err != nil {
			s.lastErr = err
		} else {
			s.keys, s.lastErr = keys, nil
			s.expires = s.now().Add(ttl)
		}
		s.inflight = nil
		close(ch)
	}
}

// Holds reports whether the cached set still holds the key with thumbprint
// thumb. It does no I/O: a verification cached on a key that has since left
// the set (a key the provider revoked) is no longer good.
func (s *Set) Holds(thumb string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].Thumbprint == thumb {
			return true
		}
	}
	return false
}

func match(keys []Key, kid string) []Key {
	if kid == "" {
		return keys
	}
	for i := range keys {
		if keys[i].KeyID == kid {
			return keys[i : i+1]
		}
	}
	return nil
}

// Verify checks the signature of a parsed JWS with the set's keys and
// returns its payload and the key that signed it.
func (s *Set) Verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, *Key, error) {
	if len(jws.Signatures) != 1 {
		return nil, nil, fmt.Errorf("%w: want exactly one signature", kind.ErrInvalidToken)
	}
	hdr := jws.Signatures[0].Header
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	ok := false
	for _, a := range s.algs {
		ok = ok || a == alg
	}
	if !ok {
		return nil, nil, ErrAlgorithm
	}
	candidates, err := s.Keys(ctx, hdr.KeyID)
	if err != nil {
		return nil, nil, err
	}
	for i := range candidates {
		k := &candidates[i]
		if k.Algorithm != "" && k.Algorithm != string(alg) {
			continue
		}
		if out, err := jws.Verify(k.Key); err == nil {
			return out, k, nil
		}
	}
	return nil, nil, ErrBadSignature
}

// VerifySignature implements go-oidc's oidc.KeySet: it parses a compact JWS
// with the set's algorithms and verifies it.
func (s *Set) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, s.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed token: %w", kind.ErrInvalidToken, err)
	}
	out, _, err := s.Verify(ctx, jws)
	return out, err
}

// fetch GETs a JWKS and keeps its public signing keys, skipping keys of
// unknown types and keys for encryption.
func fetch(ctx context.Context, client *http.Client, uri string) ([]Key, time.Duration, error) {
	body, hdr, err := httpx.GetJSON(ctx, client, uri)
	if err != nil {
		return nil, 0, err
	}
	keys, err := Parse(body)
	if err != nil {
		return nil, 0, err
	}
	return keys, MaxAge(hdr.Get("Cache-Control")), nil
}

// Parse decodes a JWKS document and keeps its public signing keys. A key
// it cannot read (an unknown type or curve) is skipped, not fatal; a set
// with no usable key is an error.
func Parse(body []byte) ([]Key, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	var keys []Key
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			continue
		}
		keys = append(keys, Key{JSONWebKey: k, Thumbprint: base64.RawURLEncoding.EncodeToString(tp)})
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no usable public signing key")
	}
	return keys, nil
}

// MaxAge reads max-age from a Cache-Control header, bounded to [MinTTL,
// MaxTTL]; DefaultTTL when absent or unreadable.
func MaxAge(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || n < 0 {
			break
		}
		ttl := time.Duration(min(n, int64(MaxTTL/time.Second))) * time.Second
		return min(max(ttl, MinTTL), MaxTTL)
	}
	return DefaultTTL
}
