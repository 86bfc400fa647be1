package logto_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/jwks"
	"github.com/seed098cf14d/logto/logtotest"
)

const (
	testRedirect   = "http://app.test/callback"
	testPostLogout = "http://app.test/"
	testResource   = "https://api.example.com"
)

// env is an App wired to an in-process provider.
type env struct {
	p   *logtotest.Provider
	app *logto.App
	cfg logto.Config
}

func newEnv(t testing.TB, edit func(*logto.Config, *logtotest.Options)) *env {
	t.Helper()
	popts := logtotest.Options{
		RedirectURIs:           []string{testRedirect},
		PostLogoutRedirectURIs: []string{testPostLogout},
		Resources:              []string{testResource},
	}
	cfg := logto.Config{
		RedirectURI:           testRedirect,
		PostLogoutRedirectURI: testPostLogout,
		Resources:             []string{testResource},
	}
	if edit != nil {
		edit(&cfg, &popts)
	}
	p := logtotest.NewTestProvider(t, popts)
	cfg.Endpoint, cfg.AppID, cfg.AppSecret = p.Endpoint(), p.ClientID(), p.ClientSecret()
	app, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	return &env{p: p, app: app, cfg: cfg}
}

// startSignIn runs SignIn and the provider's authorization step and returns
// the callback URL the browser would land on.
func (e *env) startSignIn(t testing.TB, c *logto.Client, opts logto.SignInOptions) *url.URL {
	t.Helper()
	ctx := context.Background()
	authURL, err := c.SignIn(ctx, opts)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	cb, err := e.p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signIn completes a whole sign-in into storage.
func (e *env) signIn(t testing.TB, storage logto.Storage) *logto.SignInResult {
	t.Helper()
	c := e.app.Client(storage)
	res, err := c.HandleSignInCallbackURL(context.Background(), e.startSignIn(t, c, logto.SignInOptions{}))
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	return res
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, err := logto.NewApp(logto.Config{
		Endpoint:    "http://idp.example.com",
		Scopes:      []string{"ok", "two words"},
		Resources:   []string{"https://api.example.com#frag", "relative/path"},
		Prompt:      []string{"sometimes"},
		RedirectURI: "/callback",
		ClockLeeway: -time.Second,
	})
	if !errors.Is(err, logto.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{"must be https", "AppID", "two words", "fragment", "absolute URI", "sometimes", "RedirectURI", "ClockLeeway"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// A newcomer pastes the issuer or the discovery URL as Endpoint: refused at
// start, with what to write instead, not with a 404 at the first sign-in.
func TestConfigEndpointIsTheBaseURL(t *testing.T) {
	for endpoint, fix := range map[string]string{
		"https://tenant.logto.app/oidc":                                   `write "https://tenant.logto.app" (the SDK adds /oidc)`,
		"https://tenant.logto.app/oidc/":                                  `write "https://tenant.logto.app" (the SDK adds /oidc)`,
		"https://tenant.logto.app/oidc/.well-known/openid-configuration":  `is a discovery URL, not the provider's base URL: write "https://tenant.logto.app"`,
		"https://tenant.logto.app/oidc/.well-known":                       `is a discovery URL, not the provider's base URL: write "https://tenant.logto.app"`,
		"https://tenant.logto.app/.well-known/oauth-authorization-server": `is a discovery URL, not the provider's base URL: write "https://tenant.logto.app"`,
	} {
		_, err := logto.NewApp(logto.Config{Endpoint: endpoint, AppID: "a"})
		if !errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), fmt.Sprintf("Endpoint %q", endpoint)) || !strings.Contains(err.Error(), fix) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming it and saying %q", endpoint, err, fix)
		}
	}
}

func TestConfigAccepts(t *testing.T) {
	for _, cfg := range []logto.Config{
		{Endpoint: "https://tenant.logto.app", AppID: "a"},
		{Endpoint: "http://localhost:3001/", AppID: "a"},
		{Endpoint: "http://127.0.0.1:3001", AppID: "a"},
		{Endpoint: "http://[::1]:3001", AppID: "a"},
		{Endpoint: "http://logto.internal", AppID: "a", InsecureAllowHTTP: true},
	} {
		if _, err := logto.NewApp(cfg); err != nil {
			t.Errorf("NewApp(%+v): %v", cfg, err)
		}
	}
}

func TestSignInURL(t *testing.T) {
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Scopes = []string{logto.ScopeEmail, logto.ScopeOpenID, logto.ScopeOrganizations, logto.ScopeEmail}
		c.Resources = []string{testResource, "https://other.example.com/api"}
		p.Resources = append(c.Resources, logto.ResourceOrganizations)
	})
	scopesBefore := slices.Clone(e.cfg.Scopes)
	c := e.app.Client(logto.NewMemoryStorage())
	authURL, err := c.SignIn(context.Background(), logto.SignInOptions{
		FirstScreen:     logto.FirstScreenRegister,
		InteractionMode: logto.InteractionModeSignUp,
		Identifiers:     []string{logto.IdentifierEmail, logto.IdentifierPhone},
		DirectSignIn:    "social:google",
		LoginHint:       "a b&c=d+e@example.com",
		OrganizationID:  "org 1",
		ExtraParams:     url.Values{"custom": {"x y"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	want := map[string]string{
		"client_id":             e.p.ClientID(),
		"redirect_uri":          testRedirect,
		"response_type":         "code",
		"scope":                 "openid offline_access profile email urn:logto:scope:organizations",
		"code_challenge_method": "S256",
		"prompt":                "consent",
		"first_screen":          "register",
		"interaction_mode":      "signUp",
		"identifier":            "email phone",
		"direct_sign_in":        "social:google",
		"login_hint":            "a b&c=d+e@example.com",
		"organization_id":       "org 1",
		"custom":                "x y",
	}
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want [%q]", k, got, v)
		}
	}
	if got := q["resource"]; !slices.Equal(got, []string{testResource, "https://other.example.com/api", logto.ResourceOrganizations}) {
		t.Errorf("resource = %q", got)
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 {
			t.Errorf("%s = %q, too short to be random", k, q.Get(k))
		}
	}
	if !slices.Equal(e.cfg.Scopes, scopesBefore) {
		t.Errorf("config scopes mutated: %v", e.cfg.Scopes)
	}

	again, _ := c.SignIn(context.Background(), logto.SignInOptions{})
	u2, _ := url.Parse(again)
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if u2.Query().Get(k) == q.Get(k) {
			t.Errorf("%s repeated across sign-ins", k)
		}
	}
}

