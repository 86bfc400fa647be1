package logto

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/internal/httpx"
)

// TokenSource returns an oauth2.TokenSource that hands out the session's
// access token for resource ("" for the default token), from the cache or a
// refresh, as GetAccessToken does. It is safe for concurrent use, as
// oauth2.TokenSource promises, even over a Storage that is not. ctx is used
// for every refresh, since oauth2.TokenSource has no context of its own;
// use a context that lives as long as the source.
//
// It is for libraries that take an oauth2.TokenSource (gRPC credentials,
// generated API clients), which decide where the token is sent. To call an
// API over HTTP, prefer Transport: oauth2.NewClient's transport sends the
// token to whatever host a request or a redirect names.
func (c *Client) TokenSource(ctx context.Context, resource string) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, c: c, resource: resource}
}

type tokenSource struct {
	ctx      context.Context
	c        *Client
	resource string
	mu       sync.Mutex // a Client over a per-request Storage is not safe for concurrent use
}

// Token implements oauth2.TokenSource.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	at, err := s.c.GetAccessToken(s.ctx, s.resource)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: at.Token, TokenType: "Bearer", Expiry: at.ExpiresAt}, nil
}

// Transport returns an http.RoundTripper that sends each request with the
// session's access token for resource in its Authorization header, getting
// the token with the request's own context. base nil means
// http.DefaultTransport. It is safe for concurrent use.
//
// The token goes only to its API: requests to the origin (scheme, host and
// port) of resource, or, when origins are given, of one of those (for an
// API whose resource indicator is not its URL). The origin must be https,
// or http on a loopback host (or anywhere with Config.InsecureAllowHTTP).
// A request to any other origin fails with ErrInvalidRequest before
// anything is sent; a redirect to another origin is followed without the
// token. A token failure is returned as the request's error, unwrapped by
// *url.Error for errors.Is.
func (c *Client) Transport(resource string, base http.RoundTripper, origins ...string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	t := &transport{c: c, resource: resource, base: base}
	if len(origins) == 0 {
		origins = []string{resource}
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" {
			t.bad = fmt.Errorf("origin %q is not an absolute URL", o)
			continue
		}
		t.origins = append(t.origins, origin(u))
	}
	return t
}

type transport struct {
	c        *Client
	resource string
	base     http.RoundTripper
	origins  []string
	bad      error // an origin that could not be read: every request fails
	mu       sync.Mutex
}

// origin is a URL's scheme://host:port, with the default port explicit.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + hostPort(u)
}

// RoundTrip implements http.RoundTripper; it does not modify req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.check(req); err != nil {
		if req.Response != nil {
			// A redirect away from the API: follow it, without the token.
			r := req.Clone(req.Context())
			r.Header.Del("Authorization")
			return t.base.RoundTrip(r)
		}
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	t.mu.Lock()
	at, err := t.c.GetAccessToken(req.Context(), t.resource)
	t.mu.Unlock()
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+at.Token)
	return t.base.RoundTrip(r)
}

// check reports why req may not carry the token, or nil.
func (t *transport) check(req *http.Request) error {
	if t.bad != nil {
		return wrapErr(ErrInvalidRequest, "transport", t.bad)
	}
	o := origin(req.URL)
	allowed := false
	for _, a := range t.origins {
		allowed = allowed || a == o
	}
	if !allowed {
		return wrapErr(ErrInvalidRequest, fmt.Sprintf("the access token for %q goes only to %s, not to %s", t.resource, strings.Join(t.origins, ", "), o), nil)
	}
	switch {
	case strings.EqualFold(req.URL.Scheme, "https"):
	case strings.EqualFold(req.URL.Scheme, "http") && (httpx.IsLoopbackHost(req.URL.Hostname()) || t.c.app.s.allowHTTP):
	default:
		return wrapErr(ErrInvalidRequest, fmt.Sprintf("the access token would travel in clear to %s: use https (http only on loopback, or with InsecureAllowHTTP)", o), nil)
	}
	return nil
}
