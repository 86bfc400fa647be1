package logtotest

import (
	"context"
	"time"
)

// Signing selects how ID tokens (Faults.IDTokenSigning) or JWT access tokens
// (Faults.AccessTokenSigning) are signed. Every mode but SignNormal makes a
// token that a correct client must reject.
type Signing int

const (
	// SignNormal signs with the current, published key.
	SignNormal Signing = iota
	// SignNone uses "alg":"none" and an empty signature.
	SignNone
	// SignHS256PublicKey signs with HS256, using the PEM encoding of the
	// published signing key's public half as the HMAC secret (the classic
	// algorithm-confusion attack).
	SignHS256PublicKey
	// SignUnknownKey signs with a fresh key of the same algorithm whose key
	// ID is not published in the JWKS.
	SignUnknownKey
	// SignWrongKey signs with a fresh key of the same algorithm but names
	// the published key's ID in the header, so the signature does not
	// match.
	SignWrongKey
)

// String returns the mode's Go name.
func (s Signing) String() string {
	switch s {
	case SignNormal:
		return "SignNormal"
	case SignNone:
		return "SignNone"
	case SignHS256PublicKey:
		return "SignHS256PublicKey"
	case SignUnknownKey:
		return "SignUnknownKey"
	case SignWrongKey:
		return "SignWrongKey"
	}
	return "Signing(?)"
}

// Faults make the provider misbehave, for tests of a client's error paths.
// The zero value means no faults. Hooks run outside the provider's lock,
// once per token or answer, and may call the Provider's methods.
type Faults struct {
	// DiscoveryStatus, when non-zero, makes discovery answer this status
	// (with an OAuth JSON error body for error statuses).
	DiscoveryStatus int
	// DiscoveryIssuer, when non-empty, is advertised as the issuer.
	DiscoveryIssuer string
	// DiscoveryEdit, when set, may change the metadata document before it
	// is sent (a provider that lies about its endpoints, say).
	DiscoveryEdit func(doc map[string]any)
	// JWKSStatus, when non-zero, makes the JWKS endpoint answer this status
	// (an outage while keys rotate, say).
	JWKSStatus int

	// TokenStatus, when non-zero, makes the token endpoint answer this
	// status with TokenBody verbatim (Content-Type application/json),
	// without looking at the request beyond counting its grant type.
	TokenStatus int
	TokenBody   string
	// TokenDelay delays token answers; the wait ends early if the request
	// is canceled.
	TokenDelay time.Duration
	// UserinfoDelay delays userinfo answers likewise.
	UserinfoDelay time.Duration

	// IDTokenClaims, if set, edits the claims of each ID token before it is
	// signed; it may add, change or delete keys.
	IDTokenClaims func(claims map[string]any)
	// IDTokenSigning selects how ID tokens are signed.
	IDTokenSigning Signing
	// AccessTokenClaims, if set, edits the claims of each JWT access token
	// (resource and organization tokens) before it is signed.
	AccessTokenClaims func(claims map[string]any)
	// AccessTokenSigning selects how JWT access tokens are signed.
	AccessTokenSigning Signing
	// AccessTokenType is the typ header of JWT access tokens; "" means
	// "at+jwt" (RFC 9068 section 2.1), "-" leaves it out.
	AccessTokenType string
	// UserinfoClaims, if set, edits each userinfo answer.
	UserinfoClaims func(claims map[string]any)

	// AuthorizeError, when non-empty, makes the authorization endpoint
	// redirect to the (valid) redirect_uri with this error,
	// AuthorizeErrorDescription and AuthorizeErrorURI (when non-empty),
	// and the request's state and the issuer, instead of a code.
	AuthorizeError, AuthorizeErrorDescription, AuthorizeErrorURI string

	// RevocationStatus, when non-zero, makes the revocation endpoint answer
	// this status (with an OAuth JSON error body for error statuses)
	// without revoking anything.
	RevocationStatus int

	// IntrospectionStatus, when non-zero, makes the introspection endpoint
	// answer this status (with an OAuth JSON error body) without looking
	// at the token: an outage, for the API that asks.
	IntrospectionStatus int
	// IntrospectionDelay delays introspection answers; the wait ends early
	// if the request is canceled.
	IntrospectionDelay time.Duration
	// IntrospectionClaims, if set, edits each introspection answer for an
	// active token (another aud, an acr, an organization_id, ...).
	IntrospectionClaims func(answer map[string]any)

	// DeviceSlowDown makes the next DeviceSlowDown polls for a pending
	// device code answer slow_down, however far apart they come, each
	// adding 5 s to the code's interval (RFC 8628 section 3.5): a provider
	// that finds the client too quick. Each such poll uses one up.
	DeviceSlowDown int
}

// SetFaults replaces the current faults; SetFaults(Faults{}) clears them.
func (p *Provider) SetFaults(f Faults) {
	p.mu.Lock()
	p.faults = f
	p.mu.Unlock()
}

func (p *Provider) currentFaults() Faults {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults
}

// sleepCtx waits for d or until ctx is done, reporting whether the full
// wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// faultStatus makes an injected status one net/http can write.
func faultStatus(status int) int {
	if status < 100 || status > 999 {
		return 500
	}
	return status
}

// faultStatusError is the OAuth error code for an injected error status.
func faultStatusError(status int) string {
	switch {
	case status == 503:
		return "temporarily_unavailable"
	case status >= 500:
		return "server_error"
	case status == 401:
		return "invalid_client"
	default:
		return "invalid_request"
	}
}
