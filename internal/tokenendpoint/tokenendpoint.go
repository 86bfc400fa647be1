// Package tokenendpoint is the SDK's one client of a provider's OAuth 2.0
// endpoints that take an authenticated form POST: the token endpoint
// (RFC 6749 section 3.2), revocation (RFC 7009) and introspection
// (RFC 7662). It authenticates the client, caps what it reads and parses
// answers and error answers the same way for every grant.
package tokenendpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/kind"
)

// Client authentication methods (OpenID Connect Core section 9).
const (
	AuthBasic = "client_secret_basic"
	AuthPost  = "client_secret_post"
	AuthNone  = "none"
)

// PickAuthMethod chooses how to authenticate from what the provider
// supports (nil means client_secret_basic, the default of Discovery 1.0
// section 3): none for a public client (no secret), else basic, else post.
func PickAuthMethod(supported []string, hasSecret bool) (string, error) {
	if !hasSecret {
		return AuthNone, nil
	}
	if len(supported) == 0 {
		supported = []string{AuthBasic}
	}
	switch {
	case slices.Contains(supported, AuthBasic):
		return AuthBasic, nil
	case slices.Contains(supported, AuthPost):
		return AuthPost, nil
	}
	return "", fmt.Errorf("the provider supports none of %s, %s (it offers %v)", AuthBasic, AuthPost, supported)
}

// Client posts forms to a provider's endpoints as one OAuth client. It is
// safe for concurrent use once its fields are set; it must not be copied
// after its first request.
type Client struct {
	HTTP         *http.Client
	ClientID     string
	ClientSecret string
	// OtherSecrets are further secrets of the client, for a secret
	// rotation: when the provider refuses a secret as invalid_client, the
	// same request is sent again with each other secret in turn, each at
	// most once, and the secret that works is presented first from then
	// on. The provider checks the client before the grant, so a refused
	// request has spent nothing (no code, no refresh token).
	OtherSecrets []string
	AuthMethod   string // AuthBasic, AuthPost or AuthNone
	Now          func() time.Time

	// current is the index, in ClientSecret followed by OtherSecrets, of
	// the secret that last worked.
	current atomic.Int32
}

// Error is an OAuth error answer (RFC 6749 section 5.2). It matches
// kind.ErrProvider.
type Error struct {
	Code        string
	Description string
	URI         string
	StatusCode  int
	Endpoint    string // "token", "revocation", "introspection", "device authorization", "pushed authorization"
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("logto: %s endpoint error %q", e.Endpoint, e.Code)
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.StatusCode)
	}
	return msg
}

// Is makes every error answer match kind.ErrProvider.
func (e *Error) Is(target error) bool { return target == kind.ErrProvider }

// Response is a successful token answer (RFC 6749 section 5.1, OpenID
// Connect Core 3.1.3.3, RFC 8693 section 2.2.1).
type Response struct {
	AccessToken     string    `json:"access_token"`
	TokenType       string    `json:"token_type"`
	ExpiresIn       ExpiresIn `json:"expires_in"`
	RefreshToken    string    `json:"refresh_token"`
	IDToken         string    `json:"id_token"`
	Scope           string    `json:"scope"`
	IssuedTokenType string    `json:"issued_token_type"`
}

// ExpiresIn accepts the number or, from some providers, a numeric string.
type ExpiresIn int64

// UnmarshalJSON reads a non-negative whole number of seconds.
func (e *ExpiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return fmt.Errorf("expires_in %s is not a non-negative integer", b)
	}
	*e = ExpiresIn(n)
	return nil
}

// Token posts a grant to endpoint and returns the answer and the time the
// request was sent (a token's lifetime counts from then, so time on the
// wire only shortens it). Errors: *Error for an error answer, else errors
// matching kind.ErrProvider.
func (c *Client) Token(ctx context.Context, endpoint string, form url.Values) (*Response, time.Time, error) {
	sent := c.now()
	body, status, err := c.PostForm(ctx, endpoint, form)
	if err != nil {
		return nil, sent, err
	}
	if status != http.StatusOK {
		return nil, sent, ErrorFrom("token", status, body)
	}
	t, err := ParseResponse(body)
	return t, sent, err
}

