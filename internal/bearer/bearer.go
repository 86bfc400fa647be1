// Package bearer is the one HTTP transport that attaches an access token
// to requests (RFC 6750 section 2.1): the token goes only to the origins
// it is meant for, never in clear over a network, and a 401 answer can buy
// one retry with a fresh token. logto.Client.Transport and the m2m
// package's Transport are built on it.
package bearer

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/kind"
)

// Transport is an http.RoundTripper sending Token's token to Origins. It
// does not modify the requests it is given, and is safe for concurrent
// use when Token and Drop are.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// What names the token in messages, e.g. `the access token for "R"`.
	What string
	// Token returns the token to send, with the request's context.
	Token func(ctx context.Context) (string, error)
	// Drop, when set, forgets a token the API answered 401 to; the request
	// is then sent once more with a fresh one, if its body can be sent
	// again (no body, or http.Request.GetBody).
	Drop func(token string)
	// Refused, when set, looks at a 401 answer first: an error from it is
	// the request's error (the answer is closed), with no retry. For a 401
	// that a new token cannot cure, such as a step-up challenge.
	Refused func(resp *http.Response) error
	// AllowHTTP lets the token travel over http to any host, not only to
	// loopback ones.
	AllowHTTP bool

	origins []string
	bad     error
}

// New returns a Transport whose token goes to the origins of the URLs
// given. A URL that cannot be read makes every request fail, naming it.
func New(urls ...string) *Transport {
	t := &Transport{}
	for _, o := range urls {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" {
			t.bad = fmt.Errorf("origin %q is not an absolute URL", o)
			continue
		}
		t.origins = append(t.origins, httpx.Origin(u))
	}
	return t
}

// Failing returns a Transport whose every request fails with
// kind.ErrInvalidRequest and why, sending nothing: for a transport that
// was asked for without what it needs.
func Failing(why error) *Transport {
	return &Transport{bad: why}
}

// RoundTrip implements http.RoundTripper. A request to an origin the token
// is not meant for fails with kind.ErrInvalidRequest before anything is
// sent; a redirect there is followed without the token. A token failure is
// the request's error (*url.Error unwraps to it).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if err := t.check(req); err != nil {
		if req.Response != nil {
			// A redirect away from the API: follow it, without the token.
			r := req.Clone(req.Context())
			r.Header.Del("Authorization")
			return base.RoundTrip(r)
		}
		closeBody(req)
		return nil, err
	}
	tok, err := t.Token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if t.Refused != nil {
		if err := t.Refused(resp); err != nil {
			drain(resp)
			return nil, err
		}
	}
	if t.Drop == nil {
		return resp, nil
	}
	// The API refused the token (revoked, roles changed, keys rotated):
	// once, with a fresh one, when the request can be sent again.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	t.Drop(tok)
	fresh, err := t.Token(req.Context())
	if err != nil || fresh == tok {
		return resp, nil // keep the API's answer: it says more than our failure
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	retry.Header.Set("Authorization", "Bearer "+fresh)
	second, err := base.RoundTrip(retry)
	if err != nil {
		return resp, nil
	}
	drain(resp)
	return second, nil
}

// check reports why req may not carry the token, or nil.
func (t *Transport) check(req *http.Request) error {
	if t.bad != nil {
		return fmt.Errorf("%w: transport: %w", kind.ErrInvalidRequest, t.bad)
	}
	o := httpx.Origin(req.URL)
	allowed := false
	for _, a := range t.origins {
		allowed = allowed || a == o
	}
	if !allowed {
		return fmt.Errorf("%w: %s goes only to %s, not to %s", kind.ErrInvalidRequest, t.What, strings.Join(t.origins, ", "), o)
	}
	switch {
	case strings.EqualFold(req.URL.Scheme, "https"):
	case strings.EqualFold(req.URL.Scheme, "http") && (httpx.IsLoopbackHost(req.URL.Hostname()) || t.AllowHTTP):
	default:
		return fmt.Errorf("%w: %s would travel in clear to %s: use https (http only on loopback, or with InsecureAllowHTTP)", kind.ErrInvalidRequest, t.What, o)
	}
	return nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// drain reads a little of a response that is dropped, so its connection
// can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
}
