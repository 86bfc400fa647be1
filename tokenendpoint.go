package logto

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// tokenRequest posts form to the token endpoint. Failures are an
// *OAuthError for a protocol error answer, else wrap ErrProvider.
func (a *App) tokenRequest(ctx context.Context, m *metadata, form url.Values) (*tokenendpoint.Response, time.Time, error) {
	tok, sent, err := m.tokens.Token(ctx, m.TokenEndpoint, form)
	return tok, sent, providerErr(err)
}

// accessTokenFrom converts a token answer into the stored form; sent is
// when the request left, so time on the wire only shortens the lifetime.
func accessTokenFrom(t *tokenendpoint.Response, sent time.Time) AccessToken {
	at := AccessToken{Token: t.AccessToken, Scope: t.Scope, IssuedAt: sent}
	if t.ExpiresIn > 0 {
		at.ExpiresAt = sent.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return at
}

// providerErr turns the wire client's error answer into an *OAuthError;
// other errors pass as they are.
func providerErr(err error) error {
	var e *tokenendpoint.Error
	if errors.As(err, &e) {
		oe := OAuthError(*e)
		return &oe
	}
	return err
}
