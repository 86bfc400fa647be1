package logtotest

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// parPath is the pushed authorization request endpoint (RFC 9126), where
// oidc-provider has it.
const parPath = "/oidc/request"

// requestURIPrefix starts every request_uri the PAR endpoint issues (RFC
// 9126 section 2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushedTTL is how long a pushed authorization request can be used:
// oidc-provider's 60 seconds.
const pushedTTL = 60 * time.Second

// pushedRequest is an authorization request pushed to the PAR endpoint,
// kept under its request_uri. Guarded by Provider.mu.
type pushedRequest struct {
	clientID string     // the client that pushed it, authenticated
	params   url.Values // validated; client_id included, no client_secret
	expires  time.Time
	used     bool
}

// servePushedAuthorization answers the PAR endpoint (RFC 9126 section 2):
// the client authenticates as at the token endpoint, its authorization
// request is validated as the authorization endpoint validates it, and a
// single-use request_uri that stands for it at the authorization endpoint
// is answered, good for 60 s. Every error is a JSON answer: there is no
// browser to redirect.
func (p *Provider) servePushedAuthorization(w http.ResponseWriter, r *http.Request) {
	form, e := parseTokenForm(w, r)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	params := cloneValues(form)
	params.Del("client_secret")
	p.mu.Lock()
	p.lastPushed = cloneValues(params)
	base := p.base
	p.mu.Unlock()

	c, e := p.authenticateClient(r, form)
	if e != nil {
		writeClientError(w, r, e)
		return
	}
	if params.Has("request_uri") {
		writeOAuthError(w, errInvalidRequest("'request_uri' parameter must not be used at the pushed_authorization_request_endpoint"))
		return
	}
	// With HTTP Basic the body may leave client_id out; authenticateClient
	// has refused a body client_id other than the authenticated one.
	params.Set("client_id", c.id)
	if _, e := p.parseAuthorization(params, deriveIssuer(base, r)); e != nil {
		writeOAuthError(w, e)
		return
	}

	requestURI := requestURIPrefix + randomToken(32)
	now := p.now()
	p.mu.Lock()
	p.pruneLocked(now)
	p.pushed[requestURI] = &pushedRequest{clientID: c.id, params: params, expires: now.Add(pushedTTL)}
	p.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"request_uri": requestURI,
		"expires_in":  int64(pushedTTL / time.Second),
	})
}

// takePushed resolves an authorization request made by reference (RFC
// 9126 section 4): its request_uri must be one the PAR endpoint issued to
// the client_id beside it, unexpired and unused, and is spent now. It
// returns the pushed parameters: any other parameter of q is ignored. A
// request_uri shown with another client's ID is not spent, so that
// whoever holds it cannot spoil its client's sign-in by trying.
func (p *Provider) takePushed(q url.Values) (url.Values, *oauthError) {
	for _, k := range []string{"client_id", "request_uri"} {
		if len(q[k]) > 1 {
			return nil, errInvalidRequest(fmt.Sprintf("'%s' parameter must not be provided more than once", k))
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, errInvalidRequest("missing required parameter 'client_id'")
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.pushed[q.Get("request_uri")]
	if pr == nil || pr.used || !now.Before(pr.expires) || pr.clientID != clientID {
		return nil, &oauthError{http.StatusBadRequest, "invalid_request_uri", "request_uri is invalid, expired, or was already used"}
	}
	pr.used = true
	return cloneValues(pr.params), nil
}

// LastPushedAuthorizationRequest returns a copy of the form of the most
// recent request to the PAR endpoint (client secrets removed), or nil if
// there was none.
func (p *Provider) LastPushedAuthorizationRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastPushed)
}
