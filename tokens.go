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

// tokenKey names one cached token: the default token is "", a resource token
// its resource, an organization token "#org:<id>", both "<resource>#org:<id>".
func tokenKey(resource, organizationID string) string {
	if organizationID == "" {
		return resource
	}
	return resource + "#org:" + organizationID
}

// tokenStorageKey is the Storage key of one cached token. Each token has its
// own key, so serving one from the cache decodes nothing else.
func tokenStorageKey(key string) string { return StorageKeyAccessTokens + ":" + key }

// encodeToken is the stored form of a token: "<exp>,<iat>,<scope>,<token>",
// times in Unix milliseconds (0 when unknown) and the scope query-escaped, so
// that decoding is a few cuts rather than a JSON parse on every request.
func encodeToken(t AccessToken) string {
	return strconv.FormatInt(unixMilli(t.ExpiresAt), 10) + "," + strconv.FormatInt(unixMilli(t.IssuedAt), 10) + "," +
		url.QueryEscape(t.Scope) + "," + t.Token
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func decodeToken(v string) (AccessToken, bool) {
	exp, rest, ok1 := strings.Cut(v, ",")
	iat, rest, ok2 := strings.Cut(rest, ",")
	scope, token, ok3 := strings.Cut(rest, ",")
	if !ok1 || !ok2 || !ok3 || token == "" {
		return AccessToken{}, false
	}
	e, err1 := strconv.ParseInt(exp, 10, 64)
	i, err2 := strconv.ParseInt(iat, 10, 64)
	sc, err3 := url.QueryUnescape(scope)
	if err1 != nil || err2 != nil || err3 != nil {
		return AccessToken{}, false
	}
	return AccessToken{Token: token, Scope: sc, ExpiresAt: fromUnixMilli(e), IssuedAt: fromUnixMilli(i)}, true
}

// cachedToken returns the cached token for key, if there is a readable one.
func (c *Client) cachedToken(ctx context.Context, key string) (AccessToken, bool, error) {
	v, err := c.storage.Get(ctx, tokenStorageKey(key))
	if err != nil {
		return AccessToken{}, false, storageErr("get", tokenStorageKey(key), err)
	}
	if v == "" {
		return AccessToken{}, false, nil
	}
	t, ok := decodeToken(v)
	return t, ok, nil // an unreadable entry is a miss: tokens can be minted again
}

// tokenIndex reads the keys of the cached tokens, kept under
// StorageKeyAccessTokens so that they can all be found and cleared.
func (c *Client) tokenIndex(ctx context.Context) ([]string, error) {
	v, err := c.storage.Get(ctx, StorageKeyAccessTokens)
	if err != nil {
		return nil, storageErr("get", StorageKeyAccessTokens, err)
	}
	if v == "" {
		return nil, nil
	}
	var keys []string
	if json.Unmarshal([]byte(v), &keys) != nil {
		return nil, nil
	}
	return keys, nil
}

// storeToken caches t under key and drops expired entries. It runs only after
// a token request, so the index work is off the hot path.
func (c *Client) storeToken(ctx context.Context, key string, t AccessToken) error {
	keys, err := c.tokenIndex(ctx)
	if err != nil {
		return err
	}
	now := c.app.s.now()
	kept := []string{key}
	for _, k := range keys {
		if k == key {
			continue
		}
		old, ok, err := c.cachedToken(ctx, k)
		if err != nil {
			return err
		}
		if !ok || (!old.ExpiresAt.IsZero() && old.ExpiresAt.Before(now)) {
			if err := c.storage.Delete(ctx, tokenStorageKey(k)); err != nil {
				return storageErr("delete", tokenStorageKey(k), err)
			}
			continue
		}
		kept = append(kept, k)
	}
	if err := c.storage.Set(ctx, tokenStorageKey(key), encodeToken(t)); err != nil {
		return storageErr("set", tokenStorageKey(key), err)
	}
	b, _ := json.Marshal(kept)
	if err := c.storage.Set(ctx, StorageKeyAccessTokens, string(b)); err != nil {
		return storageErr("set", StorageKeyAccessTokens, err)
	}
	return nil
}

// clearTokens deletes every cached token.
func (c *Client) clearTokens(ctx context.Context) error {
	keys, err := c.tokenIndex(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := c.storage.Delete(ctx, tokenStorageKey(k)); err != nil {
			return storageErr("delete", tokenStorageKey(k), err)
		}
	}
	if err := c.storage.Delete(ctx, StorageKeyAccessTokens); err != nil {
		return storageErr("delete", StorageKeyAccessTokens, err)
	}
	return nil
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
