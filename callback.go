package logto

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// SignInResult is what a completed sign-in returns.
type SignInResult struct {
	// ReturnTo is the path given in SignInOptions.ReturnTo, or "".
	ReturnTo string
	// Claims are the verified ID token's claims.
	Claims *IDTokenClaims
}

// callbackParams are the parameters of an authorization response
// (RFC 6749 section 4.1.2 and 4.1.2.1, RFC 9207).
type callbackParams struct {
	code, state, iss         string
	errCode, errDesc, errURI string
}

// parseCallback reads the authorization response from a callback URL's query.
// A parameter given more than once is refused (RFC 6749 section 3.1).
func parseCallback(rawQuery string) (callbackParams, error) {
	var p callbackParams
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return p, wrapErr(ErrInvalidCallback, "malformed query", err)
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"code", &p.code}, {"state", &p.state}, {"iss", &p.iss},
		{"error", &p.errCode}, {"error_description", &p.errDesc}, {"error_uri", &p.errURI},
	} {
		vs := q[f.name]
		if len(vs) > 1 {
			return p, wrapErr(ErrInvalidCallback, fmt.Sprintf("parameter %q is repeated", f.name), nil)
		}
		if len(vs) == 1 {
			*f.dst = vs[0]
		}
	}
	return p, nil
}

// HandleSignInCallback completes a sign-in from the request the provider
// redirected the browser with. It is HandleSignInCallbackURL with the
// request's own URL (RequestURL, forwarded headers per Config).
func (c *Client) HandleSignInCallback(ctx context.Context, r *http.Request) (*SignInResult, error) {
	return c.HandleSignInCallbackURL(ctx, RequestURL(r, c.app.s.trustForwarded))
}

// HandleSignInCallbackURL completes a sign-in from the callback URL the
// provider redirected to. In order it checks the state against the pending
// sign-ins (and consumes it, whatever happens next), that the URL is the
// redirect URI the sign-in used, the issuer parameter (RFC 9207; required
// when discovery advertises authorization_response_iss_parameter_supported), and any
// error the provider sent; then it exchanges the code with the PKCE verifier
// and validates the ID token in full (OpenID Connect Core 3.1.3.7), with
// what the sign-in asked for: an auth_time recent enough for
// SignInOptions.MaxAge, an acr among SignInOptions.ACRValues. Only when
// all of that passed does it start a new session holding the tokens.
//
// A failure is logged to Config.Logger, with the callback's path (never
// its query, which holds the code), at the level Config.Logger describes.
func (c *Client) HandleSignInCallbackURL(ctx context.Context, callbackURL *url.URL) (*SignInResult, error) {
	res, err := c.handleSignInCallback(ctx, callbackURL)
	if err != nil {
		path := ""
		if callbackURL != nil {
			path = callbackURL.Path
		}
		return nil, c.app.logFailure(ctx, "logto: sign-in callback failed", err,
			slog.String("path", path), slog.Int("status", ErrorStatus(err)))
	}
	return res, nil
}

