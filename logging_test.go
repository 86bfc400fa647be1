package logto_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// newLoggingEnv is newEnv with every level logged as text into the
// returned buffer.
func newLoggingEnv(t *testing.T) (*env, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	e := newEnv(t, func(c *logto.Config, _ *logtotest.Options) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	return e, logs
}

// wantOneRecord checks that log holds exactly one record, at level, with
// msg and every one of says, and none of secrets nor any JWT (every JWT
// starts with "eyJ", the encoding of `{"`).
func wantOneRecord(t *testing.T, log, level, msg string, says []string, secrets ...string) {
	t.Helper()
	if n := strings.Count(log, "level="); n != 1 {
		t.Errorf("%d records, want 1:\n%s", n, log)
	}
	for _, want := range append([]string{"level=" + level, `msg="` + msg + `"`}, says...) {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range append(secrets, "eyJ") {
		if secret != "" && strings.Contains(log, secret) {
			t.Errorf("the log holds %q:\n%s", secret, log)
		}
	}
}

// storageFailingOn is a MemoryStorage whose Set fails for one key once
// failing is set.
type storageFailingOn struct {
	*logto.MemoryStorage
	key     string
	mu      sync.Mutex
	failing bool
}

func (s *storageFailingOn) fail() {
	s.mu.Lock()
	s.failing = true
	s.mu.Unlock()
}

func (s *storageFailingOn) Set(ctx context.Context, key, value string) error {
	s.mu.Lock()
	failing := s.failing
	s.mu.Unlock()
	if failing && key == s.key {
		return errors.New("disk full")
	}
	return s.MemoryStorage.Set(ctx, key, value)
}

// A failed sign-in callback is logged by HandleSignInCallbackURL itself,
// for apps that use the Client without WebHandlers: once, at the level
// Config.Logger promises, with the callback's path and never its code or
// a token.
func TestCallbackFailuresLogged(t *testing.T) {
	e, logs := newLoggingEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		faults logtotest.Faults
		forge  bool // a callback with a state no sign-in started
		store  bool // the storage fails to keep the ID token
		level  string
		says   []string
	}{
		{name: "forged state", forge: true, level: "INFO", says: []string{"code=invalid_state", "path=/callback", "status=400"}},
		{name: "sign-in cancelled", faults: logtotest.Faults{AuthorizeError: "access_denied"}, level: "INFO", says: []string{"code=access_denied"}},
		{name: "wrong audience", faults: logtotest.Faults{IDTokenClaims: func(c map[string]any) { c["aud"] = "someone-else" }}, level: "WARN",
			says: []string{"code=invalid_token", "wrong audience", "someone-else", e.p.ClientID()}},
		{name: "token endpoint down", faults: logtotest.Faults{TokenStatus: http.StatusServiceUnavailable, TokenBody: `{"error":"temporarily_unavailable"}`}, level: "WARN",
			says: []string{"code=temporarily_unavailable", "status=502"}},
		{name: "storage fails", store: true, level: "ERROR", says: []string{"code=storage_error", "disk full", "status=500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := &storageFailingOn{MemoryStorage: logto.NewMemoryStorage(), key: logto.StorageKeyIDToken}
			c := e.app.Client(storage)
			var cb *url.URL
			if tc.forge {
				cb, _ = url.Parse(testRedirect + "?state=forged&code=forged-code-value")
			} else {
				if tc.faults.AuthorizeError != "" {
					e.p.SetFaults(tc.faults)
				}
				cb = e.startSignIn(t, c, logto.SignInOptions{})
				e.p.SetFaults(tc.faults)
			}
			defer e.p.SetFaults(logtotest.Faults{})
			if tc.store {
				storage.fail()
			}
			logs.Reset()
			if _, err := c.HandleSignInCallbackURL(ctx, cb); err == nil {
				t.Fatal("the callback succeeded")
			}
			wantOneRecord(t, logs.String(), tc.level, "logto: sign-in callback failed", tc.says,
				cb.Query().Get("code"), cb.Query().Get("state"), e.p.ClientSecret())
		})
	}
}

// A failed refresh is logged where GetAccessToken decides it: once, at the
// level Config.Logger promises, never with the refresh token or the secret.
func TestRefreshFailuresLogged(t *testing.T) {
	e, logs := newLoggingEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		faults logtotest.Faults
		noRT   bool // the session holds no refresh token
		level  string
		says   []string
	}{
		{name: "grant ended", faults: logtotest.Faults{TokenStatus: http.StatusBadRequest, TokenBody: `{"error":"invalid_grant","error_description":"grant revoked"}`},
			level: "INFO", says: []string{"code=not_authenticated", "invalid_grant", "grant revoked"}},
		{name: "provider down", faults: logtotest.Faults{TokenStatus: http.StatusServiceUnavailable, TokenBody: `{"error":"temporarily_unavailable"}`},
			level: "WARN", says: []string{"code=temporarily_unavailable"}},
		{name: "no refresh token", noRT: true, level: "DEBUG", says: []string{"code=not_authenticated", "offline_access"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storage := logto.NewMemoryStorage()
			e.signIn(t, storage)
			rt, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
			if tc.noRT {
				if err := storage.Delete(ctx, logto.StorageKeyRefreshToken); err != nil {
					t.Fatal(err)
				}
			}
			e.p.SetFaults(tc.faults)
			defer e.p.SetFaults(logtotest.Faults{})
			logs.Reset()
			if _, err := e.app.Client(storage).GetAccessToken(ctx, testResource); err == nil {
				t.Fatal("the refresh succeeded")
			}
			wantOneRecord(t, logs.String(), tc.level, "logto: refreshing an access token failed",
				append([]string{"resource=" + testResource}, tc.says...), rt, e.p.ClientSecret())
		})
	}
}

