// Package sessioncodec seals a session's values into one cookie-safe string
// and opens it again: a compact binary layout, encrypted and authenticated
// with AES-256-GCM, in one base64url pass. logto.CookieStore splits the
// string across cookies and writes them.
//
// The plaintext is a version byte, the expiry (Unix seconds, uvarint), the
// number of pairs and the uvarint-length-prefixed key/value pairs. The
// cookie's name and the version are the AEAD's additional data: a value
// opens only under the name it was sealed for, and only before its expiry,
// whatever the browser was told.
// A value that ends in a compact JWS (a JWT, alone or after a prefix such as
// the access-token cache's "<exp>,<iat>,<scope>,") keeps the JWS's three
// parts as the bytes they encode, so the one base64 pass of the whole is
// the only one a token pays.
package sessioncodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/seed098cf14d/logto/internal/jwt"
)

// Layout constants.
const (
	version = 1

	kindString = 0 // uvarint length, bytes
	kindJWS    = 1 // prefix, then the JWS's decoded header, payload and signature, each uvarint-prefixed
)

// MaxValueBytes bounds a sealed value Open looks at: twice what a session
// within the 8 KiB cookie budget can produce. Anything longer is refused
// before it is decoded.
const MaxValueBytes = 16 << 10

// ErrValueType is Seal's error for a key or value that is not a string.
var ErrValueType = errors.New("session keys and values must be strings")

// b64 is the one encoding pass: unpadded base64url, strict, so that a value
// has exactly one spelling and changing any character of it is a change
// the AEAD sees.
var b64 = base64.RawURLEncoding.Strict()

// Codec seals and opens session values with one or more AES-256 keys: the
// first seals, every key opens (rotation). It is safe for concurrent use.
type Codec struct {
	aeads []cipher.AEAD
}

// New returns a Codec for keys, each 32 bytes.
func New(keys [][]byte) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("sessioncodec: no key")
	}
	c := &Codec{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("sessioncodec: key %d has %d bytes, want 32", i, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		c.aeads = append(c.aeads, aead)
	}
	return c, nil
}

// Overhead is what sealing adds to the plaintext before the base64 pass:
// the nonce and the tag.
const Overhead = 12 + 16

// EncodedLen is the length of the sealed string of a plaintext of n bytes.
func EncodedLen(n int) int { return b64.EncodedLen(n + Overhead) }

// Seal encodes values (string keys and values only: anything else is
// ErrValueType) and seals them for the cookie called name. It returns the
// sealed string.
func (c *Codec) Seal(name string, values map[any]any, expires time.Time) (string, error) {
	plain, err := marshal(values, expires)
	if err != nil {
		return "", err
	}
	aead := c.aeads[0]
	sealed := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(sealed); err != nil {
		return "", err
	}
	sealed = aead.Seal(sealed, sealed, plain, additionalData(name))
	return b64.EncodeToString(sealed), nil
}

// Open opens a string Seal produced for the cookie called name, before its
// expiry, and returns its values as pairs (key, value, key, value, ...), in
// no particular order, and its expiry. It reports false for anything else.
// The pairs' strings share one allocation.
func (c *Codec) Open(name, value string, now time.Time) (pairs []string, expires time.Time, ok bool) {
	if len(value) > MaxValueBytes {
		return nil, time.Time{}, false
	}
	// One scratch buffer, reused across calls, holds the value's bytes,
	// the additional data and what the value decodes to, where the
	// plaintext lands: that part is wiped before the buffer goes back (the
	// rest is what the browser sent).
	need := len(value) + b64.DecodedLen(len(value)) + 1 + len(name)
	sp := scratch.Get().(*[]byte)
	if cap(*sp) < need {
		*sp = make([]byte, need)
	}
	buf := (*sp)[:need]
	src := buf[:copy(buf, value)]
	ad := buf[len(value) : len(value)+1+len(name)]
	ad[0] = version
	copy(ad[1:], name)
	dst := buf[len(ad)+len(value):]
	defer func() {
		clear(dst)
		scratch.Put(sp)
	}()
	for _, aead := range c.aeads {
		// The plaintext lands on the ciphertext, and a failed Open may
		// overwrite it: each key decodes afresh (a second key is tried
		// only for cookies sealed before a rotation).
		n, err := b64.Decode(dst, src)
		if err != nil || n < Overhead {
			return nil, time.Time{}, false
		}
		nonce, ct := dst[:12], dst[12:n]
		plain, err := aead.Open(ct[:0], nonce, ct, ad)
		if err != nil {
			continue
		}
		return unmarshal(plain, now)
	}
	return nil, time.Time{}, false
}

