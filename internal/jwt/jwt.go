// Package jwt holds the JWT pieces every package of the SDK parses the same
// way: the compact-serialization splitter, the "aud" claim (one string or an
// array) and NumericDate (RFC 7519). It checks no signature: verification is
// the key set's (internal/jwks).
package jwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
)

// MaxTokenBytes caps a token any package parses. Logto's largest tokens
// (an ID token of a user in hundreds of organizations) stay far below it.
const MaxTokenBytes = 64 << 10

// Errors of Split. They say what is wrong with the token's form; callers
// wrap them in their invalid-token kind.
var (
	ErrTooLarge  = errors.New("token too large")
	ErrMalformed = errors.New("not a compact JWS (three base64url parts)")
)

// Parts is a compact JWS split into its decoded header and payload.
type Parts struct {
	Header  []byte // decoded JOSE header, a JSON object
	Payload []byte // decoded payload
}

// Split decodes the header and payload of a compact JWS (RFC 7515 section
// 7.1) without checking the signature. It refuses a token over
// MaxTokenBytes, one without exactly three parts, parts that are not
// unpadded base64url, and a header or payload that is not a JSON object.
func Split(raw string) (*Parts, error) {
	if len(raw) > MaxTokenBytes {
		return nil, ErrTooLarge
	}
	seg, ok := Segments(raw)
	if !ok || !isObject(seg[0]) || !isObject(seg[1]) {
		return nil, ErrMalformed
	}
	return &Parts{Header: seg[0], Payload: seg[1]}, nil
}

// b64 decodes JWS segments strictly: unpadded base64url whose spare bits
// are zero, so each segment has one spelling and re-encodes to itself.
var b64 = base64.RawURLEncoding.Strict()

// Segments decodes the three segments of a compact JWS (header, payload,
// signature), the first two not empty. It is the one JWS splitter of the
// SDK; Split adds the checks a token's header and claims need.
func Segments(raw string) (seg [3][]byte, ok bool) {
	h, rest, ok1 := strings.Cut(raw, ".")
	p, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || h == "" || p == "" || strings.Contains(sig, ".") {
		return seg, false
	}
	for i, s := range [3]string{h, p, sig} {
		d, err := b64.DecodeString(s)
		if err != nil {
			return seg, false
		}
		seg[i] = d
	}
	return seg, true
}

// IsStructured reports whether a bearer token has the form of a JOSE
// compact serialization (a JWS such as a JWT, or a JWE): a first
// dot-separated part that is base64url of what looks like a JSON object,
// a JOSE header. It decodes that part only and proves nothing; a token
// that is not structured is opaque, and only its issuer can say what it
// means (RFC 7662 introspection).
func IsStructured(raw string) bool {
	h, _, ok := strings.Cut(raw, ".")
	if !ok || h == "" || len(raw) > MaxTokenBytes {
		return false
	}
	b, err := b64.DecodeString(h)
	return err == nil && isObject(b)
}

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}'
}

// Header is the part of a JOSE header the SDK reads.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// ParseHeader decodes the JOSE header of p.
func (p *Parts) ParseHeader() (*Header, error) {
	var h Header
	if err := json.Unmarshal(p.Header, &h); err != nil {
		return nil, ErrMalformed
	}
	return &h, nil
}

// TypIs reports whether a typ header value names the media type want
// ("at+jwt", "logout+jwt"): media types compare case-insensitively and the
// "application/" prefix may be left out (RFC 7515 section 4.1.9).
func TypIs(typ, want string) bool {
	t := strings.ToLower(typ)
	return t == want || t == "application/"+want
}

// Audience is the "aud" claim: one string or an array of strings (RFC 7519
// section 4.1.3).
type Audience []string

// UnmarshalJSON accepts both forms and refuses anything else.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = list
	return nil
}

// Contains reports whether a holds s.
func (a Audience) Contains(s string) bool { return slices.Contains(a, s) }

// maxNumericDate bounds a NumericDate to a year no token will see (about
// 36812), so conversions cannot overflow.
const maxNumericDate = 1 << 40

// NumericDate is a JWT time: seconds since the Unix epoch, possibly
// fractional (RFC 7519 section 2). The zero value means the claim was
// absent.
type NumericDate struct{ time.Time }

// UnmarshalJSON accepts a finite, non-negative number of seconds.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	f, err := dateNumber(b, maxNumericDate)
	if err != nil {
		return err
	}
	sec, frac := math.Modf(f)
	d.Time = time.Time{}
	if string(b) != "null" {
		d.Time = time.Unix(int64(sec), int64(frac*1e9))
	}
	return nil
}

// dateNumber reads a date claim's number, at most limit; null reads as 0.
func dateNumber(b []byte, limit float64) (float64, error) {
	if string(b) == "null" {
		return 0, nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return 0, errors.New("a date claim is not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > limit {
		return 0, errors.New("a date claim is out of range")
	}
	return f, nil
}

// MarshalJSON writes whole seconds, as providers do.
func (d NumericDate) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.Unix())
}

// UnixMilliDate is a time in milliseconds since the Unix epoch, as Logto
// writes created_at and updated_at.
type UnixMilliDate struct{ time.Time }

// UnmarshalJSON accepts a finite, non-negative number of milliseconds.
func (d *UnixMilliDate) UnmarshalJSON(b []byte) error {
	f, err := dateNumber(b, maxNumericDate*1000)
	if err != nil {
		return err
	}
	d.Time = time.Time{}
	if string(b) != "null" {
		d.Time = time.UnixMilli(int64(f))
	}
	return nil
}

// DefaultClockLeeway is the clock skew every verifier of the SDK tolerates
// on token times unless configured otherwise.
const DefaultClockLeeway = 60 * time.Second

// SubjectAndSession reads the sub and sid claims of a compact JWT, "" for
// either when it cannot. The token is not verified: it is for server-side
// stores indexing ID tokens that the SDK verified before storing them.
func SubjectAndSession(token string) (sub, sid string) {
	parts, err := Split(token)
	if err != nil {
		return "", ""
	}
	var c struct {
		Sub any `json:"sub"`
		Sid any `json:"sid"`
	}
	if json.Unmarshal(parts.Payload, &c) != nil {
		return "", ""
	}
	sub, _ = c.Sub.(string)
	sid, _ = c.Sid.(string)
	return sub, sid
}

// Lax claims read a malformed value as absent instead of failing the whole
// claims set. They are for claims whose absence can only deny (acr, amr,
// auth_time: a route that asks for them refuses a token without them), so
// that a provider's odd value for one does not make an otherwise valid
// token useless on every route, and can never grant anything.
type (
	// LaxString is a string claim; any other JSON value reads as "".
	LaxString string
	// LaxStrings is an array-of-strings claim; any other JSON value
	// (a lone string included) reads as nil.
	LaxStrings []string
	// LaxDate is a NumericDate claim; a value NumericDate refuses reads as
	// the zero time.
	LaxDate struct{ time.Time }
)

// UnmarshalJSON never fails.
func (s *LaxString) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) != nil {
		v = ""
	}
	*s = LaxString(v)
	return nil
}

// UnmarshalJSON never fails.
func (s *LaxStrings) UnmarshalJSON(b []byte) error {
	var v []string
	if json.Unmarshal(b, &v) != nil {
		v = nil
	}
	*s = v
	return nil
}

// UnmarshalJSON never fails.
func (d *LaxDate) UnmarshalJSON(b []byte) error {
	var n NumericDate
	if n.UnmarshalJSON(b) != nil {
		n = NumericDate{}
	}
	d.Time = n.Time
	return nil
}
