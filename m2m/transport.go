package m2m

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/bearer"
)

// TokenSource returns an oauth2.TokenSource handing out g's token from the
// Client's cache, for libraries that take one (generated API clients,
// gRPC credentials). ctx is used for every request to the provider, since
// oauth2.TokenSource has no context of its own: use one that lives as
// long as the source. A cached token costs no allocation; the
// *oauth2.Token is shared by every caller until the token is replaced, so
// do not change it.
//
// It decides nothing about where the token is sent. To call an API over
// HTTP, prefer Transport: oauth2.NewClient's transport sends the token to
// whatever host a request or a redirect names.
func (c *Client) TokenSource(ctx context.Context, g Grant) oauth2.TokenSource {
	if g == nil {
		return failingSource{}
	}
	return &tokenSource{ctx: ctx, c: c, g: g, key: g.key()}
}

type tokenSource struct {
	ctx context.Context
	c   *Client
	g   Grant
	key string
}

// Token implements oauth2.TokenSource.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	e, err := s.c.get(s.ctx, s.key, s.g)
	if err != nil {
		return nil, err
	}
	return e.oauth, nil
}

// Transport returns an http.RoundTripper that sends each request with g's
// token, through base (nil: http.DefaultTransport). It is safe for
// concurrent use.
//
// The token goes only to its API: requests to the origin (scheme, host and
// port) of one of g's resources or, when origins are given, of one of those
// (for an organization token, or an API whose resource indicator is not its
// URL). The origin must be https, or http on a loopback host (or anywhere
// with Config.InsecureAllowHTTP). A request to any other origin fails with
// logto.ErrInvalidRequest before anything is sent; a redirect there is
// followed without the token. When the API answers 401, the token is
// dropped from the cache and the request sent once more with a new one
// (when its body can be sent again: none, or http.Request.GetBody).
func (c *Client) Transport(g Grant, base http.RoundTripper, origins ...string) http.RoundTripper {
	if g == nil {
		return bearer.Failing(errNoGrant)
	}
	var what string
	switch g := g.(type) {
	case ClientCredentials:
		origins = defaultOrigins(origins, g.Resources)
		what = describe("the machine-to-machine token", g.Resources, g.OrganizationID)
	case TokenExchange:
		origins = defaultOrigins(origins, g.Resources)
		what = describe("the exchanged token", g.Resources, g.OrganizationID)
	}
	t := bearer.New(origins...)
	if len(origins) == 0 {
		t = bearer.Failing(fmt.Errorf("%s has no origin to go to: name the API's URL in origins", what))
	}
	t.Base = base
	t.What = what
	t.AllowHTTP = c.allowHTTP
	key := g.key()
	t.Token = func(ctx context.Context) (string, error) {
		e, err := c.get(ctx, key, g)
		if err != nil {
			return "", err
		}
		return e.tok.AccessToken, nil
	}
	t.Drop = func(tok string) { c.forget(key, tok) }
	return t
}

type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) {
	return nil, fmt.Errorf("%w: %w", logto.ErrInvalidRequest, errNoGrant)
}

func defaultOrigins(origins, resources []string) []string {
	if len(origins) > 0 {
		return origins
	}
	return resources
}

func describe(what string, resources []string, organizationID string) string {
	switch {
	case len(resources) > 0:
		return fmt.Sprintf("%s for %s", what, strings.Join(resources, ", "))
	case organizationID != "":
		return fmt.Sprintf("%s for organization %q", what, organizationID)
	}
	return what
}
