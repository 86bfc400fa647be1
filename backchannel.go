package logto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/seed098cf14d/logto/internal/jwt"
)

// Back-channel logout limits.
const (
	// LogoutTokenMaxAge is how old (by its iat, beyond the clock leeway) a
	// logout token may be. The specification sets no bound; without one a
	// captured token could be replayed once its jti left the replay cache.
	LogoutTokenMaxAge = 5 * time.Minute

	// maxLogoutRequestBytes caps the body of a back-channel logout request.
	maxLogoutRequestBytes = 64 << 10

	// defaultReplayCacheSize caps the jti values remembered per App. A
	// provider sends one token per logout per app, so this is thousands of
	// logouts within LogoutTokenMaxAge.
	defaultReplayCacheSize = 10000
)

// backchannelLogoutEvent is the event a logout token's events claim must
// hold (Back-Channel Logout 1.0 section 2.4).
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutClaims are the claims of a verified logout token (OpenID Connect
// Back-Channel Logout 1.0 section 2.4).
type LogoutClaims struct {
	// Issuer is the provider's issuer, the iss claim.
	Issuer string
	// Subject is the user whose sessions end, the sub claim; "" when the
	// token names only a session.
	Subject string
	// SessionID is the provider session that ended, the sid claim (the sid
	// of the ID tokens issued in it); "" when the token names only a user.
	SessionID string
	// Audience is the aud claim; it holds the app's ID.
	Audience Audience
	// IssuedAt is the iat claim.
	IssuedAt time.Time
	// JWTID is the jti claim, unique per token.
	JWTID string
	// Raw is the token's whole payload, for claims not listed here.
	Raw json.RawMessage
}

// SessionEnder ends server-side sessions for back-channel logout.
// redisstore.Store implements it.
type SessionEnder interface {
	// EndSessions ends every server-side session whose ID token has the
	// subject and the session ID sessionID. An empty subject or sessionID
	// means "any": ("u1", "") ends all of u1's sessions, ("", "s1") those
	// of provider session s1. The handler never passes both empty. Ending
	// no session is not an error; an error means sessions that should have
	// ended may live on.
	EndSessions(ctx context.Context, subject, sessionID string) error
}

// VerifyLogoutToken validates a logout token as OpenID Connect Back-Channel
// Logout 1.0 section 2.6 asks: its signature against the provider's keys
// with an algorithm discovery allows, iss, aud (it must hold the app ID),
// azp when present, iat (present, not in the future beyond the clock leeway
// and not older than LogoutTokenMaxAge plus the leeway), exp and nbf when
// present (logout tokens may omit exp), a typ header of logout+jwt when
// present, an events claim holding the back-channel logout event as a JSON
// object, no nonce, a sub or sid, and a jti not seen before.
//
// The jti values of accepted tokens are remembered until the tokens would be
// too old anyway, so a replayed token is refused. The memory is bounded:
// when it is full of unexpired entries, tokens are refused (fail closed).
//
// Every invalid token gives an error wrapping ErrInvalidToken; a failed
// discovery gives ErrDiscovery instead (the token was not looked at).
func (a *App) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutClaims, error) {
	if raw == "" {
		return nil, wrapErr(ErrInvalidToken, "empty logout token", nil)
	}
	if len(raw) > maxLogoutRequestBytes {
		return nil, wrapErr(ErrInvalidToken, "logout token too large", nil)
	}
	parts, err := checkLogoutHeader(raw)
	if err != nil {
		return nil, err
	}
	m, err := a.metadata(ctx)
	if err != nil {
		return nil, err
	}
	s := a.s
	var named struct {
		Issuer   string       `json:"iss"`
		Audience jwt.Audience `json:"aud"`
	}
	// A payload this cannot read is refused below, with the signature.
	if json.Unmarshal(parts.Payload, &named) == nil {
		if err := checkIssuerAudience("logout token", named.Issuer, named.Audience, m.Issuer, s.appID); err != nil {
			return nil, err
		}
	}
	v := m.logoutVerifier
	// go-oidc checks the signature (with m.algs only), iss and aud; expiry is
	// ours, as its check would refuse a token without exp.
	if _, err := verify(ctx, v, raw, "logout token"); err != nil {
		return nil, err
	}
	claims, err := checkLogoutClaims(parts.Payload, m.Issuer, s.appID, s.now(), s.leeway)
	if err != nil {
		return nil, err
	}
	// Last, so that only valid tokens take room in the replay cache.
	expires := claims.IssuedAt.Add(LogoutTokenMaxAge + s.leeway)
	if err := a.logoutReplay.add(claims.JWTID, expires, s.now()); err != nil {
		return nil, err
	}
	return claims, nil
}

