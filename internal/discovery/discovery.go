// Package discovery fetches and checks a provider's metadata (OpenID Connect
// Discovery 1.0, RFC 8414) for every package of the SDK: one fetch shared by
// concurrent callers, an issuer that must be the expected one, endpoints
// that must not downgrade to http, and a cooldown after a failure so that a
// provider outage does not turn every request into a fetch.
package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/seed098cf14d/logto/internal/kind"
)

// Cooldown is how long after a failed fetch callers get that failure again
// without a new fetch.
const Cooldown = 10 * time.Second

// Document is the part of the provider metadata the SDK reads.
type Document struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	TokenEndpointAuthMethods          []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods  []string `json:"introspection_endpoint_auth_methods_supported"`
	IDTokenSigningAlgs                []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	AuthorizationResponseISSParameter bool     `json:"authorization_response_iss_parameter_supported"`

	// PushedAuthorizationRequestEndpoint is where a client pushes its
	// authorization request (RFC 9126 section 5); empty when the provider
	// offers none.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint"`
	// RequirePushedAuthorizationRequests says the provider takes
	// authorization requests only by reference to a pushed one (RFC 9126
	// section 5).
	RequirePushedAuthorizationRequests bool `json:"require_pushed_authorization_requests"`
}

// URL is where the metadata of issuer lives (OpenID Connect Discovery 1.0
// section 4).
func URL(issuer string) string { return issuer + "/.well-known/openid-configuration" }

// Parse decodes a metadata document and checks it against the issuer it was
// fetched for. Errors match kind.ErrProvider: the provider's answer is at fault.
//
// It refuses a document whose issuer is not exactly issuer (section 4.3:
// otherwise an attacker's metadata could stand in), one without jwks_uri,
// an endpoint that is not an absolute http(s) URL, and any http endpoint
// unless the issuer itself is http: a client secret or a token must never
// travel in clear because one endpoint of an https provider says http.
func Parse(body []byte, issuer string) (*Document, error) {
	var d Document
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: metadata is not a JSON object: %w", kind.ErrProvider, err)
	}
	if d.Issuer != issuer {
		// Tokens will name the provider as it names itself: when it is
		// the right provider under another URL (a custom domain), the fix
		// is the Endpoint that matches.
		hint := ""
		if base, ok := strings.CutSuffix(d.Issuer, "/oidc"); ok && base != "" {
			hint = fmt.Sprintf("; if that is the provider meant, write Endpoint %q", base)
		}
		return nil, fmt.Errorf("%w: metadata names issuer %q, expected %q (Endpoint + /oidc)%s", kind.ErrProvider, d.Issuer, issuer, hint)
	}
	if d.JWKSURI == "" {
		return nil, fmt.Errorf("%w: metadata has no jwks_uri", kind.ErrProvider)
	}
	iu, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer %q is not a URL", kind.ErrProvider, issuer)
	}
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", d.AuthorizationEndpoint},
		{"token_endpoint", d.TokenEndpoint},
		{"userinfo_endpoint", d.UserinfoEndpoint},
		{"jwks_uri", d.JWKSURI},
		{"end_session_endpoint", d.EndSessionEndpoint},
		{"revocation_endpoint", d.RevocationEndpoint},
		{"introspection_endpoint", d.IntrospectionEndpoint},
		{"device_authorization_endpoint", d.DeviceAuthorizationEndpoint},
		{"pushed_authorization_request_endpoint", d.PushedAuthorizationRequestEndpoint},
	} {
		if e.value == "" {
			continue
		}
		u, err := url.Parse(e.value)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%w: %s %q is not an absolute http(s) URL", kind.ErrProvider, e.name, e.value)
		}
		if u.Scheme == "http" && iu.Scheme != "http" {
			return nil, fmt.Errorf("%w: %s %q is http while the issuer is https: refused, secrets and tokens would travel in clear", kind.ErrProvider, e.name, e.value)
		}
	}
	return &d, nil
}

// Fetch GETs and parses the metadata of issuer. Errors match kind.ErrProvider.
func Fetch(ctx context.Context, client *http.Client, issuer string) (*Document, error) {
	return FetchVia(ctx, client, issuer, nil)
}

// Cache holds the outcome of a metadata fetch and what its user builds
// from it (verifiers, key sets): T. The first caller starts the fetch and
// build; concurrent callers wait for that one. A success is kept for the
// Cache's life; a failure is handed to callers for Cooldown, after which
// the next caller tries again.
type Cache[T any] struct {
	// Load fetches and builds. It runs detached from any one caller's
	// cancellation (its context keeps the caller's values), so a caller
	// that gives up does not fail the others; the HTTP client's timeout
	// bounds it.
	Load func(ctx context.Context) (T, error)
	// Now replaces time.Now, for tests.
	Now func() time.Time

	mu       sync.Mutex
	val      T
	ok       bool
	lastErr  error
	failedAt time.Time
	inflight *flight[T]
}

type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// Get returns the cached value, loading it when there is none. Errors from
// waiting are ctx's, wrapped in kind.ErrProvider.
func (c *Cache[T]) Get(ctx context.Context) (T, error) {
	c.mu.Lock()
	if c.ok {
		v := c.val
		c.mu.Unlock()
		return v, nil
	}
	now := c.now()
	if c.lastErr != nil && now.Sub(c.failedAt) < Cooldown && now.Sub(c.failedAt) >= 0 {
		err := c.lastErr
		c.mu.Unlock()
		var zero T
		return zero, err
	}
	f := c.inflight
	if f == nil {
		f = &flight[T]{done: make(chan struct{})}
		c.inflight = f
		go func() {
			f.val, f.err = c.Load(context.WithoutCancel(ctx))
			c.mu.Lock()
			if f.err == nil {
				c.val, c.ok, c.lastErr = f.val, true, nil
			} else {
				c.lastErr, c.failedAt = f.err, c.now()
			}
			c.inflight = nil
			c.mu.Unlock()
			close(f.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%w: waiting for the provider's metadata: %w", kind.ErrProvider, ctx.Err())
	}
}

func (c *Cache[T]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
