package logto

import (
	"context"
	"net/url"
)

// SignOutOptions adjust a sign-out.
type SignOutOptions struct {
	// PostLogoutRedirectURI is where the provider sends the browser after
	// ending its session; empty means Config.PostLogoutRedirectURI.
	PostLogoutRedirectURI string
	// State is passed through the provider to the post-logout redirect.
	State string
}

// SignOutResult is the outcome of SignOut.
type SignOutResult struct {
	// URL is where to send the browser next: the provider's end-session
	// endpoint, or the post-logout redirect URI when the provider has none.
	// Empty when neither is known.
	URL string
	// RevocationErr is why revoking the refresh token failed, if it did. The
	// local session is cleared anyway; the token expires on its own.
	RevocationErr error
}

// SignOut revokes the refresh token at the provider (RFC 7009), clears the
// stored session and returns where to send the browser to end the provider's
// session (OpenID Connect RP-Initiated Logout 1.0). A failed revocation is
// reported in the result, not as an error; the error is for a failure to
// clear local state.
func (c *Client) SignOut(ctx context.Context, opts SignOutOptions) (*SignOutResult, error) {
	s := c.app.s
	postLogout := opts.PostLogoutRedirectURI
	if postLogout == "" {
		postLogout = s.postLogout
	}
	if postLogout != "" {
		if err := checkRedirectURI(postLogout); err != nil {
			return nil, wrapErr(ErrInvalidRequest, "post-logout redirect URI", err)
		}
	}
	idToken, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil {
		return nil, storageErr("get", StorageKeyIDToken, err)
	}
	// Record the end first: if it cannot be recorded, nothing has changed
	// yet and the caller may try again, rather than leave a copy of the
	// session (a copied cookie) alive.
	v, err := c.storage.Get(ctx, StorageKeySession)
	if err != nil {
		return nil, storageErr("get", StorageKeySession, err)
	}
	if rec, ok := decodeSessionRecord(v); ok {
		if err := c.app.endSession(ctx, rec); err != nil {
			return nil, err
		}
	}
	if claims, err := c.parsedClaims(idToken); idToken != "" && err == nil {
		// Rotations of this session are no longer followed, even within
		// the race window: a copy of its cookie buys nothing.
		c.app.refresher.end(sessionBinding(claims), s.now())
	}
	if isReducedIDToken(idToken) {
		// A cookie session kept only a record of the ID token's claims
		// (CookieStore): unsigned, the provider would refuse it as a hint.
		idToken = ""
	}
	refresh, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err != nil {
		return nil, storageErr("get", StorageKeyRefreshToken, err)
	}

	res := &SignOutResult{URL: postLogout}
	m, metaErr := c.app.metadata(ctx)
	if refresh != "" {
		if metaErr != nil {
			res.RevocationErr = metaErr
		} else {
			res.RevocationErr = c.app.revoke(ctx, m, refresh, "refresh_token")
		}
	}

	if err := c.clearSession(ctx); err != nil {
		return nil, err
	}
	if err := c.flush(ctx); err != nil {
		return nil, err
	}

	if metaErr == nil && m.EndSessionEndpoint != "" {
		u, err := url.Parse(m.EndSessionEndpoint)
		if err == nil {
			q := u.Query()
			q.Set("client_id", s.appID)
			setIf(q, "id_token_hint", idToken)
			setIf(q, "post_logout_redirect_uri", postLogout)
			setIf(q, "state", opts.State)
			u.RawQuery = q.Encode()
			res.URL = u.String()
		}
	}
	return res, nil
}

// clearSession deletes the signed-in session's values.
func (c *Client) clearSession(ctx context.Context) error {
	if err := c.clearTokens(ctx); err != nil {
		return err
	}
	for _, k := range []string{StorageKeyIDToken, StorageKeyRefreshToken, StorageKeySession, storageKeyCallbackState} {
		if err := c.storage.Delete(ctx, k); err != nil {
			return storageErr("delete", k, err)
		}
	}
	return nil
}

// revoke revokes token at the provider's revocation endpoint.
func (a *App) revoke(ctx context.Context, m *metadata, token, hint string) error {
	if m.RevocationEndpoint == "" {
		return wrapErr(ErrProvider, "the provider has no revocation_endpoint", nil)
	}
	return providerErr(m.tokens.Revoke(ctx, m.RevocationEndpoint, token, hint))
}
