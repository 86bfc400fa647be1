package logtotest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// serveUserinfo answers /oidc/me for an opaque access token.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	f := p.currentFaults()
	if !sleepCtx(r.Context(), f.UserinfoDelay) {
		return // the client gave up
	}
	iss := p.issuerFor(r)
	tok, ok := bearerToken(r)
	if !ok {
		writeBearerError(w, iss, http.StatusUnauthorized, "invalid_token", "no access token provided")
		return
	}

	p.mu.Lock()
	now := p.now()
	at := p.access[tok]
	var g *grant
	if at != nil {
		g = p.grants[at.grantID]
	}
	if at == nil || g == nil || at.revoked || g.revoked || now.After(at.expires) {
		p.mu.Unlock()
		writeBearerError(w, iss, http.StatusUnauthorized, "invalid_token", "invalid token provided")
		return
	}
	if !slices.Contains(at.scopes, ScopeOpenID) {
		p.mu.Unlock()
		writeBearerError(w, iss, http.StatusForbidden, "insufficient_scope", "access token missing openid scope")
		return
	}
	claims := userClaims(p.userLocked(g), at.scopes, true)
	claims["sub"] = g.subject
	p.mu.Unlock()

	if f.UserinfoClaims != nil {
		f.UserinfoClaims(claims)
	}
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}

// writeBearerError answers an RFC 6750 error with its WWW-Authenticate
// challenge.
func writeBearerError(w http.ResponseWriter, realm string, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=%q, error_description=%q", realm, code, desc))
	writeError(w, status, code, desc)
}
