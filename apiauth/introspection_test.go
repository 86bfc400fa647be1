package apiauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// introspecting is a validator of e's provider that introspects opaque
// tokens as the provider's M2M app.
func (e *env) introspecting(t testing.TB, edit ...func(*apiauth.Config)) *apiauth.Validator {
	t.Helper()
	cfg := apiauth.Config{
		Endpoint: e.p.Endpoint(),
		Audience: testResource,
		Now:      e.clock.now,
		Introspection: apiauth.Introspection{
			ClientID:     e.p.M2MClientID(),
			ClientSecret: e.p.M2MClientSecret(),
		},
	}
	for _, f := range edit {
		f(&cfg)
	}
	v, err := apiauth.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// opaque mints an opaque access token of the API with scopes.
func (e *env) opaque(t testing.TB, scopes ...string) string {
	t.Helper()
	tok, err := e.p.MintOpaqueAccessToken("", testResource, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// An active opaque token of the API passes, with the claims of the
// introspection answer; scope checks and step-up checks work on them as on
// JWTs.
func TestIntrospectionActive(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	tok := e.opaque(t, "read:messages")
	c, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != logtotest.DefaultUser().Subject || c.ClientID != e.p.ClientID() || !slices.Equal(c.Scopes(), []string{"read:messages"}) ||
		!slices.Equal(c.Audience(), []string{testResource}) || c.Expiry.IsZero() || c.OrganizationID != "" {
		t.Errorf("claims %+v, scopes %q, aud %q", c, c.Scopes(), c.Audience())
	}
	var answer map[string]any
	if err := c.Unmarshal(&answer); err != nil || answer["active"] != true || answer["token_type"] != "Bearer" {
		t.Errorf("Unmarshal: %v %v", answer, err)
	}

	h := routes(v)
	if w := call(h, "/private", "Bearer "+tok); w.Code != 200 || w.Body.String() != logtotest.DefaultUser().Subject {
		t.Errorf("/private: %d %s", w.Code, w.Body)
	}
	if w := call(h, "/any", "Bearer "+tok); w.Code != 200 {
		t.Errorf("/any: %d %s", w.Code, w.Body)
	}
	if w := call(h, "/scoped", "Bearer "+tok); w.Code != http.StatusForbidden {
		t.Errorf("/scoped: %d %s", w.Code, w.Body)
	}

	// The step-up claims, when the provider answers them (RFC 9470
	// section 6.2).
	authTime := e.clock.now().Add(-time.Minute).Truncate(time.Second)
	e.p.SetFaults(logtotest.Faults{IntrospectionClaims: func(m map[string]any) {
		m["acr"], m["amr"], m["auth_time"] = acrMFA, []string{"pwd", "otp"}, authTime.Unix()
	}})
	defer e.p.SetFaults(noFaults)
	c, err = v.Validate(context.Background(), e.opaque(t))
	if err != nil || c.ACR() != acrMFA || !slices.Equal(c.AMR(), []string{"pwd", "otp"}) || !c.AuthTime().Equal(authTime) {
		t.Fatalf("step-up claims: %v %q %q %v", err, c.ACR(), c.AMR(), c.AuthTime())
	}
	mfa := v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{ACRValues: []string{acrMFA}, MaxAge: 5 * time.Minute})(http.NotFoundHandler()))
	if w := call(mfa, "/", "Bearer "+e.opaque(t)); w.Code != http.StatusNotFound {
		t.Errorf("mfa route with an mfa opaque token: %d %s", w.Code, w.Body)
	}
	e.p.SetFaults(noFaults)
	if w := call(mfa, "/", "Bearer "+e.opaque(t)); w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "insufficient_user_authentication") {
		t.Errorf("mfa route with a plain opaque token: %d %s", w.Code, w.Header())
	}
}

