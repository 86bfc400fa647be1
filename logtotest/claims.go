package logtotest

import (
	"encoding/json"
	"slices"
	"time"
)

// userClaims returns the user's claims the scopes grant, as Logto maps
// them; userinfo adds the claims Logto serves only at /oidc/me. Values are
// copies, safe for hooks to edit.
func userClaims(u User, scopes []string, userinfo bool) map[string]any {
	c := map[string]any{"sub": u.Subject}
	has := func(s string) bool { return slices.Contains(scopes, s) }
	if has(ScopeProfile) {
		c["name"] = nullable(u.Name)
		c["username"] = nullable(u.Username)
		c["picture"] = nullable(u.Picture)
	}
	if has(ScopeEmail) {
		c["email"] = nullable(u.Email)
		c["email_verified"] = u.EmailVerified
	}
	if has(ScopePhone) {
		c["phone_number"] = nullable(u.PhoneNumber)
		c["phone_number_verified"] = u.PhoneNumberVerified
	}
	if has(ScopeRoles) {
		c["roles"] = nonNil(u.Roles)
	}
	if has(ScopeOrganizations) {
		c["organizations"] = nonNil(u.Organizations)
	}
	if has(ScopeOrganizationRoles) {
		c["organization_roles"] = nonNil(u.OrganizationRoles)
	}
	if !userinfo {
		return c
	}
	if has(ScopeCustomData) {
		c["custom_data"] = cloneJSON(u.CustomData, map[string]any{})
	}
	if has(ScopeIdentities) {
		c["identities"] = cloneJSON(u.Identities, map[string]any{})
	}
	if has(ScopeOrganizations) {
		c["organization_data"] = cloneJSON(u.OrganizationData, []any{})
	}
	return c
}

// nullable maps "" to JSON null, as Logto reports unset profile fields.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(s []string) []string {
	return append([]string{}, s...)
}

// cloneJSON deep-copies v through JSON, returning empty when v is nil or
// cannot be encoded.
func cloneJSON(v, empty any) any {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return empty
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return empty
	}
	return out
}

// idTokenClaimsLocked builds an ID token's claims for the grant. Call with
// p.mu held.
func (p *Provider) idTokenClaimsLocked(g *grant, iss string, now time.Time, withNonce bool) map[string]any {
	c := userClaims(p.userLocked(g), g.scopes, false)
	c["sub"] = g.subject
	c["iss"] = iss
	c["aud"] = g.clientID
	c["iat"] = now.Unix()
	c["exp"] = now.Add(p.opts.IDTokenTTL).Unix()
	addAuthentication(c, g.authTime, g.acr, g.amr)
	c["sid"] = g.sessionID()
	if withNonce && g.nonce != "" {
		c["nonce"] = g.nonce
	}
	return c
}

// atHash computes an ID token's at_hash for an access token: the left half
// of the hash the signing algorithm uses, base64url-encoded.
func atHash(alg, accessToken string) string {
	h := hashFor(alg)()
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return b64.EncodeToString(sum[:len(sum)/2])
}

// resourceScopes returns the scopes a token for resource may carry.
func (p *Provider) resourceScopes(resource string) []string {
	if s, ok := p.opts.ResourceScopes[resource]; ok {
		return s
	}
	return []string{DefaultResourceScope}
}

// isAPIScope reports whether s is a resource or organization scope rather
// than a user (OpenID) scope.
func (p *Provider) isAPIScope(s string) bool {
	if slices.Contains(p.opts.OrganizationScopes, s) {
		return true
	}
	for _, r := range p.opts.Resources {
		if slices.Contains(p.resourceScopes(r), s) {
			return true
		}
	}
	return false
}

// userScopes returns the grant scopes that are not API scopes: the scope of
// an opaque access token.
func (p *Provider) userScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if !p.isAPIScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// grantedScopes picks the scopes of a token from those allowed: only the
// ones the grant names, if it names any, then only the requested ones, if
// the token request narrows (requested non-nil).
func grantedScopes(allowed, grantScopes, requested []string) []string {
	out := append([]string{}, allowed...)
	if slices.ContainsFunc(out, func(s string) bool { return slices.Contains(grantScopes, s) }) {
		out = slices.DeleteFunc(out, func(s string) bool { return !slices.Contains(grantScopes, s) })
	}
	if requested != nil {
		out = slices.DeleteFunc(out, func(s string) bool { return !slices.Contains(requested, s) })
	}
	return out
}