// checkLogoutHeader splits the token and refuses one whose typ header
// names another kind of JWT (section 2.4: logout tokens should be
// explicitly typed; an ID token or access token is no logout token).
func checkLogoutHeader(raw string) (*jwt.Parts, error) {
	parts, err := jwt.Split(raw)
	if err != nil {
		return nil, wrapErr(ErrInvalidToken, "logout token", err)
	}
	hdr, err := parts.ParseHeader()
	if err != nil {
		return nil, wrapErr(ErrInvalidToken, "logout token header", err)
	}
	if hdr.Typ != "" && !jwt.TypIs(hdr.Typ, "logout+jwt") {
		return nil, wrapErr(ErrInvalidToken, fmt.Sprintf("logout token typ header is %q, not logout+jwt", hdr.Typ), nil)
	}
	return parts, nil
}

// checkLogoutClaims checks the claims of a logout token whose signature is
// valid.
func checkLogoutClaims(payload []byte, issuer, appID string, now time.Time, leeway time.Duration) (*LogoutClaims, error) {
	bad := func(msg string) (*LogoutClaims, error) {
		return nil, wrapErr(ErrInvalidToken, "logout token: "+msg, nil)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(payload, &all); err != nil || all == nil {
		return bad("payload is not a JSON object")
	}
	str := func(name string) (string, bool) {
		v, ok := all[name]
		if !ok {
			return "", true
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	c := &LogoutClaims{Raw: json.RawMessage(bytes.Clone(payload))}
	var ok bool
	if c.Issuer, ok = str("iss"); !ok || c.Issuer != issuer {
		return bad(fmt.Sprintf("iss %q is not the provider's %q", c.Issuer, issuer))
	}
	if err := json.Unmarshal(all["aud"], &c.Audience); err != nil || !c.Audience.Contains(appID) {
		return bad("aud does not hold this app's ID")
	}
	if azp, ok := str("azp"); !ok || (azp != "" && azp != appID) {
		return bad("azp is not this app")
	}
	if c.Subject, ok = str("sub"); !ok {
		return bad("sub is not a string")
	}
	if c.SessionID, ok = str("sid"); !ok {
		return bad("sid is not a string")
	}
	if c.Subject == "" && c.SessionID == "" {
		return bad("neither sub nor sid")
	}
	if c.JWTID, ok = str("jti"); !ok || c.JWTID == "" {
		return bad("no jti")
	}
	if _, has := all["nonce"]; has {
		// Section 2.4: a nonce is forbidden, so that an ID token can never
		// pass as a logout token.
		return bad("it holds a nonce")
	}

	date := func(name string) (t time.Time, has, ok bool) {
		v, has := all[name]
		if !has {
			return time.Time{}, false, false
		}
		var d jwt.NumericDate
		if json.Unmarshal(v, &d) != nil || d.IsZero() {
			return time.Time{}, true, false
		}
		return d.Time, true, true
	}
	iat, has, ok := date("iat")
	switch {
	case !has:
		return bad("no iat")
	case !ok:
		return bad("iat is not a number")
	case iat.After(now.Add(leeway)):
		return bad("iat is in the future")
	case iat.Before(now.Add(-LogoutTokenMaxAge - leeway)):
		return bad(fmt.Sprintf("issued more than %v ago", LogoutTokenMaxAge))
	}
	c.IssuedAt = iat
	if exp, has, ok := date("exp"); has && (!ok || !exp.After(now.Add(-leeway))) {
		return bad("expired")
	}
	if nbf, has, ok := date("nbf"); has && (!ok || nbf.After(now.Add(leeway))) {
		return bad("not valid yet (nbf)")
	}

	var events map[string]json.RawMessage
	if err := json.Unmarshal(all["events"], &events); err != nil || events == nil {
		return bad("no events object")
	}
	ev, has := events[backchannelLogoutEvent]
	if !has {
		return bad("events lacks " + backchannelLogoutEvent)
	}
	var evObj map[string]json.RawMessage
	if err := json.Unmarshal(ev, &evObj); err != nil || evObj == nil {
		return bad("the back-channel logout event is not a JSON object")
	}
	return c, nil
}

// BackchannelLogoutHandler serves the app's backchannel_logout_uri (OpenID
// Connect Back-Channel Logout 1.0 section 2.5): the provider POSTs a
// logout_token form parameter; a token that VerifyLogoutToken accepts has
// ender end the sessions it names.
//
// Back-channel logout needs server-side sessions: a session kept in a
// cookie lives in the browser, where no server can end it, so there is no
// SessionEnder for cookie sessions (use redisstore, or a store of your own
// that indexes sessions by the sub and sid of their ID token).
//
// Answers (section 2.8), each with Cache-Control: no-store: 200 once the
// sessions are ended; 405 for a method other than POST; 400 with a JSON
// {"error":"invalid_request","error_description":...} for a malformed
// request (not a form, over 64 KB, logout_token missing or repeated) or a
// token that fails validation, never 5xx for those. The description says
// which of the two, not why the token failed: that goes to Config.Logger,
// at Info, or Warn for a token of another issuer or audience. When ender fails, or
// discovery fails, the answer is 500 {"error":"server_error"}: the fault is
// ours, not the provider's, and a 5xx invites the provider to retry; the
// token's jti is then forgotten so that the retry is accepted. These are
// logged at Warn (discovery) and Error (ender). The
// specification names 400 for every failure; 500 is a deliberate choice so
// that providers and monitoring can tell a bad request from an outage.
//
// A nil ender means the App itself (App.EndSessions): the sessions named are
// recorded as ended and refused from their next request on, which works for
// every kind of session, cookie sessions included.
func (a *App) BackchannelLogoutHandler(ender SessionEnder) http.Handler {
	if ender == nil {
		ender = a
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if r.Method != http.MethodPost {
			a.logLogout(r, slog.LevelInfo, http.StatusMethodNotAllowed, errors.New("method "+r.Method+" is not POST"))
			w.Header().Set("Allow", http.MethodPost)
			writeLogoutError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		raw, msg := logoutTokenParam(w, r)
		if msg != "" {
			a.logLogout(r, slog.LevelInfo, http.StatusBadRequest, errors.New(msg))
			writeLogoutError(w, http.StatusBadRequest, "invalid_request", msg)
			return
		}
		claims, err := a.VerifyLogoutToken(r.Context(), raw)
		if errors.Is(err, ErrInvalidToken) {
			// Anyone can post a token here, so an invalid one is no alarm;
			// one of another issuer or app looks like a setup mistake.
			level := slog.LevelInfo
			if errors.As(err, new(*mismatchError)) {
				level = slog.LevelWarn
			}
			a.logLogout(r, level, http.StatusBadRequest, err)
			writeLogoutError(w, http.StatusBadRequest, "invalid_request", "the logout token is not valid")
			return
		}
		if err != nil {
			a.logLogout(r, logLevel(err), http.StatusInternalServerError, err)
			writeLogoutError(w, http.StatusInternalServerError, "server_error", "the logout could not be processed")
			return
		}
		if err := ender.EndSessions(r.Context(), claims.Subject, claims.SessionID); err != nil {
			// Let the provider's retry through the replay check.
			a.logoutReplay.forget(claims.JWTID)
			a.logLogout(r, slog.LevelError, http.StatusInternalServerError, fmt.Errorf("ending the sessions: %w", err),
				slog.String("sub", claims.Subject), slog.String("sid", claims.SessionID))
			writeLogoutError(w, http.StatusInternalServerError, "server_error", "the sessions could not be ended")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// logLogout logs a back-channel logout request answered with an error
// status. err never holds the logout token.
func (a *App) logLogout(r *http.Request, level slog.Level, status int, err error, attrs ...slog.Attr) {
	ctx := r.Context()
	if !a.s.logger.Enabled(ctx, level) {
		return
	}
	attrs = append([]slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err)}, attrs...)
	a.s.logger.LogAttrs(ctx, level, "logto: back-channel logout refused", attrs...)
}

// logoutTokenParam reads the logout_token of a form-encoded body, or
// returns why it cannot. The URL query is ignored: the token comes in the
// body only.
func logoutTokenParam(w http.ResponseWriter, r *http.Request) (token, problem string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "", "the body must be application/x-www-form-urlencoded"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLogoutRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", "the body is too large"
		}
		return "", "the body could not be read"
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "the body is not a valid form"
	}
	switch v := form["logout_token"]; {
	case len(v) == 0 || v[0] == "":
		return "", "missing logout_token"
	case len(v) > 1:
		return "", "logout_token given more than once"
	default:
		return v[0], ""
	}
}

func writeLogoutError(w http.ResponseWriter, status int, code, desc string) {
	b, err := json.Marshal(map[string]string{"error": code, "error_description": desc})
	if err != nil {
		b = []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// replayCache remembers the jti of accepted logout tokens until they
// expire (when the token would be refused as too old anyway). It holds at
// most max entries (defaultReplayCacheSize when zero) and refuses new ones
// when full of unexpired ones rather than forget one that could then be
// replayed.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[string]time.Time // jti -> when it may be forgotten
}

// add records jti, failing when it is already there or the cache is full.
func (c *replayCache) add(jti string, expires, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]time.Time)
	}
	if c.max == 0 {
		c.max = defaultReplayCacheSize
	}
	if exp, ok := c.seen[jti]; ok && now.Before(exp) {
		return wrapErr(ErrInvalidToken, "logout token replayed (jti seen before)", nil)
	}
	if len(c.seen) >= c.max {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		if len(c.seen) >= c.max {
			return wrapErr(ErrInvalidToken, "too many recent logout tokens to check for replay", nil)
		}
	}
	c.seen[jti] = expires
	return nil
}

// forget drops jti, for a token whose logout failed on our side.
func (c *replayCache) forget(jti string) {
	c.mu.Lock()
	delete(c.seen, jti)
	c.mu.Unlock()
}