// An answer the API must not take: inactive, for another API or none, of
// another issuer, expired, not a bearer access token (a refresh token, a
// DPoP or certificate-bound token), scoped to an organization.
func TestIntrospectionRejections(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	h := routes(v)
	revoked := e.opaque(t)
	if _, code := revoke(t, e.p, revoked); code != 200 {
		t.Fatalf("revocation: %d", code)
	}
	now := e.clock.now()
	edited := func(edit func(map[string]any)) string {
		t.Helper()
		e.p.SetFaults(logtotest.Faults{IntrospectionClaims: edit})
		t.Cleanup(func() { e.p.SetFaults(noFaults) })
		return e.opaque(t)
	}
	tests := []struct {
		name, path, tok string
		status          int
		www             string
		edit            func(map[string]any)
	}{
		{"unknown", "/private", "Rk9PQkFSYmF6cXV4", 401, invalidToken("the token is not active"), nil},
		{"revoked", "/private", revoked, 401, invalidToken("the token is not active"), nil},
		{"another API", "/private", "", 401, invalidToken("wrong audience"), set("aud", "https://other.example.com")},
		{"no aud", "/private", "", 401, invalidToken("wrong audience"), func(m map[string]any) { delete(m, "aud") }},
		{"aud among others", "/private", "", 200, "", set("aud", []string{"https://other.example.com", testResource})},
		{"another issuer", "/private", "", 401, invalidToken("wrong issuer"), set("iss", "https://evil.example/oidc")},
		{"no iss", "/private", "", 200, "", func(m map[string]any) { delete(m, "iss") }},
		{"expired", "/private", "", 401, invalidToken("token expired"), set("exp", now.Add(-2*time.Minute).Unix())},
		{"expired within the leeway", "/private", "", 200, "", set("exp", now.Add(-30*time.Second).Unix())},
		{"no exp", "/private", "", 401, invalidToken("no expiry"), func(m map[string]any) { delete(m, "exp") }},
		{"not yet valid", "/private", "", 401, invalidToken("token not yet valid"), set("nbf", now.Add(time.Hour).Unix())},
		{"issued in the future", "/private", "", 401, invalidToken("token issued in the future"), set("iat", now.Add(time.Hour).Unix())},
		{"refresh token (no token_type)", "/private", "", 401, invalidToken("not a bearer access token"), func(m map[string]any) { delete(m, "token_type") }},
		{"DPoP-bound", "/private", "", 401, invalidToken("not a bearer access token"), set("token_type", "DPoP")},
		{"lower-case bearer", "/private", "", 200, "", set("token_type", "bearer")},
		{"certificate-bound", "/private", "", 401, invalidToken("the token is bound to a key"), set("cnf", map[string]any{"x5t#S256": "abc"})},
		{"organization-scoped on a global route", "/private", "", 401, invalidToken("the token is scoped to an organization"), set("organization_id", "org1")},
		{"organization-scoped on its organization's route", "/orgs/org1/reports", "", 200, "", func(m map[string]any) {
			m["organization_id"], m["scope"] = "org1", "read:reports"
		}},
		{"organization-scoped on another organization's route", "/orgs/org2/reports", "", 401, invalidToken("the token is not for this organization"), set("organization_id", "org1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.tok
			if tt.edit != nil {
				tok = edited(tt.edit)
			}
			w := call(h, tt.path, "Bearer "+tok)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.www {
				t.Errorf("%d %s %s\nwant %d %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body, tt.status, tt.www)
			}
			if tt.status == 401 {
				if _, err := v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrInvalidToken) || errors.Is(err, apiauth.ErrProvider) {
					t.Errorf("Validate: err = %v", err)
				}
			}
		})
	}
}

// revoke revokes token at the provider as the web app.
func revoke(t *testing.T, p *logtotest.Provider, token string) (string, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token/revocation", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID(), p.ClientSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Status, resp.StatusCode
}

