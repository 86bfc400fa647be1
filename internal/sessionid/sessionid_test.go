package sessionid

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCodec(t *testing.T) {
	c := NewCodec([]byte(strings.Repeat("a", 32)))
	id, err := New()
	if err != nil || !Valid(id) {
		t.Fatalf("New = %q, %v", id, err)
	}
	if other, _ := New(); other == id {
		t.Fatal("two IDs alike")
	}
	v, err := c.Encode("s", id)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cookie, want string
		codec        *Codec
	}{
		"own":          {"s=" + v, id, c},
		"other name":   {"t=" + v, "", c},
		"other key":    {"s=" + v, "", NewCodec([]byte(strings.Repeat("b", 32)))},
		"bare ID":      {"s=" + id, "", c},
		"no codec":     {"s=" + v, "", nil},
		"tampered":     {"s=" + v[:len(v)-2] + "AA", "", c},
		"no cookie":    {"", "", c},
		"invalid form": {"s=" + mustEncode(t, c, "s", "short"), "", c},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		if got := tc.codec.FromRequest(r, "s"); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func mustEncode(t *testing.T, c *Codec, name, id string) string {
	v, err := c.Encode(name, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
