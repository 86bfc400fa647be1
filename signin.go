package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"
)

// SignInOptions adjust one sign-in. The zero value signs in with Config's
// defaults.
type SignInOptions struct {
	// RedirectURI is where the provider sends the browser back; empty means
	// Config.RedirectURI.
	RedirectURI string
	// Prompt replaces Config.Prompt for this sign-in.
	Prompt []string
	// FirstScreen picks the first page Logto shows (FirstScreen...).
	FirstScreen string
	// InteractionMode is Logto's older way to show sign-up first
	// (InteractionModeSignUp). Deprecated by Logto in favour of FirstScreen,
	// but still sent when set.
	InteractionMode string
	// Identifiers limits the identifiers offered on the first screen
	// (IdentifierEmail, IdentifierPhone, IdentifierUsername); sent as the
	// space-separated "identifier" parameter.
	Identifiers []string
	// DirectSignIn skips the sign-in page: "social:<target>" or "sso:<id>".
	DirectSignIn string
	// LoginHint pre-fills the identifier (OpenID Connect login_hint).
	LoginHint string
	// UILocales sets the preferred UI languages (OpenID Connect ui_locales).
	UILocales string
	// OrganizationID shows that organization's sign-in experience.
	OrganizationID string
	// OneTimeToken signs the user in with a Logto one-time token, the one
	// a magic link carries; sent as one_time_token. It requires LoginHint,
	// the email address the token was issued for.
	OneTimeToken string

	// ACRValues ask for a sign-in of these authentication context classes
	// (ACR1FA, ACRMFA), in order of preference; sent as the space-separated
	// acr_values (OpenID Connect Core 3.1.2.1). This is step-up
	// authentication: an API that answers insufficient_user_authentication
	// (RFC 9470) names the acr_values it wants. The provider may sign the
	// user in otherwise, so the callback refuses (ErrInvalidToken) an ID
	// token whose acr is not one of them, nor a class known to be stronger
	// (ACRMFA meets a demand for ACR1FA, as Logto answers a one-factor
	// request on a session with a second factor), unless ACROptional. Each value is
	// printable ASCII without spaces, quotes or backslashes; all of them
	// together, at most 256 bytes.
	ACRValues []string
	// ACROptional makes ACRValues a wish: the callback accepts whatever acr
	// the ID token has, as OpenID Connect treats acr_values (voluntary
	// claims), and the app reads IDTokenClaims.ACR itself.
	ACROptional bool
	// MaxAge, when not nil, is how long ago the user may have
	// authenticated for this sign-in to do without a new authentication;
	// sent as max_age in whole seconds, rounded down (OpenID Connect Core
	// 3.1.2.1). A zero MaxAge, new(time.Duration(0)), asks the user to
	// authenticate now, whatever session the provider has. The callback
	// refuses (ErrInvalidToken) an ID token without auth_time, or whose
	// auth_time is older than max_age plus Config.ClockLeeway allows.
	// nil sends no max_age. Negative is refused.
	MaxAge *time.Duration
	// ReturnTo is a same-origin path ("/account?tab=1") to go back to after
	// the callback, of at most MaxReturnPathBytes; it is returned by
	// HandleSignInCallback.
	ReturnTo string
	// ExtraParams are added to the authorization request. They cannot
	// replace a parameter the client sets itself.
	ExtraParams url.Values
}

// reservedParams are set by the client and cannot come from ExtraParams.
var reservedParams = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "resource", "request", "request_uri",
	"first_screen", "interaction_mode", "identifier", "direct_sign_in", "login_hint",
	"ui_locales", "organization_id", "one_time_token", "acr_values", "max_age",
}

var knownFirstScreens = []string{
	FirstScreenSignIn, FirstScreenRegister, FirstScreenResetPassword,
	FirstScreenIdentifierSignIn, FirstScreenIdentifierRegister, FirstScreenSingleSignOn,
}

// pendingSignIn is what the client remembers between SignIn and the callback.
type pendingSignIn struct {
	Verifier    string `json:"v"`
	Nonce       string `json:"n"`
	RedirectURI string `json:"r"`
	ReturnTo    string `json:"t,omitempty"`
	Created     int64  `json:"c"` // Unix nanoseconds, to order several per second
	// MaxAge is the max_age sent, in seconds; nil when none was.
	MaxAge *int64 `json:"m,omitempty"`
	// ACR are the acr values the ID token's acr must be one of; empty when
	// none were asked for, or only as a wish (ACROptional).
	ACR []string `json:"a,omitempty"`
}

const (
	// maxPendingSignIns bounds the sign-ins kept at once (several tabs);
	// the oldest is dropped first.
	maxPendingSignIns = 4
	// signInTTL is how long a started sign-in can be completed.
	signInTTL = 10 * time.Minute
)

