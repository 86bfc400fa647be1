package logtotest

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
)

// serveRevocation handles RFC 7009 token revocation. Revoking a refresh
// token kills every refresh token of its grant; revoking an opaque access
// token kills that token. Unknown tokens are accepted silently.
func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	form, e := parseTokenForm(w, r)
	if f := p.currentFaults(); f.RevocationStatus != 0 {
		status := faultStatus(f.RevocationStatus)
		if status >= 400 {
			writeError(w, status, faultStatusError(status), "injected revocation fault")
		} else {
			w.WriteHeader(status)
		}
		return
	}
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	clientID, e := p.authenticateClient(r, form)
	if e != nil {
		writeClientError(w, r, e)
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, errInvalidRequest("missing required parameter 'token'"))
		return
	}

	p.mu.Lock()
	if rt := p.refresh[token]; rt != nil {
		if g := p.grants[rt.grantID]; g != nil && g.clientID == clientID {
			g.refreshRevoked = true
		}
	} else if at := p.access[token]; at != nil {
		if g := p.grants[at.grantID]; g != nil && g.clientID == clientID {
			at.revoked = true
		}
	}
	p.revokedTokens = append(p.revokedTokens, token)
	p.mu.Unlock()

	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// serveEndSession handles RP-initiated logout. Like Logto, it keeps offline
// grants: only revocation ends a refresh token. With Options.SignInPage, a
// valid request gets a "signed out" page linking back to the app instead
// of a silent redirect.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, r, errInvalidRequest("malformed request parameters"))
		return
	}
	q := r.Form
	p.mu.Lock()
	p.lastEndSess = cloneValues(q)
	p.mu.Unlock()

	clientID := q.Get("client_id")
	if clientID != "" && clientID != p.opts.ClientID {
		writeErrorPage(w, r, &oauthError{http.StatusBadRequest, "invalid_client", "client is invalid"})
		return
	}
	if hint := q.Get("id_token_hint"); hint != "" {
		aud, e := p.checkIDTokenHint(hint, p.issuerFor(r))
		if e != nil {
			writeErrorPage(w, r, e)
			return
		}
		if clientID != "" && clientID != aud {
			writeErrorPage(w, r, errInvalidRequest("client_id does not match the provided id_token_hint"))
			return
		}
		clientID = aud
	}

	post := q.Get("post_logout_redirect_uri")
	if post == "" {
		if p.opts.SignInPage {
			writeSignedOutPage(w, "")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>Signed out</title></head>"+
			"<body><h1>Signed out</h1><p>You have been signed out of %s.</p></body></html>\n",
			html.EscapeString(p.issuerFor(r)))
		return
	}
	if clientID == "" {
		writeErrorPage(w, r, errInvalidRequest("post_logout_redirect_uri can only be used in combination with id_token_hint or client_id"))
		return
	}
	if !uriAllowed(post, p.opts.PostLogoutRedirectURIs) {
		writeErrorPage(w, r, errInvalidRequest("post_logout_redirect_uri not registered"))
		return
	}
	params := url.Values{}
	if state := q.Get("state"); state != "" {
		params.Set("state", state)
	}
	if p.opts.SignInPage {
		if link, ok := returnLink(post, params); ok {
			writeSignedOutPage(w, link)
			return
		}
	}
	redirectWith(w, post, params)
}

// checkIDTokenHint verifies an id_token_hint was signed by the provider for
// its client, ignoring expiry, and returns its audience.
func (p *Provider) checkIDTokenHint(hint, iss string) (string, *oauthError) {
	claims, err := p.verifyJWT(hint)
	if err != nil {
		return "", errInvalidRequest("could not validate id_token_hint: " + err.Error())
	}
	if claims["iss"] != iss {
		return "", errInvalidRequest("could not validate id_token_hint: issuer mismatch")
	}
	var aud string
	switch v := claims["aud"].(type) {
	case string:
		aud = v
	case []any:
		if len(v) == 1 {
			aud, _ = v[0].(string)
		}
	}
	if aud != p.opts.ClientID {
		return "", errInvalidRequest("could not validate id_token_hint: audience mismatch")
	}
	return aud, nil
}
