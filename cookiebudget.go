package logto

import (
	"math"
	"strings"
)

// giveUp takes one thing out of a cookie session that does not fit, and
// reports whether there was anything left to take. In order:
//
//  1. a cached access token, the one issued longest ago, but not keep (the
//     token just minted, about to be used): tokens can be minted again;
//  2. a pending sign-in, oldest first, never the newest (at worst it loses
//     its return path): those are other tabs', or planted by another
//     site's links to /sign-in;
//  3. keep.
//
// The identity (ID and refresh tokens) is never given up.
func giveUp(values map[any]any, keep string) bool {
	return dropCachedAccessToken(values, keep) ||
		shrinkPendingValue(values) ||
		dropCachedAccessToken(values, "")
}

// dropCachedAccessToken deletes one cached access token from values, the
// one issued longest ago, never keep. It reports whether it dropped one.
func dropCachedAccessToken(values map[any]any, keep string) bool {
	var victim string
	var victimIssued int64
	for k, v := range values {
		ks, ok := k.(string)
		if !ok || ks == keep || !strings.HasPrefix(ks, StorageKeyAccessTokens+":") {
			continue
		}
		vs, _ := v.(string)
		issued := int64(math.MinInt64) // unreadable: first to go
		if t, ok := decodeToken(vs); ok {
			issued = unixMilli(t.IssuedAt)
		}
		if victim == "" || issued < victimIssued || (issued == victimIssued && ks < victim) {
			victim, victimIssued = ks, issued
		}
	}
	if victim == "" {
		return false
	}
	delete(values, victim)
	return true
}

// shrinkPendingValue shrinks the pending sign-ins in values (shrinkPending)
// and reports whether it could.
func shrinkPendingValue(values map[any]any) bool {
	raw, ok := values[StorageKeySignIn].(string)
	if !ok {
		return false
	}
	shrunk, ok := shrinkPending(raw)
	if !ok {
		return false
	}
	if shrunk == "" {
		delete(values, StorageKeySignIn)
	} else {
		values[StorageKeySignIn] = shrunk
	}
	return true
}
