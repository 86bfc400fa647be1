package logto

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seed098cf14d/logto/internal/cookiekeys"
	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/jwt"
)

// DefaultClockLeeway is the clock skew tolerated when checking token times.
const DefaultClockLeeway = jwt.DefaultClockLeeway

// DefaultHTTPTimeout bounds every request to the provider when Config.HTTPClient
// is nil.
const DefaultHTTPTimeout = httpx.DefaultTimeout

// Config describes the application registered at the provider. It is plain
// data: zero values mean the documented defaults, and NewApp validates it once,
// reporting every problem together. NewApp copies it, so changing a Config
// afterwards has no effect on an App.
type Config struct {
	// Endpoint is the provider's base URL, e.g. "https://tenant.logto.app",
	// not the issuer (".../oidc") nor a discovery URL, which are refused
	// with the URL to write instead.
	// Discovery is read from <Endpoint>/oidc/.well-known/openid-configuration
	// and the provider's issuer must be exactly <Endpoint>/oidc. It must be
	// https unless the host is a loopback address or InsecureAllowHTTP is set.
	Endpoint string
	// ProviderURL is the URL this process reaches the provider at, when
	// that is not Endpoint: "http://logto:3001" in a container network,
	// say. Endpoint stays the public base URL: browsers are sent there to
	// sign in and out, and every token must name its issuer,
	// Endpoint + "/oidc". Empty means Endpoint.
	//
	// The provider at ProviderURL is trusted to be the provider of
	// Endpoint; its tokens must still name the public issuer. Its metadata
	// is read at ProviderURL + "/oidc/.well-known/openid-configuration" and
	// must name that issuer exactly. The endpoints it names under Endpoint
	// that this process calls itself (token, keys, userinfo, revocation,
	// introspection, device authorization) are reached under ProviderURL
	// instead; the authorization and end-session endpoints stay public, and
	// an endpoint on any other host is used as named.
	//
	// It must be https, except on a loopback host, a private IP address or
	// a single-label name such as a container's (or anywhere with
	// InsecureAllowHTTP). Over http, the client secret, codes and tokens
	// cross that network in clear: use http only on a network that nobody
	// else can read.
	ProviderURL string
	// AppID is the client_id. Required.
	AppID string
	// AppSecret is the client secret. Empty means a public client: the
	// client_id is sent in the body and PKCE alone protects the code.
	AppSecret string
	// PreviousAppSecrets are the app's other secrets during a secret
	// rotation, typically the one AppSecret replaces. AppSecret is
	// presented first; when the provider refuses it as invalid_client, the
	// request is sent again with each of these in turn, and the secret that
	// works is presented first from then on. So the app can be deployed
	// with the new secret before or after the provider knows it, and keeps
	// working while the provider drops the old one. The provider checks the
	// client before the grant: a refused request spends no code or refresh
	// token. They need AppSecret.
	PreviousAppSecrets []string

	// Scopes are requested in addition to the reserved ones (openid,
	// offline_access, profile). Duplicates are dropped.
	Scopes []string
	// Resources are the API resource indicators (RFC 8707) the app may ask
	// access tokens for. ResourceOrganizations is added when Scopes holds
	// ScopeOrganizations.
	Resources []string
	// Prompt is the default prompt list; empty means [PromptConsent], which
	// Logto needs to issue a refresh token.
	Prompt []string
	// NoReservedScopes leaves out offline_access and profile. openid is
	// always requested.
	NoReservedScopes bool
	// PushedAuthorization says when SignIn pushes its authorization
	// request to the provider (RFC 9126) and sends the browser with only
	// client_id and the single-use request_uri it gets back. The zero
	// value, PARWhenRequired, pushes only when the provider requires it;
	// see PARMode.
	PushedAuthorization PARMode

	// RedirectURI is the default callback URL for SignIn and the callback
	// handler, e.g. "https://app.example.com/callback". It must be registered
	// at the provider.
	RedirectURI string
	// PostLogoutRedirectURI is the default URL the provider sends the browser
	// to after sign-out. It must be registered at the provider.
	PostLogoutRedirectURI string

	// HTTPClient makes every request to the provider. Nil means a client with
	// a DefaultHTTPTimeout timeout (never http.DefaultClient).
	HTTPClient *http.Client
	// ClockLeeway is the tolerated clock skew for token times; zero means
	// DefaultClockLeeway.
	ClockLeeway time.Duration
	// Now replaces time.Now, for tests.
	Now func() time.Time
	// ExpiryMargin is how long before its expiry a cached access token is
	// replaced; zero means DefaultExpiryMargin. It is capped at half of each
	// token's lifetime, so short-lived tokens are still reused.
	ExpiryMargin time.Duration

	// Logger receives the details of failures, which users are shown only
	// in plain words: each failure WebHandlers answers (and each sign-out
	// of its whose revocation failed), and wherever the App is used, each
	// failed sign-in callback, failed refresh (in GetAccessToken and the
	// other token getters) and refused back-channel logout. Each failure is
	// logged once, where it was decided, never with a token or a secret.
	// Nil means no logging; slog.Default() logs through the standard logger.
	//
	// The levels are chosen so that a production app can keep Info on
	// under attack, when anyone can send forged callbacks and tokens:
	//   - Debug: nobody signed in, or a session that ended (ErrNotAuthenticated),
	//     and a caller that went away;
	//   - Info: what a browser, a user or anyone with a link can cause: a
	//     cancelled or refused sign-in, a stale or forged callback, a
	//     cross-site request, a spent or expired grant (the user is signed
	//     out), an invalid logout token;
	//   - Warn: the provider failing or out of reach, a token from it that
	//     fails validation, and a logout token of another issuer or
	//     audience, which looks like a setup mistake (Endpoint of another
	//     tenant, AppID of another app);
	//   - Error: the app's own failures, answered 500: storage, an
	//     invalid configuration, anything the package does not know.
	Logger *slog.Logger

	// TrustForwardedHeaders makes the callback handler read the scheme and
	// host the browser used from X-Forwarded-Proto and X-Forwarded-Host
	// (see RequestURL). Any client can send these headers, so set it only
	// when the app is reachable solely through a proxy that sets them or
	// strips them from what clients send; otherwise a forged header could
	// make a callback that arrived at another host pass for the redirect URI.
	TrustForwardedHeaders bool

	// SessionAbsoluteTimeout ends a signed-in session this long after its
	// sign-in, however active; zero means DefaultSessionAbsoluteTimeout.
	SessionAbsoluteTimeout time.Duration
	// SessionIdleTimeout ends a session not used for this long; zero means
	// DefaultSessionIdleTimeout. A session in use is kept alive, with its
	// last-used time written at most once per tenth of the timeout.
	SessionIdleTimeout time.Duration
	// EndedSessions records sessions ended by sign-out or back-channel
	// logout, so that cookie sessions can be ended too; nil means one in
	// this process's memory. Several processes serving one app need a
	// shared one (redisstore.EndedSessions).
	EndedSessions EndedSessions

	// InsecureAllowHTTP accepts an http:// Endpoint on a non-loopback host,
	// and an http:// ProviderURL on a host that is not a private one.
	// Tokens and the client secret then cross the network in clear text: use
	// it only inside a private test network.
	InsecureAllowHTTP bool
}

