package logtotest

import (
	"crypto/sha256"
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// refreshToken is an issued refresh token. Guarded by Provider.mu.
type refreshToken struct {
	grantID  string
	expires  time.Time
	consumed bool // rotated: presenting it again revokes the grant
}

// accessToken is an issued opaque access token. Guarded by Provider.mu.
type accessToken struct {
	grantID string
	scopes  []string
	issued  time.Time
	expires time.Time
	revoked bool
	// resource is the API resource of a token from
	// MintOpaqueAccessToken, its aud at introspection; "" for the
	// userinfo tokens of sign-ins.
	resource string
}

// tokenPlan is a token answer decided under the lock, minted outside it.
type tokenPlan struct {
	accessToken  string         // opaque token, when atClaims is nil
	atClaims     map[string]any // JWT access token claims
	atSigner     signer
	idClaims     map[string]any // nil: no ID token
	idSigner     signer
	refreshToken string
	scopes       []string
	expiresIn    int64
	// issuedTokenType is RFC 8693's issued_token_type, for token exchange.
	issuedTokenType string
	faults          Faults
}

// tokenResponse is the token endpoint's success answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	// IssuedTokenType answers token exchange (RFC 8693 section 2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// parseTokenForm parses a form-encoded POST body, rejecting other content
// types and repeated parameters (but resource).
func parseTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("only application/x-www-form-urlencoded content-type bodies are supported")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, errInvalidRequest("malformed request body")
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 && k != "resource" {
			return nil, errInvalidRequest("'" + k + "' parameter must not be provided more than once")
		}
	}
	return r.PostForm, nil
}

// serveToken handles the token endpoint.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	form, e := parseTokenForm(w, r)
	grantType := ""
	if form != nil {
		grantType = form.Get("grant_type")
	}
	p.mu.Lock()
	if grantType != "" {
		p.grantCounts[grantType]++
	}
	if form != nil {
		p.lastToken = cloneValues(form)
		p.lastToken.Del("client_secret")
	}
	f := p.faults
	p.mu.Unlock()

	if !sleepCtx(r.Context(), f.TokenDelay) {
		return // the client gave up
	}
	if f.TokenStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(faultStatus(f.TokenStatus))
		_, _ = w.Write([]byte(f.TokenBody))
		return
	}
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	c, e := p.authenticateClient(r, form)
	if e != nil {
		writeClientError(w, r, e)
		return
	}
	switch grantType {
	case "":
		e = errInvalidRequest("missing required parameter 'grant_type'")
	case "authorization_code", "refresh_token", "client_credentials", GrantTypeTokenExchange, GrantTypeDeviceCode:
		e = c.grantAllowed(grantType)
	default:
		e = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type requested"}
	}
	if e != nil {
		writeOAuthError(w, e)
		return
	}

	var plan *tokenPlan
	p.mu.Lock()
	now := p.now()
	iss := deriveIssuer(p.base, r)
	switch grantType {
	case "authorization_code":
		plan, e = p.codeGrantLocked(form, c.id, iss, now)
	case "refresh_token":
		plan, e = p.refreshGrantLocked(form, c.id, iss, now)
	case "client_credentials":
		plan, e = p.clientCredentialsLocked(form, c, iss, now)
	case GrantTypeTokenExchange:
		plan, e = p.tokenExchangeLocked(form, c, iss, now)
	case GrantTypeDeviceCode:
		plan, e = p.deviceCodeGrantLocked(form, c, iss, now)
	}
	p.mu.Unlock()
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	resp, err := plan.mint()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// codeGrantLocked redeems an authorization code. Call with p.mu held.
func (p *Provider) codeGrantLocked(form url.Values, clientID, iss string, now time.Time) (*tokenPlan, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return nil, errInvalidRequest("missing required parameter 'code'")
	}
	if len(form["resource"]) > 0 {
		return nil, errInvalidTarget("resource indicators are not accepted when exchanging an authorization code; use the refresh_token grant")
	}
	c := p.codes[code]
	if c == nil {
		return nil, errInvalidGrant("grant request is invalid: unknown authorization code")
	}
	g := p.grants[c.grantID]
	if g == nil {
		return nil, errInvalidGrant("grant request is invalid")
	}
	if c.used {
		g.revoked = true // like the engine: tokens from a replayed code die
		return nil, errInvalidGrant("grant request is invalid: authorization code already consumed")
	}
	if now.After(c.expires) {
		return nil, errInvalidGrant("grant request is invalid: authorization code is expired")
	}
	if g.clientID != clientID {
		return nil, errInvalidGrant("grant request is invalid: client mismatch")
	}
	if g.revoked {
		return nil, errInvalidGrant("grant request is invalid: grant revoked")
	}
	verifier := form.Get("code_verifier")
	if verifier == "" || !validPKCEValue(verifier) {
		return nil, errInvalidGrant("PKCE verification failed: missing or malformed code_verifier")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(b64.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		return nil, errInvalidGrant("PKCE verification failed")
	}
	if form.Get("redirect_uri") != c.redirectURI {
		return nil, errInvalidGrant("grant request is invalid: redirect_uri mismatch")
	}
	c.used = true

	plan := &tokenPlan{faults: p.faults}
	p.opaqueAccessLocked(plan, g, p.userScopes(g.scopes), now)
	p.idTokenLocked(plan, g, iss, now, true)
	if g.offline {
		plan.refreshToken = p.newRefreshLocked(g, now)
	}
	return plan, nil
}

