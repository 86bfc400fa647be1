package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// PARMode says when Client.SignIn uses a pushed authorization request
// (OAuth 2.0 Pushed Authorization Requests, RFC 9126): instead of putting
// the authorization request in the URL it sends the browser to, SignIn
// posts it to the provider's pushed_authorization_request_endpoint,
// authenticated as the app (client_id alone for a public client), and
// sends the browser with only client_id and the request_uri it got back.
//
// The request's parameters (redirect URI, scopes, resources, state, nonce,
// PKCE challenge, Logto's extras, SignInOptions.ExtraParams) then never
// pass through the browser, where an extension, a proxy log or the history
// could read them and a tampered link could change them, and a long list of
// resources cannot outgrow a URL. The provider checks the request before
// the user sees a page, and the request_uri is good once, for a short
// time (60 seconds at Logto). The callback is the same either way.
//
// Logto offers PAR at <Endpoint>/oidc/request. Whatever the mode, SignIn
// pushes when the provider's metadata says
// require_pushed_authorization_requests.
type PARMode int

const (
	// PARWhenRequired, the zero value, pushes only when the provider's
	// metadata says require_pushed_authorization_requests: otherwise the
	// parameters travel in the URL.
	PARWhenRequired PARMode = iota
	// PARIfOffered pushes whenever the provider advertises a
	// pushed_authorization_request_endpoint, and puts the parameters in
	// the URL when it does not.
	PARIfOffered
	// PARRequired always pushes: against a provider that advertises no
	// pushed_authorization_request_endpoint, SignIn fails with ErrProvider
	// rather than let the parameters travel in the URL.
	PARRequired
)

func (mode PARMode) check() error {
	if mode < PARWhenRequired || mode > PARRequired {
		return fmt.Errorf("%d is not one of PARWhenRequired, PARIfOffered, PARRequired", int(mode))
	}
	return nil
}

// push reports whether a sign-in with the provider of d pushes its
// authorization request. It fails, with ErrProvider, when a push is needed
// and d has no PAR endpoint.
func (mode PARMode) push(d *discovery.Document) (bool, error) {
	offered := d.PushedAuthorizationRequestEndpoint != ""
	switch {
	case d.RequirePushedAuthorizationRequests && !offered:
		return false, wrapErr(ErrProvider, "the provider requires pushed authorization requests (require_pushed_authorization_requests) but advertises no pushed_authorization_request_endpoint", nil)
	case mode == PARRequired && !offered:
		return false, wrapErr(ErrProvider, "Config.PushedAuthorization is PARRequired but the provider advertises no pushed_authorization_request_endpoint (RFC 9126)", nil)
	}
	return d.RequirePushedAuthorizationRequests || (offered && mode != PARWhenRequired), nil
}

// authorizationURL returns where to send the browser for the
// authorization request params: the authorization endpoint with params in
// its query or, when push, with only client_id and the request_uri the
// provider answered for params (RFC 9126 section 4). Parameters the
// endpoint's URL carries itself stay, but never instead of the client's own.
func (a *App) authorizationURL(ctx context.Context, m *metadata, params url.Values, push bool) (string, error) {
	u, err := url.Parse(m.AuthorizationEndpoint)
	if err != nil {
		return "", wrapErr(ErrDiscovery, "authorization_endpoint", err)
	}
	if push {
		pushed, err := a.pushAuthorization(ctx, m, params)
		if err != nil {
			return "", err
		}
		params = url.Values{"client_id": {a.s.appID}, "request_uri": {pushed.RequestURI}}
	}
	q := u.Query()
	for k, vs := range params {
		if slices.Contains(reservedParams, k) {
			q[k] = vs
		} else {
			q[k] = append(q[k], vs...)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pushedAuthorization is the provider's answer to a pushed authorization
// request (RFC 9126 section 2.2).
type pushedAuthorization struct {
	// RequestURI stands for the pushed request at the authorization
	// endpoint, once.
	RequestURI string
	// ExpiresIn is how many seconds RequestURI is good for: positive.
	ExpiresIn int64
}

// pushAuthorization posts the authorization request params to the
// provider's PAR endpoint with the app's client authentication (RFC 9126
// section 2.1). Errors: an *OAuthError (Endpoint "pushed authorization")
// when the provider refuses, else ErrProvider.
func (a *App) pushAuthorization(ctx context.Context, m *metadata, params url.Values) (*pushedAuthorization, error) {
	body, status, err := m.tokens.PostForm(ctx, m.PushedAuthorizationRequestEndpoint, params)
	if err != nil {
		return nil, err
	}
	if status != http.StatusCreated {
		return nil, providerErr(tokenendpoint.ErrorFrom("pushed authorization", status, body))
	}
	return parsePushedAuthorization(body)
}

// parsePushedAuthorization reads a successful PAR answer strictly: a
// request_uri that is an absolute URI, and a positive expires_in.
func parsePushedAuthorization(body []byte) (*pushedAuthorization, error) {
	var a struct {
		RequestURI string                  `json:"request_uri"`
		ExpiresIn  tokenendpoint.ExpiresIn `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, wrapErr(ErrProvider, "pushed authorization answer", err)
	}
	switch {
	case a.RequestURI == "":
		return nil, wrapErr(ErrProvider, "the pushed authorization answer has no request_uri", nil)
	case !isAbsoluteURI(a.RequestURI):
		return nil, wrapErr(ErrProvider, fmt.Sprintf("the pushed authorization answer's request_uri %q is not an absolute URI", a.RequestURI), nil)
	case a.ExpiresIn <= 0:
		return nil, wrapErr(ErrProvider, "the pushed authorization answer has no positive expires_in", nil)
	}
	return &pushedAuthorization{RequestURI: a.RequestURI, ExpiresIn: int64(a.ExpiresIn)}, nil
}

// isAbsoluteURI reports whether s is an absolute URI (RFC 3986 section
// 4.3): printable ASCII without spaces, with a scheme.
func isAbsoluteURI(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}