// What needs no provider is judged without one: JWTs are never
// introspected (good or bad), and a bearer value that is no RFC 6750
// b64token, or too large, is refused as it is.
func TestIntrospectionOnlyForOpaqueTokens(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	ctx := context.Background()
	good := e.token(t, noFaults)
	e.p.ResetCounters()
	if _, err := v.Validate(ctx, good); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{
		e.token(t, logtotest.Faults{AccessTokenSigning: logtotest.SignWrongKey}),
		e.token(t, logtotest.Faults{AccessTokenClaims: set("aud", "x")}),
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJub25lIn0.e30",
		"e30.x",
		"a\"b",
		"a,b",
		"abc=def",
		"é",
		strings.Repeat("a", 4097),
	} {
		if _, err := v.Validate(ctx, tok); !errors.Is(err, apiauth.ErrInvalidToken) {
			t.Errorf("%.40q: err = %v", tok, err)
		}
	}
	if n := e.p.Requests("introspection"); n != 0 {
		t.Errorf("%d introspection requests", n)
	}
	// Without introspection credentials, an opaque token is refused as a
	// malformed JWT, and the provider is not asked.
	tok := e.opaque(t)
	if w := call(routes(e.v), "/private", "Bearer "+tok); w.Code != 401 || w.Header().Get("WWW-Authenticate") != invalidToken("malformed token or unsupported algorithm") {
		t.Errorf("without credentials: %d %s", w.Code, w.Header())
	}
	if n := e.p.Requests("introspection"); n != 0 {
		t.Errorf("without credentials: %d introspection requests", n)
	}
}

// A token seen again within its cached answer's life costs no request:
// an active one until its exp, at most Introspection.CacheTTL; an inactive
// or refused one for 10 seconds.
func TestIntrospectionCache(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	ctx := context.Background()
	tok := e.opaque(t)
	e.p.ResetCounters()
	for range 5 {
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.p.Requests("introspection"); n != 1 {
		t.Fatalf("5 validations, %d introspections", n)
	}
	// The cache holds what the route does not decide: a route check still
	// runs on a hit.
	if _, err := v.ValidateOrganizationResource(ctx, tok, "org1"); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("cached token on an organization route: %v", err)
	}
	// At most CacheTTL: a revoked token is refused once it is asked again.
	if _, code := revoke(t, e.p, tok); code != 200 {
		t.Fatal("revocation failed")
	}
	e.clock.advance(apiauth.DefaultIntrospectionCacheTTL - time.Second)
	if _, err := v.Validate(ctx, tok); err != nil || e.p.Requests("introspection") != 1 {
		t.Errorf("within CacheTTL: %v, %d introspections", err, e.p.Requests("introspection"))
	}
	e.clock.advance(2 * time.Second)
	if _, err := v.Validate(ctx, tok); !errors.Is(err, apiauth.ErrInvalidToken) || e.p.Requests("introspection") != 2 {
		t.Errorf("past CacheTTL: %v, %d introspections", err, e.p.Requests("introspection"))
	}

	// Negative answers, for 10 seconds.
	for range 5 {
		if _, err := v.Validate(ctx, tok); !errors.Is(err, apiauth.ErrInvalidToken) {
			t.Fatal(err)
		}
	}
	if n := e.p.Requests("introspection"); n != 2 {
		t.Errorf("an inactive token was asked about %d times, want 2 in all", n)
	}
	e.clock.advance(11 * time.Second)
	if _, err := v.Validate(ctx, tok); !errors.Is(err, apiauth.ErrInvalidToken) || e.p.Requests("introspection") != 3 {
		t.Errorf("past the negative TTL: %v, %d introspections", err, e.p.Requests("introspection"))
	}

	// Never past the token's exp, which comes sooner than CacheTTL here.
	short := e.opaque(t)
	e.p.SetFaults(logtotest.Faults{IntrospectionClaims: set("exp", e.clock.now().Add(time.Minute).Unix())})
	defer e.p.SetFaults(noFaults)
	e.p.ResetCounters()
	if _, err := v.Validate(ctx, short); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(61 * time.Second)
	if _, err := v.Validate(ctx, short); err != nil || e.p.Requests("introspection") != 2 {
		t.Errorf("past exp: %v, %d introspections, want 2", err, e.p.Requests("introspection"))
	}

	// A shorter CacheTTL is taken.
	v2 := e.introspecting(t, func(c *apiauth.Config) { c.Introspection.CacheTTL = 30 * time.Second })
	e.p.SetFaults(noFaults)
	tok2 := e.opaque(t)
	e.p.ResetCounters()
	for _, d := range []time.Duration{0, 29 * time.Second, 2 * time.Second} {
		e.clock.advance(d)
		if _, err := v2.Validate(ctx, tok2); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.p.Requests("introspection"); n != 2 {
		t.Errorf("CacheTTL 30s: %d introspections over 31s, want 2", n)
	}
}

// One introspection for a new token however many requests bring it at
// once, active or not.
func TestIntrospectionSingleFlight(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	h := routes(v)
	e.p.SetFaults(logtotest.Faults{IntrospectionDelay: 100 * time.Millisecond})
	defer e.p.SetFaults(noFaults)
	for _, tc := range []struct {
		tok    string
		status int
	}{{e.opaque(t), 200}, {"bm90LWEtdG9rZW4", 401}} {
		e.p.ResetCounters()
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if w := call(h, "/private", "Bearer "+tc.tok); w.Code != tc.status {
					t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
				}
			})
		}
		wg.Wait()
		if n := e.p.Requests("introspection"); n != 1 {
			t.Errorf("100 concurrent requests (answer %d): %d introspections, want 1", tc.status, n)
		}
	}
}