// refreshGrantLocked redeems a refresh token, rotating it, for an opaque,
// resource or organization access token. Call with p.mu held.
func (p *Provider) refreshGrantLocked(form url.Values, clientID, iss string, now time.Time) (*tokenPlan, *oauthError) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return nil, errInvalidRequest("missing required parameter 'refresh_token'")
	}
	rt := p.refresh[raw]
	if rt == nil {
		return nil, errInvalidGrant("grant request is invalid: unknown refresh token")
	}
	g := p.grants[rt.grantID]
	switch {
	case g == nil:
		return nil, errInvalidGrant("grant request is invalid: grant not found")
	case g.clientID != clientID:
		return nil, errInvalidGrant("grant request is invalid: client mismatch")
	case g.revoked || g.refreshRevoked:
		return nil, errInvalidGrant("grant request is invalid: grant revoked")
	case now.After(rt.expires):
		return nil, errInvalidGrant("grant request is invalid: refresh token is expired")
	case rt.consumed:
		g.revoked = true // reuse of a rotated token: sign the user out everywhere
		return nil, errInvalidGrant("grant request is invalid: refresh token already used; grant revoked")
	}

	var requested []string
	if s, ok := form["scope"]; ok {
		requested = splitScope(s[0])
	}
	resource, e := p.singleResource(form)
	switch {
	case e != nil:
		return nil, e
	case resource != "" && !slices.Contains(g.resources, resource):
		return nil, errInvalidTarget("resource indicator was not part of the authorization request")
	}
	orgID := form.Get("organization_id")
	if orgID != "" {
		if !slices.Contains(g.scopes, ScopeOrganizations) {
			return nil, &oauthError{http.StatusForbidden, "insufficient_scope", "refresh token missing required scope"}
		}
		if !slices.Contains(p.userLocked(g).Organizations, orgID) {
			return nil, &oauthError{http.StatusForbidden, "access_denied", "user is not a member of the organization"}
		}
	}
	var allowed []string
	switch {
	case resource != "":
		allowed = p.resourceScopes(resource)
	case orgID != "":
		allowed = p.opts.OrganizationScopes
	default:
		allowed = p.userScopes(g.scopes)
	}
	for _, s := range requested {
		if !slices.Contains(g.scopes, s) && !slices.Contains(allowed, s) {
			return nil, errInvalidScope("refresh token missing requested scope: " + s)
		}
	}

	rt.consumed = true
	plan := &tokenPlan{faults: p.faults, refreshToken: p.newRefreshLocked(g, now)}
	if resource == "" && orgID == "" {
		p.opaqueAccessLocked(plan, g, grantedScopes(allowed, g.scopes, requested), now)
	} else {
		p.jwtAccessLocked(plan, apiToken{
			subject:  g.subject,
			clientID: g.clientID,
			resource: resource,
			orgID:    orgID,
			scopes:   grantedScopes(allowed, g.scopes, requested),
			auth:     g,
		}, iss, now)
	}
	p.idTokenLocked(plan, g, iss, now, false)
	return plan, nil
}