// Every refused back-channel logout is logged once, at Info when anyone
// could have sent it, Warn for a token of another app or an outage, Error
// when the sessions could not be ended; the answer says no more than
// "invalid", and neither holds the logout token.
func TestBackchannelLogoutFailuresLogged(t *testing.T) {
	e, logs := newLoggingEnv(t)
	type opts = logtotest.LogoutTokenOptions
	for _, tc := range []struct {
		name       string
		method     string
		body       func() string
		enderFails bool
		status     int
		level      string
		says       []string
	}{
		{name: "GET", method: http.MethodGet, body: func() string { return "" }, status: 405, level: "INFO", says: []string{"not POST"}},
		{name: "no token", body: func() string { return "x=1" }, status: 400, level: "INFO", says: []string{"missing logout_token"}},
		{name: "bad signature", body: func() string { return tokenForm(mustLogoutToken(t, e.p, opts{Signing: logtotest.SignWrongKey})) },
			status: 400, level: "INFO", says: []string{"logout token"}},
		{name: "expired", body: func() string {
			return tokenForm(mustLogoutToken(t, e.p, opts{IssuedAtOffset: -(logto.LogoutTokenMaxAge + 2*logto.DefaultClockLeeway)}))
		}, status: 400, level: "INFO", says: []string{"issued more than"}},
		{name: "another app's", body: func() string { return tokenForm(mustLogoutToken(t, e.p, opts{Audience: "another-app"})) },
			status: 400, level: "WARN", says: []string{"wrong audience", "another-app", e.p.ClientID()}},
		{name: "sessions not ended", body: func() string { return tokenForm(mustLogoutToken(t, e.p, opts{SessionID: "sess-9"})) },
			enderFails: true, status: 500, level: "ERROR", says: []string{"redis down", "sid=sess-9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ender := &recordingEnder{}
			if tc.enderFails {
				ender.err = errors.New("redis down")
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			body := tc.body()
			logs.Reset()
			w := postLogout(e.app.BackchannelLogoutHandler(ender), method, formCT, body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			tok, _ := url.ParseQuery(body)
			wantOneRecord(t, logs.String(), tc.level, "logto: back-channel logout refused",
				append([]string{"path=/backchannel-logout"}, tc.says...), tok.Get("logout_token"))
			for _, leak := range []string{"another-app", e.p.ClientID(), "redis", "signature", "eyJ"} {
				if strings.Contains(w.Body.String(), leak) {
					t.Errorf("the answer holds %q: %s", leak, w.Body)
				}
			}
		})
	}

	// Discovery down: no token can be judged, and the provider is told to
	// retry (500); the outage is logged at Warn.
	down, downLogs := newLoggingEnv(t)
	tok := mustLogoutToken(t, down.p, opts{})
	down.p.SetFaults(logtotest.Faults{DiscoveryStatus: http.StatusInternalServerError})
	if w := postLogout(down.app.BackchannelLogoutHandler(&recordingEnder{}), http.MethodPost, formCT, tokenForm(tok)); w.Code != http.StatusInternalServerError {
		t.Fatalf("discovery down: status %d", w.Code)
	}
	wantOneRecord(t, downLogs.String(), "WARN", "logto: back-channel logout refused", []string{"status=500", "provider discovery failed", "HTTP 500"}, tok)
}

// Behind WebHandlers a failure is logged once: where it was decided (the
// callback, a refresh), and otherwise by WriteError.
func TestWebHandlersLogOnce(t *testing.T) {
	a := newWebAppWith(t, func(c *logto.Config, p *logtotest.Options) {
		c.Resources, p.Resources = []string{testResource}, []string{testResource}
	}, nil)

	// The callback logs its failure; WriteError, which answers it, does not.
	b := a.browser(t)
	resp, _ := b.get("/sign-in")
	cb := b.authorize(resp)
	a.p.SetFaults(logtotest.Faults{IDTokenClaims: func(c map[string]any) { c["iss"] = "https://evil.example/oidc" }})
	if resp, _ := b.get(cb); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("callback: status %d", resp.StatusCode)
	}
	a.p.SetFaults(logtotest.Faults{})
	wantOneRecord(t, a.logs.String(), "WARN", "logto: sign-in callback failed", []string{"wrong issuer", "evil.example", a.p.Issuer()})

	// So does a refresh, when the app answers with WriteError.
	b = a.browser(t)
	b.signIn("")
	a.p.SetFaults(logtotest.Faults{TokenStatus: http.StatusServiceUnavailable, TokenBody: `{"error":"temporarily_unavailable"}`})
	a.logs.Reset()
	if resp, _ := b.get("/token?resource=" + url.QueryEscape(testResource)); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("token: status %d", resp.StatusCode)
	}
	a.p.SetFaults(logtotest.Faults{})
	wantOneRecord(t, a.logs.String(), "WARN", "logto: refreshing an access token failed", []string{"resource=" + testResource}, a.p.ClientSecret())

	// A failure decided nowhere else is WriteError's to log.
	a.logs.Reset()
	if resp, _ := b.get("/token?resource=" + url.QueryEscape("https://unknown.example")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown resource: status %d", resp.StatusCode)
	}
	wantOneRecord(t, a.logs.String(), "INFO", "logto: request failed", []string{"method=GET", "path=/token", "status=400", "code=invalid_request"})
}
