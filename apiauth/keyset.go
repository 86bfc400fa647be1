package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds on how long a fetched key set is trusted.
const (
	defaultKeysTTL = 10 * time.Minute
	minKeysTTL     = time.Minute
	maxKeysTTL     = 24 * time.Hour
)

// keySet caches the provider's JWKS. It refetches when the set is older than
// its TTL (the answer's Cache-Control max-age, bounded) and when a token
// names an unknown key ID, but at most once per refetchCooldown: a flood of
// tokens with made-up key IDs costs one fetch, not one each.
type keySet struct {
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	keys     []jose.JSONWebKey // last good set; nil before the first
	expires  time.Time         // when keys should be refreshed
	tried    time.Time         // start of the last fetch
	lastErr  error             // error of the last fetch, if it failed
	inflight chan struct{}     // closed when the running fetch ends
}

// get returns the keys that may have signed a token with key ID kid (all
// keys when kid is empty).
func (ks *keySet) get(ctx context.Context, uri, kid string) ([]jose.JSONWebKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for {
		now := ks.now()
		found := match(ks.keys, kid)
		if len(found) > 0 && now.Before(ks.expires) {
			return found, nil
		}
		if ch := ks.inflight; ch != nil {
			// One fetch at a time; wait for it and look again.
			ks.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				ks.mu.Lock()
				return nil, keysErr("waiting for the key set", ctx.Err())
			}
			ks.mu.Lock()
			continue
		}
		if now.Sub(ks.tried) < refetchCooldown {
			// Fetched a moment ago and still no (fresh) key: fail fast.
			switch {
			case len(found) > 0:
				return found, nil // stale set, kept because the refresh failed
			case ks.keys == nil:
				return nil, keysErr("fetch JWKS", ks.lastErr)
			default:
				return nil, invalid("unknown signing key")
			}
		}
		ks.tried = now
		ch := make(chan struct{})
		ks.inflight = ch
		ks.mu.Unlock()
		keys, ttl, err := fetchKeys(ctx, ks.client, uri)
		ks.mu.Lock()
		if err != nil {
			ks.lastErr = err
		} else {
			ks.keys, ks.lastErr = keys, nil
			ks.expires = ks.now().Add(ttl)
		}
		ks.inflight = nil
		close(ch)
	}
}

func match(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
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

// fetchKeys fetches a JWKS and keeps its public signing keys, skipping keys
// of unknown types.
func fetchKeys(ctx context.Context, client *http.Client, uri string) ([]jose.JSONWebKey, time.Duration, error) {
	body, hdr, err := fetch(ctx, client, uri)
	if err != nil {
		return nil, 0, err
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, 0, fmt.Errorf("decode JWKS: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue // unknown key type or curve
		}
		if !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, 0, errors.New("JWKS holds no usable public key")
	}
	return keys, maxAge(hdr.Get("Cache-Control")), nil
}

// maxAge reads max-age from a Cache-Control header, bounded to
// [minKeysTTL, maxKeysTTL]; defaultKeysTTL when absent.
func maxAge(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil || n < 0 {
			break
		}
		ttl := time.Duration(min(n, int64(maxKeysTTL/time.Second))) * time.Second
		return min(max(ttl, minKeysTTL), maxKeysTTL)
	}
	return defaultKeysTTL
}
