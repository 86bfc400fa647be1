package logto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Audience is the aud claim: one string or a list (RFC 7519 section 4.1.3).
type Audience []string

// UnmarshalJSON accepts both forms.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

// Contains reports whether aud holds s.
func (a Audience) Contains(s string) bool { return slices.Contains(a, s) }

// UserClaims are the claims about the user that both the ID token and the
// userinfo answer carry, each present when its scope was granted.
type UserClaims struct {
	// Scope profile.
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
	Picture  string `json:"picture,omitempty"`
	// Scope email.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// Scope phone.
	PhoneNumber         string `json:"phone_number,omitempty"`
	PhoneNumberVerified bool   `json:"phone_number_verified,omitempty"`
	// Scope roles.
	Roles []string `json:"roles,omitempty"`
	// Scope urn:logto:scope:organizations: the IDs of the user's organizations.
	Organizations []string `json:"organizations,omitempty"`
	// Scope urn:logto:scope:organization_roles: "<orgId>:<roleName>".
	OrganizationRoles []string `json:"organization_roles,omitempty"`
	// CreatedAt and UpdatedAt are Logto's, in milliseconds since the epoch.
	CreatedAt int64 `json:"created_at,omitempty"`
	UpdatedAt int64 `json:"updated_at,omitempty"`
}

// IDTokenClaims are the claims of a verified ID token: the standard ones,
// Logto's, and Raw, the whole payload, for anything else.
type IDTokenClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        Audience `json:"aud"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	AuthTime        int64    `json:"auth_time,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	AuthorizedParty string   `json:"azp,omitempty"`
	AtHash          string   `json:"at_hash,omitempty"`
	SessionID       string   `json:"sid,omitempty"`

	// UserClaims are the user's claims, by scope.
	UserClaims

	// Raw is the token's whole payload.
	Raw json.RawMessage `json:"-"`
}

// Extra returns every claim, including those without a field above.
func (c *IDTokenClaims) Extra() (map[string]any, error) {
	m := map[string]any{}
	if err := json.Unmarshal(c.Raw, &m); err != nil {
		return nil, fmt.Errorf("logto: decoding claims: %w", err)
	}
	return m, nil
}

// ExpiresAt returns exp as a time.
func (c *IDTokenClaims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0) }

// parseIDTokenClaims decodes a JWT's payload without checking its signature:
// callers either verified it just before or read it back from their own
// storage, where it was stored only after verification.
func parseIDTokenClaims(raw string) (*IDTokenClaims, error) {
	payload, err := jwtPayload(raw)
	if err != nil {
		return nil, err
	}
	c := &IDTokenClaims{Raw: payload}
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, wrapErr(ErrInvalidToken, "claims are not a JSON object", err)
	}
	return c, nil
}

// jwtPayload returns the decoded payload of a compact JWS.
func jwtPayload(raw string) ([]byte, error) {
	_, rest, ok := strings.Cut(raw, ".")
	payload, _, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return nil, wrapErr(ErrInvalidToken, "not a compact JWT", nil)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, wrapErr(ErrInvalidToken, "payload is not base64url", err)
	}
	return b, nil
}

// IsAuthenticated reports whether the storage holds a signed-in session (an
// ID token stored after a verified sign-in). It does no network I/O.
func (c *Client) IsAuthenticated(ctx context.Context) (bool, error) {
	raw, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil {
		return false, storageErr("get", StorageKeyIDToken, err)
	}
	return raw != "", nil
}

// IDToken returns the raw ID token of the signed-in user, or an error
// wrapping ErrNotAuthenticated.
func (c *Client) IDToken(ctx context.Context) (string, error) {
	raw, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil {
		return "", storageErr("get", StorageKeyIDToken, err)
	}
	if raw == "" {
		return "", ErrNotAuthenticated
	}
	return raw, nil
}

// IDTokenClaims returns the claims of the signed-in user's ID token, or an
// error wrapping ErrNotAuthenticated. It does no network I/O: the token was
// verified when it was stored.
func (c *Client) IDTokenClaims(ctx context.Context) (*IDTokenClaims, error) {
	raw, err := c.IDToken(ctx)
	if err != nil {
		return nil, err
	}
	if cached := c.app.claims.get(raw); cached != nil {
		return cached.clone(), nil
	}
	claims, err := parseIDTokenClaims(raw)
	if err != nil {
		// Storage can only hold a verified token; anything else was not
		// written by us.
		return nil, fmt.Errorf("%w: stored ID token is unreadable: %w", ErrNotAuthenticated, err)
	}
	c.app.claims.put(raw, claims)
	return claims.clone(), nil
}

