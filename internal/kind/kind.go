// Package kind holds the failure kinds every package of the SDK shares: one
// sentinel per class, so that errors.Is(err, logto.ErrInvalidToken) and
// errors.Is(err, apiauth.ErrInvalidToken) are the same test whichever
// package returned err. The exported names live in the public packages as
// aliases of these values.
package kind

import "errors"

var (
	// ErrNotAuthenticated: nobody is signed in, or the provider ended the session.
	ErrNotAuthenticated = errors.New("logto: not signed in")
	// ErrInvalidConfig: a configuration failed validation.
	ErrInvalidConfig = errors.New("logto: invalid config")
	// ErrInvalidToken: a token failed validation.
	ErrInvalidToken = errors.New("logto: invalid token")
	// ErrProvider: the provider could not be reached, or answered something
	// that is not a valid protocol answer (discovery, keys, token endpoint).
	ErrProvider = errors.New("logto: provider request failed")
	// ErrStorage: a session storage failed to read or write.
	ErrStorage = errors.New("logto: storage failure")
	// ErrInsufficientUserAuthentication: the user signed in, but not
	// strongly or recently enough for what was asked (RFC 9470's
	// insufficient_user_authentication).
	ErrInsufficientUserAuthentication = errors.New("logto: insufficient user authentication")
	// ErrInvalidRequest: an argument given to the SDK is unusable.
	ErrInvalidRequest = errors.New("logto: invalid request")
)
