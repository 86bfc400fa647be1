package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// tokenResponse is a successful token endpoint answer (RFC 6749 section 5.1,
// OpenID Connect Core 3.1.3.3).
type tokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    expiresIn `json:"expires_in"`
	RefreshToken string    `json:"refresh_token"`
	IDToken      string    `json:"id_token"`
	Scope        string    `json:"scope"`
}

// expiresIn accepts the number or, from some providers, a numeric string.
type expiresIn int64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("expires_in %s is not a non-negative integer", b)
	}
	*e = expiresIn(n)
	return nil
}

// accessToken converts the answer into the stored form; sent is when the
// request left, so clock time spent on the wire only shortens the lifetime.
func (t *tokenResponse) accessToken(sent time.Time) AccessToken {
	at := AccessToken{Token: t.AccessToken, Scope: t.Scope, IssuedAt: sent}
	if t.ExpiresIn > 0 {
		at.ExpiresAt = sent.Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return at
}

// tokenRequest posts form to the token endpoint with client authentication
// and returns the answer and the time the request was sent. Failures are an
// *OAuthError for a protocol error answer, else wrap ErrProvider.
func (a *App) tokenRequest(ctx context.Context, m *metadata, form url.Values) (*tokenResponse, time.Time, error) {
	sent := a.s.now()
	body, status, err := a.postForm(ctx, m, m.TokenEndpoint, form)
	if err != nil {
		return nil, sent, err
	}
	if status != http.StatusOK {
		return nil, sent, oauthErrorFrom("token", status, body)
	}
	var t tokenResponse
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, sent, wrapErr(ErrProvider, "token endpoint answered malformed JSON", err)
	}
	if t.AccessToken == "" {
		return nil, sent, wrapErr(ErrProvider, "token endpoint answered no access_token", nil)
	}
	if !strings.EqualFold(t.TokenType, "Bearer") {
		return nil, sent, wrapErr(ErrProvider, fmt.Sprintf("token endpoint answered token_type %q, not Bearer", t.TokenType), nil)
	}
	return &t, sent, nil
}

// postForm sends an authenticated form POST to a provider endpoint and returns
// the body (capped) and status.
func (a *App) postForm(ctx context.Context, m *metadata, endpoint string, form url.Values) ([]byte, int, error) {
	s := a.s
	switch m.authMethod {
	case authPost:
		form.Set("client_id", s.appID)
		form.Set("client_secret", s.appSecret)
	case authNone:
		form.Set("client_id", s.appID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, wrapErr(ErrProvider, "building request", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if m.authMethod == authBasic {
		// RFC 6749 section 2.3.1: both parts are form-encoded first.
		req.SetBasicAuth(url.QueryEscape(s.appID), url.QueryEscape(s.appSecret))
	}
	return a.do(req)
}

// do sends req with the configured client and reads at most maxResponseBytes.
func (a *App) do(req *http.Request) ([]byte, int, error) {
	resp, err := a.s.httpClient.Do(req)
	if err != nil {
		return nil, 0, wrapErr(ErrProvider, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, resp.StatusCode, wrapErr(ErrProvider, "reading "+req.URL.Path, err)
	}
	return body, resp.StatusCode, nil
}

// oauthErrorFrom turns a non-200 answer into an *OAuthError when it is a
// well-formed error response, else into a plain ErrProvider failure.
func oauthErrorFrom(endpoint string, status int, body []byte) error {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return &OAuthError{Code: e.Error, Description: e.Description, URI: e.URI, StatusCode: status, Endpoint: endpoint}
	}
	return wrapErr(ErrProvider, fmt.Sprintf("%s endpoint answered HTTP %d", endpoint, status), nil)
}
