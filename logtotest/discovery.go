package logtotest

import (
	"net/http"
	"slices"
)

// supportedScopes are the scopes discovery advertises: Logto's user scopes.
var supportedScopes = []string{
	ScopeOpenID, ScopeOfflineAccess, ScopeProfile, ScopeEmail, ScopePhone,
	ScopeRoles, ScopeCustomData, ScopeIdentities, ScopeOrganizations,
	ScopeOrganizationRoles,
}

// supportedClaims are the claims discovery advertises.
var supportedClaims = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "sid", "nonce", "at_hash",
	"name", "username", "picture", "email", "email_verified", "phone_number",
	"phone_number_verified", "roles", "organizations", "organization_roles",
	"custom_data", "identities", "organization_data",
}

// serveDiscovery answers the OpenID provider metadata.
func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	f := p.faults
	alg := p.keys.alg
	base := p.base
	p.mu.Unlock()

	if f.DiscoveryStatus != 0 {
		status := faultStatus(f.DiscoveryStatus)
		writeError(w, status, faultStatusError(status), "injected discovery fault")
		return
	}
	iss := deriveIssuer(base, r)
	// The native application's "none" joins the web application's methods.
	authMethods := p.opts.TokenEndpointAuthMethods
	if !slices.Contains(authMethods, "none") {
		authMethods = append(slices.Clip(authMethods), "none")
	}
	advertised := iss
	if f.DiscoveryIssuer != "" {
		advertised = f.DiscoveryIssuer
	}
	doc := map[string]any{
		"issuer":                                         advertised,
		"authorization_endpoint":                         iss + "/auth",
		"token_endpoint":                                 iss + "/token",
		"userinfo_endpoint":                              iss + "/me",
		"jwks_uri":                                       iss + "/jwks",
		"end_session_endpoint":                           iss + "/session/end",
		"revocation_endpoint":                            iss + "/token/revocation",
		"introspection_endpoint":                         iss + "/token/introspection",
		"device_authorization_endpoint":                  iss + "/device/auth",
		"pushed_authorization_request_endpoint":          iss + "/request",
		"require_pushed_authorization_requests":          p.opts.RequirePAR,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token", "client_credentials", GrantTypeTokenExchange, GrantTypeDeviceCode},
		"scopes_supported":                               supportedScopes,
		"claims_supported":                               supportedClaims,
		"acr_values_supported":                           []string{ACR1FA, ACRMFA},
		"subject_types_supported":                        []string{"public"},
		"code_challenge_methods_supported":               []string{"S256"},
		"id_token_signing_alg_values_supported":          []string{alg},
		"token_endpoint_auth_methods_supported":          authMethods,
		"revocation_endpoint_auth_methods_supported":     authMethods,
		"introspection_endpoint_auth_methods_supported":  secretMethods(p.opts.TokenEndpointAuthMethods),
		"authorization_response_iss_parameter_supported": true,
		"claims_parameter_supported":                     false,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
	}
	if f.DiscoveryEdit != nil {
		f.DiscoveryEdit(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}
