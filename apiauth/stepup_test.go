package apiauth_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

const (
	acrMFA = "urn:logto:acr:mfa"
	acr1FA = "urn:logto:acr:1fa"
)

// stepUp mints a resource token with the given acr and auth_time (omitted
// when empty or zero).
func (e *env) stepUp(t testing.TB, acr string, authTime time.Time) string {
	t.Helper()
	return e.token(t, logtotest.Faults{AccessTokenClaims: func(m map[string]any) {
		// logtotest's tokens carry the sign-in's auth_time (and acr and
		// amr when it decided them): an empty acr or a zero authTime
		// means a token without the claim.
		delete(m, "acr")
		delete(m, "amr")
		delete(m, "auth_time")
		if acr != "" {
			m["acr"] = acr
		}
		if !authTime.IsZero() {
			m["auth_time"] = authTime.Unix()
		}
	}})
}

func insufficientUserAuth(desc, params string) string {
	return `Bearer realm="api", error="insufficient_user_authentication", error_description="` + desc + `", ` + params
}

// RFC 9470: a token whose sign-in is not strong or recent enough gets 401
// insufficient_user_authentication with the acr_values and max_age the
// route wants, so the client can sign the user in again with them.
func TestRequireUserAuthentication(t *testing.T) {
	e := newEnv(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.ClaimsFrom(r.Context())
		w.Write([]byte(c.ACR()))
	})
	mux := http.NewServeMux()
	mux.Handle("/mfa", e.v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
		ACRValues: []string{acrMFA, "urn:example:hwk"}})(ok)))
	mux.Handle("/1fa", e.v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
		ACRValues: []string{acr1FA}})(ok)))
	mux.Handle("/recent", e.v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
		MaxAge: 5 * time.Minute})(ok)))
	mux.Handle("/both", e.v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
		ACRValues: []string{acrMFA}, MaxAge: 90 * time.Second})(ok)))
	// The scope check and the step-up check compose in either order.
	mux.Handle("/scoped-mfa", e.v.Middleware(apiauth.RequireScopes("read:messages")(apiauth.RequireUserAuthentication(
		apiauth.AuthenticationRequirement{ACRValues: []string{acrMFA}})(ok))))

	now := e.clock.now()
	const (
		wantACR    = "a different authentication level is required"
		wantRecent = "a more recent authentication is required"
	)
	tests := []struct {
		name, path, tok string
		status          int
		www             string
	}{
		{"mfa", "/mfa", e.stepUp(t, acrMFA, time.Time{}), 200, ""},
		{"second choice", "/mfa", e.stepUp(t, "urn:example:hwk", time.Time{}), 200, ""},
		{"1fa", "/mfa", e.stepUp(t, acr1FA, time.Time{}), 401, insufficientUserAuth(wantACR, `acr_values="urn:logto:acr:mfa urn:example:hwk"`)},
		{"no acr", "/mfa", e.stepUp(t, "", time.Time{}), 401, insufficientUserAuth(wantACR, `acr_values="urn:logto:acr:mfa urn:example:hwk"`)},
		{"acr differing in case", "/mfa", e.stepUp(t, "URN:LOGTO:ACR:MFA", time.Time{}), 401, insufficientUserAuth(wantACR, `acr_values="urn:logto:acr:mfa urn:example:hwk"`)},
		{"recent", "/recent", e.stepUp(t, "", now.Add(-4*time.Minute)), 200, ""},
		{"old", "/recent", e.stepUp(t, "", now.Add(-10*time.Minute)), 401, insufficientUserAuth(wantRecent, `max_age=300`)},
		{"old by less than the leeway", "/recent", e.stepUp(t, "", now.Add(-5*time.Minute-30*time.Second)), 200, ""},
		{"old by more than the leeway", "/recent", e.stepUp(t, "", now.Add(-5*time.Minute-2*time.Minute)), 401, insufficientUserAuth(wantRecent, `max_age=300`)},
		{"no auth_time", "/recent", e.stepUp(t, acrMFA, time.Time{}), 401, insufficientUserAuth(wantRecent, `max_age=300`)},
		{"auth_time in the future", "/recent", e.stepUp(t, "", now.Add(time.Hour)), 401, insufficientUserAuth(wantRecent, `max_age=300`)},
		{"both met", "/both", e.stepUp(t, acrMFA, now.Add(-time.Minute)), 200, ""},
		{"both, acr missing", "/both", e.stepUp(t, acr1FA, now.Add(-time.Minute)), 401, insufficientUserAuth(wantACR, `acr_values="urn:logto:acr:mfa", max_age=90`)},
		{"both, too old", "/both", e.stepUp(t, acrMFA, now.Add(-time.Hour)), 401, insufficientUserAuth(wantRecent, `acr_values="urn:logto:acr:mfa", max_age=90`)},
		{"scope and mfa", "/scoped-mfa", e.stepUp(t, acrMFA, time.Time{}), 200, ""},
		{"1fa route, mfa token", "/1fa", e.stepUp(t, acrMFA, time.Time{}), 200, ""},
		{"1fa route, unknown class", "/1fa", e.stepUp(t, "urn:example:other", time.Time{}), 401, insufficientUserAuth(wantACR, `acr_values="urn:logto:acr:1fa"`)},
		{"scope without mfa", "/scoped-mfa", e.stepUp(t, acr1FA, time.Time{}), 401, insufficientUserAuth(wantACR, `acr_values="urn:logto:acr:mfa"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(mux, tt.path, "Bearer "+tt.tok)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.www {
				t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, tt.www)
			}
			if tt.status == 200 {
				return
			}
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] != "insufficient_user_authentication" || body["error_description"] == "" {
				t.Errorf("body %s (%v)", w.Body, err)
			}
		})
	}

	// The time check moves with the Validator's clock.
	tok := e.stepUp(t, "", e.clock.now().Add(-4*time.Minute))
	if w := call(mux, "/recent", "Bearer "+tok); w.Code != 200 {
		t.Fatalf("fresh: %d", w.Code)
	}
	e.clock.advance(3 * time.Minute)
	if w := call(mux, "/recent", "Bearer "+tok); w.Code != http.StatusUnauthorized {
		t.Errorf("3 minutes later: %d, want 401", w.Code)
	}
}

// A token refused for its sign-in is logged at Info, like one lacking a
// scope: a valid token, and a client that can do better.
func TestRequireUserAuthenticationLogs(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: e.p.Endpoint(), Audience: testResource, Now: e.clock.now, Logger: textLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	h := v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{ACRValues: []string{acrMFA}})(http.NotFoundHandler()))
	tok := e.stepUp(t, acr1FA, time.Time{})
	if w := call(h, "/mfa", "Bearer "+tok); w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", w.Code)
	}
	got := logs.String()
	for _, want := range []string{"level=INFO", "status=401", "insufficient user authentication", acr1FA, acrMFA} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q: %s", want, got)
		}
	}
	wantNoToken(t, got, "Bearer "+tok)
}

// A requirement that asks for nothing, or for a negative or sub-second
// age, is a programming error caught when the routes are built.
func TestRequireUserAuthenticationMisconfigured(t *testing.T) {
	for name, req := range map[string]apiauth.AuthenticationRequirement{
		"empty":            {},
		"negative MaxAge":  {MaxAge: -time.Second},
		"sub-second":       {MaxAge: 500 * time.Millisecond},
		"empty ACR value":  {ACRValues: []string{""}},
		"ACR with a quote": {ACRValues: []string{`a"b`}},
		"ACR with a space": {ACRValues: []string{"a b"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			apiauth.RequireUserAuthentication(req)
		}()
	}
}

// RequireUserAuthentication keeps its own copy of the requirement.
func TestRequireUserAuthenticationCopiesValues(t *testing.T) {
	e := newEnv(t)
	acrs := []string{acrMFA}
	h := e.v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{ACRValues: acrs})(http.NotFoundHandler()))
	acrs[0] = acr1FA
	if w := call(h, "/", "Bearer "+e.stepUp(t, acr1FA, time.Time{})); w.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", w.Code)
	}
}