// A caller that gives up stops waiting; the introspection goes on for the
// others and its answer is kept.
func TestIntrospectionCallerGivesUp(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	tok := e.opaque(t)
	e.p.SetFaults(logtotest.Faults{IntrospectionDelay: 200 * time.Millisecond})
	defer e.p.SetFaults(noFaults)
	e.p.ResetCounters()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := v.Validate(ctx, tok); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := e.p.Requests("introspection"); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
}

// An introspection endpoint that cannot answer is an outage: 503, never
// 401, logged at Warn; it is not remembered, so the token passes once the
// provider is back.
func TestIntrospectionOutage(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	v := e.introspecting(t, func(c *apiauth.Config) { c.Logger = textLogger(&logs) })
	h := routes(v)
	tok := e.opaque(t)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/junk":
			w.Write([]byte("<html>not json</html>"))
		case "/huge":
			w.Write([]byte(`{"active":true,"pad":"` + strings.Repeat("a", 2<<20) + `"}`))
		case "/string-active":
			w.Write([]byte(`{"active":"true","aud":"` + testResource + `","token_type":"Bearer","exp":9999999999}`))
		case "/no-active":
			w.Write([]byte(`{"aud":"` + testResource + `","token_type":"Bearer","exp":9999999999}`))
		case "/bad-aud":
			w.Write([]byte(`{"active":true,"aud":5,"token_type":"Bearer","exp":9999999999}`))
		case "/array":
			w.Write([]byte(`[{"active":true}]`))
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}
	}))
	defer fake.Close()
	for name, f := range map[string]logtotest.Faults{
		"503":                     {IntrospectionStatus: http.StatusServiceUnavailable},
		"500":                     {IntrospectionStatus: http.StatusInternalServerError},
		"credentials refused":     {IntrospectionStatus: http.StatusUnauthorized},
		"not JSON":                {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/junk")},
		"too large":               {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/huge")},
		"active a string":         {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/string-active")},
		"active missing":          {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/no-active")},
		"aud a number":            {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/bad-aud")},
		"an array":                {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/array")},
		"a redirect":              {DiscoveryEdit: set("introspection_endpoint", fake.URL+"/redirect")},
		"unreachable":             {DiscoveryEdit: set("introspection_endpoint", "http://127.0.0.1:1/introspect")},
		"no introspection at all": {DiscoveryEdit: func(m map[string]any) { delete(m, "introspection_endpoint") }},
	} {
		t.Run(name, func(t *testing.T) {
			// A validator per case: discovery is read once per validator.
			v := e.introspecting(t, func(c *apiauth.Config) { c.Logger = textLogger(&logs) })
			logs.Reset()
			e.p.SetFaults(f)
			defer e.p.SetFaults(noFaults)
			w := call(routes(v), "/private", "Bearer "+tok)
			if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "temporarily_unavailable") || w.Header().Get("Retry-After") == "" {
				t.Errorf("%d %v %s, want 503", w.Code, w.Header(), w.Body)
			}
			if _, err := v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrProvider) || errors.Is(err, apiauth.ErrInvalidToken) {
				t.Errorf("Validate: err = %v, want ErrProvider", err)
			}
			if got := logs.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "status=503") {
				t.Errorf("log %s", got)
			}
			wantNoToken(t, logs.String(), "Bearer "+tok)
		})
	}

	// The outage is not remembered.
	e.p.SetFaults(logtotest.Faults{IntrospectionStatus: http.StatusBadGateway})
	if w := call(h, "/private", "Bearer "+tok); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: %d", w.Code)
	}
	e.p.SetFaults(noFaults)
	if w := call(h, "/private", "Bearer "+tok); w.Code != 200 {
		t.Errorf("after the outage: %d %s", w.Code, w.Body)
	}
	// A cached answer serves through an outage.
	e.p.SetFaults(logtotest.Faults{IntrospectionStatus: http.StatusServiceUnavailable})
	if w := call(h, "/private", "Bearer "+tok); w.Code != 200 {
		t.Errorf("cached, during an outage: %d %s", w.Code, w.Body)
	}
}

// The provider refusing the token's type (oidc-provider's answer for a
// JWT) is the token's fault, not an outage.
func TestIntrospectionUnsupportedTokenType(t *testing.T) {
	e := newEnv(t)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"unsupported_token_type","error_description":"no"}`))
	}))
	defer fake.Close()
	e.p.SetFaults(logtotest.Faults{DiscoveryEdit: set("introspection_endpoint", fake.URL)})
	defer e.p.SetFaults(noFaults)
	v := e.introspecting(t)
	if w := call(routes(v), "/private", "Bearer abc"); w.Code != 401 || w.Header().Get("WWW-Authenticate") != invalidToken("the token cannot be introspected") {
		t.Errorf("%d %s", w.Code, w.Header())
	}
}

// Introspection credentials come in pairs; a negative CacheTTL is refused.
func TestIntrospectionConfig(t *testing.T) {
	for name, in := range map[string]apiauth.Introspection{
		"id without secret": {ClientID: "api"},
		"secret without id": {ClientSecret: "s"},
		"negative CacheTTL": {ClientID: "api", ClientSecret: "s", CacheTTL: -time.Second},
		"CacheTTL alone":    {CacheTTL: time.Minute},
	} {
		_, err := apiauth.NewValidator(apiauth.Config{Endpoint: "https://tenant.logto.app", Audience: testResource, Introspection: in})
		if !errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), "Introspection.") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// The validator authenticates as the provider's discovery says the
// introspection endpoint takes: HTTP Basic, or the secret in the form.
func TestIntrospectionClientAuthMethods(t *testing.T) {
	for _, methods := range [][]string{{"client_secret_post"}, {"client_secret_basic"}} {
		t.Run(fmt.Sprint(methods), func(t *testing.T) {
			u := logtotest.DefaultUser()
			p := logtotest.NewTestProvider(t, logtotest.Options{User: &u, TokenEndpointAuthMethods: methods})
			v, err := apiauth.NewValidator(apiauth.Config{Endpoint: p.Endpoint(), Audience: logtotest.DefaultResource,
				Introspection: apiauth.Introspection{ClientID: p.ClientID(), ClientSecret: p.ClientSecret()}})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := p.MintOpaqueAccessToken("", logtotest.DefaultResource)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Validate(context.Background(), tok); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// A refresh token is opaque and introspects as active, but it is no access
// token: presented as a bearer, it is refused (and so is the sign-in's
// opaque access token, meant for userinfo: it has no aud).
func TestIntrospectionRefusesOtherOpaqueTokens(t *testing.T) {
	e := newEnv(t)
	v := e.introspecting(t)
	ctx := context.Background()
	rt, err := e.storage.Get(ctx, logto.StorageKeyRefreshToken)
	if err != nil || rt == "" {
		t.Fatalf("no refresh token in the session: %q %v", rt, err)
	}
	e.p.ResetCounters()
	_, err = v.Validate(ctx, rt)
	if !errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "not a bearer access token") {
		t.Errorf("refresh token: err = %v", err)
	}
	if n := e.p.Requests("introspection"); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
	at, err := e.client.GetAccessToken(ctx, "")
	if err != nil || at.Token == "" {
		t.Fatalf("the sign-in's access token: %v", err)
	}
	if _, err := v.Validate(ctx, at.Token); !errors.Is(err, apiauth.ErrInvalidToken) || !strings.Contains(err.Error(), "wrong audience") {
		t.Errorf("userinfo token: err = %v", err)
	}
}