// SignIn starts a sign-in and returns the provider's authorization URL to
// redirect the browser to. Every call makes a fresh state, nonce and PKCE
// (S256) verifier, kept in the Storage under the state so that sign-ins in
// several tabs each complete.
//
// With a pushed authorization request (Config.PushedAuthorization, or a
// provider that requires one), SignIn first posts the request to the
// provider and the URL carries only client_id and a request_uri; the
// provider's refusal is then an *OAuthError (Endpoint "pushed
// authorization"), and a provider that offers no PAR where one is needed
// is ErrProvider.
func (c *Client) SignIn(ctx context.Context, opts SignInOptions) (string, error) {
	s := c.app.s
	redirectURI := opts.RedirectURI
	if redirectURI == "" {
		redirectURI = s.redirectURI
	}
	if err := c.checkSignInOptions(redirectURI, &opts); err != nil {
		return "", err
	}
	m, err := c.app.metadata(ctx)
	if err != nil {
		return "", err
	}
	push, err := s.par.push(m.Document)
	if err != nil {
		return "", err
	}

	state, err := randomString(16)
	if err != nil {
		return "", err
	}
	nonce, err := randomString(16)
	if err != nil {
		return "", err
	}
	verifier, err := randomString(32)
	if err != nil {
		return "", err
	}

	pending, err := c.loadPending(ctx)
	if err != nil {
		return "", err
	}
	now := s.now().UnixNano()
	ps := pendingSignIn{Verifier: verifier, Nonce: nonce, RedirectURI: redirectURI, ReturnTo: opts.ReturnTo, Created: now}
	if opts.MaxAge != nil {
		ps.MaxAge = new(maxAgeSeconds(*opts.MaxAge))
	}
	if !opts.ACROptional {
		ps.ACR = slices.Clone(opts.ACRValues)
	}
	// The URL first: a sign-in whose request the provider refused is not
	// kept.
	authURL, err := c.app.authorizationURL(ctx, m, s.authorizationParams(&opts, state, &ps), push)
	if err != nil {
		return "", err
	}
	pending[state] = ps
	if err := c.savePending(ctx, pending); err != nil {
		return "", err
	}
	if err := c.flush(ctx); err != nil {
		return "", err
	}
	return authURL, nil
}

// authorizationParams are the parameters of the authorization request of
// the sign-in ps under state (OpenID Connect Core 3.1.2.1, RFC 7636, RFC
// 8707 and Logto's own), the same whether they travel in the browser's URL
// or are pushed (RFC 9126).
func (s *settings) authorizationParams(opts *SignInOptions, state string, ps *pendingSignIn) url.Values {
	q := url.Values{}
	for k, vs := range opts.ExtraParams {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	q.Set("client_id", s.appID)
	q.Set("redirect_uri", ps.RedirectURI)
	q.Set("response_type", "code")
	q.Set("scope", s.scopeString)
	q.Set("state", state)
	q.Set("nonce", ps.Nonce)
	q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(ps.Verifier))
	q.Set("code_challenge_method", "S256")
	prompt := s.prompt
	if len(opts.Prompt) > 0 {
		prompt = strings.Join(opts.Prompt, " ")
	}
	q.Set("prompt", prompt)
	for _, r := range s.resources {
		q.Add("resource", r)
	}
	setIf(q, "first_screen", opts.FirstScreen)
	setIf(q, "interaction_mode", opts.InteractionMode)
	setIf(q, "identifier", strings.Join(opts.Identifiers, " "))
	setIf(q, "direct_sign_in", opts.DirectSignIn)
	setIf(q, "login_hint", opts.LoginHint)
	setIf(q, "ui_locales", opts.UILocales)
	setIf(q, "organization_id", opts.OrganizationID)
	setIf(q, "one_time_token", opts.OneTimeToken)
	setIf(q, "acr_values", strings.Join(opts.ACRValues, " "))
	if ps.MaxAge != nil {
		q.Set("max_age", strconv.FormatInt(*ps.MaxAge, 10))
	}
	return q
}

func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func (c *Client) checkSignInOptions(redirectURI string, o *SignInOptions) error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if redirectURI == "" {
		bad("no redirect URI: set Config.RedirectURI or SignInOptions.RedirectURI")
	} else if err := checkRedirectURI(redirectURI); err != nil {
		bad("redirect URI: %v", err)
	}
	for _, p := range o.Prompt {
		if !slices.Contains(knownPrompts, p) {
			bad("prompt %q is not one of %v", p, knownPrompts)
		}
	}
	if o.FirstScreen != "" && !slices.Contains(knownFirstScreens, o.FirstScreen) {
		bad("first screen %q is not one of %v", o.FirstScreen, knownFirstScreens)
	}
	if o.InteractionMode != "" && o.InteractionMode != InteractionModeSignIn && o.InteractionMode != InteractionModeSignUp {
		bad("interaction mode %q is not %q or %q", o.InteractionMode, InteractionModeSignIn, InteractionModeSignUp)
	}
	for _, id := range o.Identifiers {
		if id != IdentifierEmail && id != IdentifierPhone && id != IdentifierUsername {
			bad("identifier %q is not email, phone or username", id)
		}
	}
	if d := o.DirectSignIn; d != "" {
		method, target, ok := strings.Cut(d, ":")
		if !ok || target == "" || (method != "social" && method != "sso") {
			bad("direct sign-in %q is not social:<target> or sso:<connector id>", d)
		}
	}
	if n := len(o.ReturnTo); n > MaxReturnPathBytes {
		bad("return path has %d bytes; at most %d are kept", n, MaxReturnPathBytes)
	} else if o.ReturnTo != "" && !IsSafeReturnPath(o.ReturnTo) {
		bad("return path %q is not a same-origin relative path", o.ReturnTo)
	}
	if o.OneTimeToken != "" && o.LoginHint == "" {
		bad("a one-time token needs LoginHint, the email address it was issued for")
	}
	if err := checkACRValues(o.ACRValues); err != nil {
		bad("%v", err)
	}
	if o.MaxAge != nil && *o.MaxAge < 0 {
		bad("MaxAge %v is negative", *o.MaxAge)
	}
	for k := range o.ExtraParams {
		if slices.Contains(reservedParams, k) {
			bad("extra parameter %q is set by the client and cannot be overridden", k)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, errors.Join(problems...))
	}
	return nil
}

