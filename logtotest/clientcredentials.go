package logtotest

import (
	"net/http"
	"net/url"
	"slices"
	"time"
)

// clientCredentialsLocked answers the client_credentials grant (RFC 6749
// section 4.4) of the M2M application, as Logto does: a JWT access token
// whose subject is the application itself, for one API resource its roles
// cover (resource), for an organization it belongs to (organization_id,
// aud urn:logto:organization:<id>), or for a resource within an
// organization (both). No refresh token, no ID token. The caller has
// checked that the client is the M2M application. Call with p.mu held.
func (p *Provider) clientCredentialsLocked(form url.Values, c *client, iss string, now time.Time) (*tokenPlan, *oauthError) {
	orgID := form.Get("organization_id")
	if orgID != "" && !slices.Contains(p.opts.M2MOrganizations, orgID) {
		// Logto's answer, 403 included.
		return nil, &oauthError{http.StatusForbidden, "access_denied", "app has not associated with the organization"}
	}
	resource, e := p.singleResource(form)
	switch {
	case e != nil:
		return nil, e
	case resource == "" && orgID == "":
		return nil, errInvalidTarget("both resource and organization_id are missing: a token is for a resource or an organization")
	}

	allowed := p.opts.OrganizationScopes
	if resource != "" {
		allowed = p.opts.M2MResourceScopes[resource]
		if len(allowed) == 0 {
			return nil, errInvalidTarget("the application's roles give it no scope for this resource")
		}
	}
	plan := &tokenPlan{faults: p.faults}
	p.jwtAccessLocked(plan, apiToken{
		subject:  c.id,
		clientID: c.id,
		resource: resource,
		orgID:    orgID,
		scopes:   narrowScopes(allowed, form),
	}, iss, now)
	return plan, nil
}

// narrowScopes returns the allowed scopes the request's scope parameter
// names, silently dropping the others as Logto does, or all of them when
// the request has no scope parameter.
func narrowScopes(allowed []string, form url.Values) []string {
	out := append([]string{}, allowed...)
	if s, ok := form["scope"]; ok {
		requested := splitScope(s[0])
		out = slices.DeleteFunc(out, func(s string) bool { return !slices.Contains(requested, s) })
	}
	return out
}

// singleResource reads the one resource indicator a token request may
// name (Logto issues a token for one audience): "" when it names none.
// The organizations resource is refused: organization_id asks for those.
func (p *Provider) singleResource(form url.Values) (string, *oauthError) {
	rs := form["resource"]
	switch {
	case len(rs) > 1:
		return "", errInvalidTarget("only a single resource indicator value is supported for this grant type: one resource per token")
	case len(rs) == 0:
		return "", nil
	}
	if e := p.checkResource(rs[0]); e != nil {
		return "", e
	}
	if rs[0] == OrganizationsResource {
		return "", errInvalidTarget("use organization_id to get an organization token")
	}
	return rs[0], nil
}
