package logtotest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// introspectionPath is the token introspection endpoint (RFC 7662), where
// Logto has it.
const introspectionPath = "/oidc/token/introspection"

// MintOpaqueAccessToken returns a new opaque access token of the API
// resource resource for the user with that subject (the main user, "" naming
// it too, or one of Options.ExtraUsers), issued to the web application,
// granting scopes (each one of the resource's ResourceScopes; none means
// all of them), good for Options.AccessTokenTTL. Logto issues JWTs for API
// resources; this is the token an API gets from a provider that issues
// opaque ones, or from a Logto resource configured so, and must check at
// the introspection endpoint (<endpoint>/oidc/token/introspection, RFC
// 7662), which answers for it with its aud, sub, client_id, scope, exp,
// iat, iss and token_type. The revocation endpoint revokes it (as the web
// application). An unknown subject or resource, or a scope the resource
// does not have, is an error.
func (p *Provider) MintOpaqueAccessToken(subject, resource string, scopes ...string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sub, extra, err := p.findUserLocked(subject)
	if err != nil {
		return "", err
	}
	if resource == "" || resource == OrganizationsResource {
		return "", errors.New("logtotest: an opaque access token needs an API resource of Options.Resources")
	}
	if e := p.checkResource(resource); e != nil {
		return "", fmt.Errorf("logtotest: resource %q: %s", resource, e.desc)
	}
	allowed := p.resourceScopes(resource)
	for _, s := range scopes {
		if !slices.Contains(allowed, s) {
			return "", fmt.Errorf("logtotest: resource %q has no scope %q (Options.ResourceScopes)", resource, s)
		}
	}
	if len(scopes) == 0 {
		scopes = allowed
	}
	now := p.now()
	g := &grant{
		id:        randomToken(16),
		clientID:  p.opts.ClientID,
		subject:   sub,
		extra:     extra,
		scopes:    slices.Clone(scopes),
		resources: []string{resource},
		authTime:  now,
	}
	p.grants[g.id] = g
	var plan tokenPlan
	p.opaqueAccessLocked(&plan, g, g.scopes, now)
	p.access[plan.accessToken].resource = resource
	return plan.accessToken, nil
}

// serveIntrospection answers RFC 7662 token introspection as oidc-provider
// does for Logto: only for a confidential client that authenticates (any
// registered one, the web or the M2M application); opaque access tokens
// (of sign-ins, token exchange, the device flow, MintOpaqueAccessToken)
// and refresh tokens that are still good are active, anything else gets
// {"active": false}, and a JWT gets 400 unsupported_token_type: JWT
// access tokens are checked where they are used, with the provider's keys.
func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	form, e := parseTokenForm(w, r)
	f := p.currentFaults()
	if !sleepCtx(r.Context(), f.IntrospectionDelay) {
		return // the client gave up
	}
	if f.IntrospectionStatus != 0 {
		status := faultStatus(f.IntrospectionStatus)
		writeError(w, status, faultStatusError(status), "injected introspection fault")
		return
	}
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	if _, secret := form["client_secret"]; !secret && r.Header.Get("Authorization") == "" {
		writeClientError(w, r, errInvalidClient("client authentication is required to introspect tokens"))
		return
	}
	if _, e := p.authenticateClient(r, form); e != nil {
		writeClientError(w, r, e)
		return
	}
	token := form.Get("token")
	switch {
	case token == "":
		writeOAuthError(w, errInvalidRequest("missing required parameter 'token'"))
		return
	case isStructured(token):
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "unsupported_token_type",
			"Structured JWT Tokens cannot be introspected via the introspection_endpoint"})
		return
	}

	answer := p.introspect(token, p.issuerFor(r))
	if answer["active"] == true && f.IntrospectionClaims != nil {
		f.IntrospectionClaims(answer)
	}
	writeJSON(w, http.StatusOK, answer)
}

// introspect is the introspection answer for an opaque token.
func (p *Provider) introspect(token, iss string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if at := p.access[token]; at != nil {
		g := p.grants[at.grantID]
		if g == nil || g.revoked || at.revoked || now.After(at.expires) {
			return map[string]any{"active": false}
		}
		a := map[string]any{
			"active":     true,
			"sub":        g.subject,
			"client_id":  g.clientID,
			"scope":      strings.Join(at.scopes, " "),
			"exp":        at.expires.Unix(),
			"iat":        at.issued.Unix(),
			"iss":        iss,
			"token_type": "Bearer",
		}
		if at.resource != "" {
			a["aud"] = at.resource
		}
		return a
	}
	if rt := p.refresh[token]; rt != nil {
		g := p.grants[rt.grantID]
		if g == nil || g.revoked || g.refreshRevoked || rt.consumed || now.After(rt.expires) {
			return map[string]any{"active": false}
		}
		// oidc-provider gives a refresh token no token_type: it is not
		// one to present to an API.
		return map[string]any{
			"active":    true,
			"sub":       g.subject,
			"client_id": g.clientID,
			"scope":     strings.Join(g.scopes, " "),
			"exp":       rt.expires.Unix(),
			"iss":       iss,
		}
	}
	return map[string]any{"active": false}
}

// isStructured reports whether token is a JWT (or any JOSE object): its
// first dot-separated part decodes to a JSON object, a JOSE header.
func isStructured(token string) bool {
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	var header map[string]any
	return err == nil && json.Unmarshal(b, &header) == nil && header != nil
}