// MaxReturnPathBytes bounds a return path (SignInOptions.ReturnTo, the
// return_to of WebHandlers.SignIn). Every started sign-in keeps its return
// path in the session until the callback, and a cookie session has little
// room: a long one planted by another site's link would crowd out the
// user's own sign-in.
const MaxReturnPathBytes = 512

// IsSafeReturnPath reports whether p is a path on this site that a browser
// cannot read as another origin: it starts with one "/", is valid UTF-8 of
// at most MaxReturnPathBytes, and holds no backslash, control character or
// scheme. "//evil.example", "/\evil.example" and "https://evil.example" are
// all refused.
func IsSafeReturnPath(p string) bool {
	if p == "" || p[0] != '/' || len(p) > MaxReturnPathBytes || !utf8.ValidString(p) {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if b := p[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && !u.IsAbs()
}

func (c *Client) loadPending(ctx context.Context) (map[string]pendingSignIn, error) {
	raw, err := c.storage.Get(ctx, StorageKeySignIn)
	if err != nil {
		return nil, storageErr("get", StorageKeySignIn, err)
	}
	pending := map[string]pendingSignIn{}
	if raw != "" {
		if json.Unmarshal([]byte(raw), &pending) != nil {
			pending = map[string]pendingSignIn{} // unreadable: as if none
		}
	}
	// Drop expired entries, then the oldest beyond the bound (leaving room
	// for the one about to be added).
	now := c.app.s.now().UnixNano()
	for k, p := range pending {
		if now-p.Created > int64(signInTTL) || now < p.Created-int64(c.app.s.leeway) {
			delete(pending, k)
		}
	}
	for len(pending) >= maxPendingSignIns {
		oldest := ""
		for k, p := range pending {
			if oldest == "" || p.Created < pending[oldest].Created || (p.Created == pending[oldest].Created && k < oldest) {
				oldest = k
			}
		}
		delete(pending, oldest)
	}
	return pending, nil
}

func (c *Client) savePending(ctx context.Context, pending map[string]pendingSignIn) error {
	if len(pending) == 0 {
		if err := c.storage.Delete(ctx, StorageKeySignIn); err != nil {
			return storageErr("delete", StorageKeySignIn, err)
		}
		return nil
	}
	b, err := encodePending(pending)
	if err != nil {
		return storageErr("encode", StorageKeySignIn, err)
	}
	if err := c.storage.Set(ctx, StorageKeySignIn, b); err != nil {
		return storageErr("set", StorageKeySignIn, err)
	}
	return nil
}

// encodePending encodes pending sign-ins as JSON, leaving <, > and & as
// they are: escaped, each would take six bytes of a cookie.
func encodePending(pending map[string]pendingSignIn) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(pending); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// shrinkPending makes raw, the stored pending sign-ins, smaller for a
// session that does not fit where it is kept: it drops the oldest sign-in
// while more than one is left, then the newest one's return path, so the
// sign-in started last still completes (landing on the default page at
// worst). What the callback checks (max_age, acr values) is never taken:
// a sign-in would then pass with less than it asked for. An unreadable
// value, which loadPending reads as none, is dropped ("" is returned). It
// reports false when there is nothing left to take.
func shrinkPending(raw string) (string, bool) {
	pending := map[string]pendingSignIn{}
	if json.Unmarshal([]byte(raw), &pending) != nil {
		return "", true
	}
	if len(pending) == 0 {
		return "", raw != ""
	}
	oldest, newest := "", ""
	for k, p := range pending {
		if oldest == "" || p.Created < pending[oldest].Created || (p.Created == pending[oldest].Created && k < oldest) {
			oldest = k
		}
		if newest == "" || p.Created > pending[newest].Created || (p.Created == pending[newest].Created && k > newest) {
			newest = k
		}
	}
	switch {
	case len(pending) > 1:
		delete(pending, oldest)
	case pending[newest].ReturnTo != "":
		p := pending[newest]
		p.ReturnTo = ""
		pending[newest] = p
	default:
		return raw, false
	}
	out, err := encodePending(pending)
	if err != nil {
		return raw, false
	}
	return out, true
}