// scratch holds Open's buffers; sessions in the cookie budget need a few
// KiB, so one of the size of a full budget is made up front.
var scratch = sync.Pool{New: func() any {
	b := make([]byte, 3*8<<10)
	return &b
}}

// additionalData binds a sealed value to the layout's version and the
// cookie's name.
func additionalData(name string) []byte {
	return append([]byte{version}, name...)
}

// marshal is the plaintext layout of values.
func marshal(values map[any]any, expires time.Time) ([]byte, error) {
	size := 1 + binary.MaxVarintLen64
	for k, v := range values {
		ks, ok1 := k.(string)
		vs, ok2 := v.(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: %v is a %T holding a %T", ErrValueType, k, k, v)
		}
		size += 2*binary.MaxVarintLen64 + 1 + len(ks) + len(vs)
	}
	b := make([]byte, 0, size)
	b = append(b, version)
	b = binary.AppendUvarint(b, uint64(max(expires.Unix(), 0)))
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		ks, vs := k.(string), v.(string)
		b = appendBytes(b, ks)
		b = appendValue(b, vs)
	}
	return b, nil
}

func appendBytes[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends v, its JWS suffix as raw bytes when that is shorter.
func appendValue(b []byte, v string) []byte {
	if prefix, parts, ok := splitJWS(v); ok {
		packed := len(prefix) + len(parts[0]) + len(parts[1]) + len(parts[2]) + 4*binary.MaxVarintLen16
		if packed < len(v) {
			b = append(b, kindJWS)
			b = appendBytes(b, prefix)
			for _, p := range parts {
				b = appendBytes(b, p)
			}
			return b
		}
	}
	b = append(b, kindString)
	return appendBytes(b, v)
}

// splitJWS finds a compact JWS at the end of v: the longest suffix of
// base64url characters and dots, in exactly three parts, each the one
// spelling of what it decodes to. The header and payload must not be empty.
func splitJWS(v string) (prefix string, parts [3][]byte, ok bool) {
	i := len(v)
	for i > 0 && (isB64URL(v[i-1]) || v[i-1] == '.') {
		i--
	}
	parts, ok = jwt.Segments(v[i:])
	if !ok {
		return "", parts, false
	}
	return v[:i], parts, true
}

func isB64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// unmarshal reads the plaintext layout into pairs; on any flaw, or at or
// after its expiry, it reports false. It reads b once, writing the strings
// into one buffer (JWS parts spelt out in base64url), and makes them all
// from one string of it.
func unmarshal(b []byte, now time.Time) ([]string, time.Time, bool) {
	r := reader{b: b}
	if r.byte() != version {
		return nil, time.Time{}, false
	}
	exp := r.uvarint()
	if r.bad || exp > math.MaxInt64 || now.Unix() >= int64(exp) {
		return nil, time.Time{}, false
	}
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		return nil, time.Time{}, false
	}
	// Nothing spells out longer than 4/3 of its bytes, plus two dots and
	// three partial base64 groups per JWS.
	buf := make([]byte, 0, len(r.b)/3*4+8*int(n)+4)
	var endsOnStack [32]int
	ends := endsOnStack[:0]
	for range n {
		buf = append(buf, r.bytes()...)
		ends = append(ends, len(buf))
		switch r.byte() {
		case kindString:
			buf = append(buf, r.bytes()...)
		case kindJWS:
			buf = append(buf, r.bytes()...)
			for i := range 3 {
				if i > 0 {
					buf = append(buf, '.')
				}
				buf = b64.AppendEncode(buf, r.bytes())
			}
		default:
			return nil, time.Time{}, false
		}
		if r.bad {
			return nil, time.Time{}, false
		}
		ends = append(ends, len(buf))
	}
	if len(r.b) != 0 {
		return nil, time.Time{}, false
	}
	// buf is never written again: the strings share it, as a
	// strings.Builder's String shares its bytes.
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	pairs := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		pairs[i] = all[start:end]
		start = end
	}
	return pairs, time.Unix(int64(exp), 0), true
}

// reader reads the layout; once a read fails, bad is set and every later
// read returns zero values.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) byte() byte {
	if r.bad || len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}
