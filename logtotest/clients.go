package logtotest

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Grant types beyond authorization_code, refresh_token and
// client_credentials, as sent in grant_type and counted by
// [Provider.Grants].
const (
	// GrantTypeTokenExchange is token exchange's (RFC 8693 section 2.1).
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// GrantTypeDeviceCode is the device authorization grant's polls' (RFC
	// 8628 section 3.4).
	GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

// clientKind tells the three registered applications apart.
type clientKind int

const (
	webClient    clientKind = iota // Options.ClientID: signs users in
	m2mClient                      // Options.M2MClientID: client_credentials
	nativeClient                   // Options.NativeClientID: public, loopback, device flow
)

// client is a registered application. Read-only after New.
type client struct {
	id, secret string
	kind       clientKind
	// authMethods are how it may authenticate at the token endpoint.
	authMethods []string
	// exchange: it may use token exchange.
	exchange bool
}

// newClients builds the registered applications from normalized options.
func newClients(o *Options) []*client {
	cs := []*client{
		{id: o.ClientID, secret: o.ClientSecret, kind: webClient, authMethods: o.TokenEndpointAuthMethods},
		{id: o.M2MClientID, secret: o.M2MClientSecret, kind: m2mClient, authMethods: secretMethods(o.TokenEndpointAuthMethods)},
		{id: o.NativeClientID, kind: nativeClient, authMethods: []string{"none"}},
	}
	for _, c := range cs {
		c.exchange = slices.Contains(o.TokenExchangeClients, c.id)
	}
	return cs
}

// secretMethods are the methods of methods that use a client secret.
func secretMethods(methods []string) []string {
	var out []string
	for _, m := range methods {
		if m != "none" {
			out = append(out, m)
		}
	}
	return out
}

// normalizeClients applies the defaults of the M2M and native
// applications and of token exchange, and reports every inconsistency.
func (o *Options) normalizeClients() error {
	if o.M2MClientID == "" {
		o.M2MClientID = DefaultM2MClientID
	}
	if o.M2MClientSecret == "" {
		o.M2MClientSecret = DefaultM2MClientSecret
	}
	if o.NativeClientID == "" {
		o.NativeClientID = DefaultNativeClientID
	}
	if o.M2MOrganizations == nil {
		o.M2MOrganizations = []string{DefaultOrganization}
	}
	o.M2MOrganizations = append([]string{}, o.M2MOrganizations...)
	if o.M2MResourceScopes == nil {
		o.M2MResourceScopes = map[string][]string{}
		for _, r := range o.Resources {
			if s, ok := o.ResourceScopes[r]; ok {
				o.M2MResourceScopes[r] = s
			} else {
				o.M2MResourceScopes[r] = []string{DefaultResourceScope}
			}
		}
	}
	o.M2MResourceScopes = cloneScopeMap(o.M2MResourceScopes)
	if o.TokenExchangeClients == nil {
		o.TokenExchangeClients = []string{o.ClientID, o.M2MClientID}
	}
	o.TokenExchangeClients = append([]string{}, o.TokenExchangeClients...)
	if o.DeviceCodeTTL <= 0 {
		o.DeviceCodeTTL = DefaultDeviceCodeTTL
	}
	if o.DevicePollInterval <= 0 {
		o.DevicePollInterval = DefaultDevicePollInterval
	}

	var errs []error
	ids := []string{o.ClientID, o.M2MClientID, o.NativeClientID}
	if ids[0] == ids[1] || ids[0] == ids[2] || ids[1] == ids[2] {
		errs = append(errs, fmt.Errorf("logtotest: ClientID %q, M2MClientID %q and NativeClientID %q must differ", ids[0], ids[1], ids[2]))
	}
	for r := range o.M2MResourceScopes {
		if !slices.Contains(o.Resources, r) {
			errs = append(errs, fmt.Errorf("logtotest: M2MResourceScopes names %q, which is not one of Resources", r))
		}
	}
	for _, id := range o.TokenExchangeClients {
		if !slices.Contains(ids, id) {
			errs = append(errs, fmt.Errorf("logtotest: TokenExchangeClients names %q, which is no registered client", id))
		}
	}
	return errors.Join(errs...)
}

// cloneScopeMap deep-copies a map of scopes, nil giving an empty map.
func cloneScopeMap(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = append([]string{}, v...)
	}
	return out
}

// M2MClientID returns the machine-to-machine application's client ID.
func (p *Provider) M2MClientID() string { return p.opts.M2MClientID }

// M2MClientSecret returns the machine-to-machine application's secret:
// Options.M2MClientSecret, or the one [Provider.SetClientSecret] set.
func (p *Provider) M2MClientSecret() string { return p.secretOf(p.clientByID(p.opts.M2MClientID)) }

