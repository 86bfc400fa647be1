package logtotest

import (
	"slices"
	"time"
)

// Logto's authentication context classes, for the acr_values parameter and
// the acr claim.
const (
	// ACR1FA is a sign-in with one factor (a password, a code by email).
	ACR1FA = "urn:logto:acr:1fa"
	// ACRMFA is a sign-in with a second factor as well.
	ACRMFA = "urn:logto:acr:mfa"
)

// authentication decides how user u signs in for an authorization request
// with acrValues: the first of them the user can satisfy (ACRMFA only with
// User.MFA), with its amr. Unknown values are passed over; when none can be
// satisfied the sign-in is ACR1FA all the same, since acr_values are
// voluntary (OpenID Connect Core 5.5.1.1) and the token tells what really
// happened. Without acrValues the tokens carry neither acr nor amr.
func authentication(acrValues []string, u User) (acr string, amr []string) {
	if len(acrValues) == 0 {
		return "", nil
	}
	for _, v := range acrValues {
		switch {
		case v == ACRMFA && u.MFA:
			return ACRMFA, []string{"pwd", "otp", "mfa"}
		case v == ACR1FA:
			return ACR1FA, []string{"pwd"}
		}
	}
	return ACR1FA, []string{"pwd"}
}

// validMaxAge reports whether s is a max_age: a whole number of seconds,
// 0 or more, in decimal digits only.
func validMaxAge(s string) bool {
	if s == "" || len(s) > 18 { // 18 digits always fit an int64
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// addAuthentication sets the claims of a token that say how the user
// signed in: auth_time, and acr and amr when the sign-in decided them.
func addAuthentication(c map[string]any, authTime time.Time, acr string, amr []string) {
	c["auth_time"] = authTime.Unix()
	if acr != "" {
		c["acr"] = acr
		c["amr"] = slices.Clone(amr)
	}
}
