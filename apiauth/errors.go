package apiauth

import (
	"errors"
	"strings"
)

var (
	// ErrInvalidToken is the kind of every validation failure caused by the
	// token itself: malformed, badly signed, expired, for another audience.
	// The error wrapping it says why.
	ErrInvalidToken = errors.New("apiauth: invalid token")
	// ErrInsufficientScope means a valid token lacks a required scope.
	ErrInsufficientScope = errors.New("apiauth: insufficient scope")
	// ErrKeys means the provider's discovery document or key set could not
	// be had, so no token can be checked; it is the provider's fault, not the
	// caller's.
	ErrKeys = errors.New("apiauth: key set unavailable")
)

// tokenError is an ErrInvalidToken with the reason a client may be told.
type tokenError struct {
	reason string
	err    error // optional cause
}

func invalid(reason string) error { return &tokenError{reason: reason} }

func invalidErr(reason string, err error) error { return &tokenError{reason: reason, err: err} }

func (e *tokenError) Error() string {
	if e.err != nil {
		return ErrInvalidToken.Error() + ": " + e.reason + ": " + e.err.Error()
	}
	return ErrInvalidToken.Error() + ": " + e.reason
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

// keysError is an ErrKeys with its cause.
type keysError struct {
	what string
	err  error
}

func keysErr(what string, err error) error { return &keysError{what: what, err: err} }

func (e *keysError) Error() string {
	if e.err != nil {
		return ErrKeys.Error() + ": " + e.what + ": " + e.err.Error()
	}
	return ErrKeys.Error() + ": " + e.what
}

func (e *keysError) Is(target error) bool { return target == ErrKeys }
func (e *keysError) Unwrap() error        { return e.err }
