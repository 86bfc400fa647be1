// Package kind holds the failure kinds every package of the SDK shares: one
// sentinel per class, so that errors.Is(err, logto.ErrInvalidToken) and
// errors.Is(err, apiauth.ErrInvalidToken) are the same test whichever
// package returned err. The exported names live in the public packages as
// aliases of these values.
package kind

import "errors"

var (
	// NotAuthenticated: nobody is signed in, or the provider ended the session.
	NotAuthenticated = errors.New("logto: not signed in")
	// InvalidConfig: a configuration failed validation.
	InvalidConfig = errors.New("logto: invalid config")
	// InvalidToken: a token failed validation.
	InvalidToken = errors.New("logto: invalid token")
	// Provider: the provider could not be reached, or answered something
	// that is not a valid protocol answer (discovery, keys, token endpoint).
	Provider = errors.New("logto: provider request failed")
	// Storage: a session storage failed to read or write.
	Storage = errors.New("logto: storage failure")
)
