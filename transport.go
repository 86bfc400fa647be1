package logto

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/internal/bearer"
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
//
// When the API answers 401 (its keys rotated, the user's roles changed,
// the token was revoked), that token is never sent again: a new one is
// refreshed, as RefreshAccessToken does, and the request is sent once more
// with it, when its body can be sent again (none, or
// http.Request.GetBody). An API that refuses every token costs one
// refresh per request; its second 401 is the answer.
//
// An API that answers 401 with a step-up challenge (RFC 9470:
// error="insufficient_user_authentication") is not retried, since a
// refreshed token carries the same sign-in: the request fails with a
// *StepUpRequiredError (AsStepUp finds it). Send the user to a sign-in with
// its Challenge's SignInOptions, and come back.
func (c *Client) Transport(resource string, base http.RoundTripper, origins ...string) http.RoundTripper {
	if len(origins) == 0 {
		origins = []string{resource}
	}
	t := bearer.New(origins...)
	t.Base = base
	t.What = fmt.Sprintf("the access token for %q", resource)
	t.AllowHTTP = c.app.s.allowHTTP
	t.Refused = func(resp *http.Response) error {
		if ch, ok := ParseStepUpChallenge(resp); ok {
			return &StepUpRequiredError{Challenge: ch}
		}
		return nil
	}
	var (
		mu      sync.Mutex // a Client over a per-request Storage is not safe for concurrent use
		refused string     // the last token the API answered 401 to
	)
	t.Token = func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		at, err := c.resourceToken(ctx, resource, refused, false)
		if err != nil {
			return "", err
		}
		return at.Token, nil
	}
	t.Drop = func(tok string) {
		mu.Lock()
		refused = tok
		mu.Unlock()
	}
	return t
}
