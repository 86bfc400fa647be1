package logto

import (
	"context"
	"net/http"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource that hands out the session's
// access token for resource ("" for the default token), from the cache or a
// refresh, as GetAccessToken does. ctx is used for every refresh, since
// oauth2.TokenSource has no context of its own; use a context that lives as
// long as the source. Wrap it in oauth2.NewClient to call an API:
//
//	api := oauth2.NewClient(ctx, client.TokenSource(ctx, "https://api.example.com"))
func (c *Client) TokenSource(ctx context.Context, resource string) oauth2.TokenSource {
	return &tokenSource{ctx: ctx, c: c, resource: resource}
}

type tokenSource struct {
	ctx      context.Context
	c        *Client
	resource string
}

// Token implements oauth2.TokenSource.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	at, err := s.c.GetAccessToken(s.ctx, s.resource)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: at.Token, TokenType: "Bearer", Expiry: at.ExpiresAt}, nil
}

// Transport returns an http.RoundTripper that sends each request with the
// session's access token for resource in its Authorization header, getting
// the token with the request's own context. base nil means
// http.DefaultTransport. A token failure is returned as the request's error,
// unwrapped by *url.Error for errors.Is.
func (c *Client) Transport(resource string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{c: c, resource: resource, base: base}
}

type transport struct {
	c        *Client
	resource string
	base     http.RoundTripper
}

// RoundTrip implements http.RoundTripper; it does not modify req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	at, err := t.c.GetAccessToken(req.Context(), t.resource)
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
