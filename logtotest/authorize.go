package logtotest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// codeTTL is how long an authorization code stays redeemable.
const codeTTL = 10 * time.Minute

// maxFormBytes bounds request bodies.
const maxFormBytes = 1 << 20

// authCode is an issued authorization code. Guarded by Provider.mu.
type authCode struct {
	grantID     string
	redirectURI string
	challenge   string
	expires     time.Time
	used        bool
}

// grant is one authorization: what the user approved for the client.
// Guarded by Provider.mu.
type grant struct {
	id       string
	clientID string
	subject  string
	// extra is the Options.ExtraUsers entry the grant was approved for
	// (read-only); nil means the main user, whose claims SetUser changes.
	extra     *User
	scopes    []string // as requested, deduplicated
	resources []string // resource indicators of the authorization request
	nonce     string
	authTime  time.Time
	// acr and amr say how the user signed in (see authentication); ""
	// and nil when the request asked for no acr_values.
	acr     string
	amr     []string
	offline bool // refresh tokens may be issued
	revoked bool // every token of the grant is dead
	// refreshRevoked: the refresh tokens are dead (revocation endpoint),
	// the access tokens live on.
	refreshRevoked bool
}

// serveAuthorize handles the authorization endpoint: it validates the
// request, made there or pushed before (see servePushedAuthorization), and
// approves it at once or, with Options.SignInPage, shows the sign-in page.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, r, errInvalidRequest("malformed request parameters"))
		return
	}
	q := r.Form
	p.mu.Lock()
	p.lastAuth = cloneValues(q)
	faults := p.faults
	base := p.base
	p.mu.Unlock()

	pushed := q.Has("request_uri")
	if pushed {
		var e *oauthError
		if q, e = p.takePushed(q); e != nil {
			// The redirect URI is in the pushed request, which is gone.
			writeErrorPage(w, r, e)
			return
		}
	}
	req, e := p.parseAuthorization(q, deriveIssuer(base, r))
	if req == nil {
		writeErrorPage(w, r, e)
		return
	}
	switch {
	case faults.AuthorizeError != "":
		req.fail(w, faults.AuthorizeError, faults.AuthorizeErrorDescription, faults.AuthorizeErrorURI)
		return
	case e == nil && !pushed && p.opts.RequirePAR:
		e = errInvalidRequest("Pushed Authorization Request must be used")
	}
	if e != nil {
		req.fail(w, e.code, e.desc, "")
		return
	}

	switch {
	case !p.opts.SignInPage:
		p.issueCode(w, req, nil)
	case slices.Contains(strings.Fields(q.Get("prompt")), "none"):
		// OpenID Connect Core 1.0 section 3.1.2.6: the provider keeps no
		// sign-in of its own, so it cannot approve without showing a page.
		req.fail(w, "login_required", "end-user authentication is required", "")
	default:
		p.showSignInPage(w, req)
	}
}

// parseAuthorization validates the parameters of an authorization request,
// made at the authorization endpoint or pushed (RFC 9126 section 2.1 wants
// both validated alike), and returns the request they make. An error
// without a request is about the client or the redirect URI and must not
// be redirected; an error with one goes back to its redirect URI (at the
// authorization endpoint; the PAR endpoint answers every error itself).
func (p *Provider) parseAuthorization(q url.Values, iss string) (*authRequest, *oauthError) {
	clientID := q.Get("client_id")
	c := p.clientByID(clientID)
	switch {
	case clientID == "":
		return nil, errInvalidRequest("missing required parameter 'client_id'")
	case c == nil || len(q["client_id"]) > 1:
		return nil, &oauthError{http.StatusBadRequest, "invalid_client", "client is invalid"}
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" {
		return nil, errInvalidRequest("missing required parameter 'redirect_uri'")
	}
	// The M2M application has no redirect URI, so it cannot get past here.
	if len(q["redirect_uri"]) > 1 || !c.redirectAllowed(redirectURI, &p.opts) {
		return nil, &oauthError{http.StatusBadRequest, "invalid_redirect_uri",
			"redirect_uri did not match any of the client's registered redirect_uris"}
	}

	req := &authRequest{
		clientID:    clientID,
		redirectURI: redirectURI,
		state:       q.Get("state"),
		iss:         iss,
	}
	if e := p.checkAuthorizeParams(q); e != nil {
		return req, e
	}
	req.scopes = splitScope(q.Get("scope"))
	req.resources = dedupe(q["resource"])
	req.nonce = q.Get("nonce")
	req.challenge = q.Get("code_challenge")
	req.acrValues = strings.Fields(q.Get("acr_values"))
	req.offline = slices.Contains(req.scopes, ScopeOfflineAccess) && slices.Contains(strings.Fields(q.Get("prompt")), "consent")
	return req, nil
}

