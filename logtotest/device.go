package logtotest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The device authorization grant's routes, where oidc-provider has them.
const (
	deviceAuthPath    = "/oidc/device/auth"    // the device authorization endpoint
	devicePagePath    = "/oidc/device"         // verification_uri: enter the user code
	deviceConfirmPath = "/oidc/device/confirm" // the verification page's form
)

// userCodeAlphabet is oidc-provider's "base-20" user code alphabet:
// consonants only, so that no code spells a word, and none that a person
// confuses with a digit or another letter.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLen is the number of letters of a user code, shown as XXXX-XXXX.
const userCodeLen = 8

// slowDownStep is what RFC 8628 section 3.5 adds to the interval after
// each slow_down.
const slowDownStep = 5 * time.Second

// slowDownGrace is how much sooner than the interval a poll may come
// without slow_down: clients such as x/oauth2's DeviceAccessToken poll on
// a ticker, and the time each poll takes to arrive varies.
const slowDownGrace = 250 * time.Millisecond

// maxPolls bounds the polls a device code remembers.
const maxPolls = 1000

// deviceState is where a device authorization stands.
type deviceState int

const (
	devicePending  deviceState = iota // nobody decided yet
	deviceApproved                    // a user approved; tokens on the next poll
	deviceDenied                      // the user said no; access_denied on the next poll
	deviceSpent                       // the device heard the outcome
)

// deviceAuth is a device authorization request (RFC 8628 section 3.1).
// Guarded by Provider.mu.
type deviceAuth struct {
	clientID  string
	userCode  string   // normalized: userCodeLen letters, no dash
	scopes    []string // deduplicated
	resources []string // deduplicated, all known
	offline   bool     // offline_access was asked: a refresh token comes
	expires   time.Time
	interval  time.Duration // grows with each slow_down
	polls     []time.Time   // provider-side times of the polls, oldest first
	state     deviceState
	subject   string    // once approved: the user's subject
	extra     *User     // and Options.ExtraUsers entry, nil for the main user
	decided   time.Time // when approved
	grantID   string    // the grant its tokens came from, once spent
}

// serveDeviceAuthorization answers the device authorization endpoint (RFC
// 8628 section 3.1) for the native application: a device code to poll
// the token endpoint with, and a user code for a person to enter at the
// verification page.
func (p *Provider) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	form, e := parseTokenForm(w, r)
	if e != nil {
		writeOAuthError(w, e)
		return
	}
	c, e := p.authenticateClient(r, form)
	if e != nil {
		writeClientError(w, r, e)
		return
	}
	if c.kind != nativeClient {
		writeOAuthError(w, errUnauthorizedClient("the device authorization grant is not allowed for this client"))
		return
	}
	resources := dedupe(form["resource"])
	for _, res := range resources {
		if e := p.checkResource(res); e != nil {
			writeOAuthError(w, e)
			return
		}
	}
	scopes := splitScope(form.Get("scope"))
	interval := roundUpSeconds(p.opts.DevicePollInterval)
	ttl := roundUpSeconds(p.opts.DeviceCodeTTL)
	deviceCode := randomToken(32)

	p.mu.Lock()
	now := p.now()
	p.pruneLocked(now)
	userCode := p.newUserCodeLocked()
	p.devices[deviceCode] = &deviceAuth{
		clientID:  c.id,
		userCode:  userCode,
		scopes:    scopes,
		resources: resources,
		offline:   slices.Contains(scopes, ScopeOfflineAccess),
		expires:   now.Add(ttl),
		interval:  interval,
	}
	p.userCodes[userCode] = deviceCode
	base := p.base
	p.mu.Unlock()

	verify := deriveIssuer(base, r) + "/device"
	shown := formatUserCode(userCode)
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               deviceCode,
		"user_code":                 shown,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + shown,
		"expires_in":                int64(ttl / time.Second),
		"interval":                  int64(interval / time.Second),
	})
}

// roundUpSeconds rounds d up to whole seconds, at least one.
func roundUpSeconds(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}

// newUserCodeLocked draws a user code no pending request has. Call with
// p.mu held.
func (p *Provider) newUserCodeLocked() string {
	for {
		var b strings.Builder
		buf := make([]byte, 1)
		for b.Len() < userCodeLen {
			_, _ = rand.Read(buf)
			// Rejection keeps the letters uniform: 240 = 12 * 20.
			if buf[0] < 240 {
				b.WriteByte(userCodeAlphabet[int(buf[0])%len(userCodeAlphabet)])
			}
		}
		if _, taken := p.userCodes[b.String()]; !taken {
			return b.String()
		}
	}
}

// formatUserCode shows a normalized user code as XXXX-XXXX.
func formatUserCode(k string) string {
	return k[:userCodeLen/2] + "-" + k[userCodeLen/2:]
}

