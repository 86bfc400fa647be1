package logto

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenKey names one cached token: the default token is "", a resource token
// its resource, an organization token "#org:<id>", both "<resource>#org:<id>".
func tokenKey(resource, organizationID string) string {
	if organizationID == "" {
		return resource
	}
	return resource + "#org:" + organizationID
}

// tokenStorageKey is the Storage key of one cached token. Each token has its
// own key, so serving one from the cache decodes nothing else.
func tokenStorageKey(key string) string { return StorageKeyAccessTokens + ":" + key }

// encodeToken is the stored form of a token: "<exp>,<iat>,<scope>,<token>",
// times in Unix milliseconds (0 when unknown) and the scope query-escaped, so
// that decoding is a few cuts rather than a JSON parse on every request.
func encodeToken(t AccessToken) string {
	return strconv.FormatInt(unixMilli(t.ExpiresAt), 10) + "," + strconv.FormatInt(unixMilli(t.IssuedAt), 10) + "," +
		url.QueryEscape(t.Scope) + "," + t.Token
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func decodeToken(v string) (AccessToken, bool) {
	exp, rest, ok1 := strings.Cut(v, ",")
	iat, rest, ok2 := strings.Cut(rest, ",")
	scope, token, ok3 := strings.Cut(rest, ",")
	if !ok1 || !ok2 || !ok3 || token == "" {
		return AccessToken{}, false
	}
	e, err1 := strconv.ParseInt(exp, 10, 64)
	i, err2 := strconv.ParseInt(iat, 10, 64)
	sc, err3 := url.QueryUnescape(scope)
	if err1 != nil || err2 != nil || err3 != nil {
		return AccessToken{}, false
	}
	return AccessToken{Token: token, Scope: sc, ExpiresAt: fromUnixMilli(e), IssuedAt: fromUnixMilli(i)}, true
}

// cachedToken returns the cached token for key, if there is a readable one.
func (c *Client) cachedToken(ctx context.Context, key string) (AccessToken, bool, error) {
	v, err := c.storage.Get(ctx, tokenStorageKey(key))
	if err != nil {
		return AccessToken{}, false, storageErr("get", tokenStorageKey(key), err)
	}
	if v == "" {
		return AccessToken{}, false, nil
	}
	t, ok := decodeToken(v)
	return t, ok, nil // an unreadable entry is a miss: tokens can be minted again
}

// tokenIndex reads the keys of the cached tokens, kept under
// StorageKeyAccessTokens so that they can all be found and cleared.
func (c *Client) tokenIndex(ctx context.Context) ([]string, error) {
	v, err := c.storage.Get(ctx, StorageKeyAccessTokens)
	if err != nil {
		return nil, storageErr("get", StorageKeyAccessTokens, err)
	}
	if v == "" {
		return nil, nil
	}
	var keys []string
	if json.Unmarshal([]byte(v), &keys) != nil {
		return nil, nil
	}
	return keys, nil
}

// storeToken caches t under key and drops expired entries. It runs only after
// a token request, so the index work is off the hot path.
func (c *Client) storeToken(ctx context.Context, key string, t AccessToken) error {
	keys, err := c.tokenIndex(ctx)
	if err != nil {
		return err
	}
	now := c.app.s.now()
	kept := []string{key}
	for _, k := range keys {
		if k == key {
			continue
		}
		old, ok, err := c.cachedToken(ctx, k)
		if err != nil {
			return err
		}
		if !ok || (!old.ExpiresAt.IsZero() && old.ExpiresAt.Before(now)) {
			if err := c.storage.Delete(ctx, tokenStorageKey(k)); err != nil {
				return storageErr("delete", tokenStorageKey(k), err)
			}
			continue
		}
		kept = append(kept, k)
	}
	if err := c.storage.Set(ctx, tokenStorageKey(key), encodeToken(t)); err != nil {
		return storageErr("set", tokenStorageKey(key), err)
	}
	b, _ := json.Marshal(kept)
	if err := c.storage.Set(ctx, StorageKeyAccessTokens, string(b)); err != nil {
		return storageErr("set", StorageKeyAccessTokens, err)
	}
	return nil
}

// dropToken deletes the cached token of key if it is tok, and flushes.
// The index keeps key until the next storeToken prunes it.
func (c *Client) dropToken(ctx context.Context, key, tok string) error {
	t, ok, err := c.cachedToken(ctx, key)
	if err != nil || !ok || t.Token != tok {
		return err
	}
	if err := c.storage.Delete(ctx, tokenStorageKey(key)); err != nil {
		return storageErr("delete", tokenStorageKey(key), err)
	}
	return c.flush(ctx)
}

// clearTokens deletes every cached token.
func (c *Client) clearTokens(ctx context.Context) error {
	keys, err := c.tokenIndex(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := c.storage.Delete(ctx, tokenStorageKey(k)); err != nil {
			return storageErr("delete", tokenStorageKey(k), err)
		}
	}
	if err := c.storage.Delete(ctx, StorageKeyAccessTokens); err != nil {
		return storageErr("delete", StorageKeyAccessTokens, err)
	}
	return nil
}
