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
	// introspection asks the introspection endpoint (nil without
	// Config.Introspection, or when the provider offers none:
	// introspectionErr then says why).
	introspection    *tokenendpoint.Client
	introspectionURL string
	introspectionErr error
}

// loadProvider fetches the provider's metadata and makes the key set of
// its jwks_uri, limited to the asymmetric algorithms it advertises, and
// the client of its introspection endpoint. It runs once per Validator
// (through v.provider, a discovery.Cache: one fetch at a time, a failure
// remembered for discovery.Cooldown).
func (v *Validator) loadProvider(ctx context.Context) (*providerInfo, error) {
	doc, err := discovery.Fetch(ctx, v.client, v.issuer)
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
	v.keySet.Store(ks)
	info := &providerInfo{keys: ks}
	if v.introspection != nil {
		info.introspection, info.introspectionURL, info.introspectionErr = v.introspection.client(doc, v.client, v.now)
	}
	return info, nil
}

// verify checks the signature of jws with the provider's keys and returns
// the key that made it. Errors are ErrProvider when the keys cannot be had,
// a tokenError otherwise.
func (v *Validator) verify(ctx context.Context, jws *jose.JSONWebSignature) (*jwks.Key, error) {
	info, err := v.provider.Get(ctx)
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
