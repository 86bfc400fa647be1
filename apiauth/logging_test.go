package apiauth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// textLogger logs every level as text into buf.
func textLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// RequireScopes (or another check of the claims) without Middleware before it is the app's bug: 500 with a
// body that says nothing about tokens, and the mistake explained in the
// log at Error. It never passes for a missing token.
func TestRequireScopesWithoutMiddleware(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(textLogger(&logs))
	t.Cleanup(func() { slog.SetDefault(old) })

	for name, mw := range map[string]func(http.Handler) http.Handler{
		"RequireScopes":   apiauth.RequireScopes("read:messages"),
		"RequireAnyScope": apiauth.RequireAnyScope("read:messages", "write:messages"),
		"RequireUserAuthentication": apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
			ACRValues: []string{"urn:logto:acr:mfa"}, MaxAge: time.Hour}),
	} {
		for _, auth := range [][]string{nil, {"Bearer some.token.here"}} {
			logs.Reset()
			called := false
			h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
			w := call(h, "/private", auth...)
			if called {
				t.Errorf("%s: the handler ran", name)
			}
			if w.Code != http.StatusInternalServerError {
				t.Errorf("%s: status %d, want 500", name, w.Code)
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "server_error" {
				t.Errorf("%s: body %s, want {\"error\":\"server_error\"...}", name, w.Body)
			}
			if strings.Contains(strings.ToLower(w.Body.String()), "token") || w.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("%s: the answer talks of tokens: %v %s", name, w.Header(), w.Body)
			}
			want := "apiauth: " + name + " ran without Middleware before it; wrap the handler with Validator.Middleware first"
			if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, want) || strings.Contains(got, "some.token.here") {
				t.Errorf("%s: log %q, want an ERROR saying %q and no token", name, got, want)
			}
		}
	}
}

// Every request Middleware (or RequireScopes after it) turns away is
// logged once, at the level Config.Logger promises, with the reason and
// never the token.
func TestMiddlewareLogsRefusals(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: e.p.Endpoint(), Audience: testResource, Now: e.clock.now, Logger: textLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	h := routes(v)
	good := e.token(t, noFaults)
	now := time.Now()
	for _, tc := range []struct {
		name, path, auth string
		status           int
		level            string
		says             []string
	}{
		{"no token", "/private", "", 401, "DEBUG", []string{"no bearer token"}},
		{"malformed header", "/private", "Bearer a b", 400, "DEBUG", []string{"malformed bearer credentials"}},
		{"malformed token", "/private", "Bearer not.a.jwt", 401, "DEBUG", []string{"malformed token"}},
		{"expired", "/private", "Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("exp", now.Add(-2*time.Minute).Unix())}), 401, "DEBUG", []string{"token expired"}},
		{"bad signature", "/private", "Bearer " + e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignWrongKey}), 401, "DEBUG", []string{"bad signature"}},
		{"another organization", "/orgs/org2", "Bearer " + e.orgToken(t, "org1"), 401, "DEBUG", []string{"wrong audience"}},
		{"missing scope", "/scoped", "Bearer " + good, 403, "INFO", []string{"insufficient scope", "delete:everything"}},
		{"wrong issuer", "/private", "Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("iss", "https://evil.example/oidc")}), 401, "WARN",
			[]string{"wrong issuer", `https://evil.example/oidc`, e.p.Issuer()}},
		{"wrong audience", "/private", "Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("aud", "https://other.example.com")}), 401, "WARN",
			[]string{"wrong audience", "https://other.example.com", testResource}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			var auth []string
			if tc.auth != "" {
				auth = []string{tc.auth}
			}
			w := call(h, tc.path, auth...)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			got := logs.String()
			if n := strings.Count(got, "\n"); n != 1 {
				t.Errorf("%d records, want 1: %s", n, got)
			}
			for _, want := range append([]string{"level=" + tc.level, `msg="apiauth: request refused"`, "method=GET", "path=" + tc.path, fmt.Sprintf("status=%d", tc.status)}, tc.says...) {
				if !strings.Contains(got, want) {
					t.Errorf("log lacks %q: %s", want, got)
				}
			}
			wantNoToken(t, got, tc.auth)
		})
	}

	// An admitted request logs nothing.
	logs.Reset()
	if w := call(h, "/private", "Bearer "+good); w.Code != http.StatusOK || logs.Len() != 0 {
		t.Errorf("admitted: %d, log %q", w.Code, logs.String())
	}

	// Keys that cannot be had: the provider's outage, at Warn.
	var downLogs bytes.Buffer
	down, err := apiauth.NewValidator(apiauth.Config{Endpoint: e.p.Endpoint(), Audience: testResource, Now: e.clock.now, Logger: textLogger(&downLogs)})
	if err != nil {
		t.Fatal(err)
	}
	e.p.SetFaults(logtotest.Faults{DiscoveryStatus: http.StatusInternalServerError})
	defer e.p.SetFaults(noFaults)
	if w := call(down.Middleware(http.NotFoundHandler()), "/private", "Bearer "+good); w.Code != http.StatusServiceUnavailable {
		t.Errorf("provider down: status %d", w.Code)
	}
	got := downLogs.String()
	for _, want := range []string{"level=WARN", "status=503", "HTTP 500"} {
		if !strings.Contains(got, want) {
			t.Errorf("provider down: log lacks %q: %s", want, got)
		}
	}
	wantNoToken(t, got, good)
}

// wantNoToken fails when the log holds the token of auth ("Bearer x") or
// its signature.
func wantNoToken(t *testing.T, log, auth string) {
	t.Helper()
	tok := strings.TrimPrefix(auth, "Bearer ")
	if tok == "" {
		return
	}
	parts := strings.Split(tok, ".")
	for _, secret := range []string{tok, parts[len(parts)-1]} {
		if len(secret) > 8 && strings.Contains(log, secret) {
			t.Errorf("the log holds the token: %s", log)
		}
	}
}