func TestSignInRejectsBadOptions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.app.Client(logto.NewMemoryStorage())
	for name, opts := range map[string]logto.SignInOptions{
		"override state":      {ExtraParams: url.Values{"state": {"x"}}},
		"override resource":   {ExtraParams: url.Values{"resource": {"https://evil"}}},
		"unknown prompt":      {Prompt: []string{"always"}},
		"unknown screen":      {FirstScreen: "home"},
		"bad identifier":      {Identifiers: []string{"emails"}},
		"bad direct sign-in":  {DirectSignIn: "google"},
		"unsafe return":       {ReturnTo: "//evil.example"},
		"relative redirect":   {RedirectURI: "/callback"},
		"bad interactionmode": {InteractionMode: "register"},
	} {
		if _, err := c.SignIn(context.Background(), opts); !errors.Is(err, logto.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
}

func TestSignInFlow(t *testing.T) {
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Scopes = []string{logto.ScopeEmail, logto.ScopeCustomData, logto.ScopeRoles}
		u := logtotest.DefaultUser()
		u.CustomData = map[string]any{"plan": "pro"}
		u.Roles = []string{"admin"}
		p.User = &u
	})
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	c := e.app.Client(storage)
	if ok, err := c.IsAuthenticated(ctx); ok || err != nil {
		t.Fatalf("before sign-in: %v %v", ok, err)
	}
	if _, err := c.IDTokenClaims(ctx); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Fatalf("claims before sign-in: %v", err)
	}

	cb := e.startSignIn(t, c, logto.SignInOptions{ReturnTo: "/account?tab=1"})
	res, err := c.HandleSignInCallbackURL(ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnTo != "/account?tab=1" {
		t.Errorf("ReturnTo = %q", res.ReturnTo)
	}
	if ok, _ := c.IsAuthenticated(ctx); !ok {
		t.Fatal("not signed in after callback")
	}
	claims, err := c.IDTokenClaims(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user := logtotest.DefaultUser()
	if claims.Subject != user.Subject || claims.Email != user.Email || claims.Issuer != e.p.Issuer() || !slices.Equal(claims.Roles, []string{"admin"}) {
		t.Errorf("claims = %+v", claims)
	}
	if extra, err := claims.Extra(); err != nil || extra["sub"] != user.Subject {
		t.Errorf("Extra = %v, %v", extra, err)
	}

	info, err := c.FetchUserInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != user.Subject || info.CustomData["plan"] != "pro" {
		t.Errorf("userinfo = %+v", info)
	}
	if n := e.p.Requests("userinfo"); n != 1 {
		t.Errorf("userinfo requests = %d", n)
	}
}

func TestCallbackIDTokenAttacks(t *testing.T) {
	type attack struct {
		name   string
		faults logtotest.Faults
	}
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	del := func(k string) func(map[string]any) { return func(c map[string]any) { delete(c, k) } }
	attacks := []attack{
		{name: "bad signature", faults: logtotest.Faults{IDTokenSigning: logtotest.SignWrongKey}},
		{name: "alg none", faults: logtotest.Faults{IDTokenSigning: logtotest.SignNone}},
		{name: "HS256 with the public key as secret", faults: logtotest.Faults{IDTokenSigning: logtotest.SignHS256PublicKey}},
		{name: "key the provider does not publish", faults: logtotest.Faults{IDTokenSigning: logtotest.SignUnknownKey}},
		{name: "wrong issuer", faults: logtotest.Faults{IDTokenClaims: set("iss", "https://evil.example/oidc")}},
		{name: "wrong audience", faults: logtotest.Faults{IDTokenClaims: set("aud", "someone-else")}},
		{name: "several audiences, no azp", faults: logtotest.Faults{IDTokenClaims: set("aud", []any{"dev-app", "someone-else"})}},
		{name: "azp is another client", faults: logtotest.Faults{IDTokenClaims: func(c map[string]any) {
			c["aud"] = []any{c["aud"], "someone-else"}
			c["azp"] = "someone-else"
		}}},
		{name: "expired beyond leeway", faults: logtotest.Faults{IDTokenClaims: func(c map[string]any) {
			c["exp"] = time.Now().Add(-2 * time.Minute).Unix()
		}}},
		{name: "missing exp", faults: logtotest.Faults{IDTokenClaims: del("exp")}},
		{name: "missing iat", faults: logtotest.Faults{IDTokenClaims: del("iat")}},
		{name: "iat in the future", faults: logtotest.Faults{IDTokenClaims: set("iat", time.Now().Add(10*time.Minute).Unix())}},
		{name: "missing sub", faults: logtotest.Faults{IDTokenClaims: del("sub")}},
		{name: "auth_time in the future", faults: logtotest.Faults{IDTokenClaims: set("auth_time", time.Now().Add(10*time.Minute).Unix())}},
		{name: "nonce mismatch", faults: logtotest.Faults{IDTokenClaims: set("nonce", "replayed-nonce")}},
		{name: "missing nonce", faults: logtotest.Faults{IDTokenClaims: del("nonce")}},
		{name: "at_hash mismatch", faults: logtotest.Faults{IDTokenClaims: set("at_hash", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}},
		{name: "no id_token", faults: logtotest.Faults{IDTokenClaims: nil, TokenStatus: http.StatusOK,
			TokenBody: `{"access_token":"x","token_type":"Bearer","expires_in":3600}`}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			storage := logto.NewMemoryStorage()
			c := e.app.Client(storage)
			cb := e.startSignIn(t, c, logto.SignInOptions{})
			e.p.SetFaults(a.faults)
			_, err := c.HandleSignInCallbackURL(ctx, cb)
			if !errors.Is(err, logto.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			// Each attack must be stopped by its own check, not by another.
			if why := attackReasons[a.name]; !strings.Contains(err.Error(), why) {
				t.Errorf("refused for the wrong reason: %v (want %q)", err, why)
			}
			if ok, _ := c.IsAuthenticated(ctx); ok {
				t.Fatal("a session was established")
			}
			for _, k := range sessionKeys(storage) {
				if v, _ := storage.Get(ctx, k); v != "" {
					t.Errorf("%s stored after a failed callback", k)
				}
			}
			// The state was consumed by the failed attempt.
			e.p.SetFaults(logtotest.Faults{})
			if _, err := c.HandleSignInCallbackURL(ctx, cb); !errors.Is(err, logto.ErrInvalidState) {
				t.Errorf("retry: err = %v, want ErrInvalidState", err)
			}
		})
	}
}

var attackReasons = map[string]string{
	"bad signature":                       "bad signature",
	"alg none":                            `unexpected signature algorithm "none"`,
	"HS256 with the public key as secret": `unexpected signature algorithm "HS256"`,
	"key the provider does not publish":   "unknown signing key",
	"wrong issuer":                        "wrong issuer",
	"wrong audience":                      "wrong audience",
	"several audiences, no azp":           "no azp claim",
	"azp is another client":               "azp",
	"expired beyond leeway":               "token is expired",
	"missing exp":                         "token is expired",
	"missing iat":                         "no iat claim",
	"iat in the future":                   "iat is in the future",
	"missing sub":                         "no sub claim",
	"auth_time in the future":             "auth_time is in the future",
	"nonce mismatch":                      "nonce does not match",
	"missing nonce":                       "nonce does not match",
	"at_hash mismatch":                    "at_hash",
	"no id_token":                         "no id_token",
}

func TestExpiryWithinLeewayAccepted(t *testing.T) {
	e := newEnv(t, nil)
	c := e.app.Client(logto.NewMemoryStorage())
	cb := e.startSignIn(t, c, logto.SignInOptions{})
	e.p.SetFaults(logtotest.Faults{IDTokenClaims: func(c map[string]any) {
		c["exp"] = time.Now().Add(-20 * time.Second).Unix()
		c["iat"] = time.Now().Add(30 * time.Second).Unix()
	}})
	if _, err := c.HandleSignInCallbackURL(context.Background(), cb); err != nil {
		t.Fatalf("token within the 60 s leeway refused: %v", err)
	}
}

func TestKeyRotationAndUnknownKeyTypes(t *testing.T) {
	e, clk := newClockEnv(t)
	// A key set that also holds keys this client cannot use must still work.
	e.p.AddRawJWK([]byte(`{"kty":"OKP","crv":"Ed448","x":"` + strings.Repeat("A", 76) + `","kid":"ed448"}`))
	e.p.AddRawJWK([]byte(`{"kty":"made-up","kid":"weird"}`))
	e.signIn(t, logto.NewMemoryStorage())
	if n := e.p.Requests("jwks"); n != 1 {
		t.Fatalf("jwks requests = %d, want 1", n)
	}
	old := e.p.SigningKeyID()
	e.p.RotateKeys()
	if e.p.SigningKeyID() == old {
		t.Fatal("RotateKeys kept the kid")
	}
	// The new kid is unknown to the cached key set: once the refetch
	// cooldown since the last fetch has passed, one refetch, then success.
	clk.advance(jwks.Cooldown)
	e.signIn(t, logto.NewMemoryStorage())
	if n := e.p.Requests("jwks"); n != 2 {
		t.Errorf("jwks requests = %d, want 2", n)
	}
	e.signIn(t, logto.NewMemoryStorage())
	if n := e.p.Requests("jwks"); n != 2 {
		t.Errorf("jwks requests after rotation = %d, want still 2", n)
	}
}

func TestCallbackStateAndRequestChecks(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mutate := func(f func(u *url.URL)) func(*url.URL) *url.URL {
		return func(u *url.URL) *url.URL {
			v := *u
			f(&v)
			return &v
		}
	}
	setQ := func(k, v string) func(*url.URL) *url.URL {
		return mutate(func(u *url.URL) {
			q := u.Query()
			q.Set(k, v)
			u.RawQuery = q.Encode()
		})
	}
	cases := []struct {
		name   string
		change func(*url.URL) *url.URL
		want   error
	}{
		{"unknown state", setQ("state", "forged"), logto.ErrInvalidState},
		{"no state", mutate(func(u *url.URL) { q := u.Query(); q.Del("state"); u.RawQuery = q.Encode() }), logto.ErrInvalidState},
		{"repeated code", mutate(func(u *url.URL) { u.RawQuery += "&code=other" }), logto.ErrInvalidCallback},
		{"other host", mutate(func(u *url.URL) { u.Host = "evil.test" }), logto.ErrInvalidCallback},
		{"other path", mutate(func(u *url.URL) { u.Path = "/callback2" }), logto.ErrInvalidCallback},
		{"other scheme", mutate(func(u *url.URL) { u.Scheme = "https" }), logto.ErrInvalidCallback},
		{"iss of another provider", setQ("iss", "https://evil.example/oidc"), logto.ErrInvalidCallback},
		{"no code", mutate(func(u *url.URL) { q := u.Query(); q.Del("code"); u.RawQuery = q.Encode() }), logto.ErrInvalidCallback},
		{"forged code", setQ("code", "forged"), logto.ErrProvider},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.app.Client(logto.NewMemoryStorage())
			cb := e.startSignIn(t, c, logto.SignInOptions{})
			if _, err := c.HandleSignInCallbackURL(ctx, tc.change(cb)); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if ok, _ := c.IsAuthenticated(ctx); ok {
				t.Fatal("signed in after a refused callback")
			}
		})
	}
}

func TestStateReuseAndExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := newEnv(t, func(c *logto.Config, _ *logtotest.Options) { c.Now = func() time.Time { return clock() } })
	ctx := context.Background()
	c := e.app.Client(logto.NewMemoryStorage())

	cb := e.startSignIn(t, c, logto.SignInOptions{})
	if _, err := c.HandleSignInCallbackURL(ctx, cb); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleSignInCallbackURL(ctx, cb); !errors.Is(err, logto.ErrInvalidState) {
		t.Fatalf("replayed callback: err = %v, want ErrInvalidState", err)
	}

	cb = e.startSignIn(t, c, logto.SignInOptions{})
	clock = func() time.Time { return now.Add(11 * time.Minute) }
	if _, err := c.HandleSignInCallbackURL(ctx, cb); !errors.Is(err, logto.ErrInvalidState) {
		t.Fatalf("callback after 11 minutes: err = %v, want ErrInvalidState", err)
	}
}

func TestTwoTabs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	c := e.app.Client(storage)
	first := e.startSignIn(t, c, logto.SignInOptions{ReturnTo: "/one"})
	second := e.startSignIn(t, c, logto.SignInOptions{ReturnTo: "/two"})
	res, err := c.HandleSignInCallbackURL(ctx, second)
	if err != nil || res.ReturnTo != "/two" {
		t.Fatalf("second tab: %v %v", res, err)
	}
	res, err = c.HandleSignInCallbackURL(ctx, first)
	if err != nil || res.ReturnTo != "/one" {
		t.Fatalf("first tab: %v %v", res, err)
	}
}