// clone copies c deeply enough that a caller changing it cannot change the
// cached original.
func (c *IDTokenClaims) clone() *IDTokenClaims {
	cp := *c
	cp.Audience = slices.Clone(c.Audience)
	cp.Roles = slices.Clone(c.Roles)
	cp.Organizations = slices.Clone(c.Organizations)
	cp.OrganizationRoles = slices.Clone(c.OrganizationRoles)
	cp.Raw = slices.Clone(c.Raw)
	return &cp
}

// maxCachedClaims bounds the parsed ID-token claims an App keeps.
const maxCachedClaims = 1024

// claimsCache keeps the parsed claims of recently seen ID tokens, so the
// per-request "who is this" check decodes no JSON for a user seen before.
// The key is the whole raw token, which was verified before it was stored.
type claimsCache struct {
	mu sync.RWMutex
	m  map[string]*IDTokenClaims
}

func (cc *claimsCache) get(raw string) *IDTokenClaims {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	return cc.m[raw]
}

func (cc *claimsCache) put(raw string, c *IDTokenClaims) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= maxCachedClaims {
		// Simple and bounded: start over rather than track recency.
		cc.m = make(map[string]*IDTokenClaims, 64)
	}
	cc.m[raw] = c
}

// UserInfo is the userinfo endpoint's answer (OpenID Connect Core 5.3), with
// Logto's claims typed. Raw holds the whole answer.
type UserInfo struct {
	Subject string `json:"sub"`
	// UserClaims are the user's claims, by scope.
	UserClaims
	// Address needs ScopeAddress.
	Address *Address `json:"address,omitempty"`
	// CustomData needs ScopeCustomData.
	CustomData map[string]any `json:"custom_data,omitempty"`
	// Identities are social identities by connector target; ScopeIdentities.
	Identities map[string]Identity `json:"identities,omitempty"`
	// SSOIdentities are enterprise SSO identities; ScopeIdentities.
	SSOIdentities []SSOIdentity `json:"sso_identities,omitempty"`
	// OrganizationData needs ScopeOrganizations.
	OrganizationData []OrganizationData `json:"organization_data,omitempty"`

	// Raw is the whole answer.
	Raw json.RawMessage `json:"-"`
}

// Address is the address claim (OpenID Connect Core 5.1.1).
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Identity is a social identity linked to the user.
type Identity struct {
	UserID  string         `json:"userId"`
	Details map[string]any `json:"details,omitempty"`
}

// SSOIdentity is an enterprise SSO identity linked to the user.
type SSOIdentity struct {
	ID             string         `json:"id,omitempty"`
	UserID         string         `json:"userId,omitempty"`
	Issuer         string         `json:"issuer"`
	IdentityID     string         `json:"identityId"`
	SSOConnectorID string         `json:"ssoConnectorId,omitempty"`
	Detail         map[string]any `json:"detail,omitempty"`
}

// OrganizationData describes one of the user's organizations.
type OrganizationData struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// FetchUserInfo calls the provider's userinfo endpoint with the session's
// access token in the Authorization header, refreshing the token first when
// it has expired. An answer whose sub differs from the ID token's is refused
// (OpenID Connect Core 5.3.2) with ErrInvalidToken.
func (c *Client) FetchUserInfo(ctx context.Context) (*UserInfo, error) {
	claims, err := c.IDTokenClaims(ctx)
	if err != nil {
		return nil, err
	}
	m, err := c.app.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if m.UserinfoEndpoint == "" {
		return nil, wrapErr(ErrProvider, "the provider has no userinfo_endpoint", nil)
	}
	at, err := c.GetAccessToken(ctx, "")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.UserinfoEndpoint, nil)
	if err != nil {
		return nil, wrapErr(ErrProvider, "building userinfo request", err)
	}
	req.Header.Set("Authorization", "Bearer "+at.Token)
	req.Header.Set("Accept", "application/json")
	body, status, err := c.app.do(req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, oauthErrorFrom("userinfo", status, body)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		// A signed (JWT) userinfo answer is not requested by this client.
		return nil, wrapErr(ErrProvider, "userinfo answer is not a JSON object", nil)
	}
	info := &UserInfo{Raw: body}
	if err := json.Unmarshal(body, info); err != nil {
		return nil, wrapErr(ErrProvider, "userinfo answer is malformed", err)
	}
	if info.Subject != claims.Subject {
		return nil, wrapErr(ErrInvalidToken, fmt.Sprintf("userinfo sub %q is not the ID token's %q", info.Subject, claims.Subject), nil)
	}
	return info, nil
}
