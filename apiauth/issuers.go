package apiauth

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/jwks"
)

// issuer is a provider whose tokens the Validator takes, with what it
// fetched of it: its own discovery, key set and introspection endpoint.
type issuer struct {
	name  string           // Endpoint + "/oidc": what a token's iss must be
	route *discovery.Route // nil without ProviderURL

	provider discovery.Cache[*providerInfo] // key set and introspection, once discovered
	keySet   atomic.Pointer[jwks.Set]       // the key set, for cache hits without a lock
}

// newIssuer checks the base URL endpoint and the internal URL providerURL
// ("" for none), settings named prefix+"Endpoint" and
// prefix+"ProviderURL" in the problems, and makes their issuer (nil when
// a problem was found).
func newIssuer(prefix, endpoint, providerURL string, allowHTTP bool) (*issuer, []error) {
	var problems []error
	base, err := httpx.CheckEndpoint(prefix+"Endpoint", endpoint, allowHTTP)
	if err != nil {
		problems = append(problems, err)
	}
	var route *discovery.Route
	if providerURL != "" {
		internal, err := httpx.CheckProviderURL(prefix+"ProviderURL", providerURL, allowHTTP)
		switch {
		case err != nil:
			problems = append(problems, err)
		case base != "":
			if route, err = discovery.NewRoute(base, internal); err != nil {
				problems = append(problems, err)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return &issuer{name: base + "/oidc", route: route}, nil
}

// holds reports whether the issuer's key set, as last fetched, holds the
// key with RFC 7638 thumbprint thumb.
func (iss *issuer) holds(thumb string) bool {
	ks := iss.keySet.Load()
	return ks != nil && ks.Holds(thumb)
}

// issuerNamed returns the issuer whose tokens name it in iss. A token of
// any other issuer is refused, naming what it holds and what was expected
// (for the log: the client is told "wrong issuer" only).
func (v *Validator) issuerNamed(name string) (*issuer, error) {
	for _, iss := range v.issuers {
		if iss.name == name {
			return iss, nil
		}
	}
	if len(v.issuers) == 1 {
		return nil, &tokenError{reason: "wrong issuer", detail: fmt.Sprintf("iss %q, expected %q (Endpoint + /oidc)", name, v.issuers[0].name), setup: true}
	}
	names := make([]string, len(v.issuers))
	for i, iss := range v.issuers {
		names[i] = fmt.Sprintf("%q", iss.name)
	}
	return nil, &tokenError{reason: "wrong issuer", detail: fmt.Sprintf("iss %q, expected one of %s (Endpoint and Issuers, + /oidc)", name, strings.Join(names, ", ")), setup: true}
}
