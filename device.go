package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// DeviceCodeGrantType is the grant type of the device authorization grant
// (RFC 8628 section 3.4).
const DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// maxDeviceCodeLife bounds, in seconds, how long a device code is waited
// for.
const maxDeviceCodeLife = 24 * 60 * 60

// DefaultDeviceInterval is how long to wait between polls when the
// provider does not say (RFC 8628 section 3.2).
const DefaultDeviceInterval = 5 * time.Second

// DeviceAuthorization is the provider's answer to a device authorization
// request (RFC 8628 section 3.2): what the person must be shown to approve
// the sign-in on another device, and how the app waits for it.
type DeviceAuthorization struct {
	// DeviceCode identifies the sign-in to FinishDeviceSignIn. Keep it to
	// the app: whoever has it gets the tokens once approved.
	DeviceCode string
	// UserCode is what the person types at VerificationURI.
	UserCode string
	// VerificationURI is where the person approves; VerificationURIComplete,
	// when the provider gives one, also carries the user code (for a link
	// or a QR code).
	VerificationURI, VerificationURIComplete string
	// Expiry is when the device code ends.
	Expiry time.Time
	// Interval is the least time between two polls.
	Interval time.Duration
}

// StartDeviceSignIn starts a sign-in by the device authorization grant
// (RFC 8628), for an app that cannot receive a redirect (a command-line
// tool on a remote machine, a TV): it asks the provider's
// device_authorization_endpoint for a device code with the configured
// scopes and resources. Show the person UserCode and VerificationURI, then
// call FinishDeviceSignIn every Interval until it stops answering
// authorization_pending.
//
// Errors: ErrProvider when the provider has no device authorization
// endpoint or answers something malformed, an *OAuthError when it refuses.
func (c *Client) StartDeviceSignIn(ctx context.Context) (*DeviceAuthorization, error) {
	s := c.app.s
	m, err := c.app.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if m.DeviceAuthorizationEndpoint == "" {
		return nil, wrapErr(ErrProvider, "the provider offers no device authorization endpoint (device_authorization_endpoint)", nil)
	}
	form := url.Values{"scope": {s.scopeString}}
	for _, r := range s.resources {
		form.Add("resource", r)
	}
	sent := s.now()
	body, status, err := m.tokens.PostForm(ctx, m.DeviceAuthorizationEndpoint, form)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, providerErr(tokenendpoint.ErrorFrom("device authorization", status, body))
	}
	return parseDeviceAuthorization(body, sent, s.allowHTTP)
}

// parseDeviceAuthorization reads and checks a device authorization answer
// received at sent.
func parseDeviceAuthorization(body []byte, sent time.Time, allowHTTP bool) (*DeviceAuthorization, error) {
	var a struct {
		DeviceCode              string                  `json:"device_code"`
		UserCode                string                  `json:"user_code"`
		VerificationURI         string                  `json:"verification_uri"`
		VerificationURIComplete string                  `json:"verification_uri_complete"`
		ExpiresIn               tokenendpoint.ExpiresIn `json:"expires_in"`
		Interval                tokenendpoint.ExpiresIn `json:"interval"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, wrapErr(ErrProvider, "device authorization answer", err)
	}
	switch {
	case a.DeviceCode == "" || a.UserCode == "":
		return nil, wrapErr(ErrProvider, "the device authorization answer has no device_code or user_code", nil)
	case a.ExpiresIn <= 0:
		return nil, wrapErr(ErrProvider, "the device authorization answer has no expires_in", nil)
	case a.Interval > 3600:
		return nil, wrapErr(ErrProvider, fmt.Sprintf("the device authorization answer asks for polls %d s apart", a.Interval), nil)
	}
	for _, u := range []struct{ name, value string }{
		{"verification_uri", a.VerificationURI},
		{"verification_uri_complete", a.VerificationURIComplete},
	} {
		if u.value == "" && u.name == "verification_uri_complete" {
			continue
		}
		// The person is sent there: only to a web page, and over https
		// unless on a loopback host or with InsecureAllowHTTP.
		if !isPageURL(u.value, allowHTTP) {
			return nil, wrapErr(ErrProvider, fmt.Sprintf("the device authorization answer's %s %q is not an https URL", u.name, u.value), nil)
		}
	}
	d := &DeviceAuthorization{
		DeviceCode:              a.DeviceCode,
		UserCode:                a.UserCode,
		VerificationURI:         a.VerificationURI,
		VerificationURIComplete: a.VerificationURIComplete,
		// A day at most: the poll loop ends there whatever the provider says
		// (and the multiplication cannot overflow).
		Expiry:   sent.Add(time.Duration(min(a.ExpiresIn, maxDeviceCodeLife)) * time.Second),
		Interval: time.Duration(a.Interval) * time.Second,
	}
	if d.Interval == 0 {
		d.Interval = DefaultDeviceInterval
	}
	return d, nil
}

// isPageURL reports whether raw is an absolute https URL (or http on a
// loopback host, or anywhere when allowHTTP), query allowed.
func isPageURL(raw string, allowHTTP bool) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return allowHTTP || httpx.IsLoopbackHost(u.Hostname())
	}
	return false
}

// FinishDeviceSignIn asks the provider once whether the sign-in of
// deviceCode was approved (RFC 8628 section 3.4). Until it is, the answer
// is an *OAuthError: authorization_pending (ask again after the interval),
// slow_down (ask again, 5 s slower from now on), access_denied or
// expired_token (stop). Once approved, the ID token is validated in full as
// in the callback (there is no nonce in this grant), and a new session
// holding the tokens replaces whatever the storage held.
func (c *Client) FinishDeviceSignIn(ctx context.Context, deviceCode string) (res *SignInResult, err error) {
	if deviceCode == "" {
		return nil, wrapErr(ErrInvalidRequest, "no device code", nil)
	}
	m, err := c.app.metadata(ctx)
	if err != nil {
		return nil, err
	}
	tok, sent, err := c.app.tokenRequest(ctx, m, url.Values{
		"grant_type":  {DeviceCodeGrantType},
		"device_code": {deviceCode},
	})
	if err != nil {
		return nil, err
	}
	claims, err := c.app.verifyIDToken(ctx, m, tok.IDToken, "", tok.AccessToken)
	if err != nil {
		return nil, err
	}
	defer func() {
		if ferr := c.flush(ctx); ferr != nil {
			res, err = nil, ferr
		}
	}()
	if err := c.startSession(ctx); err != nil {
		return nil, err
	}
	if err := c.storeTokens(ctx, tok, sent); err != nil {
		return nil, err
	}
	return &SignInResult{Claims: claims}, nil
}