// SetClientSecret replaces the secret of the web or the machine-to-machine
// application, as rotating it at the provider does: from then on only the
// new secret authenticates the application; tokens it already has stay
// good. The native application has no secret, and an empty secret is
// refused.
func (p *Provider) SetClientSecret(clientID, secret string) error {
	c := p.clientByID(clientID)
	switch {
	case c == nil:
		return fmt.Errorf("logtotest: no application %q", clientID)
	case c.kind == nativeClient:
		return fmt.Errorf("logtotest: the native application %q is a public client, with no secret", clientID)
	case secret == "":
		return errors.New("logtotest: an empty client secret")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.secrets == nil {
		p.secrets = map[string]string{}
	}
	p.secrets[clientID] = secret
	return nil
}

// secretOf returns c's current secret.
func (p *Provider) secretOf(c *client) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.secrets[c.id]; ok {
		return s
	}
	return c.secret
}

// NativeClientID returns the native application's client ID. It has no
// secret.
func (p *Provider) NativeClientID() string { return p.opts.NativeClientID }

// clientByID returns the registered application with that ID, or nil.
func (p *Provider) clientByID(id string) *client {
	for _, c := range p.clients {
		if c.id == id {
			return c
		}
	}
	return nil
}

// signsUsersIn reports whether the client may use the authorization
// endpoint (and so end-session and id_token_hint).
func (c *client) signsUsersIn() bool { return c.kind != m2mClient }

// redirectAllowed reports whether uri is one of the client's redirect URIs.
func (c *client) redirectAllowed(uri string, o *Options) bool {
	switch c.kind {
	case webClient:
		return uriAllowed(uri, o.RedirectURIs)
	case nativeClient:
		return loopbackCallback(uri)
	}
	return false // the M2M application has none
}

// loopbackCallback reports whether uri is http://127.0.0.1:<port>/callback
// or http://[::1]:<port>/callback, any port or none, with nothing else: the
// native application's redirect URIs, matched whatever the port as RFC 8252
// section 7.3 wants. "localhost" is refused, as RFC 8252 section 8.3
// advises: a name may resolve elsewhere, or to the other IP version.
func loopbackCallback(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || u.RawFragment != "" || u.Opaque != "" || u.Path != "/callback" || u.RawPath != "" {
		return false
	}
	if host := u.Hostname(); host != "127.0.0.1" && host != "::1" {
		return false
	}
	// Hostname accepts "[::1" and "127.0.0.1:" forms url.Parse lets by;
	// rebuild the host to be sure it is exactly what was meant.
	want := u.Hostname()
	if want == "::1" {
		want = "[::1]"
	}
	if port := u.Port(); port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return false
		}
		want += ":" + port
	}
	return u.Host == want
}

// grantAllowed checks that the client may use a grant type the token
// endpoint supports.
func (c *client) grantAllowed(grantType string) *oauthError {
	var ok bool
	switch grantType {
	case "authorization_code", "refresh_token":
		ok = c.kind != m2mClient
	case "client_credentials":
		ok = c.kind == m2mClient
	case GrantTypeDeviceCode:
		ok = c.kind == nativeClient
	case GrantTypeTokenExchange:
		if !c.exchange {
			return errUnauthorizedClient("token exchange is not allowed for this application")
		}
		ok = true
	}
	if !ok {
		return errUnauthorizedClient("requested grant type is not allowed for this client")
	}
	return nil
}

// authenticateClient checks the client's credentials by the methods the
// client may use and returns it.
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (*client, *oauthError) {
	bodyID := form.Get("client_id")
	_, hasBodySecret := form["client_secret"]
	authz := r.Header.Get("Authorization")
	if authz != "" {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, errInvalidClient("malformed or unsupported Authorization header")
		}
		if hasBodySecret {
			return nil, errInvalidRequest("client authentication must only be provided using one mechanism")
		}
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, errInvalidClient("client_id and client_secret in the authorization header are not properly encoded")
		}
		if bodyID != "" && bodyID != id {
			return nil, errInvalidRequest("mismatch in body and authorization client ids")
		}
		return p.checkClient(id, "client_secret_basic", secret)
	}
	if hasBodySecret {
		return p.checkClient(bodyID, "client_secret_post", form.Get("client_secret"))
	}
	if bodyID == "" {
		return nil, errInvalidClient("no client authentication mechanism provided")
	}
	return p.checkClient(bodyID, "none", "")
}

// checkClient authenticates the client id by method, with secret unless the
// method is "none".
func (p *Provider) checkClient(id, method, secret string) (*client, *oauthError) {
	c := p.clientByID(id)
	switch {
	case c == nil:
		return nil, errInvalidClient("client authentication failed: unknown client")
	case !slices.Contains(c.authMethods, method) && method == "none":
		return nil, errInvalidClient("client authentication failed: the client must authenticate")
	case !slices.Contains(c.authMethods, method):
		return nil, errInvalidClient(method + " is not an allowed client authentication method for this client")
	case method == "none":
		return c, nil
	}
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(p.secretOf(c)))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return nil, errInvalidClient("client authentication failed: invalid secret")
	}
	return c, nil
}

// writeClientError writes a client authentication error, with the
// WWW-Authenticate challenge RFC 6749 asks for after HTTP Basic.
func writeClientError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if e.status == http.StatusUnauthorized && r.Header.Get("Authorization") != "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="logtotest"`)
	}
	writeOAuthError(w, e)
}
