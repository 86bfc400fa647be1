package logto

import (
	"errors"

	"github.com/seed098cf14d/logto/internal/kind"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// Failure kinds. Every error the package returns wraps one of them (or is an
// *OAuthError, which matches ErrProvider), so callers branch with errors.Is
// and never on message text.
var (
	// ErrNotAuthenticated means there is no signed-in user in the storage, or
	// the provider has ended the session (an invalid_grant on refresh).
	ErrNotAuthenticated = kind.ErrNotAuthenticated

	// ErrInvalidConfig means Config failed validation; the error lists every
	// problem at once.
	ErrInvalidConfig = kind.ErrInvalidConfig

	// ErrDiscovery means the provider's metadata could not be fetched or is not
	// acceptable (for example its issuer is not <Endpoint>/oidc). Fetching is
	// retried on the next call.
	ErrDiscovery = errors.New("logto: provider discovery failed")

	// ErrInvalidState means the callback's state is unknown, already used or
	// expired: the sign-in it belongs to was never started here, was completed
	// already, or is older than ten minutes.
	ErrInvalidState = errors.New("logto: invalid or expired sign-in state")

	// ErrInvalidCallback means the callback request itself is malformed: no
	// code, a redirect URI that does not match the one the sign-in used, or an
	// issuer parameter (RFC 9207) naming another provider.
	ErrInvalidCallback = errors.New("logto: invalid callback request")

	// ErrInvalidToken means a token from the provider failed validation
	// (signature, issuer, audience, expiry, nonce, at_hash, subject ...).
	ErrInvalidToken = kind.ErrInvalidToken

	// ErrProvider means a request to the provider failed: it was unreachable,
	// timed out, or answered something that is not a valid protocol response.
	// An *OAuthError also matches it.
	ErrProvider = kind.ErrProvider

	// ErrInsufficientUserAuthentication means the user signed in, but not as
	// strongly or as recently as the sign-in asked (SignInOptions.ACRValues,
	// MaxAge): the callback's refusal also matches ErrInvalidToken. The same
	// value as apiauth.ErrInsufficientUserAuthentication, whose challenges
	// (RFC 9470) ask for such a sign-in.
	ErrInsufficientUserAuthentication = kind.ErrInsufficientUserAuthentication

	// ErrStorage means the Storage failed to read or write.
	ErrStorage = kind.ErrStorage

	// ErrInvalidRequest means an argument passed to the client is unusable (for
	// example a malformed redirect URI or an unknown resource).
	ErrInvalidRequest = kind.ErrInvalidRequest

	// ErrCrossSiteRequest means a request that changes the session (sign-out)
	// came, by the browser's own account (Sec-Fetch-Site, Origin), from
	// another site, and was refused: another site must not act in the user's
	// name.
	ErrCrossSiteRequest = errors.New("logto: cross-site request refused")
)

// OAuthError is an error response from the provider: an authorization error
// on the callback (OAuth 2.0, RFC 6749 section 4.1.2.1) or an error answer of
// the token, userinfo or revocation endpoint (RFC 6749 section 5.2).
// errors.Is(err, ErrProvider) holds for it.
type OAuthError struct {
	// Code is the error code, e.g. "access_denied" or "invalid_grant".
	Code string
	// Description is the provider's error_description, if any.
	Description string
	// URI is the provider's error_uri, if any.
	URI string
	// StatusCode is the HTTP status of the provider's answer; 0 for an error
	// that came back through the browser on the callback.
	StatusCode int
	// Endpoint names where the error came from: "authorize", "token",
	// "userinfo", "revocation", "device authorization" or "pushed
	// authorization".
	Endpoint string
}

func (e *OAuthError) Error() string { return (*tokenendpoint.Error)(e).Error() }

// Is reports ErrProvider as a match, so every provider failure is one class.
func (e *OAuthError) Is(target error) bool { return target == ErrProvider }

// kindError attaches a failure kind to a cause without losing either: both
// errors.Is(err, kind) and errors.Is/As on the cause hold.
type kindError struct {
	kind  error
	msg   string
	cause error
}

func (e *kindError) Error() string {
	s := e.kind.Error()
	if e.cause != nil && errors.Is(e.cause, e.kind) {
		s = "logto" // the cause names the kind already
	}
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *kindError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

// wrapErr returns an error of the given kind carrying msg and, when non-nil,
// the cause.
func wrapErr(kind error, msg string, cause error) error {
	return &kindError{kind: kind, msg: msg, cause: cause}
}

func storageErr(op, key string, cause error) error {
	return wrapErr(ErrStorage, op+" "+key, cause)
}