// ParseResponse decodes and checks a successful token answer: an
// access_token and a Bearer token_type are required.
func ParseResponse(body []byte) (*Response, error) {
	var t Response
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("%w: token endpoint answered malformed JSON: %w", kind.ErrProvider, err)
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: token endpoint answered no access_token", kind.ErrProvider)
	}
	if !strings.EqualFold(t.TokenType, "Bearer") {
		return nil, fmt.Errorf("%w: token endpoint answered token_type %q, not Bearer", kind.ErrProvider, t.TokenType)
	}
	return &t, nil
}

// PostForm sends an authenticated form POST to endpoint and returns the
// body (capped at httpx.MaxBodyBytes) and the status. An invalid_client
// answer is followed by the same request with each of OtherSecrets.
func (c *Client) PostForm(ctx context.Context, endpoint string, form url.Values) ([]byte, int, error) {
	if c.AuthMethod == AuthNone || len(c.OtherSecrets) == 0 {
		return c.post(ctx, endpoint, form, c.ClientSecret)
	}
	n := 1 + len(c.OtherSecrets)
	start := int(c.current.Load()) % n
	var (
		body   []byte
		status int
		err    error
	)
	for i := range n {
		k := (start + i) % n
		secret := c.ClientSecret
		if k > 0 {
			secret = c.OtherSecrets[k-1]
		}
		body, status, err = c.post(ctx, endpoint, form, secret)
		if err != nil || !isInvalidClient(status, body) {
			if err == nil && k != start {
				// Another request may have found the working secret
				// meanwhile; keep what it found.
				c.current.CompareAndSwap(int32(start), int32(k))
			}
			return body, status, err
		}
	}
	return body, status, err
}

// isInvalidClient reports whether an answer refuses the client's
// authentication (RFC 6749 section 5.2: 401, or 400 from some providers).
func isInvalidClient(status int, body []byte) bool {
	if status != http.StatusUnauthorized && status != http.StatusBadRequest {
		return false
	}
	var e *Error
	return errors.As(ErrorFrom("", status, body), &e) && e.Code == "invalid_client"
}

// post sends one form POST to endpoint, authenticated with secret.
func (c *Client) post(ctx context.Context, endpoint string, form url.Values, secret string) ([]byte, int, error) {
	f := make(url.Values, len(form)+2)
	for k, v := range form {
		f[k] = v
	}
	switch c.AuthMethod {
	case AuthPost:
		f.Set("client_id", c.ClientID)
		f.Set("client_secret", secret)
	case AuthNone:
		f.Set("client_id", c.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(f.Encode()))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: building a request to %s: %w", kind.ErrProvider, endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.AuthMethod == AuthBasic {
		// RFC 6749 section 2.3.1: both parts are form-encoded first.
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(secret))
	}
	return Do(httpx.Client(c.HTTP), req)
}

// Do sends req and reads its answer, capped. Transport failures match
// kind.ErrProvider.
func Do(client *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s %s: %w", kind.ErrProvider, req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := httpx.ReadBody(resp.Body)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("%w: reading %s: %w", kind.ErrProvider, req.URL.Path, err)
	}
	return body, resp.StatusCode, nil
}

// ErrorFrom turns a non-200 answer into an *Error when it is a well-formed
// error answer, else into an error matching kind.ErrProvider that names the
// status.
func ErrorFrom(endpoint string, status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &Error{Code: e.Error, Description: e.Description, URI: e.URI, StatusCode: status, Endpoint: endpoint}
	}
	return fmt.Errorf("%w: %s endpoint answered HTTP %d", kind.ErrProvider, endpoint, status)
}

// Revoke revokes token at endpoint (RFC 7009).
func (c *Client) Revoke(ctx context.Context, endpoint, token, hint string) error {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	body, status, err := c.PostForm(ctx, endpoint, form)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return ErrorFrom("revocation", status, body)
	}
	return nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Fresh reports whether an access token issued at issued (zero: unknown)
// and expiring at expires (zero: the provider gave no lifetime, so nothing
// better to go by than to keep it) may still be handed out at now: it must
// stay valid for margin more, margin being capped at half its lifetime so
// that short-lived tokens are still reused.
func Fresh(issued, expires, now time.Time, margin time.Duration) bool {
	if expires.IsZero() {
		return true
	}
	if !issued.IsZero() {
		margin = min(margin, expires.Sub(issued)/2)
	}
	return now.Add(margin).Before(expires)
}
