package logtotest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	DefaultClientID        = "dev-app"
	DefaultClientSecret    = "dev-secret"
	DefaultResource        = "https://api.example.com"
	DefaultResourceScope   = "read:messages"
	DefaultOrgScope        = "read:members"
	DefaultSigningAlg      = "ES384"
	DefaultAccessTokenTTL  = time.Hour
	DefaultIDTokenTTL      = time.Hour
	DefaultRefreshTokenTTL = 14 * 24 * time.Hour
)

// OrganizationsResource is the reserved resource indicator Logto wants in
// the authorization request whenever the scope urn:logto:scope:organizations
// is asked for. The provider always knows it, but never mints a token for it.
const OrganizationsResource = "urn:logto:resource:organizations"

// Logto's user scopes, which select claims in ID tokens and userinfo.
const (
	ScopeOpenID            = "openid"
	ScopeOfflineAccess     = "offline_access"
	ScopeProfile           = "profile"
	ScopeEmail             = "email"
	ScopePhone             = "phone"
	ScopeRoles             = "roles"
	ScopeCustomData        = "custom_data"
	ScopeIdentities        = "identities"
	ScopeOrganizations     = "urn:logto:scope:organizations"
	ScopeOrganizationRoles = "urn:logto:scope:organization_roles"
)

// User is the account the provider signs in. Fields map to Logto's claims.
type User struct {
	Subject             string // "sub"
	Name                string // "name" (scope profile)
	Username            string // "username" (scope profile)
	Picture             string // "picture" (scope profile)
	Email               string // "email" (scope email)
	EmailVerified       bool   // "email_verified" (scope email)
	PhoneNumber         string // "phone_number" (scope phone)
	PhoneNumberVerified bool   // "phone_number_verified" (scope phone)
	Roles               []string
	// Organizations lists the IDs of the organizations the user belongs to;
	// it decides who may get an organization token.
	Organizations []string
	// OrganizationRoles are "<orgId>:<role>" pairs.
	OrganizationRoles []string
	// OrganizationData is userinfo's organization_data, typically
	// [{"id":..., "name":..., "description":...}].
	OrganizationData []map[string]any
	// CustomData is userinfo's custom_data (scope custom_data).
	CustomData map[string]any
	// Identities is userinfo's identities (scope identities).
	Identities map[string]any
}

// DefaultUser returns the user signed in when Options.User is nil.
func DefaultUser() User {
	return User{
		Subject:           "dev-user-1",
		Name:              "Dev User",
		Username:          "dev",
		Email:             "dev@example.com",
		EmailVerified:     true,
		Organizations:     []string{DefaultOrganization},
		OrganizationRoles: []string{DefaultOrganization + ":admin"},
	}
}

// SecondUser returns a ready-made second account for Options.ExtraUsers:
// "Second User", subject "dev-user-2", in no organization. With
// Options.SignInPage, it lets a newcomer see that the app signs in whoever
// the provider says, not always the same account.
func SecondUser() User {
	return User{
		Subject:           "dev-user-2",
		Name:              "Second User",
		Username:          "second",
		Email:             "second@example.com",
		EmailVerified:     true,
		Organizations:     []string{},
		OrganizationRoles: []string{},
	}
}

// DefaultOrganization is the organization the DefaultUser belongs to, as
// an admin.
const DefaultOrganization = "org-1"

