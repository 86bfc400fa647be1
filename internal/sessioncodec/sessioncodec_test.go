package sessioncodec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

var (
	keyA = bytes.Repeat([]byte{'a'}, 32)
	keyB = bytes.Repeat([]byte{'b'}, 32)
	t0   = time.Unix(1_750_000_000, 0)
)

// sampleJWT is a JWT-shaped value: three base64url parts.
const sampleJWT = "eyJhbGciOiJFUzM4NCIsImtpZCI6ImsxIn0." +
	"eyJpc3MiOiJodHRwczovL3QubG9ndG8uYXBwL29pZGMiLCJzdWIiOiJ1c2VyLTEyMyIsImF1ZCI6ImFwcCJ9." +
	"c2lnbmF0dXJlLW9mLTk2LWJ5dGVzLWFzLWVzMzg0LWhhcy1pdC1zaWduYXR1cmUtb2YtOTYtYnl0ZXMtYXMtZXMzODQtaGFzLWl0LXNpZ25hdHVyZQ"

func mustCodec(t testing.TB, keys ...[]byte) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seal(t testing.TB, c *Codec, name string, values map[string]string, expires time.Time) string {
	t.Helper()
	m := map[any]any{}
	for k, v := range values {
		m[k] = v
	}
	s, err := c.Seal(name, m, expires)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(c *Codec, name, value string, now time.Time) (map[string]string, bool) {
	pairs, _, ok := c.Open(name, value, now)
	if !ok {
		if len(pairs) != 0 {
			panic("Open failed but returned values")
		}
		return nil, false
	}
	if len(pairs)%2 != 0 {
		panic("Open returned an odd number of strings")
	}
	out := map[string]string{}
	for i := 0; i < len(pairs); i += 2 {
		out[pairs[i]] = pairs[i+1]
	}
	return out, true
}

func TestRoundTrip(t *testing.T) {
	c := mustCodec(t, keyA)
	for _, values := range []map[string]string{
		{},
		{"": ""},
		{"idToken": sampleJWT, "refreshToken": "rt-Zq8mXc4TtL0pKs", "accessToken:https://api": "1750003600000,1750000000000,read%3Amessages," + sampleJWT},
		{"odd": "ü \x00;=,\"\\\n<>%|:", "ключ": "значение", "long": strings.Repeat("x", 5000)},
		// JWS look-alikes that must come back exactly as they were.
		{"a": "a.b.c", "b": "ab.cd.ef", "c": "abc=.de.f", "d": "x..y", "e": ".a.b", "f": "a.b.c.d", "g": "YQ.YQ.", "h": "YR.YQ.YQ", "i": ",YWJj.YWJj.YWJj", "j": "YWJj.YWJj.YWJj\n"},
	} {
		got, ok := open(c, "logto", seal(t, c, "logto", values, t0.Add(time.Hour)), t0)
		if !ok || !maps.Equal(got, values) {
			t.Errorf("round trip of %q: %q, %v", values, got, ok)
		}
	}
}

func TestOpenReturnsExpiry(t *testing.T) {
	c := mustCodec(t, keyA)
	expires := t0.Add(90 * time.Minute)
	_, got, ok := c.Open("logto", seal(t, c, "logto", map[string]string{"k": "v"}, expires.Add(999*time.Millisecond)), t0)
	if !ok || !got.Equal(expires) {
		t.Errorf("Open = %v, %v; want %v (whole seconds)", got, ok, expires)
	}
}

// A JWT is kept as the bytes it encodes: the cookie pays one base64 pass
// for it, not two.
func TestJWTsAreNotEncodedTwice(t *testing.T) {
	c := mustCodec(t, keyA)
	s := seal(t, c, "logto", map[string]string{"k": sampleJWT, "t": "1,2,scope," + sampleJWT}, t0.Add(time.Hour))
	plain := len("k") + len(sampleJWT) + len("t") + len("1,2,scope,") + len(sampleJWT)
	if max := EncodedLen(plain); len(s) > max*80/100 {
		t.Errorf("sealed %d bytes of values into %d; want under 80%% of %d (a base64 pass over the JWT text)", plain, len(s), max)
	}
}

func TestSealRefusesOtherTypes(t *testing.T) {
	c := mustCodec(t, keyA)
	for _, m := range []map[any]any{
		{"k": 1},
		{"k": []byte("v")},
		{1: "v"},
		{"k": nil},
	} {
		if _, err := c.Seal("logto", m, t0); !errors.Is(err, ErrValueType) {
			t.Errorf("Seal(%v): err = %v, want ErrValueType", m, err)
		}
	}
}

// The attacks: a value opens only for the cookie it was sealed for, before
// its expiry, unchanged, under a key of the codec.
func TestOpenRefuses(t *testing.T) {
	c := mustCodec(t, keyA)
	values := map[string]string{"idToken": sampleJWT, "refreshToken": "rt"}
	good := seal(t, c, "logto", values, t0.Add(time.Hour))
	if _, ok := open(c, "logto", good, t0); !ok {
		t.Fatal("the control value does not open")
	}
	cases := []struct {
		name, cookie, value string
		now                 time.Time
	}{
		{"moved to another cookie name", "other", good, t0},
		{"moved to a name that extends it", "logto.1", good, t0},
		{"at its expiry", "logto", good, t0.Add(time.Hour)},
		{"past its expiry", "logto", good, t0.Add(48 * time.Hour)},
		{"sealed with another key", "logto", seal(t, mustCodec(t, keyB), "logto", values, t0.Add(time.Hour)), t0},
		{"empty", "logto", "", t0},
		{"garbage", "logto", "garbage", t0},
		{"padded", "logto", good + "==", t0},
		{"standard alphabet", "logto", strings.NewReplacer("-", "+", "_", "/").Replace(good), t0},
		{"truncated", "logto", good[:len(good)-1], t0},
		{"extended", "logto", good + "A", t0},
		{"oversized", "logto", strings.Repeat("A", MaxValueBytes+4), t0},
	}
	for _, tc := range cases {
		if got, ok := open(c, tc.cookie, tc.value, tc.now); ok {
			t.Errorf("%s: opened as %q", tc.name, got)
		}
	}
}

// A value longer than MaxValueBytes is refused before it is decoded, even
// one that would open.
func TestOpenRefusesOversized(t *testing.T) {
	c := mustCodec(t, keyA)
	big := seal(t, c, "logto", map[string]string{"k": strings.Repeat("k", MaxValueBytes)}, t0.Add(time.Hour))
	if _, ok := open(c, "logto", big, t0); ok {
		t.Errorf("a %d-byte value opened", len(big))
	}
	fits := seal(t, c, "logto", map[string]string{"k": strings.Repeat("k", MaxValueBytes*3/4-100)}, t0.Add(time.Hour))
	if _, ok := open(c, "logto", fits, t0); !ok || len(fits) > MaxValueBytes {
		t.Errorf("a %d-byte value did not open", len(fits))
	}
}

// Changing any one character of a sealed value, to any other base64url
// character, makes it unreadable: the last character's spare bits included.
func TestOpenRefusesEveryTamperedCharacter(t *testing.T) {
	c := mustCodec(t, keyA)
	good := seal(t, c, "logto", map[string]string{"refreshToken": "rt-Zq8mXc4TtL0pKs"}, t0.Add(time.Hour))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(good) {
		for _, r := range alphabet {
			if byte(r) == good[i] {
				continue
			}
			bad := good[:i] + string(r) + good[i+1:]
			if _, ok := open(c, "logto", bad, t0); ok {
				t.Fatalf("character %d changed to %q: still opens", i, r)
			}
		}
	}
}

func TestRotation(t *testing.T) {
	old := mustCodec(t, keyA)
	rotated := mustCodec(t, keyB, keyA)
	values := map[string]string{"k": "v"}
	if got, ok := open(rotated, "logto", seal(t, old, "logto", values, t0.Add(time.Hour)), t0); !ok || got["k"] != "v" {
		t.Error("the rotated codec does not open a value of the old key")
	}
	fresh := seal(t, rotated, "logto", values, t0.Add(time.Hour))
	if _, ok := open(mustCodec(t, keyB), "logto", fresh, t0); !ok {
		t.Error("the new key alone does not open what the rotated codec sealed")
	}
	if _, ok := open(old, "logto", fresh, t0); ok {
		t.Error("the retired key opens what the rotated codec sealed")
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	for _, keys := range [][][]byte{nil, {}, {keyA[:16]}, {keyA, keyA[:31]}, {nil}} {
		if _, err := New(keys); err == nil {
			t.Errorf("New(%d keys) accepted", len(keys))
		}
	}
}

func TestEncodedLen(t *testing.T) {
	c := mustCodec(t, keyA)
	for _, v := range []string{"", "x", strings.Repeat("y", 1000)} {
		m := map[any]any{"k": v}
		plain, err := marshal(m, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Seal("logto", m, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != EncodedLen(len(plain)) {
			t.Errorf("sealed %d bytes of plaintext into %d, EncodedLen says %d", len(plain), len(s), EncodedLen(len(plain)))
		}
	}
}

// The layout reader never panics and never half-fills its map, whatever
// bytes an AEAD key holder (or a bug) puts in a plaintext.
func FuzzUnmarshal(f *testing.F) {
	good, _ := marshal(map[any]any{"idToken": sampleJWT, "k": "v"}, t0.Add(time.Hour))
	f.Add(good)
	f.Add([]byte{version, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1, 'k', kindJWS, 0, 1, 'a', 1, 'b', 0})
	f.Add([]byte{version, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		pairs, _, ok := unmarshal(b, t0)
		if !ok && len(pairs) != 0 {
			t.Fatal("a failed read returned values")
		}
		if ok && len(pairs)%2 != 0 {
			t.Fatal("an odd number of strings")
		}
	})
}

// Every map of strings comes back exactly as it was sealed.
func FuzzRoundTrip(f *testing.F) {
	f.Add("idToken", sampleJWT, "accessToken:x", "1,2,s,"+sampleJWT)
	f.Add("a", "a.b.c", "b", "YQ.YQ.")
	f.Add("", "", "\xff", "x..y.")
	c := mustCodec(f, keyA)
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		values := map[string]string{k1: v1, k2: v2}
		got, ok := open(c, "n", seal(t, c, "n", values, t0.Add(time.Hour)), t0)
		if !ok || !maps.Equal(got, values) {
			t.Fatalf("round trip of %q: %q, %v", values, got, ok)
		}
	})
}

// Open never panics on what a browser may send.
func FuzzOpen(f *testing.F) {
	c := mustCodec(f, keyA)
	f.Add(seal(f, c, "logto", map[string]string{"k": "v"}, t0.Add(time.Hour)))
	f.Add("")
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 40)))
	f.Fuzz(func(t *testing.T, v string) {
		open(c, "logto", v, t0)
	})
}
