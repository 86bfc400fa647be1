package apiauth

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed098cf14d/logto/internal/acr"
)

// AuthenticationRequirement is what a route wants of the user's sign-in
// behind a token (RFC 9470): how it was made, and how long ago. Setting
// both asks for both.
type AuthenticationRequirement struct {
	// ACRValues are the Authentication Context Class References the route
	// accepts, in order of preference; the token's acr claim must be one
	// of them, compared exactly, or a class known to be stronger (Logto's
	// "urn:logto:acr:mfa" meets a demand for "urn:logto:acr:1fa", as Logto
	// itself decides). Empty means any acr, or none.
	ACRValues []string
	// MaxAge is the longest time since the user last signed in actively
	// (the token's auth_time claim, which a refresh keeps) that the route
	// accepts, give or take Config.ClockLeeway; a token without auth_time
	// is refused. Zero means any age. It is sent to the client in whole
	// seconds and must be at least one second.
	MaxAge time.Duration
}

// RequireUserAuthentication admits requests whose token (from Middleware,
// which must run first) comes from a sign-in that meets req, and answers
// the others 401 with error="insufficient_user_authentication" and the
// acr_values and max_age of req in the challenge (RFC 9470 section 3), so
// that the client signs the user in again with them (Logto takes both
// parameters in the authorization request). The refusal is logged at Info.
//
// It reads the access token's acr and auth_time claims. Logto puts them in
// a user's access tokens with its step-up support (a development feature
// at this writing); a Logto that does not refuses every token here, unless
// a custom JWT script adds them. Machine-to-machine tokens never carry them.
//
// Without Middleware before it, every request gets 500 server_error, as
// with RequireScopes. It panics when req asks for nothing, for a MaxAge
// under a second, or for an ACR value that is empty or holds a space, a
// quote, a backslash or anything but printable ASCII: mistakes in the code
// that builds the routes.
func RequireUserAuthentication(req AuthenticationRequirement) func(http.Handler) http.Handler {
	req.ACRValues = slices.Clone(req.ACRValues)
	switch {
	case len(req.ACRValues) == 0 && req.MaxAge == 0:
		panic("apiauth: RequireUserAuthentication needs ACRValues, MaxAge or both")
	case req.MaxAge < 0:
		panic("apiauth: RequireUserAuthentication: MaxAge must not be negative")
	case req.MaxAge > 0 && req.MaxAge < time.Second:
		panic("apiauth: RequireUserAuthentication: MaxAge must be at least a second (max_age is in seconds)")
	}
	for _, a := range req.ACRValues {
		if a == "" || strings.ContainsAny(a, " \t\"\\") || quote(a) != a {
			panic(fmt.Sprintf("apiauth: RequireUserAuthentication: ACR value %q cannot be sent in acr_values", a))
		}
	}
	// The client is told whole seconds; judge by what it is told.
	req.MaxAge = req.MaxAge.Truncate(time.Second)
	return requireClaims("RequireUserAuthentication", func(v *Validator, c *Claims) error {
		return req.check(c, v.now(), v.leeway)
	})
}

// check reports how c's sign-in falls short of req at now, nil if it
// does not.
func (req AuthenticationRequirement) check(c *Claims, now time.Time, leeway time.Duration) error {
	if len(req.ACRValues) > 0 && !acr.Meets(c.ACR(), req.ACRValues) {
		return &userAuthError{req: req, acr: true, detail: fmt.Sprintf("acr %q, expected one of %q", c.ACR(), req.ACRValues)}
	}
	if req.MaxAge > 0 {
		at := c.AuthTime()
		switch {
		case at.IsZero():
			return &userAuthError{req: req, detail: "no auth_time"}
		case at.After(now.Add(leeway)):
			return &userAuthError{req: req, detail: fmt.Sprintf("auth_time %s is in the future", at.UTC().Format(time.RFC3339))}
		case now.Sub(at) > req.MaxAge+leeway:
			return &userAuthError{req: req, detail: fmt.Sprintf("signed in %s ago, max_age %s", now.Sub(at).Truncate(time.Second), req.MaxAge)}
		}
	}
	return nil
}

// params are the challenge's auth-params for req: acr_values and max_age.
func (req AuthenticationRequirement) params() string {
	var p []string
	if len(req.ACRValues) > 0 {
		p = append(p, `acr_values="`+quote(strings.Join(req.ACRValues, " "))+`"`)
	}
	if req.MaxAge > 0 {
		p = append(p, "max_age="+strconv.FormatInt(int64(req.MaxAge/time.Second), 10))
	}
	return strings.Join(p, ", ")
}

// userAuthError is an ErrInsufficientUserAuthentication with what the
// route wants and, for logs, what the token has.
type userAuthError struct {
	req    AuthenticationRequirement
	acr    bool // the acr fell short (else the age)
	detail string
}

func (e *userAuthError) Error() string {
	return ErrInsufficientUserAuthentication.Error() + ": " + e.detail
}

func (e *userAuthError) Is(target error) bool { return target == ErrInsufficientUserAuthentication }

// description is the error_description a client is told.
func (e *userAuthError) description() string {
	if e.acr {
		return "a different authentication level is required"
	}
	return "a more recent authentication is required"
}