// Options configures a [Provider]. The zero value is a working provider with
// one confidential client, the [DefaultUser] and one API resource.
//
// For the slice and map fields, nil means "use the default"; a non-nil empty
// value means "none".
type Options struct {
	// ClientID and ClientSecret of the one registered application; defaults
	// "dev-app" and "dev-secret".
	ClientID, ClientSecret string
	// RedirectURIs are the registered redirect URIs, compared exactly. Empty
	// accepts any absolute http or https URI.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered post-logout redirect URIs.
	// Empty accepts any absolute http or https URI.
	PostLogoutRedirectURIs []string
	// User is the account signed in; nil means [DefaultUser]. A given User
	// is used as is, except that an empty Subject becomes "dev-user-1".
	// Without SignInPage, every authorization is approved for this user.
	User *User
	// ExtraUsers are further accounts the sign-in page (see SignInPage)
	// offers after User, in order; [SecondUser] is a ready-made one. Each
	// needs a non-empty Subject that differs from User's and from every
	// other's, or [New] fails. Tokens and userinfo answers of a grant carry
	// the claims of the user it was approved for. Without SignInPage
	// nobody can pick them.
	ExtraUsers []User
	// SignInPage, when true, makes the provider show a person what happens:
	// the authorization endpoint answers a valid request with a sign-in
	// page (pick User or one of ExtraUsers, no password, or cancel, which
	// returns access_denied to the client) instead of approving it at
	// once, prompt=none gets login_required as the provider keeps no
	// sign-in of its own, and the end-session endpoint shows a "signed
	// out" page with a link back to the app instead of redirecting
	// silently. Meant for apps run by hand; tests that let
	// [Provider.Authorize] play the browser leave it off.
	SignInPage bool
	// Resources are the API resources the provider knows; default
	// ["https://api.example.com"]. A resource indicator not listed here (nor
	// [OrganizationsResource]) gets invalid_target.
	Resources []string
	// ResourceScopes are the scopes a resource token may carry, per
	// resource; a resource missing from the map gets "read:messages". When
	// the authorization request's scope names some of them, only those are
	// granted; a scope parameter on the refresh request narrows further.
	ResourceScopes map[string][]string
	// OrganizationScopes are the scopes an organization token may carry;
	// default ["read:members"]. Narrowed like ResourceScopes.
	OrganizationScopes []string
	// SigningAlg is the signature algorithm of ID tokens and JWT access
	// tokens: "ES384" (default, a P-384 key like Logto), "ES256" or "RS256".
	SigningAlg string
	// Token lifetimes; defaults 1 h, 1 h and 14 days.
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL time.Duration
	// Now is the provider's clock; default time.Now.
	Now func() time.Time
	// TokenEndpointAuthMethods are advertised in discovery and accepted at
	// the token and revocation endpoints: any of "client_secret_basic",
	// "client_secret_post" and "none" (a public client, identified by
	// client_id alone). Default: client_secret_basic and client_secret_post.
	TokenEndpointAuthMethods []string
	// Addr is the listen address used by [Start]; "" means 127.0.0.1:0.
	// The base URL keeps the host given ("localhost" for an empty or
	// unspecified one) with the port actually bound.
	Addr string
}

// Provider is an in-process, Logto-compatible OpenID provider. It is an
// [net/http.Handler] rooted at "/" that serves the "/oidc/..." routes.
type Provider struct {
	mu   sync.Mutex
	opts Options // normalized, read-only after New
	now  func() time.Time

	base     string
	server   *http.Server
	listener net.Listener
	closed   bool

	user   User
	faults Faults
	keys   keyRing
	// csrf refuses cross-origin posts of the sign-in form.
	csrf *http.CrossOriginProtection

	interactions map[string]*interaction

	codes   map[string]*authCode
	grants  map[string]*grant
	refresh map[string]*refreshToken
	access  map[string]*accessToken

	requests      map[string]int
	grantCounts   map[string]int
	lastAuth      url.Values
	lastToken     url.Values
	lastEndSess   url.Values
	revokedTokens []string
}

// New builds a provider with fresh signing keys. Before it answers with the
// right issuer, call [Provider.SetBaseURL] (or use [Start]); until then the
// issuer is derived from each request's Host. An unsupported
// Options.SigningAlg or token endpoint auth method, and an extra user
// without a Subject of its own, are errors.
func New(opts Options) (*Provider, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	p := &Provider{
		opts:         opts,
		now:          opts.Now,
		user:         *opts.User,
		csrf:         http.NewCrossOriginProtection(),
		interactions: map[string]*interaction{},
		codes:        map[string]*authCode{},
		grants:       map[string]*grant{},
		refresh:      map[string]*refreshToken{},
		access:       map[string]*accessToken{},
		requests:     map[string]int{},
		grantCounts:  map[string]int{},
	}
	p.keys.init(opts.SigningAlg)
	return p, nil
}