// authRequest is a validated authorization request: all a code needs.
type authRequest struct {
	clientID    string
	redirectURI string
	state       string
	iss         string   // the issuer the request was made to
	scopes      []string // deduplicated
	resources   []string // deduplicated
	nonce       string
	challenge   string
	acrValues   []string // in order of preference
	offline     bool     // refresh tokens may be issued
}

// fail redirects to the client with an OAuth error, the state and the
// issuer (RFC 9207).
func (req *authRequest) fail(w http.ResponseWriter, code, desc, uri string) {
	params := url.Values{"error": {code}, "iss": {req.iss}}
	if desc != "" {
		params.Set("error_description", desc)
	}
	if uri != "" {
		params.Set("error_uri", uri)
	}
	if req.state != "" {
		params.Set("state", req.state)
	}
	redirectWith(w, req.redirectURI, params)
}

// issueCode approves req: it records a grant and its code, and redirects
// to the client with them. extra is the Options.ExtraUsers entry the
// grant is for; nil means the main user. The user authenticates now, with
// the second factor when req's acr_values ask for it and the user has one:
// the provider keeps no sign-in of its own, so every max_age is met.
func (p *Provider) issueCode(w http.ResponseWriter, req *authRequest, extra *User) {
	now := p.now()
	g := &grant{
		id:        randomToken(16),
		clientID:  req.clientID,
		scopes:    req.scopes,
		resources: req.resources,
		nonce:     req.nonce,
		authTime:  now,
		offline:   req.offline,
		extra:     extra,
	}
	code := randomToken(32)
	p.mu.Lock()
	u := p.userLocked(g)
	g.subject = u.Subject
	g.acr, g.amr = authentication(req.acrValues, u)
	p.grants[g.id] = g
	p.codes[code] = &authCode{
		grantID:     g.id,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		expires:     now.Add(codeTTL),
	}
	p.pruneLocked(now)
	p.mu.Unlock()

	params := url.Values{"code": {code}, "iss": {req.iss}}
	if req.state != "" {
		params.Set("state", req.state)
	}
	redirectWith(w, req.redirectURI, params)
}

// userLocked returns the account a grant was approved for: its extra user,
// or else the main user as it is now (see [Provider.SetUser]). Call with
// p.mu held.
func (p *Provider) userLocked(g *grant) User {
	if g.extra != nil {
		return *g.extra
	}
	return p.user
}