func TestPendingSignInsAreBounded(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	c := e.app.Client(storage)
	var cbs []*url.URL
	for range 10 {
		cbs = append(cbs, e.startSignIn(t, c, logto.SignInOptions{}))
	}
	raw, _ := storage.Get(ctx, logto.StorageKeySignIn)
	if len(raw) > 1500 {
		t.Errorf("pending sign-ins take %d bytes", len(raw))
	}
	if _, err := c.HandleSignInCallbackURL(ctx, cbs[0]); !errors.Is(err, logto.ErrInvalidState) {
		t.Errorf("oldest sign-in still pending: %v", err)
	}
	if _, err := c.HandleSignInCallbackURL(ctx, cbs[9]); err != nil {
		t.Errorf("newest sign-in: %v", err)
	}
}

func TestProviderErrorOnCallback(t *testing.T) {
	e := newEnv(t, nil)
	e.p.SetFaults(logtotest.Faults{AuthorizeError: "access_denied", AuthorizeErrorDescription: "user said no", AuthorizeErrorURI: "https://help.example/denied"})
	c := e.app.Client(logto.NewMemoryStorage())
	_, err := c.HandleSignInCallbackURL(context.Background(), e.startSignIn(t, c, logto.SignInOptions{}))
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || !errors.Is(err, logto.ErrProvider) {
		t.Fatalf("err = %v, want *OAuthError", err)
	}
	if oe.Code != "access_denied" || oe.Description != "user said no" || oe.URI != "https://help.example/denied" || oe.Endpoint != "authorize" {
		t.Errorf("OAuthError = %+v", oe)
	}
	if logto.ErrorStatus(err) != http.StatusBadRequest {
		t.Errorf("status = %d", logto.ErrorStatus(err))
	}
}

