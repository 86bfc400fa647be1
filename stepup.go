package logto

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed098cf14d/logto/internal/acr"
)

// Logto's authentication context classes, for SignInOptions.ACRValues and
// the acr claim (IDTokenClaims.ACR).
const (
	// ACR1FA is a sign-in with one factor: a password, or a code sent by
	// email or SMS.
	ACR1FA = acr.OneFactor
	// ACRMFA is a sign-in with a second factor as well (an authenticator
	// app, a passkey, a backup code).
	ACRMFA = acr.MultiFactor
)

// maxACRValuesBytes bounds the acr_values of a sign-in, joined by spaces.
// A required list is kept with the pending sign-in in the session until
// the callback, and a cookie session has little room: a long list planted
// by another site's link would crowd out the user's own sign-in.
const maxACRValuesBytes = 256

// checkACRValues reports what is wrong with acr values to send: each must
// be printable ASCII without spaces (the separator), quotes or
// backslashes (which the WWW-Authenticate challenges of RFC 9470 quote),
// and all of them, joined by spaces, at most maxACRValuesBytes.
func checkACRValues(values []string) error {
	n := 0
	for _, v := range values {
		if v == "" {
			return fmt.Errorf("an acr value is empty")
		}
		for i := 0; i < len(v); i++ {
			if b := v[i]; b <= ' ' || b >= 0x7f || b == '"' || b == '\\' {
				return fmt.Errorf("acr value %q holds a character other than printable ASCII without spaces, quotes or backslashes", v)
			}
		}
		n += len(v) + 1
	}
	if n-1 > maxACRValuesBytes {
		return fmt.Errorf("acr values take %d bytes; at most %d are kept", n-1, maxACRValuesBytes)
	}
	return nil
}

// maxAgeSeconds is max_age for d: whole seconds, rounded down, so that the
// provider is asked for a sign-in at least as recent as d.
func maxAgeSeconds(d time.Duration) int64 { return int64(d / time.Second) }

// AuthenticatedWithin reports whether the ID token says the user
// authenticated (signed in, with whatever factors) within d before now:
// AuthTime is known and at most d before now. A token without auth_time
// never counts as recent. A refresh keeps the auth_time of the sign-in
// (OpenID Connect Core 12.2), so a long-lived session reads as old here
// however recently its tokens were refreshed; ask for a new sign-in with
// SignInOptions.MaxAge when this is false. The clock leeway is not added:
// pass it in d if wanted.
func (c *IDTokenClaims) AuthenticatedWithin(d time.Duration, now time.Time) bool {
	return !c.AuthTime.IsZero() && now.Sub(c.AuthTime) <= d
}

// checkAuthentication refuses the ID token of a sign-in that does not meet
// what the sign-in asked for (OpenID Connect Core 3.1.2.1 and 3.1.3.7):
// with max_age, an auth_time, no older than max_age plus the clock leeway
// allows; with required acr values, an acr among them.
func (p pendingSignIn) checkAuthentication(c *IDTokenClaims, now time.Time, leeway time.Duration) error {
	if p.MaxAge != nil {
		maxAge := time.Duration(*p.MaxAge) * time.Second
		if c.AuthTime.IsZero() {
			return wrapErr(ErrInvalidToken, fmt.Sprintf("the sign-in asked for max_age=%d but the ID token has no auth_time", *p.MaxAge), ErrInsufficientUserAuthentication)
		}
		// Subtracted, not added: no sum to overflow.
		if age := now.Sub(c.AuthTime); age > maxAge && age-maxAge > leeway {
			return wrapErr(ErrInvalidToken, fmt.Sprintf("auth_time %s is %s ago, older than max_age=%d allows: the provider did not make the user sign in again",
				c.AuthTime.UTC().Format(time.RFC3339), age.Round(time.Second), *p.MaxAge), ErrInsufficientUserAuthentication)
		}
	}
	if len(p.ACR) > 0 && !acr.Meets(c.ACR, p.ACR) {
		return wrapErr(ErrInvalidToken, fmt.Sprintf("acr %q is not one of the acr_values the sign-in asked for (%s)",
			c.ACR, quoteAll(p.ACR)), ErrInsufficientUserAuthentication)
	}
	return nil
}

func quoteAll(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// checkRefreshedAuthentication refuses a refreshed ID token that says the
// user authenticated otherwise than the sign-in did. A refresh is no new
// authentication: its auth_time is that of the sign-in (OpenID Connect
// Core 12.2), and so are its acr and amr, as Logto keeps them. A later
// auth_time (or one where the sign-in's token had none), another acr or
// another amr would make the session look fresher or stronger than it is;
// a claim left out makes it look no better, and is accepted.
func checkRefreshedAuthentication(old, refreshed *IDTokenClaims) error {
	switch {
	case !refreshed.AuthTime.IsZero() && (old.AuthTime.IsZero() || refreshed.AuthTime.After(old.AuthTime)):
		was := "none"
		if !old.AuthTime.IsZero() {
			was = old.AuthTime.UTC().Format(time.RFC3339)
		}
		return wrapErr(ErrInvalidToken, fmt.Sprintf("the refreshed ID token's auth_time %s is later than the sign-in's (%s): a refresh is no new sign-in",
			refreshed.AuthTime.UTC().Format(time.RFC3339), was), nil)
	case refreshed.ACR != "" && refreshed.ACR != old.ACR:
		return wrapErr(ErrInvalidToken, fmt.Sprintf("the refreshed ID token's acr %q is not the sign-in's %q", refreshed.ACR, old.ACR), nil)
	case len(refreshed.AMR) > 0 && !slices.Equal(refreshed.AMR, old.AMR):
		return wrapErr(ErrInvalidToken, fmt.Sprintf("the refreshed ID token's amr %q is not the sign-in's %q", refreshed.AMR, old.AMR), nil)
	}
	return nil
}
