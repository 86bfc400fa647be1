package logtotest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Token types of token exchange (RFC 8693 section 3), as sent in
// subject_token_type and actor_token_type and answered in
// issued_token_type.
const (
	// TokenTypeAccessToken is RFC 8693's access token type: the type of
	// impersonation subject tokens ([Provider.MintSubjectToken]), of actor
	// tokens, and of every token the exchange issues.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypePersonalAccessToken is Logto's type for a user's personal
	// access token ([Provider.MintPersonalAccessToken]).
	TokenTypePersonalAccessToken = "urn:logto:token-type:personal_access_token"
)

// SubjectTokenTTL is how long an impersonation subject token from
// [Provider.MintSubjectToken] stays good, unless used first.
const SubjectTokenTTL = 10 * time.Minute

// personalToken is a personal access token. Guarded by Provider.mu.
type personalToken struct {
	subject string
	extra   *User // the Options.ExtraUsers entry, nil for the main user
	revoked bool
}

// subjectToken is an impersonation subject token. Guarded by Provider.mu.
type subjectToken struct {
	subject string
	extra   *User // as personalToken's
	expires time.Time
	used    bool
}

// MintPersonalAccessToken returns a new personal access token of the user
// with that subject, the main user (Options.User, as [Provider.SetUser]
// left it; "" names it too) or one of Options.ExtraUsers, as a Logto user
// makes one for scripts and CI. It never expires and can be exchanged any
// number of times, until [Provider.RevokePersonalAccessToken]. Exchanged
// with subject_token_type [TokenTypePersonalAccessToken], it gives tokens
// for that user. An unknown subject is an error.
func (p *Provider) MintPersonalAccessToken(subject string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sub, extra, err := p.findUserLocked(subject)
	if err != nil {
		return "", err
	}
	tok := "pat_" + randomToken(24)
	p.pats[tok] = &personalToken{subject: sub, extra: extra}
	return tok, nil
}

// RevokePersonalAccessToken makes a personal access token from
// [Provider.MintPersonalAccessToken] unusable: exchanging it gets
// invalid_grant. Tokens already issued for it live on. A token it did not
// mint is an error.
func (p *Provider) RevokePersonalAccessToken(token string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pt := p.pats[token]
	if pt == nil {
		return errors.New("logtotest: unknown personal access token")
	}
	pt.revoked = true
	return nil
}

// MintSubjectToken returns an impersonation subject token for the user
// with that subject (as for [Provider.MintPersonalAccessToken]), as Logto's
// Management API makes one: exchanged with subject_token_type
// [TokenTypeAccessToken], it gives tokens for that user, once, within
// [SubjectTokenTTL]. An unknown subject is an error.
func (p *Provider) MintSubjectToken(subject string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sub, extra, err := p.findUserLocked(subject)
	if err != nil {
		return "", err
	}
	tok := "sub_" + randomToken(24)
	p.subjectTokens[tok] = &subjectToken{subject: sub, extra: extra, expires: p.now().Add(SubjectTokenTTL)}
	return tok, nil
}

// findUserLocked returns the subject and Options.ExtraUsers entry (nil for
// the main user) of the user with that subject, "" meaning the main user.
// Call with p.mu held.
func (p *Provider) findUserLocked(subject string) (string, *User, error) {
	if subject == "" || subject == p.user.Subject {
		return p.user.Subject, nil, nil
	}
	for i := range p.opts.ExtraUsers {
		if p.opts.ExtraUsers[i].Subject == subject {
			return subject, &p.opts.ExtraUsers[i], nil
		}
	}
	return "", nil, fmt.Errorf("logtotest: no user has the subject %q", subject)
}

// exchangeSubject is the user a subject token stands for.
type exchangeSubject struct {
	subject string
	extra   *User
	spend   func() // marks a single-use token used
}