// normalizeUserCode reads a user code as a person types it: any case,
// with or without the dash or spaces, in ASCII (no Unicode case folding
// turns "ſ" into an S). It reports false for anything that
// cannot be a user code.
func normalizeUserCode(s string) (string, bool) {
	if len(s) > 4*userCodeLen {
		return "", false
	}
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch {
		case c == '-' || c == ' ':
		case strings.IndexByte(userCodeAlphabet, c) >= 0:
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	return b.String(), true
}

// deviceCodeGrantLocked answers a device's poll (RFC 8628 section 3.4):
// authorization_pending until someone decides, slow_down (and 5 s more
// to wait) for a poll sooner than the interval after the previous one
// while pending, access_denied after a deny, expired_token after expiry,
// and once approved the tokens of a sign-in: an opaque access token, an
// ID token without nonce, and a refresh token for offline_access. The
// device code is then spent, as after access_denied: like oidc-provider,
// a later poll gets invalid_grant, and revokes the tokens it gave. Call
// with p.mu held.
func (p *Provider) deviceCodeGrantLocked(form url.Values, c *client, iss string, now time.Time) (*tokenPlan, *oauthError) {
	code := form.Get("device_code")
	if code == "" {
		return nil, errInvalidRequest("missing required parameter 'device_code'")
	}
	d := p.devices[code]
	switch {
	case d == nil:
		return nil, errInvalidGrant("device code not found")
	case d.clientID != c.id:
		return nil, errInvalidGrant("device code client mismatch")
	}
	var last time.Time
	if n := len(d.polls); n > 0 {
		last = d.polls[n-1]
	}
	if len(d.polls) >= maxPolls {
		d.polls = d.polls[1:]
	}
	d.polls = append(d.polls, now)

	switch {
	case now.After(d.expires):
		return nil, &oauthError{http.StatusBadRequest, "expired_token", "device code is expired"}
	case d.state == deviceSpent:
		if g := p.grants[d.grantID]; g != nil {
			g.revoked = true
		}
		return nil, errInvalidGrant("device code already consumed")
	case d.state == deviceDenied:
		d.state = deviceSpent
		return nil, &oauthError{http.StatusBadRequest, "access_denied", "the end-user denied the authorization request"}
	case d.state == devicePending && (p.faults.DeviceSlowDown > 0 || !last.IsZero() && now.Sub(last) < d.interval-slowDownGrace):
		if p.faults.DeviceSlowDown > 0 {
			p.faults.DeviceSlowDown--
		}
		d.interval += slowDownStep
		return nil, &oauthError{http.StatusBadRequest, "slow_down",
			fmt.Sprintf("polling too fast: wait %d seconds between polls", int64(d.interval/time.Second))}
	case d.state == devicePending:
		return nil, &oauthError{http.StatusBadRequest, "authorization_pending", "the end-user has not yet completed the authorization"}
	}

	d.state = deviceSpent
	g := &grant{
		id:        randomToken(16),
		clientID:  d.clientID,
		subject:   d.subject,
		extra:     d.extra,
		scopes:    d.scopes,
		resources: d.resources,
		authTime:  d.decided,
		offline:   d.offline,
	}
	p.grants[g.id] = g
	d.grantID = g.id
	plan := &tokenPlan{faults: p.faults}
	p.opaqueAccessLocked(plan, g, p.userScopes(g.scopes), now)
	p.idTokenLocked(plan, g, iss, now, false)
	if g.offline {
		plan.refreshToken = p.newRefreshLocked(g, now)
	}
	return plan, nil
}

// ApproveDevice approves the device authorization request with that user
// code (any case, with or without the dash) for the user with that
// subject ("" meaning the main user), as a person does on the
// verification page: the device's next poll gets the tokens. It fails for
// an unknown or expired user code, one already decided, or an unknown
// subject.
func (p *Provider) ApproveDevice(userCode, subject string) error {
	return p.decideDevice(userCode, true, subject)
}

// DenyDevice denies the device authorization request with that user code,
// as a person does on the verification page: the device's next poll gets
// access_denied. It fails like [Provider.ApproveDevice].
func (p *Provider) DenyDevice(userCode string) error {
	return p.decideDevice(userCode, false, "")
}

func (p *Provider) decideDevice(userCode string, approve bool, subject string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, err := p.pendingDeviceLocked(userCode)
	if err != nil {
		return fmt.Errorf("logtotest: %w", err)
	}
	if !approve {
		d.state = deviceDenied
		return nil
	}
	sub, extra, err := p.findUserLocked(subject)
	if err != nil {
		return err
	}
	d.state, d.subject, d.extra, d.decided = deviceApproved, sub, extra, p.now()
	return nil
}

// pendingDeviceLocked returns the undecided, unexpired device
// authorization request a person's user code names, or says why there is
// none, in words for that person. Call with p.mu held.
func (p *Provider) pendingDeviceLocked(userCode string) (*deviceAuth, error) {
	k, ok := normalizeUserCode(userCode)
	if !ok {
		return nil, errors.New("not a user code (8 letters, like BCDF-GHJK)")
	}
	d := p.devices[p.userCodes[k]]
	switch {
	case d == nil:
		return nil, errors.New("no device asked for that code")
	case p.now().After(d.expires):
		return nil, errors.New("that code has expired; start again on the device")
	case d.state != devicePending:
		return nil, errors.New("that code was already used")
	}
	return d, nil
}

// DevicePolls returns the times, by the provider's clock (Options.Now),
// at which the token endpoint received polls with that device code,
// oldest first (the latest 1000), so a test can check how a client spaces
// them. It returns nil for an unknown device code.
func (p *Provider) DevicePolls(deviceCode string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d := p.devices[deviceCode]; d != nil {
		return append([]time.Time{}, d.polls...)
	}
	return nil
}
