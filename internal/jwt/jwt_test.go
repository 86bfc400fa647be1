package jwt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSplit(t *testing.T) {
	good := enc(`{"alg":"ES384","kid":"k1","typ":"at+jwt"}`) + "." + enc(`{"sub":"u"}`) + "." + enc("sig")
	p, err := Split(good)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.ParseHeader()
	if err != nil || h.Alg != "ES384" || h.Kid != "k1" || !TypIs(h.Typ, "at+jwt") {
		t.Fatalf("header %+v, %v", h, err)
	}
	for name, raw := range map[string]string{
		"empty":          "",
		"two parts":      enc(`{}`) + "." + enc(`{}`),
		"four parts":     good + "." + enc("x"),
		"padded":         enc(`{}`) + "=." + enc(`{}`) + "." + enc("s"),
		"header array":   enc(`[1]`) + "." + enc(`{}`) + "." + enc("s"),
		"payload string": enc(`{}`) + "." + enc(`"x"`) + "." + enc("s"),
		"bad base64":     "a*b." + enc(`{}`) + "." + enc("s"),
		"empty header":   "." + enc(`{}`) + "." + enc("s"),
		"spare bits set": "e31." + enc(`{}`) + "." + enc("s"), // "e30" is {}; the same bytes spelt twice

	} {
		if _, err := Split(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
	big := enc(`{}`) + "." + enc(`{"x":"`+strings.Repeat("a", MaxTokenBytes)+`"}`) + "." + enc("s")
	if _, err := Split(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: err %v, want ErrTooLarge", err)
	}
}

func TestAudienceAndDates(t *testing.T) {
	var c struct {
		Aud Audience      `json:"aud"`
		Exp NumericDate   `json:"exp"`
		Iat NumericDate   `json:"iat"`
		At  UnixMilliDate `json:"created_at"`
	}
	if err := json.Unmarshal([]byte(`{"aud":"a","exp":1700000000.5,"created_at":1700000000123}`), &c); err != nil {
		t.Fatal(err)
	}
	if !c.Aud.Contains("a") || len(c.Aud) != 1 || c.Exp.UnixMilli() != 1700000000500 || !c.Iat.IsZero() ||
		!c.At.Equal(time.UnixMilli(1700000000123)) {
		t.Fatalf("decoded %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"aud":["a","b"]}`), &c); err != nil || !c.Aud.Contains("b") {
		t.Fatalf("array aud: %+v %v", c.Aud, err)
	}
	for _, bad := range []string{`{"aud":1}`, `{"aud":[1]}`, `{"exp":"1"}`, `{"exp":-1}`, `{"exp":1e300}`, `{"created_at":-5}`} {
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	b, _ := json.Marshal(NumericDate{time.Unix(42, 0)})
	if string(b) != "42" {
		t.Errorf("marshal: %s", b)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(enc(`{"alg":"ES384"}`) + "." + enc(`{"aud":["a"],"exp":1}`) + "." + enc("s"))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := Split(raw)
		if err != nil {
			return
		}
		_, _ = p.ParseHeader()
		var c struct {
			Aud Audience    `json:"aud"`
			Exp NumericDate `json:"exp"`
		}
		_ = json.Unmarshal(p.Payload, &c)
	})
}

// Lax claims take their one well-formed shape and read anything else as
// absent, without failing the claims set around them.
func TestLaxClaims(t *testing.T) {
	type claims struct {
		S LaxString  `json:"s"`
		L LaxStrings `json:"l"`
		D LaxDate    `json:"d"`
		N string     `json:"n"`
	}
	var good claims
	if err := json.Unmarshal([]byte(`{"s":"x","l":["a","b"],"d":1700000000,"n":"kept"}`), &good); err != nil {
		t.Fatal(err)
	}
	if good.S != "x" || len(good.L) != 2 || good.L[1] != "b" || good.D.Unix() != 1700000000 || good.N != "kept" {
		t.Errorf("well-formed: %+v", good)
	}
	for _, body := range []string{
		`{"s":1,"l":"a","d":"x","n":"kept"}`,
		`{"s":null,"l":null,"d":null,"n":"kept"}`,
		`{"s":["x"],"l":[1],"d":-5,"n":"kept"}`,
		`{"s":{},"l":{},"d":1e300,"n":"kept"}`,
		`{"n":"kept"}`,
	} {
		var c claims
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if c.S != "" || c.L != nil || !c.D.IsZero() || c.N != "kept" {
			t.Errorf("%s: %+v", body, c)
		}
	}
}

// A token is structured when its first part is a JOSE header; anything
// else is opaque.
func TestIsStructured(t *testing.T) {
	hdr := enc(`{"alg":"ES384"}`)
	for raw, want := range map[string]bool{
		hdr + "." + enc(`{}`) + "." + enc("s"): true,
		hdr + ".x":                             true,
		hdr + "....":                           true, // a JWE's shape
		hdr:                                    false,
		"." + enc(`{}`):                        false,
		"abc.def.ghi":                          false,
		enc(`[1]`) + ".x.y":                    false,
		hdr + "=.x.y":                          false,
		"Rk9PQkFSYmF6cXV4":                     false,
		"":                                     false,
		hdr + "." + strings.Repeat("a", MaxTokenBytes): false,
	} {
		if got := IsStructured(raw); got != want {
			t.Errorf("IsStructured(%.40q) = %v, want %v", raw, got, want)
		}
	}
}
