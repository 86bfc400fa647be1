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

	user    User
	clients []*client // read-only after New
	// secrets are the client secrets SetClientSecret set, by client ID.
	secrets map[string]string
	faults  Faults
	keys    keyRing
	// csrf refuses cross-origin posts of the sign-in form.
	csrf *http.CrossOriginProtection

	interactions map[string]*interaction

	codes   map[string]*authCode
	grants  map[string]*grant
	refresh map[string]*refreshToken
	access  map[string]*accessToken

	// Token exchange's subject tokens (exchange.go).
	pats          map[string]*personalToken
	subjectTokens map[string]*subjectToken
	// The device authorization grant's requests, by device code and by
	// normalized user code (device.go).
	devices   map[string]*deviceAuth
	userCodes map[string]string
	// Pushed authorization requests, by request_uri (par.go).
	pushed map[string]*pushedRequest

	requests      map[string]int
	grantCounts   map[string]int
	lastAuth      url.Values
	lastPushed    url.Values
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
		opts:          opts,
		now:           opts.Now,
		user:          *opts.User,
		csrf:          http.NewCrossOriginProtection(),
		interactions:  map[string]*interaction{},
		codes:         map[string]*authCode{},
		grants:        map[string]*grant{},
		refresh:       map[string]*refreshToken{},
		access:        map[string]*accessToken{},
		pats:          map[string]*personalToken{},
		subjectTokens: map[string]*subjectToken{},
		devices:       map[string]*deviceAuth{},
		userCodes:     map[string]string{},
		pushed:        map[string]*pushedRequest{},
		requests:      map[string]int{},
		grantCounts:   map[string]int{},
	}
	p.clients = newClients(&p.opts)
	p.keys.init(opts.SigningAlg)
	return p, nil
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

// ClientID returns the web application's client ID.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// ClientSecret returns the web application's client secret:
// Options.ClientSecret, or the one [Provider.SetClientSecret] set.
func (p *Provider) ClientSecret() string { return p.secretOf(p.clientByID(p.opts.ClientID)) }

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
// "jwks", "authorize", "par" (the pushed authorization request endpoint,
// POST /oidc/request), "sign_in" (the sign-in page's form, see
// Options.SignInPage), "token", "userinfo", "revocation", "introspection",
// "end_session",
// "device_authorization" (POST /oidc/device/auth), "device" (the device
// verification page, GET /oidc/device) and "device_confirm" (its form,
// POST /oidc/device/confirm).
func (p *Provider) Requests(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[endpoint]
}

// Grants returns how many token requests, successful or not, carried the
// given grant_type, such as "authorization_code", "refresh_token",
// "client_credentials", [GrantTypeTokenExchange] or [GrantTypeDeviceCode].
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
	case parPath:
		rt = route{"par", "POST", p.servePushedAuthorization}
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
	case introspectionPath:
		rt = route{"introspection", "POST", p.serveIntrospection}
	case "/oidc/session/end":
		rt = route{"end_session", "GET POST", p.serveEndSession}
	case deviceAuthPath:
		rt = route{"device_authorization", "POST", p.serveDeviceAuthorization}
	case devicePagePath:
		rt = route{"device", "GET HEAD", p.serveDevicePage}
	case deviceConfirmPath:
		rt = route{"device_confirm", "POST", p.serveDeviceConfirm}
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

// pruneLocked drops expired codes, tokens, sign-in interactions, subject
// tokens, device codes and pushed authorization requests, an hour late so
// that a late comer hears why. Call with p.mu held.
func (p *Provider) pruneLocked(now time.Time) {
	for k, pr := range p.pushed {
		if now.After(pr.expires.Add(time.Hour)) {
			delete(p.pushed, k)
		}
	}
	for k, t := range p.subjectTokens {
		if now.After(t.expires.Add(time.Hour)) {
			delete(p.subjectTokens, k)
		}
	}
	for k, d := range p.devices {
		if now.After(d.expires.Add(time.Hour)) {
			delete(p.devices, k)
			delete(p.userCodes, d.userCode)
		}
	}
	for k, in := range p.interactions {
		if now.After(in.expires.Add(time.Hour)) {
			delete(p.interactions, k)
		}
	}
	for k, c := range p.codes {
		if now.After(c.expires.Add(time.Hour)) {
			delete(p.codes, k)
		}
	}
	for k, t := range p.access {
		if now.After(t.expires.Add(time.Hour)) {
			delete(p.access, k)
		}
	}
	for k, t := range p.refresh {
		if now.After(t.expires.Add(time.Hour)) {
			delete(p.refresh, k)
		}
	}
}
