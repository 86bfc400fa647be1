package discovery

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/kind"
)

// Route is how a process reaches a provider at another base URL than the
// public one its metadata, issuer and tokens name: a container network's
// "http://logto:3001" for "https://auth.example.com". The provider found
// at the internal URL is trusted to be the provider of the public one;
// what it says is checked against the public issuer all the same.
type Route struct {
	public   *url.URL
	origin   string // httpx.Origin(public)
	path     string // public's escaped path, no trailing slash
	internal string // the internal base URL, no trailing slash
}

// NewRoute returns the route from the public base URL to the internal
// one; both are base URLs as httpx.CheckEndpoint and
// httpx.CheckProviderURL return them.
func NewRoute(public, internal string) (*Route, error) {
	u, err := url.Parse(public)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("public base URL %q is not an absolute URL", public)
	}
	if iu, err := url.Parse(internal); err != nil || iu.Host == "" {
		return nil, fmt.Errorf("internal base URL %q is not an absolute URL", internal)
	}
	return &Route{
		public:   u,
		origin:   httpx.Origin(u),
		path:     strings.TrimRight(u.EscapedPath(), "/"),
		internal: strings.TrimRight(internal, "/"),
	}, nil
}

// Map returns the URL this process reaches endpoint at: endpoint moved
// under the internal base URL when it lies under the public one (the same
// origin, scheme, host and port, and a path under the public base path),
// else endpoint unchanged: an endpoint of any other host is used as the
// provider names it.
func (r *Route) Map(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || httpx.Origin(u) != r.origin {
		return endpoint
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), r.path)
	if !ok || (rest != "" && rest[0] != '/') {
		return endpoint
	}
	out := r.internal + rest
	if u.RawQuery != "" || u.ForceQuery {
		out += "?" + u.RawQuery
	}
	return out
}

// serverEndpoints are the endpoints of d that this process calls itself,
// which a Route moves to the internal base URL. The authorization and
// end-session endpoints are where browsers go: they stay public.
func (d *Document) serverEndpoints() []*string {
	return []*string{
		&d.TokenEndpoint,
		&d.UserinfoEndpoint,
		&d.JWKSURI,
		&d.RevocationEndpoint,
		&d.IntrospectionEndpoint,
		&d.DeviceAuthorizationEndpoint,
		&d.PushedAuthorizationRequestEndpoint, // this process pushes; the browser gets only request_uri
	}
}

// FetchVia is Fetch through route (nil: Fetch itself): the metadata of
// issuer is read at its internal URL and checked against issuer, the
// public one, exactly as Parse does (the scheme checks included, on the
// URLs as the provider names them); then the endpoints this process calls
// itself are moved under the internal base URL by route.Map. Errors match
// kind.ErrProvider.
func FetchVia(ctx context.Context, client *http.Client, issuer string, route *Route) (*Document, error) {
	at := URL(issuer)
	if route != nil {
		at = route.Map(at)
	}
	body, _, err := httpx.GetJSON(ctx, client, at)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", kind.ErrProvider, err)
	}
	d, err := Parse(body, issuer)
	if err != nil || route == nil {
		return d, err
	}
	for _, e := range d.serverEndpoints() {
		if *e != "" {
			*e = route.Map(*e)
		}
	}
	return d, nil
}
