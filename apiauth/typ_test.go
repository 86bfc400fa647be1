package apiauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// Only access tokens pass (RFC 9068 section 4, RFC 8725 section 3.11): a
// provider-signed JWT of another type with the API as aud, or with no typ
// at all, is not an access token.
func TestTypMustBeAccessToken(t *testing.T) {
	e := newEnv(t)
	logout, err := e.p.LogoutToken(logtotest.LogoutTokenOptions{Audience: testResource, Expiry: time.Hour, Type: "-"})
	if err != nil {
		t.Fatal(err)
	}
	logoutTyped, err := e.p.LogoutToken(logtotest.LogoutTokenOptions{Audience: testResource, Expiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		tok  string
		pass bool
	}{
		"at+jwt":                   {e.token(t, noFaults), true},
		"application/at+jwt":       {e.token(t, logtotest.Faults{AccessTokenType: "application/at+jwt"}), true},
		"AT+JWT":                   {e.token(t, logtotest.Faults{AccessTokenType: "AT+JWT"}), true},
		"no typ":                   {e.token(t, logtotest.Faults{AccessTokenType: "-"}), false},
		"JWT":                      {e.token(t, logtotest.Faults{AccessTokenType: "JWT"}), false},
		"empty typ":                {e.token(t, logtotest.Faults{AccessTokenType: " "}), false},
		"logout token without typ": {logout, false},
		"logout token":             {logoutTyped, false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.v.Validate(context.Background(), tc.tok)
			if tc.pass && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.pass && !errors.Is(err, apiauth.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
}
