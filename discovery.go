package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// maxResponseBytes caps every body read from the provider.
const maxResponseBytes = 1 << 20

// metadata is the part of the provider's discovery document the client uses
// (OpenID Connect Discovery 1.0 section 3), plus what is built from it once.
type metadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserinfoEndpoint      string   `json:"userinfo_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgs    []string `json:"id_token_signing_alg_values_supported"`

	authMethod string
	algs       []string
	verifier   *oidc.IDTokenVerifier
	// logoutVerifier checks back-channel logout tokens: the same keys and
	// checks, but a logout token may have no exp (checkLogoutClaims checks
	// it when present).
	logoutVerifier *oidc.IDTokenVerifier
}

// Client authentication methods (OpenID Connect Core 9).
const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
	authNone  = "none"
)

// discovery fetches provider metadata once and shares it. A failed fetch is
// not remembered: the next caller tries again, and callers that arrive while a
// fetch runs wait for that one instead of starting their own.
type discovery struct {
	mu       sync.Mutex
	meta     *metadata
	inflight *fetch
}

type fetch struct {
	done chan struct{}
	meta *metadata
	err  error
}

// get returns the provider metadata, fetching it when none is cached.
func (a *App) metadata(ctx context.Context) (*metadata, error) {
	d := &a.disc
	d.mu.Lock()
	if m := d.meta; m != nil {
		d.mu.Unlock()
		return m, nil
	}
	f := d.inflight
	if f == nil {
		f = &fetch{done: make(chan struct{})}
		d.inflight = f
		// The fetch runs detached from any one caller, so a caller that
		// gives up does not fail the others; the HTTP client's timeout
		// bounds it.
		go func() {
			f.meta, f.err = a.fetchMetadata(context.WithoutCancel(ctx))
			d.mu.Lock()
			if f.err == nil {
				d.meta = f.meta
			}
			d.inflight = nil
			d.mu.Unlock()
			close(f.done)
		}()
	}
	d.mu.Unlock()
	select {
	case <-f.done:
		return f.meta, f.err
	case <-ctx.Done():
		return nil, wrapErr(ErrDiscovery, "waiting for discovery", ctx.Err())
	}
}

func (a *App) fetchMetadata(ctx context.Context) (*metadata, error) {
	s := a.s
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.discoveryURL, nil)
	if err != nil {
		return nil, wrapErr(ErrDiscovery, "", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return nil, wrapErr(ErrDiscovery, "", errors.Join(ErrProvider, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, wrapErr(ErrDiscovery, "reading metadata", errors.Join(ErrProvider, err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, wrapErr(ErrDiscovery, fmt.Sprintf("%s answered HTTP %d", s.discoveryURL, resp.StatusCode), ErrProvider)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, wrapErr(ErrDiscovery, "metadata is not JSON", errors.Join(ErrProvider, err))
	}
	if err := a.checkMetadata(&m); err != nil {
		return nil, wrapErr(ErrDiscovery, "", err)
	}

	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), s.httpClient), m.JWKSURI)
	m.verifier = oidc.NewVerifier(m.Issuer, keys, &oidc.Config{
		ClientID:             s.appID,
		SupportedSigningAlgs: m.algs,
		// go-oidc compares exp with no leeway; move its clock back by ours.
		Now: func() time.Time { return s.now().Add(-s.leeway) },
	})
	m.logoutVerifier = oidc.NewVerifier(m.Issuer, keys, &oidc.Config{
		ClientID:             s.appID,
		SupportedSigningAlgs: m.algs,
		SkipExpiryCheck:      true,
	})
	return &m, nil
}

// checkMetadata refuses metadata the client cannot safely use, and picks the
// client authentication method and the signing algorithms.
func (a *App) checkMetadata(m *metadata) error {
	s := a.s
	if m.Issuer != s.issuer {
		// OpenID Connect Discovery 4.3: the issuer must be identical to the one
		// the metadata was fetched for, or an attacker's metadata could be
		// substituted.
		return fmt.Errorf("issuer %q is not the expected %q", m.Issuer, s.issuer)
	}
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
	} {
		if e.value == "" {
			return fmt.Errorf("metadata has no %s", e.name)
		}
	}
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"end_session_endpoint", m.EndSessionEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if e.value == "" {
			continue
		}
		u, err := url.Parse(e.value)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("%s %q is not an absolute http(s) URL", e.name, e.value)
		}
	}

	// Never "none", never an HMAC algorithm: the keys come from a public
	// JWKS, and HS* with a public key as secret is a classic forgery.
	for _, alg := range m.IDTokenSigningAlgs {
		if alg == "none" || strings.HasPrefix(alg, "HS") || !supportedAlgs[alg] {
			continue
		}
		m.algs = append(m.algs, alg)
	}
	if len(m.IDTokenSigningAlgs) == 0 {
		m.algs = []string{"RS256"} // the default in Discovery 1.0 section 3
	}
	if len(m.algs) == 0 {
		return fmt.Errorf("no acceptable ID token signing algorithm among %v", m.IDTokenSigningAlgs)
	}

	methods := m.TokenAuthMethods
	if len(methods) == 0 {
		methods = []string{authBasic} // the default in Discovery 1.0 section 3
	}
	switch {
	case s.appSecret == "":
		m.authMethod = authNone
	case slices.Contains(methods, authBasic):
		m.authMethod = authBasic
	case slices.Contains(methods, authPost):
		m.authMethod = authPost
	default:
		return fmt.Errorf("the provider supports none of %s, %s (it offers %v)", authBasic, authPost, methods)
	}
	return nil
}

// supportedAlgs are the asymmetric JWS algorithms go-jose verifies.
var supportedAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"EdDSA": true,
}
