package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// AccessToken is an access token with what the client knows about it.
type AccessToken struct {
	// Token is the raw access token.
	Token string
	// Scope is the space-separated scope the provider granted, if it said.
	Scope string
	// ExpiresAt is when the token stops being valid, computed from the time
	// the token request was sent. Zero when the provider did not say.
	ExpiresAt time.Time
	// IssuedAt is when the token request was sent.
	IssuedAt time.Time
}

// Claims decodes the token's payload when it is a JWT (Logto's resource and
// organization tokens are). The signature is not checked here: a client
// hands its tokens to APIs, which verify them.
func (t AccessToken) Claims() (map[string]any, error) {
	payload, err := jwtPayload(t.Token)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, wrapErr(ErrInvalidToken, "access token claims are not a JSON object", err)
	}
	return m, nil
}

// DefaultExpiryMargin is how long before its expiry a cached access token is
// replaced; it is capped at half the token's lifetime, so short-lived tokens
// are still reused.
const DefaultExpiryMargin = 30 * time.Second

// GetAccessToken returns a valid access token for resource, an API resource
// indicator from Config.Resources (RFC 8707), or for the empty resource the
// default token (good for userinfo). A cached token is returned while it is
// valid for more than the expiry margin; otherwise a refresh grant gets a new
// one. Refreshes of one session never overlap, and a rotated refresh token is
// stored before the access token is returned.
//
// Errors: ErrInvalidRequest for a resource not in Config.Resources (checked
// before any request, since a refresh can only narrow the grant),
// ErrNotAuthenticated when nobody is signed in or the provider ended the
// session (invalid_grant; the stored tokens are then cleared), and otherwise
// ErrProvider or ErrStorage, with every stored token left as it was. A
// failed refresh is logged to Config.Logger.
func (c *Client) GetAccessToken(ctx context.Context, resource string) (*AccessToken, error) {
	return c.resourceToken(ctx, resource, "", false)
}

// RefreshAccessToken is GetAccessToken past the cache: it returns a token
// for resource newer than the one cached when it was called, even while
// that one is still valid, for when it no longer says what the provider
// would say now (the user's roles or scopes changed, an API refused it).
// The new token replaces the cached one. Refreshes of one session still
// never overlap: callers that want to replace the same token share one
// refresh grant, and the rotated refresh token is stored before the token
// is returned.
//
// Errors are GetAccessToken's. When the provider refuses the refresh (an
// *OAuthError), the cached token is dropped as well: it was to be
// replaced, and the provider would not issue it now.
func (c *Client) RefreshAccessToken(ctx context.Context, resource string) (*AccessToken, error) {
	return c.resourceToken(ctx, resource, "", true)
}

// resourceToken checks resource and serves its token (see accessToken).
func (c *Client) resourceToken(ctx context.Context, resource, refused string, force bool) (*AccessToken, error) {
	if resource != "" && !slices.Contains(c.app.s.resources, resource) {
		return nil, wrapErr(ErrInvalidRequest, fmt.Sprintf("resource %q is not in Config.Resources", resource), nil)
	}
	return c.accessToken(ctx, resource, "", refused, force)
}

