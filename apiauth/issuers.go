package apiauth

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/jwks"
)

// IssuerConfig is one more Logto tenant whose access tokens a Validator
// takes, beside Config.Endpoint's: see Config.Issuers.
type IssuerConfig struct {
	// Endpoint is the tenant's base URL, as Config.Endpoint: the issuer is
	// Endpoint + "/oidc". Required.
	Endpoint string
	// ProviderURL is the URL this process reaches the tenant at, when that
	// is not Endpoint, as Config.ProviderURL, with the same checks and the
	// same trust: the provider there is taken for the provider of
	// Endpoint. Optional.
	ProviderURL string
	// Introspection lets this tenant's opaque tokens in, as
	// Config.Introspection. At most one issuer of a Validator may have it.
	Introspection Introspection
}

// newIssuers checks the issuers of cfg, Endpoint's then those of Issuers,
// and makes them in that order, with the introspector of the one issuer
// that has Introspection (nil for none).
func newIssuers(cfg Config) ([]*issuer, *introspector, []error) {
	all := append([]IssuerConfig{{Endpoint: cfg.Endpoint, ProviderURL: cfg.ProviderURL, Introspection: cfg.Introspection}}, cfg.Issuers...)
	var (
		issuers       []*issuer
		problems      []error
		introspecting []string // the settings of the issuers with Introspection
		in            *introspector
		seen          = make(map[string]string) // issuer -> the setting naming it
	)
	for i, ic := range all {
		prefix := ""
		if i > 0 {
			prefix = fmt.Sprintf("Issuers[%d].", i-1)
		}
		problems = append(problems, ic.Introspection.check(prefix)...)
		iss, errs := newIssuer(prefix, ic.Endpoint, ic.ProviderURL, cfg.InsecureAllowHTTP)
		problems = append(problems, errs...)
		if iss == nil {
			continue
		}
		if first, ok := seen[iss.name]; ok {
			problems = append(problems, fmt.Errorf("%sEndpoint %q names the issuer %s names: name each issuer once", prefix, ic.Endpoint, first))
			continue
		}
		seen[iss.name] = prefix + "Endpoint"
		issuers = append(issuers, iss)
		if ic.Introspection.ClientID != "" {
			introspecting = append(introspecting, prefix+"Introspection")
			in = newIntrospector(ic.Introspection, iss)
		}
	}
	if len(introspecting) > 1 {
		problems = append(problems, fmt.Errorf("%s are all set: at most one issuer may introspect opaque tokens, since they name no issuer"+
			" (asking each issuer in turn would hand one tenant's tokens to the others)", strings.Join(introspecting, " and ")))
	}
	return issuers, in, problems
}

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
