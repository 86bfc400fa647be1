package apiauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/jwks"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// providerInfo is what the Validator takes from the provider's metadata.
type providerInfo struct {
	keys *jwks.Set
	// introspection asks the introspection endpoint (nil but for the
	// issuer with Introspection, or when the provider offers none:
	// introspectionErr then says why).
	introspection    *tokenendpoint.Client
	introspectionURL string
	introspectionErr error
}

// loadProvider fetches the metadata of iss (at its internal URL, with a
// ProviderURL) and makes the key set of its jwks_uri, limited to the
// asymmetric algorithms it advertises, and, for the issuer that
// introspects, the client of its introspection endpoint. It runs once per
// issuer (through iss.provider, a discovery.Cache: one fetch at a time, a
// failure remembered for discovery.Cooldown).
func (v *Validator) loadProvider(ctx context.Context, iss *issuer) (*providerInfo, error) {
	doc, err := discovery.FetchVia(ctx, v.client, iss.name, iss.route)
	if err != nil {
		return nil, err
	}
	var algs []string
	for _, a := range append(append([]string(nil), doc.IDTokenSigningAlgs...), doc.TokenEndpointAuthSigningAlgs...) {
		if jwks.IsAsymmetric(a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("%w: discovery advertises no asymmetric signing algorithm", ErrProvider)
	}
	ks := jwks.New(doc.JWKSURI, v.client, v.now, algs)
	iss.keySet.Store(ks)
	info := &providerInfo{keys: ks}
	if in := v.introspection; in != nil && in.iss == iss {
		info.introspection, info.introspectionURL, info.introspectionErr = in.client(doc, v.client, v.now)
	}
	return info, nil
}

// verify checks the signature of jws with the keys of iss, and no other
// issuer's, and returns the key that made it. Errors are ErrProvider when
// the keys cannot be had, a tokenError otherwise.
func (v *Validator) verify(ctx context.Context, iss *issuer, jws *jose.JSONWebSignature) (*jwks.Key, error) {
	info, err := iss.provider.Get(ctx)
	if err != nil {
		return nil, err
	}
	v.verifies.Add(1)
	_, key, err := info.keys.Verify(ctx, jws)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, jwks.ErrUnknownKey):
		return nil, invalid("unknown signing key")
	case errors.Is(err, jwks.ErrBadSignature):
		return nil, invalid("bad signature")
	case errors.Is(err, jwks.ErrAlgorithm):
		return nil, invalid("algorithm not advertised by the provider")
	case errors.Is(err, ErrInvalidToken):
		return nil, invalidErr("malformed token", err)
	}
	return nil, err
}
