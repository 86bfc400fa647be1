package m2m

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// Token is an access token from the provider.
type Token struct {
	AccessToken string
	TokenType   string // "Bearer"
	// Scope is what the provider granted, space-separated ("" when it did
	// not say).
	Scope string
	// IssuedTokenType is the kind of token a token exchange issued (RFC
	// 8693 section 2.2.1); "" for client credentials.
	IssuedTokenType string
	// IssuedAt is when the request was sent; Expiry when the token ends
	// (zero when the provider gave no lifetime).
	IssuedAt, Expiry time.Time
}

// entry is the cache's slot for one grant: the token it holds and the
// request in flight for it. Guarded by Client.mu.
type entry struct {
	tok    *Token
	oauth  *oauth2.Token // tok for oauth2 callers, made once
	flight *flight
}

type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

// Token returns a token for g: the cached one while it has more than the
// expiry margin left, else a new one. However many goroutines ask at once,
// one request per grant goes to the provider and they all get its answer.
// A caller whose ctx ends stops waiting; the request goes on for the
// others.
//
// Errors: logto.ErrInvalidRequest for a grant that cannot be sent; an
// *logto.OAuthError when the provider refuses (its Code says why); else
// errors matching logto.ErrProvider. A failure is not cached: the next
// call asks again.
func (c *Client) Token(ctx context.Context, g Grant) (*Token, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: %w", logto.ErrInvalidRequest, errNoGrant)
	}
	e, err := c.get(ctx, g.key(), g)
	if err != nil {
		return nil, err
	}
	return e.tok, nil
}

// Forget drops the cached token for g if it is tok (as an API that answers
// 401 to it asks), so the next call gets a new one. Transport does this
// itself.
func (c *Client) Forget(g Grant, tok string) {
	if g == nil {
		return
	}
	c.forget(g.key(), tok)
}

func (c *Client) forget(key, tok string) {
	c.mu.Lock()
	if e := c.entries[key]; e != nil && e.tok != nil && e.tok.AccessToken == tok {
		e.tok, e.oauth = nil, nil
	}
	c.mu.Unlock()
}

// cached returns a snapshot of the entry of key while its token is fresh.
func (c *Client) cached(key string) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.tok == nil || !tokenendpoint.Fresh(e.tok.IssuedAt, e.tok.Expiry, c.now(), c.margin) {
		return entry{}, false
	}
	return *e, true
}

// get returns a snapshot of the entry of g, whose key is key, holding a
// fresh token.
func (c *Client) get(ctx context.Context, key string, g Grant) (entry, error) {
	if e, ok := c.cached(key); ok {
		return e, nil
	}
	form, err := g.form()
	if err != nil {
		return entry{}, err
	}
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &entry{}
		c.entries[key] = e
	}
	if e.tok != nil && tokenendpoint.Fresh(e.tok.IssuedAt, e.tok.Expiry, c.now(), c.margin) {
		snap := *e // filled while this caller made its form
		c.mu.Unlock()
		return snap, nil
	}
	f := e.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		e.flight = f
		// Detached from this caller's cancellation (its values kept), so a
		// caller that gives up does not fail the others; the HTTP client's
		// timeout bounds it.
		go c.fetch(context.WithoutCancel(ctx), key, e, f, form)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return entry{}, f.err
		}
		return entry{tok: f.tok, oauth: oauthToken(f.tok)}, nil
	case <-ctx.Done():
		return entry{}, fmt.Errorf("%w: waiting for a token: %w", logto.ErrProvider, ctx.Err())
	}
}

// fetch sends the token request of flight f and files its answer in e.
func (c *Client) fetch(ctx context.Context, key string, e *entry, f *flight, form url.Values) {
	f.tok, f.err = c.request(ctx, form)
	c.mu.Lock()
	if f.err == nil {
		e.tok, e.oauth = f.tok, oauthToken(f.tok)
	}
	e.flight = nil
	c.mu.Unlock()
	close(f.done)
}

func (c *Client) request(ctx context.Context, form url.Values) (*Token, error) {
	p, err := c.disc.Get(ctx)
	if err != nil {
		return nil, err
	}
	resp, sent, err := p.tokens.Token(ctx, p.tokenEndpoint, form)
	if err != nil {
		var e *tokenendpoint.Error
		if errors.As(err, &e) {
			oe := logto.OAuthError(*e)
			return nil, &oe
		}
		return nil, err
	}
	t := &Token{
		AccessToken:     resp.AccessToken,
		TokenType:       resp.TokenType,
		Scope:           resp.Scope,
		IssuedTokenType: resp.IssuedTokenType,
		IssuedAt:        sent,
	}
	if resp.ExpiresIn > 0 {
		t.Expiry = sent.Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	return t, nil
}

func oauthToken(t *Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry}
}