// apiToken is what a JWT access token for an API resource or an
// organization says.
type apiToken struct {
	subject  string // a user, or the M2M application's client ID
	clientID string
	resource string // "" for an organization token
	orgID    string // "" for a token that is not an organization's
	scopes   []string
	actor    string // act.sub of a delegated token (RFC 8693), or ""
	// auth is the grant of a user's sign-in whose auth_time, acr and amr
	// the token carries (RFC 9068 section 2.2.1, RFC 9470); nil for none.
	auth *grant
}

// jwtAccessLocked plans a JWT access token: aud is the resource or, with
// none, the organization's URN; an organization_id claim tells the
// organization of any organization-scoped token.
func (p *Provider) jwtAccessLocked(plan *tokenPlan, t apiToken, iss string, now time.Time) {
	aud := t.resource
	if aud == "" {
		aud = "urn:logto:organization:" + t.orgID
	}
	plan.scopes = t.scopes
	plan.expiresIn = int64(p.opts.AccessTokenTTL / time.Second)
	plan.atClaims = map[string]any{
		"iss":       iss,
		"sub":       t.subject,
		"aud":       aud,
		"client_id": t.clientID,
		"scope":     strings.Join(t.scopes, " "),
		"iat":       now.Unix(),
		"exp":       now.Add(p.opts.AccessTokenTTL).Unix(),
		"jti":       randomToken(16),
	}
	if t.orgID != "" {
		plan.atClaims["organization_id"] = t.orgID
	}
	if t.actor != "" {
		plan.atClaims["act"] = map[string]any{"sub": t.actor}
	}
	if t.auth != nil {
		addAuthentication(plan.atClaims, t.auth.authTime, t.auth.acr, t.auth.amr)
	}
	plan.atSigner = p.signerLocked(p.faults.AccessTokenSigning)
}

// opaqueAccessLocked issues an opaque access token, good for userinfo.
func (p *Provider) opaqueAccessLocked(plan *tokenPlan, g *grant, scopes []string, now time.Time) {
	tok := randomToken(32)
	p.access[tok] = &accessToken{grantID: g.id, scopes: scopes, issued: now, expires: now.Add(p.opts.AccessTokenTTL)}
	plan.accessToken = tok
	plan.scopes = scopes
	plan.expiresIn = int64(p.opts.AccessTokenTTL / time.Second)
}

// idTokenLocked plans an ID token when the grant has the openid scope.
func (p *Provider) idTokenLocked(plan *tokenPlan, g *grant, iss string, now time.Time, withNonce bool) {
	if !slices.Contains(g.scopes, ScopeOpenID) {
		return
	}
	plan.idClaims = p.idTokenClaimsLocked(g, iss, now, withNonce)
	plan.idSigner = p.signerLocked(p.faults.IDTokenSigning)
}

func (p *Provider) newRefreshLocked(g *grant, now time.Time) string {
	tok := randomToken(32)
	p.refresh[tok] = &refreshToken{grantID: g.id, expires: now.Add(p.opts.RefreshTokenTTL)}
	return tok
}

// mint runs the hooks and signs the planned tokens.
func (plan *tokenPlan) mint() (*tokenResponse, error) {
	resp := &tokenResponse{
		AccessToken:     plan.accessToken,
		ExpiresIn:       plan.expiresIn,
		RefreshToken:    plan.refreshToken,
		Scope:           strings.Join(plan.scopes, " "),
		TokenType:       "Bearer",
		IssuedTokenType: plan.issuedTokenType,
	}
	if plan.atClaims != nil {
		if plan.faults.AccessTokenClaims != nil {
			plan.faults.AccessTokenClaims(plan.atClaims)
		}
		typ := plan.faults.AccessTokenType
		switch typ {
		case "":
			typ = "at+jwt"
		case "-":
			typ = ""
		}
		tok, err := plan.atSigner.sign(typ, plan.atClaims)
		if err != nil {
			return nil, err
		}
		resp.AccessToken = tok
	}
	if plan.idClaims != nil {
		plan.idClaims["at_hash"] = atHash(plan.idSigner.current.alg, resp.AccessToken)
		if plan.faults.IDTokenClaims != nil {
			plan.faults.IDTokenClaims(plan.idClaims)
		}
		tok, err := plan.idSigner.sign("JWT", plan.idClaims)
		if err != nil {
			return nil, err
		}
		resp.IDToken = tok
	}
	return resp, nil
}
