package logto

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestParseStepUpChallenge(t *testing.T) {
	sec := func(n int) *time.Duration { d := time.Duration(n) * time.Second; return &d }
	cases := []struct {
		name    string
		status  int
		headers []string
		ok      bool
		acr     []string
		maxAge  *time.Duration
		meta    string
	}{
		{"RFC 9470 example", 401, []string{`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`}, true, []string{"myACR"}, nil, ""},
		{"max_age", 401, []string{`Bearer error="insufficient_user_authentication", max_age=5`}, true, nil, sec(5), ""},
		{"both, metadata, odd spacing", 401, []string{`bearer  error = "insufficient_user_authentication" ,acr_values="urn:logto:acr:mfa urn:other",max_age="300", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`}, true, []string{"urn:logto:acr:mfa", "urn:other"}, sec(300), "https://api.example.com/.well-known/oauth-protected-resource"},
		{"after another challenge", 401, []string{`Basic realm="x", Bearer error="insufficient_user_authentication", acr_values="a"`}, true, []string{"a"}, nil, ""},
		{"after a token68 challenge", 401, []string{`Negotiate abc==, Bearer error="insufficient_user_authentication", max_age=0`}, true, nil, sec(0), ""},
		{"in a second header", 401, []string{`DPoP algs="ES256"`, `Bearer error="insufficient_user_authentication", acr_values="a"`}, true, []string{"a"}, nil, ""},
		{"escaped quote", 401, []string{`Bearer error="insufficient_user_authentication", error_description="say \"more\"", acr_values="a"`}, true, []string{"a"}, nil, ""},
		{"invalid_token is no step-up", 401, []string{`Bearer error="invalid_token"`}, false, nil, nil, ""},
		{"not a 401", 403, []string{`Bearer error="insufficient_user_authentication", acr_values="a"`}, false, nil, nil, ""},
		{"no challenge", 401, nil, false, nil, nil, ""},
		{"another scheme", 401, []string{`DPoP error="insufficient_user_authentication"`}, false, nil, nil, ""},
		{"negative max_age", 401, []string{`Bearer error="insufficient_user_authentication", max_age=-1`}, false, nil, nil, ""},
		{"max_age not a number", 401, []string{`Bearer error="insufficient_user_authentication", max_age="soon"`}, false, nil, nil, ""},
		{"huge max_age", 401, []string{`Bearer error="insufficient_user_authentication", max_age=99999999999999999999`}, false, nil, nil, ""},
		{"repeated parameter", 401, []string{`Bearer error="insufficient_user_authentication", acr_values="a", acr_values="b"`}, false, nil, nil, ""},
		{"unterminated quote", 401, []string{`Bearer error="insufficient_user_authentication, acr_values="a"`}, false, nil, nil, ""},
		{"acr value with a control character", 401, []string{"Bearer error=\"insufficient_user_authentication\", acr_values=\"a\x01\""}, false, nil, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			for _, h := range tc.headers {
				resp.Header.Add("WWW-Authenticate", h)
			}
			c, ok := ParseStepUpChallenge(resp)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.ok, c)
			}
			if !ok {
				return
			}
			if !slices.Equal(c.ACRValues, tc.acr) || c.ResourceMetadata != tc.meta {
				t.Errorf("challenge %+v", c)
			}
			if (c.MaxAge == nil) != (tc.maxAge == nil) || c.MaxAge != nil && *c.MaxAge != *tc.maxAge {
				t.Errorf("max_age %v, want %v", c.MaxAge, tc.maxAge)
			}
			o := c.SignInOptions("/reports")
			if o.ReturnTo != "/reports" || !slices.Equal(o.ACRValues, tc.acr) || (o.MaxAge == nil) != (tc.maxAge == nil) {
				t.Errorf("sign-in options %+v", o)
			}
		})
	}
	if _, ok := ParseStepUpChallenge(nil); ok {
		t.Error("nil response")
	}
	big := &http.Response{StatusCode: 401, Header: http.Header{"Www-Authenticate": {`Bearer error="insufficient_user_authentication", error_description="` + string(make([]byte, 9000)) + `"`}}}
	if _, ok := ParseStepUpChallenge(big); ok {
		t.Error("an oversized challenge was read")
	}
}

// The parser never panics, and what it reads as a step-up is usable.
func FuzzParseChallenges(f *testing.F) {
	f.Add(`Bearer error="insufficient_user_authentication", acr_values="a b", max_age=5`)
	f.Add(`Basic realm="x", Bearer error="invalid_token"`)
	f.Add(`Negotiate abc==, Bearer realm="api"`)
	f.Add(`Bearer error="a\"b", x=`)
	f.Fuzz(func(t *testing.T, h string) {
		_ = parseChallenges(h)
		if c, ok := parseStepUp([]string{h}); ok {
			if checkACRValues(c.ACRValues) != nil || c.MaxAge != nil && *c.MaxAge < 0 {
				t.Fatalf("unusable step-up %+v from %q", c, h)
			}
		}
	})
}