func TestDiscoveryFailuresAreNotCached(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	c := e.app.Client(logto.NewMemoryStorage())

	e.p.SetFaults(logtotest.Faults{DiscoveryStatus: http.StatusServiceUnavailable})
	if _, err := c.SignIn(ctx, logto.SignInOptions{}); !errors.Is(err, logto.ErrDiscovery) || !errors.Is(err, logto.ErrProvider) {
		t.Fatalf("provider down: err = %v", err)
	}
	// Within the cooldown the failure is answered without a new fetch.
	if _, err := c.SignIn(ctx, logto.SignInOptions{}); !errors.Is(err, logto.ErrDiscovery) || e.p.Requests("discovery") != 1 {
		t.Fatalf("inside the cooldown: err = %v, %d fetches", err, e.p.Requests("discovery"))
	}
	clk.advance(discovery.Cooldown)
	e.p.SetFaults(logtotest.Faults{DiscoveryIssuer: "https://evil.example/oidc"})
	if _, err := c.SignIn(ctx, logto.SignInOptions{}); !errors.Is(err, logto.ErrDiscovery) {
		t.Fatalf("foreign issuer: err = %v", err)
	}
	e.p.SetFaults(logtotest.Faults{})
	clk.advance(discovery.Cooldown)
	e.signIn(t, logto.NewMemoryStorage())
	if n := e.p.Requests("discovery"); n != 3 {
		t.Errorf("discovery requests = %d, want 3", n)
	}
}

