package logto

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/seed098cf14d/logto/internal/jwt"
)

// giveUp takes one thing out of a cookie session that does not fit, and
// reports whether there was anything left to take. In order:
//
//  1. a cached access token, the one issued longest ago, but not keep (the
//     token just minted, about to be used): tokens can be minted again;
//  2. a pending sign-in, oldest first, never the newest (at worst it loses
//     its return path): those are other tabs', or planted by another
//     site's links to /sign-in;
//  3. the ID token's raw form, for a reduced record of its claims, in steps
//     (reduceIDToken): an ID token too large for the budget on its own
//     must not make sign-in fail;
//  4. keep.
//
// The refresh token is never given up: without it the session ends.
func giveUp(values map[any]any, keep string) bool {
	return dropCachedAccessToken(values, keep) ||
		shrinkPendingValue(values) ||
		reduceIDTokenValue(values) ||
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

// reduceIDTokenValue replaces the ID token in values with a smaller record
// of its claims (reduceIDToken) and reports whether it could.
func reduceIDTokenValue(values map[any]any) bool {
	raw, ok := values[StorageKeyIDToken].(string)
	if !ok || raw == "" {
		return false
	}
	reduced, ok := reduceIDToken(raw)
	if ok {
		values[StorageKeyIDToken] = reduced
	}
	return ok
}

// reducedHeader is the JOSE header of a reduced ID-token record,
// {"alg":"none"}: the record is unsigned, and says so.
var reducedHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))

// essentialClaims are what a reduced record keeps at its smallest: who the
// user is, for which client, from which provider session, and when and how
// they signed in.
var essentialClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "sid", "azp", "acr", "amr"}

// reductionSteps are the claims given up first, one group per step: the
// organization lists are what makes an ID token large; at_hash and nonce
// mean nothing without the token they belong to.
var reductionSteps = [][]string{
	{"organization_roles", "at_hash", "nonce"},
	{"organizations"},
}

// reduceIDToken returns raw, a verified ID token or a record this function
// made, with fewer claims: the next group of reductionSteps that it holds,
// or, once those are gone, every claim but essentialClaims. The record is a
// compact JWS with the header {"alg":"none"} and no signature, so the SDK
// reads its claims as it reads an ID token's, and nobody mistakes it for a
// signed token. It reports false when there is nothing left to take, or raw
// is not a JWS.
func reduceIDToken(raw string) (string, bool) {
	parts, err := jwt.Split(raw)
	if err != nil {
		return "", false
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(parts.Payload, &claims) != nil {
		return "", false
	}
	reduced := false
	for _, step := range reductionSteps {
		for _, c := range step {
			if _, ok := claims[c]; ok {
				delete(claims, c)
				reduced = true
			}
		}
		if reduced {
			break
		}
	}
	if !reduced {
		for c := range claims {
			if !slices.Contains(essentialClaims, c) {
				delete(claims, c)
				reduced = true
			}
		}
	}
	if !reduced {
		return "", false
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", false
	}
	return reducedHeader + "." + base64.RawURLEncoding.EncodeToString(payload) + ".", true
}

// isReducedIDToken reports whether raw is a record reduceIDToken made
// rather than an ID token the provider signed.
func isReducedIDToken(raw string) bool {
	return strings.HasPrefix(raw, reducedHeader+".")
}
