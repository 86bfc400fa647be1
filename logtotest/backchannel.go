package logtotest

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BackchannelLogoutEvent is the member of a logout token's events claim
// that marks it as one (OpenID Connect Back-Channel Logout 1.0 section 2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutTokenOptions shape a logout token from [Provider.LogoutToken]. The
// zero value makes a valid token for the current user's every session: sub
// is the user's subject, no sid, aud the client ID, iat now, a fresh jti,
// the logout event, typ logout+jwt, signed with the current key.
type LogoutTokenOptions struct {
	// Subject is the sub claim; "" means the current user's subject unless
	// SessionID is set or OmitSubject is true.
	Subject string
	// OmitSubject leaves sub out even when Subject and SessionID are "".
	OmitSubject bool
	// SessionID is the sid claim: the sid of the ID tokens of the provider
	// session that ended. "" leaves it out.
	SessionID string
	// Audience replaces the aud claim (the client ID) when non-empty.
	Audience string
	// Issuer replaces the iss claim (the provider's issuer) when non-empty.
	Issuer string
	// OmitEvents leaves the events claim out.
	OmitEvents bool
	// Nonce, when non-empty, adds a nonce claim, which logout tokens must
	// not have.
	Nonce string
	// IssuedAtOffset moves iat from the provider's now.
	IssuedAtOffset time.Duration
	// OmitIssuedAt leaves iat out.
	OmitIssuedAt bool
	// Expiry, when non-zero, adds an exp claim of iat plus Expiry.
	Expiry time.Duration
	// JTI is the jti claim; "" means a fresh random one.
	JTI string
	// OmitJTI leaves jti out.
	OmitJTI bool
	// Type is the typ header; "" means "logout+jwt", "-" leaves it out.
	Type string
	// Signing selects how the token is signed; SignNormal uses the current
	// key.
	Signing Signing
	// Claims, if set, edits the claims before signing; it may add, change
	// or delete keys.
	Claims func(claims map[string]any)
	// HTTPClient sends [Provider.SendBackchannelLogout]'s request; nil
	// means a client with a 10-second timeout.
	HTTPClient *http.Client
}

// LogoutToken mints a logout token (OpenID Connect Back-Channel Logout 1.0
// section 2.4) as the provider would send it to the client's
// backchannel_logout_uri. The issuer is [Provider.Issuer], so the base URL
// must be set.
func (p *Provider) LogoutToken(opts LogoutTokenOptions) (string, error) {
	p.mu.Lock()
	base := p.base
	subject := p.user.Subject
	s := p.signerLocked(opts.Signing)
	p.mu.Unlock()
	if base == "" {
		return "", errors.New("logtotest: the provider has no base URL yet")
	}
	now := p.now()
	c := map[string]any{
		"iss": base + "/oidc",
		"aud": p.opts.ClientID,
	}
	if opts.Issuer != "" {
		c["iss"] = opts.Issuer
	}
	if opts.Audience != "" {
		c["aud"] = opts.Audience
	}
	iat := now.Add(opts.IssuedAtOffset)
	if !opts.OmitIssuedAt {
		c["iat"] = iat.Unix()
	}
	if opts.Expiry != 0 {
		c["exp"] = iat.Add(opts.Expiry).Unix()
	}
	switch {
	case opts.Subject != "":
		c["sub"] = opts.Subject
	case opts.SessionID == "" && !opts.OmitSubject:
		c["sub"] = subject
	}
	if opts.SessionID != "" {
		c["sid"] = opts.SessionID
	}
	if !opts.OmitJTI {
		jti := opts.JTI
		if jti == "" {
			jti = randomToken(16)
		}
		c["jti"] = jti
	}
	if !opts.OmitEvents {
		c["events"] = map[string]any{BackchannelLogoutEvent: map[string]any{}}
	}
	if opts.Nonce != "" {
		c["nonce"] = opts.Nonce
	}
	if opts.Claims != nil {
		opts.Claims(c)
	}
	typ := opts.Type
	switch typ {
	case "":
		typ = "logout+jwt"
	case "-":
		typ = ""
	}
	return s.sign(typ, c)
}

// SendBackchannelLogout mints a logout token with opts and POSTs it,
// form-encoded as logout_token, to uri, the client's
// backchannel_logout_uri. The caller closes the answer's body.
func (p *Provider) SendBackchannelLogout(ctx context.Context, uri string, opts LogoutTokenOptions) (*http.Response, error) {
	tok, err := p.LogoutToken(opts)
	if err != nil {
		return nil, err
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := opts.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return c.Do(req)
}

// sessionID is the grant's provider session ID, the sid claim of its ID
// tokens: stable for the grant, and not the grant's internal ID.
func (g *grant) sessionID() string {
	sum := sha256.Sum256([]byte("sid:" + g.id))
	return b64.EncodeToString(sum[:16])
}
