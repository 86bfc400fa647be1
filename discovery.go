package logto

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/jwks"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// metadata is the provider's discovery document (OpenID Connect Discovery
// 1.0 section 3), checked, with what the App builds from it once: the key
// set, the ID-token and logout-token verifiers and the token-endpoint
// client.
type metadata struct {
	*discovery.Document

	algs   []string
	keys   *jwks.Set
	tokens *tokenendpoint.Client
	// verifier checks ID tokens; logoutVerifier back-channel logout tokens:
	// the same keys and checks, but a logout token may have no exp
	// (checkLogoutClaims checks it when present).
	verifier       *oidc.IDTokenVerifier
	logoutVerifier *oidc.IDTokenVerifier
}

// metadata returns the provider metadata, fetching it on first use. One
// fetch serves every concurrent caller; after a failure, callers get that
// failure for discovery.Cooldown before the next fetch.
func (a *App) metadata(ctx context.Context) (*metadata, error) {
	m, err := a.disc.Get(ctx)
	if err != nil {
		return nil, wrapErr(ErrDiscovery, "", err)
	}
	return m, nil
}

func (a *App) loadMetadata(ctx context.Context) (*metadata, error) {
	s := a.s
	d, err := discovery.FetchVia(ctx, s.httpClient, s.issuer, s.route)
	if err != nil {
		return nil, err
	}
	m := &metadata{Document: d}
	if err := a.checkMetadata(m); err != nil {
		return nil, errors.Join(ErrProvider, err)
	}
	m.keys = jwks.New(d.JWKSURI, s.httpClient, s.now, m.algs)
	keys := recordingKeySet{m.keys}
	m.verifier = oidc.NewVerifier(d.Issuer, keys, &oidc.Config{
		ClientID:             s.appID,
		SupportedSigningAlgs: m.algs,
		// go-oidc compares exp with no leeway; move its clock back by ours.
		Now: func() time.Time { return s.now().Add(-s.leeway) },
	})
	m.logoutVerifier = oidc.NewVerifier(d.Issuer, keys, &oidc.Config{
		ClientID:             s.appID,
		SupportedSigningAlgs: m.algs,
		SkipExpiryCheck:      true,
	})
	return m, nil
}

// checkMetadata refuses metadata the client cannot use, and picks the
// client authentication method and the signing algorithms. discovery.Parse
// has checked the issuer and the endpoints' form and schemes.
func (a *App) checkMetadata(m *metadata) error {
	s := a.s
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
	} {
		if e.value == "" {
			return fmt.Errorf("metadata has no %s", e.name)
		}
	}
	// Never "none", never an HMAC algorithm: the keys come from a public
	// JWKS, and HS* with a public key as secret is a classic forgery.
	for _, alg := range m.IDTokenSigningAlgs {
		if jwks.IsAsymmetric(alg) {
			m.algs = append(m.algs, alg)
		}
	}
	if len(m.IDTokenSigningAlgs) == 0 {
		m.algs = []string{oidc.RS256} // the default in Discovery 1.0 section 3
	}
	if len(m.algs) == 0 {
		return fmt.Errorf("no acceptable ID token signing algorithm among %v", m.IDTokenSigningAlgs)
	}
	method, err := tokenendpoint.PickAuthMethod(m.TokenEndpointAuthMethods, s.appSecret != "")
	if err != nil {
		return err
	}
	m.tokens = &tokenendpoint.Client{
		HTTP:         s.httpClient,
		ClientID:     s.appID,
		ClientSecret: s.appSecret,
		OtherSecrets: s.oldSecrets,
		AuthMethod:   method,
		Now:          s.now,
	}
	return nil
}

// recordingKeySet is the App's key set as go-oidc sees it. go-oidc formats
// a key set's error with %v, which loses its kind; this one also leaves the
// error where verify can read it, so that keys that cannot be had (the
// provider's fault) are never taken for a bad token (the attacker's).
type recordingKeySet struct{ set *jwks.Set }

type keyErrKey struct{}

func (k recordingKeySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	out, err := k.set.VerifySignature(ctx, raw)
	if err != nil {
		if rec, ok := ctx.Value(keyErrKey{}).(*error); ok {
			*rec = err
		}
	}
	return out, err
}

// verify runs an oidc verifier and classifies its failure: the key set's
// own error when the signature check failed (ErrProvider when the keys
// could not be had), else ErrInvalidToken.
func verify(ctx context.Context, v *oidc.IDTokenVerifier, raw, what string) (*oidc.IDToken, error) {
	var keyErr error
	tok, err := v.Verify(context.WithValue(ctx, keyErrKey{}, &keyErr), raw)
	switch {
	case err == nil:
		return tok, nil
	case keyErr != nil && errors.Is(keyErr, ErrProvider):
		return nil, wrapErr(ErrProvider, what+": the provider's keys cannot be had", keyErr)
	case keyErr != nil:
		return nil, wrapErr(ErrInvalidToken, what, keyErr)
	default:
		return nil, wrapErr(ErrInvalidToken, what, err)
	}
}
