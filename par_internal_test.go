package logto

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParsePushedAuthorization feeds the PAR answer parser arbitrary
// bodies: it never panics, every failure is ErrProvider, and what it
// accepts is a request_uri that is an absolute URI of printable ASCII
// and a positive lifetime.
func FuzzParsePushedAuthorization(f *testing.F) {
	for _, s := range []string{
		`{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":60}`,
		`{"request_uri":"urn:ietf:params:oauth:request_uri:abc","expires_in":"60"}`,
		`{"request_uri":"https://op.example/r/1","expires_in":1}`,
		`{"request_uri":"","expires_in":60}`,
		`{"request_uri":"urn:x","expires_in":0}`,
		`{"request_uri":"urn:x","expires_in":-1}`,
		`{"request_uri":"urn:x y","expires_in":60}`,
		`{"request_uri":"x","expires_in":60}`,
		`{"REQUEST_URI":"urn:x","expires_in":1e3}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parsePushedAuthorization(body)
		if err != nil {
			if !errors.Is(err, ErrProvider) {
				t.Fatalf("%q: %v is not ErrProvider", body, err)
			}
			return
		}
		u, perr := url.Parse(a.RequestURI)
		if perr != nil || u.Scheme == "" || a.ExpiresIn <= 0 || strings.ContainsFunc(a.RequestURI, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
			t.Fatalf("%q accepted as %+v", body, a)
		}
	})
}