func (c *Client) handleSignInCallback(ctx context.Context, callbackURL *url.URL) (res *SignInResult, err error) {
	if callbackURL == nil {
		return nil, wrapErr(ErrInvalidCallback, "no callback URL", nil)
	}
	p, err := parseCallback(callbackURL.RawQuery)
	if err != nil {
		return nil, err
	}
	if p.state == "" {
		return nil, wrapErr(ErrInvalidState, "the callback has no state", nil)
	}

	pending, err := c.loadPending(ctx)
	if err != nil {
		return nil, err
	}
	ps, ok := pending[p.state]
	if !ok {
		return nil, ErrInvalidState
	}
	// The state is spent from here on, whether the sign-in succeeds or not.
	delete(pending, p.state)
	if err := c.savePending(ctx, pending); err != nil {
		return nil, err
	}
	defer func() {
		if ferr := c.flush(ctx); ferr != nil {
			res, err = nil, errors.Join(err, ferr)
		}
	}()

	if !sameRedirectURI(callbackURL, ps.RedirectURI) {
		return nil, wrapErr(ErrInvalidCallback, fmt.Sprintf("callback URL does not match the redirect URI %q", ps.RedirectURI), nil)
	}
	m, err := c.app.metadata(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case p.iss == "" && m.AuthorizationResponseISSParameter:
		// RFC 9207 section 2.4: a provider that advertises iss always sends
		// it, so a response without it did not come from this provider.
		return nil, wrapErr(ErrInvalidCallback, "the callback has no iss parameter, which this provider always sends", nil)
	case p.iss != "" && p.iss != m.Issuer:
		return nil, wrapErr(ErrInvalidCallback, fmt.Sprintf("iss parameter %q names another provider", p.iss), nil)
	}
	if p.errCode != "" {
		return nil, &OAuthError{Code: p.errCode, Description: p.errDesc, URI: p.errURI, Endpoint: "authorize"}
	}
	if p.code == "" {
		return nil, wrapErr(ErrInvalidCallback, "the callback has no code", nil)
	}

	tok, sent, err := c.app.tokenRequest(ctx, m, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {p.code},
		"redirect_uri":  {ps.RedirectURI},
		"code_verifier": {ps.Verifier},
	})
	if err != nil {
		return nil, err
	}
	claims, err := c.app.verifyIDToken(ctx, m, tok.IDToken, ps.Nonce, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	if err := ps.checkAuthentication(claims, c.app.s.now(), c.app.s.leeway); err != nil {
		return nil, err
	}

	if err := c.startSession(ctx); err != nil {
		return nil, err
	}
	// Sign-ins other tabs of this browser started are carried into the new
	// session, so they can still complete.
	if len(pending) > 0 {
		if err := c.savePending(ctx, pending); err != nil {
			return nil, err
		}
	}
	if err := c.storeTokens(ctx, tok, sent); err != nil {
		return nil, err
	}
	if err := c.storage.Set(ctx, storageKeyCallbackState, stateDigest(p.state)); err != nil {
		return nil, storageErr("set", storageKeyCallbackState, err)
	}
	return &SignInResult{ReturnTo: ps.ReturnTo, Claims: claims}, nil
}

// storageKeyCallbackState holds a digest of the state of the callback that
// started the session, so that a reload of that callback is told from any
// other callback with an unknown state (isSessionCallback).
const storageKeyCallbackState = "callbackState"

// stateDigest is what the session keeps of a spent state: 96 bits of its
// SHA-256, enough to recognise it, nothing to replay.
func stateDigest(state string) string {
	sum := sha256.Sum256([]byte(state))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// isSessionCallback reports whether callbackURL is the callback that
// started the signed-in session in the storage: a reload, or a visit from
// the history, of a sign-in that completed.
func (c *Client) isSessionCallback(ctx context.Context, callbackURL *url.URL) bool {
	p, err := parseCallback(callbackURL.RawQuery)
	if err != nil || p.state == "" {
		return false
	}
	got, err := c.storage.Get(ctx, storageKeyCallbackState)
	if err != nil || got == "" {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(stateDigest(p.state))) != 1 {
		return false
	}
	ok, err := c.IsAuthenticated(ctx)
	return err == nil && ok
}

// startSession drops whatever the storage held: a new sign-in never inherits a
// session, so one planted before sign-in is worthless (session fixation).
func (c *Client) startSession(ctx context.Context) error {
	if r, ok := c.storage.(Renewer); ok {
		if err := r.Renew(ctx); err != nil {
			return storageErr("renew", "session", err)
		}
		return nil
	}
	if err := c.clearSession(ctx); err != nil {
		return err
	}
	if err := c.storage.Delete(ctx, StorageKeySignIn); err != nil {
		return storageErr("delete", StorageKeySignIn, err)
	}
	return nil
}

// storeTokens writes the tokens of a code exchange.
func (c *Client) storeTokens(ctx context.Context, tok *tokenendpoint.Response, sent time.Time) error {
	if err := c.startSessionRecord(ctx); err != nil {
		return err
	}
	if err := c.storage.Set(ctx, StorageKeyIDToken, tok.IDToken); err != nil {
		return storageErr("set", StorageKeyIDToken, err)
	}
	if tok.RefreshToken != "" {
		if err := c.storage.Set(ctx, StorageKeyRefreshToken, tok.RefreshToken); err != nil {
			return storageErr("set", StorageKeyRefreshToken, err)
		}
	}
	return c.storeToken(ctx, "", accessTokenFrom(tok, sent))
}

// sameRedirectURI compares the URL the callback arrived at with the redirect
// URI of the sign-in: scheme, host (with default ports made explicit) and
// path must be identical.
func sameRedirectURI(got *url.URL, want string) bool {
	w, err := url.Parse(want)
	if err != nil {
		return false
	}
	return strings.EqualFold(got.Scheme, w.Scheme) &&
		httpx.HostPort(got) == httpx.HostPort(w) &&
		got.EscapedPath() == w.EscapedPath()
}