func TestProviderTimeout(t *testing.T) {
	e := newEnv(t, func(c *logto.Config, _ *logtotest.Options) {
		c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
	})
	ctx := context.Background()
	c := e.app.Client(logto.NewMemoryStorage())
	cb := e.startSignIn(t, c, logto.SignInOptions{})
	e.p.SetFaults(logtotest.Faults{TokenDelay: 5 * time.Second})
	start := time.Now()
	_, err := c.HandleSignInCallbackURL(ctx, cb)
	if !errors.Is(err, logto.ErrProvider) {
		t.Fatalf("err = %v, want ErrProvider", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v; the client timeout is 300ms", d)
	}
	if ok, _ := c.IsAuthenticated(ctx); ok {
		t.Error("signed in after a timeout")
	}
}

func TestUserinfoSubjectMismatch(t *testing.T) {
	e := newEnv(t, nil)
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	e.p.SetFaults(logtotest.Faults{UserinfoClaims: func(c map[string]any) { c["sub"] = "someone-else" }})
	_, err := e.app.Client(storage).FetchUserInfo(context.Background())
	if !errors.Is(err, logto.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
}

func TestSignInReplacesEarlierSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	// An attacker-planted session and a stray value.
	_ = storage.Set(ctx, logto.StorageKeyIDToken, "planted")
	_ = storage.Set(ctx, logto.StorageKeyAccessTokens, `["https://api.example.com"]`)
	_ = storage.Set(ctx, logto.StorageKeyAccessTokens+":https://api.example.com", "99999999999,0,,planted")
	_ = storage.Set(ctx, "stray", "x")
	e.signIn(t, storage)
	if v, _ := storage.Get(ctx, logto.StorageKeyIDToken); v == "planted" {
		t.Error("planted ID token survived sign-in")
	}
	if at, err := e.app.Client(storage).GetAccessToken(ctx, testResource); err != nil || at.Token == "planted" {
		t.Errorf("planted access token survived sign-in (%v)", err)
	}
	if v, _ := storage.Get(ctx, "stray"); v != "" {
		t.Error("the session was reused instead of renewed")
	}
}

func TestSignOut(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	refresh, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
	idToken, _ := storage.Get(ctx, logto.StorageKeyIDToken)
	if refresh == "" {
		t.Fatal("no refresh token after sign-in with offline_access and prompt=consent")
	}
	res, err := c.SignOut(ctx, logto.SignOutOptions{})
	if err != nil || res.RevocationErr != nil {
		t.Fatalf("SignOut: %v, %v", err, res.RevocationErr)
	}
	if !slices.Contains(e.p.RevokedTokens(), refresh) {
		t.Error("refresh token was not revoked")
	}
	u, _ := url.Parse(res.URL)
	q := u.Query()
	if !strings.HasPrefix(res.URL, e.p.Issuer()+"/session/end?") || q.Get("client_id") != e.p.ClientID() ||
		q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != testPostLogout {
		t.Errorf("end-session URL = %s", res.URL)
	}
	if ok, _ := c.IsAuthenticated(ctx); ok {
		t.Error("still signed in")
	}
}

func TestSignOutRevocationFailureIsNotFatal(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	e.p.SetFaults(logtotest.Faults{RevocationStatus: http.StatusInternalServerError})
	c := e.app.Client(storage)
	res, err := c.SignOut(ctx, logto.SignOutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.RevocationErr, logto.ErrProvider) {
		t.Errorf("RevocationErr = %v", res.RevocationErr)
	}
	if ok, _ := c.IsAuthenticated(ctx); ok || res.URL == "" {
		t.Errorf("signed in = %v, URL = %q", ok, res.URL)
	}
}

// After the first sign-in, a sign-in costs one request to the provider: the
// token request. Discovery and keys come from the App's cache.
func TestSignInNetworkCalls(t *testing.T) {
	e := newEnv(t, nil)
	e.signIn(t, logto.NewMemoryStorage())
	e.p.ResetCounters()
	e.signIn(t, logto.NewMemoryStorage())
	got := map[string]int{}
	for _, ep := range []string{"discovery", "jwks", "token", "userinfo", "revocation", "end_session"} {
		got[ep] = e.p.Requests(ep)
	}
	want := map[string]int{"discovery": 0, "jwks": 0, "token": 1, "userinfo": 0, "revocation": 0, "end_session": 0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s requests = %d, want %d", k, got[k], v)
		}
	}
}

func TestClientSecretPostWhenOnlyOffered(t *testing.T) {
	e := newEnv(t, func(_ *logto.Config, p *logtotest.Options) {
		p.TokenEndpointAuthMethods = []string{"client_secret_post"}
	})
	e.signIn(t, logto.NewMemoryStorage())
}
