package logto

import (
	"context"
	"slices"
)

// GetOrganizationToken returns a valid access token for organization
// organizationID (Logto organization token: a refresh grant with
// organization_id and no resource; its audience is
// OrganizationAudience(organizationID)). It needs ScopeOrganizations in
// Config.Scopes, else ErrInvalidRequest before any request. Caching and
// refresh work as in GetAccessToken; a user who is not a member gets an
// *OAuthError (access_denied).
func (c *Client) GetOrganizationToken(ctx context.Context, organizationID string) (*AccessToken, error) {
	return c.GetOrganizationResourceToken(ctx, "", organizationID)
}

// GetOrganizationResourceToken returns an access token for API resource
// resource scoped to organization organizationID: its audience is the
// resource and it carries an organization_id claim. resource must be in
// Config.Resources.
func (c *Client) GetOrganizationResourceToken(ctx context.Context, resource, organizationID string) (*AccessToken, error) {
	return c.organizationToken(ctx, resource, organizationID, false)
}

// RefreshOrganizationToken is GetOrganizationToken past the cache, as
// RefreshAccessToken is GetAccessToken: a token newer than the one cached
// when it was called. Logto reads the user's organization membership and
// roles again on every refresh, so the token says what they are now; a
// user no longer in the organization gets an *OAuthError (access_denied),
// and the cached token is dropped.
func (c *Client) RefreshOrganizationToken(ctx context.Context, organizationID string) (*AccessToken, error) {
	return c.organizationToken(ctx, "", organizationID, true)
}

// RefreshOrganizationResourceToken is GetOrganizationResourceToken past
// the cache (see RefreshOrganizationToken).
func (c *Client) RefreshOrganizationResourceToken(ctx context.Context, resource, organizationID string) (*AccessToken, error) {
	return c.organizationToken(ctx, resource, organizationID, true)
}

// organizationToken checks the request and serves the token (see
// accessToken).
func (c *Client) organizationToken(ctx context.Context, resource, organizationID string, force bool) (*AccessToken, error) {
	s := c.app.s
	if organizationID == "" {
		return nil, wrapErr(ErrInvalidRequest, "an organization ID is required", nil)
	}
	if !slices.Contains(s.scopes, ScopeOrganizations) {
		return nil, wrapErr(ErrInvalidRequest, "organization tokens need the "+ScopeOrganizations+" scope in Config.Scopes", nil)
	}
	if resource != "" && !slices.Contains(s.resources, resource) {
		return nil, wrapErr(ErrInvalidRequest, "resource "+resource+" is not in Config.Resources", nil)
	}
	return c.accessToken(ctx, resource, organizationID, "", force)
}

// OrganizationIDs returns the IDs of the signed-in user's organizations, from
// the ID token's organizations claim (present with ScopeOrganizations).
func (c *Client) OrganizationIDs(ctx context.Context) ([]string, error) {
	claims, err := c.IDTokenClaims(ctx)
	if err != nil {
		return nil, err
	}
	return claims.Organizations, nil
}