// checkAuthorizeParams validates everything but the client and the
// redirect URI, returning the error to redirect with.
func (p *Provider) checkAuthorizeParams(q url.Values) *oauthError {
	for k, vs := range q {
		if len(vs) > 1 && k != "resource" {
			return errInvalidRequest(fmt.Sprintf("'%s' parameter must not be provided more than once", k))
		}
	}
	switch rt := q.Get("response_type"); {
	case rt == "":
		return errInvalidRequest("missing required parameter 'response_type'")
	case rt != "code":
		return &oauthError{http.StatusBadRequest, "unsupported_response_type", "unsupported response_type requested"}
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return errInvalidRequest("unsupported response_mode requested")
	}
	scope := q.Get("scope")
	if scope == "" {
		return errInvalidRequest("missing required parameter 'scope'")
	}
	if !slices.Contains(splitScope(scope), ScopeOpenID) {
		return errInvalidRequest("openid scope must be requested when using the code response_type")
	}
	challenge := q.Get("code_challenge")
	if challenge == "" {
		return errInvalidRequest("Authorization Server policy requires PKCE to be used for this request")
	}
	if q.Get("code_challenge_method") != "S256" {
		return errInvalidRequest("not supported value of code_challenge_method (only S256 is)")
	}
	if !validPKCEValue(challenge) {
		return errInvalidRequest("code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	for _, res := range q["resource"] {
		if e := p.checkResource(res); e != nil {
			return e
		}
	}
	prompts := strings.Fields(q.Get("prompt"))
	for _, pr := range prompts {
		switch pr {
		case "none", "login", "consent", "select_account":
		default:
			return errInvalidRequest("unsupported prompt value requested")
		}
	}
	if slices.Contains(prompts, "none") && len(prompts) > 1 {
		return errInvalidRequest("prompt none must only be used alone")
	}
	if ma := q.Get("max_age"); ma != "" && !validMaxAge(ma) {
		return errInvalidRequest("max_age must be a non-negative integer")
	}
	return nil
}

// checkResource reports whether res is a resource indicator the provider
// knows, [OrganizationsResource] included.
func (p *Provider) checkResource(res string) *oauthError {
	u, err := url.Parse(res)
	if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(res, "#") {
		return errInvalidTarget("resource indicator must be an absolute URI without a fragment")
	}
	if res != OrganizationsResource && !slices.Contains(p.opts.Resources, res) {
		return errInvalidTarget("resource indicator is missing, or unknown")
	}
	return nil
}

// validPKCEValue checks an RFC 7636 code_verifier or S256 code_challenge.
func validPKCEValue(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
		if !ok {
			return false
		}
	}
	return true
}

// uriAllowed reports whether uri is in registered or, with nothing
// registered, is an absolute http(s) URI without a fragment.
func uriAllowed(uri string, registered []string) bool {
	if len(registered) > 0 {
		return slices.Contains(registered, uri)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || strings.Contains(uri, "#") {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// redirectWith answers 303 See Other to target with params added to its
// own query.
func redirectWith(w http.ResponseWriter, target string, params url.Values) {
	loc, err := withParams(target, params)
	if err != nil { // validated before; never expected
		writeError(w, http.StatusBadRequest, "invalid_request", "malformed redirect target")
		return
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}

// withParams returns target with params added to its own query.
func withParams(target string, params url.Values) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// splitScope splits a space-separated scope, dropping duplicates.
func splitScope(s string) []string {
	return dedupe(strings.Fields(s))
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Authorize plays the browser: it GETs authURL without following
// redirects and returns the Location the provider redirects to, which is
// the client's callback URL with code, state and iss, or with an OAuth
// error. It fails when the provider answers anything but a redirect, such
// as the error page for an unknown client or redirect URI, or the sign-in
// page of Options.SignInPage, which wants a person.
func (p *Provider) Authorize(ctx context.Context, authURL string) (callbackURL string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return "", fmt.Errorf("logtotest: authorize: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("logtotest: authorize: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))

	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		if err != nil {
			return "", fmt.Errorf("logtotest: authorize: redirect without a Location: %w", err)
		}
		return loc.String(), nil
	}
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return "", errors.New("logtotest: authorize: got the sign-in page (Options.SignInPage), not a redirect")
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return "", fmt.Errorf("logtotest: authorize: %s: %s: %s", resp.Status, e.Error, e.Description)
	}
	return "", errors.New("logtotest: authorize: no redirect, got " + resp.Status)
}
