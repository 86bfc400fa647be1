// Package cookiekeys checks what a session cookie store is built from, its
// keys or secrets and the redirect URI that decides whether the cookie is
// Secure, and derives keys from secrets with HKDF-SHA256. logto.NewCookieStore
// and redisstore share it, so both accept and refuse the same secrets.
package cookiekeys

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MinAuthKeyBytes is the shortest authentication (HMAC) key accepted.
const MinAuthKeyBytes = 32

// MinSecretBytes is the shortest secret FromSecrets derives keys from.
const MinSecretBytes = 32

// HKDF-SHA256 info labels: one per key, so the two keys of a pair are
// independent although they come from one secret (RFC 5869 section 3.2).
const (
	authInfo = "logto session cookie authentication key v1"
	encInfo  = "logto session cookie encryption key v1"
	// sealInfo labels the AES-256-GCM key of logto.CookieStore's codec, a
	// construction apart from the pair above (gorilla/securecookie's
	// AES-CTR and HMAC), so no key ever serves two.
	sealInfo = "logto session cookie AES-256-GCM key v1"
)

// Derived key lengths: a 64-byte HMAC-SHA256 key (gorilla/securecookie's
// recommendation) and an AES-256 key.
const (
	authKeyBytes = 64
	encKeyBytes  = 32
)

// Check returns every problem of keyPairs, given as gorilla/securecookie
// takes them: an authentication key of at least MinAuthKeyBytes, then an
// encryption key of 16, 24 or 32 bytes (AES-128, -192 or -256), repeated for
// rotation. With requireEncryption every pair must have its encryption key;
// otherwise a nil one means none. An empty but non-nil encryption key (an
// unset variable) is always refused: securecookie would take it for an AES
// key and fail every save.
func Check(keyPairs [][]byte, requireEncryption bool) []error {
	var problems []error
	if len(keyPairs) == 0 {
		problems = append(problems, fmt.Errorf("an authentication key of at least %d bytes is required", MinAuthKeyBytes))
		if requireEncryption {
			problems = append(problems, errors.New("an encryption key of 16, 24 or 32 bytes is required"))
		}
		return problems
	}
	for i := 0; i < len(keyPairs); i += 2 {
		auth := keyPairs[i]
		if len(auth) < MinAuthKeyBytes {
			problems = append(problems, fmt.Errorf("authentication key %d has %d bytes; at least %d are required", i/2, len(auth), MinAuthKeyBytes))
		}
		var enc []byte
		if i+1 < len(keyPairs) {
			enc = keyPairs[i+1]
		}
		switch n := len(enc); {
		case enc == nil && requireEncryption:
			problems = append(problems, fmt.Errorf("encryption key %d is missing; one of 16, 24 or 32 bytes is required, so that the cookie cannot be read", i/2))
		case enc == nil:
		case n != 16 && n != 24 && n != 32:
			msg := fmt.Sprintf("encryption key %d has %d bytes; it must be 16, 24 or 32", i/2, n)
			if !requireEncryption {
				msg += " (or nil for none)"
			}
			problems = append(problems, errors.New(msg))
		}
	}
	return problems
}

// CheckRedirectURI accepts an absolute http(s) URL without a fragment
// (RFC 6749 section 3.1.2).
func CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http(s) URL", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not contain a fragment", raw)
	}
	return nil
}

// FromSecrets derives one key pair per secret, in order, with HKDF-SHA256
// (RFC 5869; no salt, a distinct info label per key): a 64-byte
// authentication key and a 32-byte AES-256 encryption key. The first pair
// seals cookies and every pair opens them, so a secret is rotated by putting
// the new one first. Every secret must have at least MinSecretBytes; the
// returned error lists every problem.
func FromSecrets(secrets [][]byte) ([][]byte, error) {
	if err := checkSecrets(secrets); err != nil {
		return nil, err
	}
	pairs := make([][]byte, 0, 2*len(secrets))
	for _, s := range secrets {
		auth, err := hkdf.Key(sha256.New, s, nil, authInfo, authKeyBytes)
		if err != nil {
			return nil, err
		}
		enc, err := hkdf.Key(sha256.New, s, nil, encInfo, encKeyBytes)
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, auth, enc)
	}
	return pairs, nil
}

// SealingKeys derives one AES-256 key per secret, in order, with
// HKDF-SHA256 under a label of its own, for an AEAD that both encrypts and
// authenticates. As with FromSecrets, the first key seals and every key
// opens, every secret must have at least MinSecretBytes, and the returned
// error lists every problem.
func SealingKeys(secrets [][]byte) ([][]byte, error) {
	if err := checkSecrets(secrets); err != nil {
		return nil, err
	}
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		k, err := hkdf.Key(sha256.New, s, nil, sealInfo, encKeyBytes)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// checkSecrets returns every problem of secrets, joined, or nil.
func checkSecrets(secrets [][]byte) error {
	var problems []error
	if len(secrets) == 0 {
		problems = append(problems, fmt.Errorf("a secret of at least %d bytes is required", MinSecretBytes))
	}
	for i, s := range secrets {
		if len(s) < MinSecretBytes {
			problems = append(problems, fmt.Errorf("secret %d has %d bytes; at least %d are required", i, len(s), MinSecretBytes))
		}
	}
	return errors.Join(problems...)
}
