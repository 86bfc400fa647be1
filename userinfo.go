package logto

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/seed098cf14d/logto/internal/jwt"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

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
	// CreatedAt and UpdatedAt are Logto's (sent in milliseconds since the
	// epoch).
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
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

// UnmarshalJSON reads a userinfo answer, with Logto's created_at and
// updated_at (milliseconds) into time.Time.
func (u *UserInfo) UnmarshalJSON(b []byte) error {
	type plain UserInfo
	aux := struct {
		*plain
		CreatedAt jwt.UnixMilliDate `json:"created_at"`
		UpdatedAt jwt.UnixMilliDate `json:"updated_at"`
	}{plain: (*plain)(u)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = aux.CreatedAt.Time, aux.UpdatedAt.Time
	return nil
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
	body, status, err := tokenendpoint.Do(c.app.s.httpClient, req)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, providerErr(tokenendpoint.ErrorFrom("userinfo", status, body))
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