// settings is a validated, defaulted copy of Config. It is never mutated after
// NewApp returns.
type settings struct {
	endpoint    string
	issuer      string
	route       *discovery.Route // nil without ProviderURL
	appID       string
	appSecret   string
	oldSecrets  []string // Config.PreviousAppSecrets
	scopes      []string
	scopeString string
	resources   []string
	prompt      string
	par         PARMode
	redirectURI string
	postLogout  string
	httpClient  *http.Client
	leeway      time.Duration
	margin      time.Duration
	now         func() time.Time
	allowHTTP   bool
	// trustForwarded: see Config.TrustForwardedHeaders.
	trustForwarded  bool
	absoluteTimeout time.Duration
	idleTimeout     time.Duration
	ended           EndedSessions
	logger          *slog.Logger
}

var knownPrompts = []string{PromptNone, PromptLogin, PromptConsent, PromptSelectAccount}

// validate checks c and returns the settings derived from it, or an error
// wrapping ErrInvalidConfig that lists every problem.
func (c *Config) validate() (*settings, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}

	endpoint, err := httpx.CheckEndpoint("Endpoint", c.Endpoint, c.InsecureAllowHTTP)
	if err != nil {
		problems = append(problems, err)
	}
	var route *discovery.Route
	if c.ProviderURL != "" {
		internal, err := httpx.CheckProviderURL("ProviderURL", c.ProviderURL, c.InsecureAllowHTTP)
		if err != nil {
			problems = append(problems, err)
		} else if endpoint != "" {
			if route, err = discovery.NewRoute(endpoint, internal); err != nil {
				problems = append(problems, err)
			}
		}
	}
	if c.AppID == "" {
		bad("AppID must be provided")
	}
	var oldSecrets []string
	for _, p := range c.PreviousAppSecrets {
		if p == "" {
			bad("PreviousAppSecrets holds an empty secret")
		} else if p != c.AppSecret {
			oldSecrets = appendUnique(oldSecrets, p)
		}
	}
	if len(c.PreviousAppSecrets) > 0 && c.AppSecret == "" {
		bad("PreviousAppSecrets need AppSecret: a public client has no secret")
	}

	scopes := []string{ScopeOpenID}
	if !c.NoReservedScopes {
		scopes = appendUnique(scopes, ReservedScopes()...)
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			bad("scope %q is empty or holds a space, quote or backslash", s)
			continue
		}
		scopes = appendUnique(scopes, s)
	}

	var resources []string
	for _, r := range c.Resources {
		if err := checkResource(r); err != nil {
			bad("resource %q: %v", r, err)
			continue
		}
		resources = appendUnique(resources, r)
	}
	if slices.Contains(scopes, ScopeOrganizations) {
		resources = appendUnique(resources, ResourceOrganizations)
	}

	prompts := c.Prompt
	if len(prompts) == 0 {
		prompts = []string{PromptConsent}
	}
	for _, p := range prompts {
		if !slices.Contains(knownPrompts, p) {
			bad("prompt %q is not one of %v", p, knownPrompts)
		}
	}
	if slices.Contains(prompts, PromptNone) && len(prompts) > 1 {
		bad("prompt %q cannot be combined with other values", PromptNone)
	}

	for _, f := range []struct{ name, value string }{
		{"RedirectURI", c.RedirectURI},
		{"PostLogoutRedirectURI", c.PostLogoutRedirectURI},
	} {
		if f.value == "" {
			continue
		}
		if err := checkRedirectURI(f.value); err != nil {
			bad("%s: %v", f.name, err)
		}
	}
	if c.ClockLeeway < 0 {
		bad("ClockLeeway must not be negative")
	}
	if c.SessionAbsoluteTimeout < 0 || c.SessionIdleTimeout < 0 {
		bad("SessionAbsoluteTimeout and SessionIdleTimeout must not be negative")
	}
	if c.ExpiryMargin < 0 {
		bad("ExpiryMargin must not be negative")
	}
	if err := c.PushedAuthorization.check(); err != nil {
		bad("PushedAuthorization: %v", err)
	}

	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
	}

	s := &settings{
		endpoint:        endpoint,
		issuer:          endpoint + "/oidc",
		route:           route,
		appID:           c.AppID,
		appSecret:       c.AppSecret,
		oldSecrets:      oldSecrets,
		scopes:          scopes,
		scopeString:     strings.Join(scopes, " "),
		resources:       resources,
		prompt:          strings.Join(appendUnique(nil, prompts...), " "),
		par:             c.PushedAuthorization,
		redirectURI:     c.RedirectURI,
		postLogout:      c.PostLogoutRedirectURI,
		httpClient:      c.HTTPClient,
		leeway:          c.ClockLeeway,
		margin:          c.ExpiryMargin,
		now:             c.Now,
		allowHTTP:       c.InsecureAllowHTTP,
		trustForwarded:  c.TrustForwardedHeaders,
		absoluteTimeout: c.SessionAbsoluteTimeout,
		idleTimeout:     c.SessionIdleTimeout,
		ended:           c.EndedSessions,
		logger:          c.Logger,
	}
	s.httpClient = httpx.Client(s.httpClient)
	if s.leeway == 0 {
		s.leeway = DefaultClockLeeway
	}
	if s.margin == 0 {
		s.margin = DefaultExpiryMargin
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.absoluteTimeout == 0 {
		s.absoluteTimeout = DefaultSessionAbsoluteTimeout
	}
	if s.idleTimeout == 0 {
		s.idleTimeout = DefaultSessionIdleTimeout
	}
	if s.ended == nil {
		s.ended = newMemoryEndedSessions(DefaultEndedSessionsSize, s.now)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Logger returns the logger of Config.Logger, or one that discards
// everything when it was nil; never nil.
func (a *App) Logger() *slog.Logger { return a.s.logger }

// checkResource enforces RFC 8707 section 2: an absolute URI without a
// fragment.
func checkResource(r string) error {
	u, err := url.Parse(r)
	if err != nil {
		return err
	}
	if u.Scheme == "" {
		return errors.New("must be an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(r, "#") {
		return errors.New("must not contain a fragment")
	}
	return nil
}

// checkRedirectURI accepts an absolute http(s) URL without a fragment
// (RFC 6749 section 3.1.2).
func checkRedirectURI(raw string) error { return cookiekeys.CheckRedirectURI(raw) }

func appendUnique(list []string, add ...string) []string {
	for _, s := range add {
		if s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}
