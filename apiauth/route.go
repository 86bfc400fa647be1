package apiauth

import (
	"fmt"
	"slices"
)

// routeKind is what kind of token a route takes.
type routeKind int

const (
	// resourceRoute takes tokens of the API (aud Config.Audience) that
	// are not scoped to an organization: their scopes come from the
	// user's global roles.
	resourceRoute routeKind = iota
	// organizationRoute takes organization tokens of one organization
	// (aud urn:logto:organization:<id>).
	organizationRoute
	// organizationResourceRoute takes organization-scoped tokens of the
	// API for one organization (aud Config.Audience, organization_id
	// <id>): their scopes come from the user's roles in that
	// organization.
	organizationResourceRoute
)

// route is what one request wants of a token beyond the checks every token
// passes: an audience, and an organization. The verification cache holds
// tokens that passed the common checks, so route checks run on every
// request, cached or not.
type route struct {
	kind routeKind
	aud  string // the token's aud must hold it
	org  string // the route's organization; "" for a resourceRoute
}

func (v *Validator) resourceRoute() route { return route{kind: resourceRoute, aud: v.audience} }

func organizationTokenRoute(id string) route {
	return route{kind: organizationRoute, aud: OrganizationAudiencePrefix + id, org: id}
}

func (v *Validator) organizationResourceRoute(id string) route {
	return route{kind: organizationResourceRoute, aud: v.audience, org: id}
}

// accept checks a token's aud and organization_id claims against rt.
func (rt route) accept(aud []string, org orgClaim) error {
	if !slices.Contains(aud, rt.aud) {
		// Config.Audience missing from a token looks like a setup mistake
		// (a token asked for another resource, or a mistyped Audience);
		// another organization's token on an organization route is the
		// client's.
		return wrongAudience(aud, rt.aud, rt.kind != organizationRoute)
	}
	switch rt.kind {
	case resourceRoute:
		// A token scoped to an organization grants what the user may do
		// in that organization, and nothing outside it.
		if org.present {
			return &tokenError{reason: "the token is scoped to an organization", detail: fmt.Sprintf("organization_id %s", org)}
		}
	case organizationRoute:
		// An organization token's aud names its organization; an
		// organization_id claim, if it has one, must name the same.
		if org.present && (!org.valid || org.id != rt.org) {
			return notThisOrganization(org, rt.org)
		}
	case organizationResourceRoute:
		if !org.present || !org.valid || org.id != rt.org {
			return notThisOrganization(org, rt.org)
		}
	}
	return nil
}

func notThisOrganization(org orgClaim, want string) error {
	return &tokenError{reason: "the token is not for this organization", detail: fmt.Sprintf("organization_id %s, expected %q", org, want)}
}