// tokenExchangeLocked answers token exchange (RFC 8693) as Logto does. The
// token is for the subject token's user and the client that asks: for one
// API resource (resource), an organization the user belongs to
// (organization_id), both, or, with neither, an opaque token for userinfo
// with the user's OpenID scopes. scope narrows what is granted; without
// it, everything allowed is. With an actor token (an opaque access token
// of a sign-in with the openid scope, from this provider, still valid) a
// JWT access token gets an act claim naming the actor. No refresh token,
// no ID token. The caller has checked that the client may exchange. Call
// with p.mu held.
func (p *Provider) tokenExchangeLocked(form url.Values, c *client, iss string, now time.Time) (*tokenPlan, *oauthError) {
	for _, k := range []string{"subject_token", "subject_token_type"} {
		if form.Get(k) == "" {
			return nil, errInvalidRequest("missing required parameter '" + k + "'")
		}
	}
	actorTok, actorType := form.Get("actor_token"), form.Get("actor_token_type")
	switch {
	case actorTok == "" && actorType != "":
		return nil, errInvalidRequest("actor_token_type given without an actor_token")
	case actorTok != "" && actorType == "":
		return nil, errInvalidRequest("missing required parameter 'actor_token_type'")
	case actorTok != "" && actorType != TokenTypeAccessToken:
		return nil, errInvalidRequest("unsupported actor_token_type")
	}
	subj, e := p.exchangeSubjectLocked(form.Get("subject_token"), form.Get("subject_token_type"), now)
	if e != nil {
		return nil, e
	}
	var actor string
	if actorTok != "" {
		if actor, e = p.actorLocked(actorTok, now); e != nil {
			return nil, e
		}
	}

	resource, e := p.singleResource(form)
	if e != nil {
		return nil, e
	}
	user := p.user
	if subj.extra != nil {
		user = *subj.extra
	}
	orgID := form.Get("organization_id")
	if orgID != "" && !slices.Contains(user.Organizations, orgID) {
		return nil, &oauthError{http.StatusForbidden, "access_denied", "user is not a member of the organization"}
	}

	subj.spend()
	plan := &tokenPlan{faults: p.faults, issuedTokenType: TokenTypeAccessToken}
	switch {
	case resource != "":
		p.jwtAccessLocked(plan, apiToken{subject: subj.subject, clientID: c.id, resource: resource,
			orgID: orgID, scopes: narrowScopes(p.resourceScopes(resource), form), actor: actor}, iss, now)
	case orgID != "":
		p.jwtAccessLocked(plan, apiToken{subject: subj.subject, clientID: c.id, orgID: orgID,
			scopes: narrowScopes(p.opts.OrganizationScopes, form), actor: actor}, iss, now)
	default:
		allowed := slices.DeleteFunc(slices.Clone(supportedScopes), func(s string) bool { return s == ScopeOfflineAccess })
		g := &grant{
			id:       randomToken(16),
			clientID: c.id,
			subject:  subj.subject,
			extra:    subj.extra,
			scopes:   narrowScopes(allowed, form),
			authTime: now,
		}
		p.grants[g.id] = g
		p.opaqueAccessLocked(plan, g, g.scopes, now)
	}
	return plan, nil
}

// exchangeSubjectLocked finds the user a subject token stands for, without
// spending it. Call with p.mu held.
func (p *Provider) exchangeSubjectLocked(tok, typ string, now time.Time) (exchangeSubject, *oauthError) {
	var s exchangeSubject
	switch typ {
	case TokenTypePersonalAccessToken:
		pt := p.pats[tok]
		switch {
		case pt == nil:
			return s, errInvalidGrant("subject token not found")
		case pt.revoked:
			return s, errInvalidGrant("subject token is revoked")
		}
		s = exchangeSubject{subject: pt.subject, extra: pt.extra, spend: func() {}}
	case TokenTypeAccessToken:
		st := p.subjectTokens[tok]
		switch {
		case st == nil:
			return s, errInvalidGrant("subject token not found")
		case st.used:
			return s, errInvalidGrant("subject token is already consumed")
		case now.After(st.expires):
			return s, errInvalidGrant("subject token is expired")
		}
		s = exchangeSubject{subject: st.subject, extra: st.extra, spend: func() { st.used = true }}
	default:
		return s, errInvalidRequest("unsupported subject_token_type")
	}
	if s.extra == nil && s.subject != p.user.Subject {
		// SetUser replaced the main user since the token was minted.
		return s, errInvalidGrant("subject token invalid (referenced account not found)")
	}
	return s, nil
}

// actorLocked returns the subject of an actor token: like Logto, an
// opaque access token with the openid scope, still valid. Call with p.mu
// held.
func (p *Provider) actorLocked(tok string, now time.Time) (string, *oauthError) {
	at := p.access[tok]
	var g *grant
	if at != nil {
		g = p.grants[at.grantID]
	}
	if at == nil || g == nil || at.revoked || g.revoked || now.After(at.expires) {
		return "", errInvalidGrant("invalid actor token")
	}
	if !slices.Contains(at.scopes, ScopeOpenID) {
		return "", errInvalidGrant("actor token must have openid scope")
	}
	return g.subject, nil
}
