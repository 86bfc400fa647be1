package apiauth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seed098cf14d/logto/internal/kind"
)

// Failure kinds. ErrInvalidToken, ErrProvider and ErrInvalidConfig are the
// values of the root package's errors of the same names, so
// errors.Is(err, logto.ErrInvalidToken) holds for an apiauth error too.
var (
	// ErrInvalidToken is the kind of every validation failure caused by the
	// token itself: malformed, badly signed, expired, for another audience
	// or organization. The error wrapping it says why.
	ErrInvalidToken = kind.ErrInvalidToken
	// ErrInsufficientScope means a valid token lacks a required scope.
	ErrInsufficientScope = errors.New("apiauth: insufficient scope")
	// ErrInsufficientUserAuthentication means a valid token comes from a
	// sign-in that is not strong or recent enough for the route
	// (RequireUserAuthentication; RFC 9470). The same value as
	// logto.ErrInsufficientUserAuthentication.
	ErrInsufficientUserAuthentication = kind.ErrInsufficientUserAuthentication
	// ErrProvider means the provider's discovery document or key set could
	// not be had, so no token can be checked: the provider's fault, not the
	// caller's. WriteError answers it with 503.
	ErrProvider = kind.ErrProvider
	// ErrInvalidConfig means Config failed validation; the error lists every
	// problem.
	ErrInvalidConfig = kind.ErrInvalidConfig
)

// tokenError is an ErrInvalidToken with the reason a client may be told
// (WriteError's error_description) and, for logs, what exactly was wrong.
type tokenError struct {
	reason string
	detail string // optional; may name values from the token
	err    error  // optional cause
	// setup marks a refusal that looks like a setup mistake (a token of
	// another issuer, or for another API) more than a bad client: it is
	// logged at Warn, not Debug.
	setup bool
}

func invalid(reason string) error { return &tokenError{reason: reason} }

func invalidErr(reason string, err error) error { return &tokenError{reason: reason, err: err} }

// wrongAudience names the audience a token has and the one it needs; the
// client is told only "wrong audience". setup: see tokenError.
func wrongAudience(got []string, want string, setup bool) error {
	return &tokenError{reason: "wrong audience", detail: fmt.Sprintf("aud %q, expected %q", got, want), setup: setup}
}

func (e *tokenError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidToken.Error())
	b.WriteString(": ")
	b.WriteString(e.reason)
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

func (e *tokenError) Is(target error) bool { return target == ErrInvalidToken }
func (e *tokenError) Unwrap() error        { return e.err }

// scopeError is an ErrInsufficientScope naming the scopes wanted.
type scopeError struct {
	scopes []string
	any    bool // one of scopes suffices
}

func (e *scopeError) Error() string {
	if e.any {
		return ErrInsufficientScope.Error() + ": need one of " + strings.Join(e.scopes, " ")
	}
	return ErrInsufficientScope.Error() + ": need " + strings.Join(e.scopes, " ")
}

func (e *scopeError) Is(target error) bool { return target == ErrInsufficientScope }