func (o *Options) normalize() error {
	switch o.SigningAlg {
	case "":
		o.SigningAlg = DefaultSigningAlg
	case "ES384", "ES256", "RS256":
	default:
		return fmt.Errorf("logtotest: unsupported SigningAlg %q (want ES384, ES256 or RS256)", o.SigningAlg)
	}
	for _, m := range o.TokenEndpointAuthMethods {
		switch m {
		case "client_secret_basic", "client_secret_post", "none":
		default:
			return fmt.Errorf("logtotest: unsupported token endpoint auth method %q", m)
		}
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.User == nil {
		u := DefaultUser()
		o.User = &u
	} else {
		u := *o.User
		if u.Subject == "" {
			u.Subject = DefaultUser().Subject
		}
		o.User = &u
	}
	if err := checkExtraUsers(o.User.Subject, o.ExtraUsers); err != nil {
		return err
	}
	if o.Resources == nil {
		o.Resources = []string{DefaultResource}
	}
	if o.OrganizationScopes == nil {
		o.OrganizationScopes = []string{DefaultOrgScope}
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if o.IDTokenTTL <= 0 {
		o.IDTokenTTL = DefaultIDTokenTTL
	}
	if o.RefreshTokenTTL <= 0 {
		o.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenEndpointAuthMethods == nil {
		o.TokenEndpointAuthMethods = []string{"client_secret_basic", "client_secret_post"}
	}
	// Copy caller-owned slices so later changes by the caller do not race.
	o.RedirectURIs = append([]string(nil), o.RedirectURIs...)
	o.ExtraUsers = append([]User(nil), o.ExtraUsers...)
	o.PostLogoutRedirectURIs = append([]string(nil), o.PostLogoutRedirectURIs...)
	o.Resources = append([]string{}, o.Resources...)
	o.OrganizationScopes = append([]string{}, o.OrganizationScopes...)
	o.TokenEndpointAuthMethods = append([]string{}, o.TokenEndpointAuthMethods...)
	rs := make(map[string][]string, len(o.ResourceScopes))
	for k, v := range o.ResourceScopes {
		rs[k] = append([]string{}, v...)
	}
	o.ResourceScopes = rs
	return nil
}

// checkExtraUsers reports every extra user whose Subject is empty or
// already taken, by the main user (subject main) or an earlier extra user.
func checkExtraUsers(main string, extra []User) error {
	seen := map[string]int{main: -1}
	var errs []error
	for i, u := range extra {
		if u.Subject == "" {
			errs = append(errs, fmt.Errorf("logtotest: ExtraUsers[%d] has no Subject", i))
			continue
		}
		switch j, dup := seen[u.Subject]; {
		case dup && j < 0:
			errs = append(errs, fmt.Errorf("logtotest: ExtraUsers[%d] has the Subject %q of Options.User", i, u.Subject))
		case dup:
			errs = append(errs, fmt.Errorf("logtotest: ExtraUsers[%d] has the Subject %q of ExtraUsers[%d]", i, u.Subject, j))
		default:
			seen[u.Subject] = i
		}
	}
	return errors.Join(errs...)
}

// Start builds a provider with [New], serves it on Options.Addr (default
// 127.0.0.1 on a free port) and sets its base URL to the listener's
// address. Stop it with [Provider.Close].
func Start(opts Options) (*Provider, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("logtotest: listen: %w", err)
	}
	p, err := New(opts)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	p.mu.Lock()
	p.server, p.listener = srv, ln
	p.mu.Unlock()
	p.SetBaseURL("http://" + hostForURL(addr, ln.Addr()))
	go func() { _ = srv.Serve(ln) }()
	return p, nil
}

// hostForURL returns the host:port URLs should use for a listener: the host
// asked for (so "localhost:3001" stays localhost) with the port bound, and
// "localhost" for an empty or unspecified host (":3001", "0.0.0.0:3001").
func hostForURL(asked string, bound net.Addr) string {
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return bound.String()
	}
	host, _, err := net.SplitHostPort(asked)
	if err != nil || host == "" {
		host = "localhost"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// NewTestProvider starts a provider for the test with [Start], stops it when
// the test ends, and fails the test if it cannot start.
func NewTestProvider(t testing.TB, opts Options) *Provider {
	t.Helper()
	p, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Close stops the server started by [Start], closing open connections. It
// is a no-op for a provider built with [New], and safe to call twice.
func (p *Provider) Close() error {
	p.mu.Lock()
	srv, closed := p.server, p.closed
	p.closed = true
	p.mu.Unlock()
	if srv == nil || closed {
		return nil
	}
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// SetBaseURL sets the URL the provider is reached at, such as
// "http://127.0.0.1:3001"; the issuer is base+"/oidc". A trailing slash is
// dropped.
func (p *Provider) SetBaseURL(base string) {
	p.mu.Lock()
	p.base = strings.TrimRight(base, "/")
	p.mu.Unlock()
}

// Endpoint returns the base URL, what an SDK's endpoint setting takes. It is
// empty until [Provider.SetBaseURL] or [Start] sets it.
func (p *Provider) Endpoint() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base
}

// Issuer returns Endpoint()+"/oidc".
func (p *Provider) Issuer() string {
	return p.Endpoint() + "/oidc"
}

// ClientID returns the registered application's client ID.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// ClientSecret returns the registered application's client secret.
func (p *Provider) ClientSecret() string { return p.opts.ClientSecret }

// SetUser replaces the signed-in account. Tokens minted afterwards, and
// userinfo answers, use the new data (organization membership is re-read
// on every refresh, like Logto). Existing grants keep their subject. An
// empty Subject becomes "dev-user-1". Grants approved for one of
// Options.ExtraUsers are not affected.
func (p *Provider) SetUser(u User) {
	if u.Subject == "" {
		u.Subject = DefaultUser().Subject
	}
	p.mu.Lock()
	p.user = u
	p.mu.Unlock()
}

// Requests returns how many requests an endpoint has received since the
// start or the last [Provider.ResetCounters]. Endpoint names: "discovery",
// "jwks", "authorize", "sign_in" (the sign-in page's form, see
// Options.SignInPage), "token", "userinfo", "revocation", "end_session".
func (p *Provider) Requests(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[endpoint]
}

// Grants returns how many token requests, successful or not, carried the
// given grant_type, such as "authorization_code" or "refresh_token".
func (p *Provider) Grants(grantType string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grantCounts[grantType]
}

// ResetCounters sets all [Provider.Requests] and [Provider.Grants] counters
// to zero.
func (p *Provider) ResetCounters() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.requests)
	clear(p.grantCounts)
}

// LastAuthorizeRequest returns a copy of the parameters of the most recent
// request to the authorization endpoint, or nil if there was none.
func (p *Provider) LastAuthorizeRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastAuth)
}

