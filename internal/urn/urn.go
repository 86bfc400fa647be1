// Package urn holds Logto's protocol names that more than one package of
// the SDK uses, so that each is written once.
package urn

const (
	// OrganizationAudiencePrefix prefixes the organization ID in the
	// audience of an organization token.
	OrganizationAudiencePrefix = "urn:logto:organization:"
	// ResourceOrganizations is the resource an authorization request must
	// name whenever it asks for ScopeOrganizations.
	ResourceOrganizations = "urn:logto:resource:organizations"
	// ScopeOrganizations asks for the user's organizations and allows
	// organization tokens.
	ScopeOrganizations = "urn:logto:scope:organizations"
)

// OrganizationAudience is the audience of an organization token for
// organization id.
func OrganizationAudience(id string) string { return OrganizationAudiencePrefix + id }