// accessToken serves one (resource, organization) token from the cache or a
// refresh. A token equal to refused (one an API answered 401 to) is never
// served; with force, neither is the token cached when it was called.
func (c *Client) accessToken(ctx context.Context, resource, org, refused string, force bool) (*AccessToken, error) {
	// The session first: a cached token belongs to a session that is still
	// on (not signed out elsewhere, idle or too old).
	idToken, _, err := c.activeSession(ctx)
	if err != nil {
		return nil, err
	}
	key := tokenKey(resource, org)
	t, ok, err := c.cachedToken(ctx, key)
	if err != nil {
		return nil, err
	}
	if force && ok {
		refused = t.Token
	}
	if ok && c.app.usable(t, refused) {
		return &t, nil
	}
	if l, ok := c.storage.(Locker); ok {
		// Held until the rotated refresh token is stored and flushed.
		unlock, err := l.Lock(ctx)
		if err != nil {
			return nil, storageErr("lock", "session", err)
		}
		defer unlock()
		// Another process may have refreshed while we waited.
		t, ok, err := c.cachedToken(ctx, key)
		if err != nil {
			return nil, err
		}
		if ok && c.app.usable(t, refused) {
			return &t, nil
		}
		// And its ID token may have been replaced.
		if idToken, err = c.storage.Get(ctx, StorageKeyIDToken); err != nil {
			return nil, storageErr("get", StorageKeyIDToken, err)
		}
		if idToken == "" {
			return nil, ErrNotAuthenticated
		}
	}

	claims, err := c.parsedClaims(idToken)
	if err != nil {
		return nil, err
	}
	session := sessionBinding(claims)
	rt, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err != nil {
		return nil, storageErr("get", StorageKeyRefreshToken, err)
	}
	var at *AccessToken
	if rt == "" {
		err = wrapErr(ErrNotAuthenticated, "the access token has expired and there is no refresh token (request the offline_access scope)", nil)
	} else {
		at, err = c.refreshToken(ctx, key, rt, idToken, session, resource, org, refused)
	}
	var oe *OAuthError
	if err != nil && refused != "" && errors.As(err, &oe) {
		// The provider will not issue the token that was to be replaced,
		// or one like it: stop handing it out.
		if derr := c.dropToken(ctx, key, refused); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if err != nil {
		return nil, c.app.logFailure(ctx, "logto: refreshing an access token failed", err,
			slog.String("resource", resource), slog.String("organization_id", org))
	}
	return at, nil
}

// refreshToken gets the token of key (resource, org), other than refused,
// with a refresh grant spending rt, the refresh token of the session whose
// ID token is idToken, and stores what the grant gave: the newest refresh
// token first, then the ID token and the access token. When the provider
// has ended the grant, or answered for someone else, it ends the session.
func (c *Client) refreshToken(ctx context.Context, key, rt, idToken, session, resource, org, refused string) (*AccessToken, error) {
	f, cached, err := c.app.refresh(ctx, rt, idToken, session, !c.sharesLock(), resource, org, refused, func(ctx context.Context) (string, *AccessToken, error) {
		if t, ok, err := c.cachedToken(ctx, key); err != nil || (ok && c.app.usable(t, refused)) {
			return "", &t, err
		}
		latest, err := c.storage.Get(ctx, StorageKeyRefreshToken)
		if err != nil {
			return "", nil, storageErr("get", StorageKeyRefreshToken, err)
		}
		return latest, nil, nil
	})
	if cached != nil {
		return cached, nil
	}
	if err != nil {
		if isInvalidGrant(err) || errors.Is(err, ErrInvalidToken) {
			// The provider ended the grant, or answered with an ID token for
			// someone else (and has spent the refresh token): either way the
			// session is over.
			c.app.refresher.end(session, c.app.s.now())
			if cerr := c.clearSession(ctx); cerr == nil {
				_ = c.flush(ctx)
			}
			return nil, fmt.Errorf("%w: %w", ErrNotAuthenticated, err)
		}
		if f != nil && f.rotated != "" {
			// The provider rotated the refresh token before the failure (its
			// keys could not be had to check the new ID token): the old
			// token is spent, so keep the new one, and the session.
			if serr := c.keepRefreshToken(ctx, rt, c.app.latestRefreshToken(f, session)); serr != nil {
				return nil, errors.Join(err, serr)
			}
			if serr := c.flush(ctx); serr != nil {
				return nil, errors.Join(err, serr)
			}
		}
		return nil, err
	}

	// Persist the newest refresh token of the chain before handing out the
	// access token: the one we read is spent.
	if err := c.keepRefreshToken(ctx, rt, c.app.latestRefreshToken(f, session)); err != nil {
		return nil, err
	}
	if f.claims != nil {
		if err := c.storage.Set(ctx, StorageKeyIDToken, f.tok.IDToken); err != nil {
			return nil, storageErr("set", StorageKeyIDToken, err)
		}
	}
	at := accessTokenFrom(f.tok, f.sent)
	if err := c.storeToken(ctx, key, at); err != nil {
		return nil, err
	}
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return &at, nil
}

// fresh reports whether t can still be handed out at now.
func (a *App) fresh(t AccessToken, now time.Time) bool {
	if t.Token == "" {
		return false
	}
	return tokenendpoint.Fresh(t.IssuedAt, t.ExpiresAt, now, a.s.margin)
}

// usable reports whether t can be handed out now instead of refused.
func (a *App) usable(t AccessToken, refused string) bool {
	return t.Token != refused && a.fresh(t, a.s.now())
}

func isInvalidGrant(err error) bool {
	var oe *OAuthError
	return errors.As(err, &oe) && oe.Code == "invalid_grant"
}

// keepRefreshToken stores latest when it replaces the refresh token read, rt.
func (c *Client) keepRefreshToken(ctx context.Context, rt, latest string) error {
	if latest == rt {
		return nil
	}
	if err := c.storage.Set(ctx, StorageKeyRefreshToken, latest); err != nil {
		return storageErr("set", StorageKeyRefreshToken, err)
	}
	return nil
}

// sharesLock reports whether the storage's Locker really locks a session
// that other processes share (a server-side session): refreshes then
// re-read the session under the lock, and no rotation needs remembering.
func (c *Client) sharesLock() bool {
	switch s := c.storage.(type) {
	case *SessionStorage:
		return s.sharesSession()
	case Locker:
		return true
	}
	return false
}