// LastTokenRequest returns a copy of the form of the most recent request to
// the token endpoint (client secrets removed), or nil if there was none.
func (p *Provider) LastTokenRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastToken)
}

// LastEndSessionRequest returns a copy of the parameters of the most recent
// request to the end-session endpoint, or nil if there was none.
func (p *Provider) LastEndSessionRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastEndSess)
}

// RevokedTokens returns the tokens sent to the revocation endpoint by
// successful requests, oldest first, including tokens it did not know.
func (p *Provider) RevokedTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.revokedTokens...)
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ServeHTTP serves the provider's routes under "/oidc"; anything else is 404.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	type route struct {
		name    string
		methods string
		handle  func(http.ResponseWriter, *http.Request)
	}
	var rt route
	switch r.URL.Path {
	case "/oidc/.well-known/openid-configuration":
		rt = route{"discovery", "GET HEAD", p.serveDiscovery}
	case "/oidc/jwks":
		rt = route{"jwks", "GET HEAD", p.serveJWKS}
	case "/oidc/auth":
		rt = route{"authorize", "GET POST", p.serveAuthorize}
	case signInConfirmPath:
		if !p.opts.SignInPage {
			writeNotFound(w, r)
			return
		}
		rt = route{"sign_in", "POST", p.serveSignInConfirm}
	case "/oidc/token":
		rt = route{"token", "POST", p.serveToken}
	case "/oidc/me":
		rt = route{"userinfo", "GET POST", p.serveUserinfo}
	case "/oidc/token/revocation":
		rt = route{"revocation", "POST", p.serveRevocation}
	case "/oidc/session/end":
		rt = route{"end_session", "GET POST", p.serveEndSession}
	default:
		writeNotFound(w, r)
		return
	}
	p.mu.Lock()
	p.requests[rt.name]++
	p.mu.Unlock()
	if !containsWord(rt.methods, r.Method) {
		w.Header().Set("Allow", strings.ReplaceAll(rt.methods, " ", ", "))
		writeError(w, http.StatusMethodNotAllowed, "invalid_request",
			fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	rt.handle(w, r)
}

func writeNotFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "invalid_request",
		fmt.Sprintf("unrecognized route (%s %s)", r.Method, r.URL.Path))
}

func containsWord(list, word string) bool {
	for f := range strings.FieldsSeq(list) {
		if f == word {
			return true
		}
	}
	return false
}

// issuerFor returns the issuer for a request: base+"/oidc", or, before a
// base URL is set, one derived from the request.
func (p *Provider) issuerFor(r *http.Request) string {
	p.mu.Lock()
	base := p.base
	p.mu.Unlock()
	return deriveIssuer(base, r)
}

// deriveIssuer returns base+"/oidc", deriving the base from r when empty.
func deriveIssuer(base string, r *http.Request) string {
	if base == "" && r != nil && r.Host != "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/oidc"
}
