// Package sessionid is the cookie of the server-side session stores
// (memstore, redisstore): a random session ID, signed (and, with an
// encryption key, encrypted) with gorilla's securecookie, so that a guessed,
// planted or altered ID reads as no session at all.
package sessionid

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/securecookie"
)

// idBytes is the entropy of a session ID: 256 bits.
const idBytes = 32

// Len is the length of a session ID: idBytes in unpadded base64url.
var Len = base64.RawURLEncoding.EncodedLen(idBytes)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// New returns a fresh random session ID.
func New() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Valid reports whether id has the form of a session ID.
func Valid(id string) bool { return len(id) == Len && strings.Trim(id, alphabet) == "" }

// Codec writes and reads session-ID cookies with key pairs as
// securecookie.CodecsFromPairs takes them, the first pair writing.
type Codec struct{ codecs []securecookie.Codec }

// NewCodec returns the codec of pairs (already checked by cookiekeys).
func NewCodec(pairs ...[]byte) *Codec {
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		// The cookie holds the raw ID bytes, not a gob. Its age is not
		// checked: the store's own expiry is the one clock a session lives by.
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(0)
	}
	return &Codec{codecs: codecs}
}

// errNoKeys is the error of a nil Codec (a store built without its
// constructor).
var errNoKeys = errors.New("session ID cookie: no keys")

// Encode returns the cookie value carrying id under cookie name.
func (c *Codec) Encode(name, id string) (string, error) {
	if c == nil {
		return "", errNoKeys
	}
	return securecookie.EncodeMulti(name, []byte(id), c.codecs...)
}

// FromRequest returns the session ID the request's cookie name carries, or
// "" when there is none that opens with the codec's keys.
func (c *Codec) FromRequest(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	raw, err := c.Decode(name, ck.Value)
	if err != nil {
		return ""
	}
	if id := string(raw); Valid(id) {
		return id
	}
	return ""
}

// Decode opens a cookie value of cookie name, without checking that it
// holds a well-formed ID.
func (c *Codec) Decode(name, value string) ([]byte, error) {
	if c == nil {
		return nil, errNoKeys
	}
	var raw []byte
	err := securecookie.DecodeMulti(name, value, &raw, c.codecs...)
	return raw, err
}
