package apiauth

import (
	"sync"
	"time"
)

const defaultCacheSize = 10000

// verifiedCache remembers tokens that passed every check, keyed by the
// SHA-256 of the whole token, until they expire. A hit skips parsing and
// the signature check (an ES384 verify costs about a millisecond), or the
// introspection request. Each entry names the issuer that vouched for the
// token, which Claims.Issuer reports; the key, the hash of the whole token,
// covers a JWT's iss, so an entry is never another issuer's. A JWT's entry
// also names the key that verified it, by RFC 7638 thumbprint: a hit
// counts only while that issuer's key set, and no other's, still holds
// that key. The same type, another instance, remembers the refusals of
// introspected tokens.
type verifiedCache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	exp    time.Time // the entry's end
	iss    *issuer   // that vouched for the token
	thumb  string    // of the key of iss that verified a JWT
	// introspected: the provider vouched for the token (an opaque one),
	// so no key need still be in the key set.
	introspected bool
	err          error // a refusal, in the cache of refusals
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, m: make(map[[32]byte]cacheEntry)}
}

func (c *verifiedCache) get(key [32]byte, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return cacheEntry{}, false
	}
	if !now.Before(e.exp) {
		delete(c.m, key)
		return cacheEntry{}, false
	}
	return e, true
}

// put remembers e until e.exp, never longer: past it, the token goes
// through every check again.
func (c *verifiedCache) put(key [32]byte, e cacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evictLocked(now)
	}
	c.m[key] = e
}

// drop forgets one token.
func (c *verifiedCache) drop(key [32]byte) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// evictLocked drops expired entries and, if the cache is still full, a
// tenth of it, picked by map order (random enough: an attacker cannot
// choose which valid tokens to push out).
func (c *verifiedCache) evictLocked(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.exp) {
			delete(c.m, k)
		}
	}
	drop := len(c.m) - c.max + c.max/10 + 1
	for k := range c.m {
		if drop <= 0 {
			break
		}
		delete(c.m, k)
		drop--
	}
}

func (c *verifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
