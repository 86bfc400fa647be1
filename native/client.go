package native

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/seed098cf14d/logto"
)

// Session lifetimes of a native app: a person signs in to a command-line
// tool rarely, and its refresh token (rotated on every use) keeps the
// session; these bound it anyway.
const (
	DefaultSessionAbsoluteTimeout = 90 * 24 * time.Hour
	DefaultSessionIdleTimeout     = 30 * 24 * time.Hour
)

// Config configures a [Client].
type Config struct {
	// Endpoint is the provider's base URL ("https://your-tenant.logto.app").
	// Required.
	Endpoint string
	// AppID is the native app's client ID. Required. There is no secret: a
	// program handed to users cannot keep one.
	AppID string
	// Scopes and Resources are asked for at sign-in, as in logto.Config
	// (openid, offline_access and profile are always asked for).
	Scopes, Resources []string
	// Cache keeps the session between runs; nil keeps it in memory for the
	// Client's life.
	Cache Cache
	// SessionAbsoluteTimeout and SessionIdleTimeout bound the session, as in
	// logto.Config; zero means DefaultSessionAbsoluteTimeout and
	// DefaultSessionIdleTimeout.
	SessionAbsoluteTimeout, SessionIdleTimeout time.Duration
	// HTTPClient makes every request to the provider; nil means one with a
	// 10 s timeout.
	HTTPClient *http.Client
	// InsecureAllowHTTP accepts an http Endpoint on any host, as in
	// logto.Config. For tests on a private network only.
	InsecureAllowHTTP bool
	// Logger receives the failures, as in logto.Config; nil is silent.
	Logger *slog.Logger
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Client signs a person in and hands out their tokens. It is safe for
// concurrent use.
type Client struct {
	app   *logto.App
	cache Cache
	now   func() time.Time
}

// placeholderRedirect is the redirect URI the App is configured with; each
// browser sign-in uses its own loopback port.
const placeholderRedirect = "http://127.0.0.1/callback"

// New checks cfg and returns a Client; every problem is reported at once,
// wrapped in logto.ErrInvalidConfig.
func New(cfg Config) (*Client, error) {
	if cfg.SessionAbsoluteTimeout == 0 {
		cfg.SessionAbsoluteTimeout = DefaultSessionAbsoluteTimeout
	}
	if cfg.SessionIdleTimeout == 0 {
		cfg.SessionIdleTimeout = DefaultSessionIdleTimeout
	}
	app, err := logto.NewApp(logto.Config{
		Endpoint:               cfg.Endpoint,
		AppID:                  cfg.AppID,
		Scopes:                 cfg.Scopes,
		Resources:              cfg.Resources,
		RedirectURI:            placeholderRedirect,
		HTTPClient:             cfg.HTTPClient,
		InsecureAllowHTTP:      cfg.InsecureAllowHTTP,
		SessionAbsoluteTimeout: cfg.SessionAbsoluteTimeout,
		SessionIdleTimeout:     cfg.SessionIdleTimeout,
		Logger:                 cfg.Logger,
		Now:                    cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	cache := cfg.Cache
	if cache == nil {
		cache = NewMemoryCache()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{app: app, cache: cache, now: now}, nil
}

// App is the logto.App the Client is built on.
func (c *Client) App() *logto.App { return c.app }

// client is the logto.Client over the cache.
func (c *Client) client() *logto.Client { return c.app.Client(c.cache) }

// IDTokenClaims returns the signed-in person's verified ID-token claims;
// logto.ErrNotAuthenticated when nobody is signed in or the session ended.
func (c *Client) IDTokenClaims(ctx context.Context) (*logto.IDTokenClaims, error) {
	ok, err := c.client().IsAuthenticated(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, logto.ErrNotAuthenticated
	}
	return c.client().IDTokenClaims(ctx)
}

// AccessToken returns an access token for resource (an API resource from
// Config.Resources, or "" for the default token) and, when organizationID
// is not empty, for that organization: from the cache, or by a refresh
// that never spends a refresh token twice (the cache's lock serializes
// refreshes across processes). Errors as logto.Client.GetAccessToken's.
func (c *Client) AccessToken(ctx context.Context, resource, organizationID string) (*logto.AccessToken, error) {
	cl := c.client()
	switch {
	case organizationID == "":
		return cl.GetAccessToken(ctx, resource)
	case resource == "":
		return cl.GetOrganizationToken(ctx, organizationID)
	}
	return cl.GetOrganizationResourceToken(ctx, resource, organizationID)
}

// Logout revokes the refresh token at the provider and removes the cached
// session. The session is removed even when the revocation fails (the
// token then expires on its own); that failure is returned, wrapped in
// logto.ErrProvider.
func (c *Client) Logout(ctx context.Context) error {
	res, err := c.client().SignOut(ctx, logto.SignOutOptions{})
	rmErr := c.cache.Remove(ctx)
	if err != nil || rmErr != nil {
		return errors.Join(err, rmErr)
	}
	if res.RevocationErr != nil {
		return fmt.Errorf("native: the session is removed, but revoking its refresh token failed: %w", res.RevocationErr)
	}
	return nil
}

// keep moves the session a sign-in left in staging into the cache,
// replacing what the cache held. Only the session's values go (tokens,
// their expiry, the session's lifetime record), never the sign-in's
// state, nonce or PKCE verifier.
func (c *Client) keep(ctx context.Context, staging *MemoryCache) error {
	unlock, err := c.cache.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := c.cache.Renew(ctx); err != nil {
		return err
	}
	for k, v := range staging.snapshot() {
		if k == logto.StorageKeySignIn {
			continue
		}
		if err := c.cache.Set(ctx, k, v); err != nil {
			return err
		}
	}
	return c.cache.Flush(ctx)
}
