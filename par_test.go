package logto_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// queryKeys returns the sorted parameter names of rawURL's query.
func queryKeys(t *testing.T, rawURL string) []string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range u.Query() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// wantPushed checks that authURL names a pushed request of the provider:
// client_id and request_uri, nothing else.
func wantPushed(t *testing.T, p *logtotest.Provider, authURL string) {
	t.Helper()
	if keys := queryKeys(t, authURL); !slices.Equal(keys, []string{"client_id", "request_uri"}) {
		t.Fatalf("authorization URL %s carries %v, want client_id and request_uri only", authURL, keys)
	}
	u, _ := url.Parse(authURL)
	if !strings.HasPrefix(authURL, p.Issuer()+"/auth?") || u.Query().Get("client_id") != p.ClientID() ||
		!strings.HasPrefix(u.Query().Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("authorization URL %s", authURL)
	}
}

// noPendingSignIn checks that a failed SignIn kept nothing.
func noPendingSignIn(t *testing.T, storage logto.Storage) {
	t.Helper()
	if v, err := storage.Get(context.Background(), logto.StorageKeySignIn); err != nil || v != "" {
		t.Errorf("pending sign-ins %q, %v; want none", v, err)
	}
}

// With PAR, the browser's URL carries only client_id and request_uri, the
// provider got every parameter the URL would have carried, and the
// sign-in completes through the unchanged callback.
func TestSignInPushedAuthorization(t *testing.T) {
	e := newEnv(t, func(c *logto.Config, _ *logtotest.Options) { c.PushedAuthorization = logto.PARIfOffered })
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	c := e.app.Client(storage)
	opts := logto.SignInOptions{ReturnTo: "/account", LoginHint: "dev@example.com", ACRValues: []string{logto.ACRMFA}}
	authURL, err := c.SignIn(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	wantPushed(t, e.p, authURL)
	if n := e.p.Requests("par"); n != 1 {
		t.Errorf("%d pushed requests, want 1", n)
	}
	pushed := e.p.LastPushedAuthorizationRequest()
	if pushed.Has("client_secret") || pushed.Get("redirect_uri") != testRedirect || pushed.Get("login_hint") != "dev@example.com" ||
		pushed.Get("acr_values") != logto.ACRMFA || !slices.Equal(pushed["resource"], []string{testResource}) {
		t.Errorf("pushed %v", pushed)
	}

	// The pushed form is what the plain URL carries: one builder.
	cfg := e.cfg
	cfg.PushedAuthorization = logto.PARWhenRequired
	plainApp, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := plainApp.Client(logto.NewMemoryStorage()).SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pushedKeys := slices.Sorted(func(yield func(string) bool) {
		for k := range pushed {
			if k != "login_hint" && k != "acr_values" && !yield(k) {
				return
			}
		}
	})
	if keys := queryKeys(t, plain); !slices.Equal(keys, pushedKeys) {
		t.Errorf("plain URL carries %v, the pushed request %v", keys, pushedKeys)
	}

	cb, err := e.p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	cbURL, _ := url.Parse(cb)
	res, err := c.HandleSignInCallbackURL(ctx, cbURL)
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	if res.ReturnTo != "/account" || res.Claims.Subject != logtotest.DefaultUser().Subject || res.Claims.ACR != logto.ACRMFA {
		t.Errorf("result %+v, claims %+v", res, res.Claims)
	}
	if _, err := c.GetAccessToken(ctx, testResource); err != nil {
		t.Errorf("resource token: %v", err)
	}
	// The browser going back to the URL: the request_uri is spent.
	if cb, err := e.p.Authorize(ctx, authURL); err == nil {
		t.Errorf("a spent request_uri was taken again: %s", cb)
	}
}

func TestSignInPARModes(t *testing.T) {
	noPAR := func(doc map[string]any) { delete(doc, "pushed_authorization_request_endpoint") }
	for _, tc := range []struct {
		name        string
		mode        logto.PARMode
		requirePAR  bool                 // the provider's Options.RequirePAR
		edit        func(map[string]any) // the provider's discovery
		wantPush    bool
		wantFailure string // "" = a sign-in that completes
	}{
		{"off by default", logto.PARWhenRequired, false, nil, false, ""},
		{"if offered, offered", logto.PARIfOffered, false, nil, true, ""},
		{"if offered, not offered", logto.PARIfOffered, false, noPAR, false, ""},
		{"required, offered", logto.PARRequired, false, nil, true, ""},
		{"required, not offered", logto.PARRequired, false, noPAR, false, "PARRequired"},
		{"off, provider requires", logto.PARWhenRequired, true, nil, true, ""},
		{"provider requires, not offered", logto.PARIfOffered, true, noPAR, false, "require_pushed_authorization_requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *logto.Config, o *logtotest.Options) {
				c.PushedAuthorization = tc.mode
				o.RequirePAR = tc.requirePAR
			})
			e.p.SetFaults(logtotest.Faults{DiscoveryEdit: tc.edit})
			ctx := context.Background()
			storage := logto.NewMemoryStorage()
			c := e.app.Client(storage)
			authURL, err := c.SignIn(ctx, logto.SignInOptions{})
			if tc.wantFailure != "" {
				var oe *logto.OAuthError
				if !errors.Is(err, logto.ErrProvider) || errors.As(err, &oe) || !strings.Contains(err.Error(), tc.wantFailure) {
					t.Fatalf("err = %v, want ErrProvider naming %s", err, tc.wantFailure)
				}
				noPendingSignIn(t, storage)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantPush {
				wantPushed(t, e.p, authURL)
			} else if keys := queryKeys(t, authURL); !slices.Contains(keys, "code_challenge") || slices.Contains(keys, "request_uri") {
				t.Errorf("plain URL carries %v", keys)
			}
			if n, want := e.p.Requests("par"), map[bool]int{false: 0, true: 1}[tc.wantPush]; n != want {
				t.Errorf("%d pushed requests, want %d", n, want)
			}
			cb, err := e.p.Authorize(ctx, authURL)
			if err != nil {
				t.Fatal(err)
			}
			cbURL, _ := url.Parse(cb)
			if _, err := c.HandleSignInCallbackURL(ctx, cbURL); err != nil {
				t.Errorf("callback: %v", err)
			}
		})
	}
}

// Many resources and all of Logto's parameters stay out of the URL: it is
// as short as with none of them, and the provider got them all.
func TestSignInPARKeepsParametersOutOfTheURL(t *testing.T) {
	var resources []string
	for i := range 40 {
		resources = append(resources, fmt.Sprintf("https://api-%02d.example.com/a/rather/long/path/to/make/the/url/long", i))
	}
	e := newEnv(t, func(c *logto.Config, o *logtotest.Options) {
		c.PushedAuthorization = logto.PARRequired
		c.Resources, o.Resources = resources, resources
		c.Scopes = []string{logto.ScopeOrganizations}
	})
	ctx := context.Background()
	c := e.app.Client(logto.NewMemoryStorage())
	secret := "login-hint-that-must-not-leak@example.com"
	authURL, err := c.SignIn(ctx, logto.SignInOptions{
		FirstScreen:     logto.FirstScreenIdentifierSignIn,
		InteractionMode: logto.InteractionModeSignIn,
		Identifiers:     []string{logto.IdentifierEmail},
		DirectSignIn:    "sso:connector-1",
		LoginHint:       secret,
		UILocales:       "de-CH",
		OrganizationID:  logtotest.DefaultOrganization,
		MaxAge:          new(time.Hour),
		ExtraParams:     url.Values{"custom": {"value"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantPushed(t, e.p, authURL)
	if len(authURL) > 200 || strings.Contains(authURL, "example.com") || strings.Contains(authURL, "custom") {
		t.Errorf("authorization URL of %d bytes: %s", len(authURL), authURL)
	}
	pushed := e.p.LastPushedAuthorizationRequest()
	for k, want := range map[string]string{
		"first_screen": logto.FirstScreenIdentifierSignIn, "interaction_mode": logto.InteractionModeSignIn,
		"identifier": logto.IdentifierEmail, "direct_sign_in": "sso:connector-1", "login_hint": secret,
		"ui_locales": "de-CH", "organization_id": logtotest.DefaultOrganization, "max_age": "3600", "custom": "value",
	} {
		if got := pushed[k]; !slices.Equal(got, []string{want}) {
			t.Errorf("pushed %s = %q, want %q", k, got, want)
		}
	}
	if got, want := pushed["resource"], append(slices.Clone(resources), logto.ResourceOrganizations); !slices.Equal(got, want) {
		t.Errorf("pushed resources %q", got)
	}
	cb, err := e.p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	cbURL, _ := url.Parse(cb)
	if _, err := c.HandleSignInCallbackURL(ctx, cbURL); err != nil {
		t.Fatalf("callback: %v", err)
	}
	if _, err := c.GetAccessToken(ctx, resources[len(resources)-1]); err != nil {
		t.Errorf("a token for the last resource: %v", err)
	}
}

// The app authenticates at the PAR endpoint as at the token endpoint: a
// wrong secret is the provider's invalid_client, nothing is kept, and a
// public client sends its client_id alone.
func TestSignInPARClientAuthentication(t *testing.T) {
	ctx := context.Background()
	for _, methods := range [][]string{{"client_secret_basic"}, {"client_secret_post"}} {
		e := newEnv(t, func(c *logto.Config, o *logtotest.Options) {
			c.PushedAuthorization = logto.PARRequired
			o.TokenEndpointAuthMethods = methods
		})
		if _, err := e.app.Client(logto.NewMemoryStorage()).SignIn(ctx, logto.SignInOptions{}); err != nil {
			t.Errorf("%v: %v", methods, err)
		}
		cfg := e.cfg
		cfg.AppSecret = "wrong"
		app, err := logto.NewApp(cfg)
		if err != nil {
			t.Fatal(err)
		}
		storage := logto.NewMemoryStorage()
		_, err = app.Client(storage).SignIn(ctx, logto.SignInOptions{})
		var oe *logto.OAuthError
		if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.Endpoint != "pushed authorization" || oe.StatusCode != 401 || !errors.Is(err, logto.ErrProvider) {
			t.Errorf("%v, wrong secret: err = %v, want the provider's invalid_client", methods, err)
		}
		noPendingSignIn(t, storage)
	}

	p := logtotest.NewTestProvider(t, logtotest.Options{})
	redirect := "http://127.0.0.1:4321/callback"
	app, err := logto.NewApp(logto.Config{Endpoint: p.Endpoint(), AppID: p.NativeClientID(), RedirectURI: redirect, PushedAuthorization: logto.PARRequired})
	if err != nil {
		t.Fatal(err)
	}
	c := app.Client(logto.NewMemoryStorage())
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(authURL); u.Query().Get("client_id") != p.NativeClientID() || !u.Query().Has("request_uri") {
		t.Fatalf("native: %s", authURL)
	}
	if got := p.LastPushedAuthorizationRequest(); got.Get("client_id") != p.NativeClientID() || got.Has("client_secret") {
		t.Errorf("native pushed %v", got)
	}
	cb, err := p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	cbURL, _ := url.Parse(cb)
	if _, err := c.HandleSignInCallbackURL(ctx, cbURL); err != nil {
		t.Errorf("native callback: %v", err)
	}
}

// A PAR endpoint that answers anything but a well-formed 201 fails the
// sign-in with ErrProvider (an *OAuthError for an error answer), and
// nothing is kept.
func TestSignInPARBadAnswers(t *testing.T) {
	p, err := logtotest.New(logtotest.Options{RedirectURIs: []string{testRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	var status int
	var answer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oidc/request" {
			p.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(srv.Close)
	p.SetBaseURL(srv.URL)
	app, err := logto.NewApp(logto.Config{Endpoint: srv.URL, AppID: p.ClientID(), AppSecret: p.ClientSecret(), RedirectURI: testRedirect, PushedAuthorization: logto.PARRequired})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		status    int
		answer    string
		wantOAuth string // the *OAuthError's code; "" = a plain ErrProvider
	}{
		{400, `{"error":"invalid_request","error_description":"no"}`, "invalid_request"},
		{401, `{"error":"invalid_client"}`, "invalid_client"},
		{500, `<html>down</html>`, ""},
		{200, `{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":60}`, ""},
		{201, `{}`, ""},
		{201, `not json`, ""},
		{201, `{"request_uri":"","expires_in":60}`, ""},
		{201, `{"request_uri":"urn:ietf:params:oauth:request_uri:x"}`, ""},
		{201, `{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":0}`, ""},
		{201, `{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":-60}`, ""},
		{201, `{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":1.5}`, ""},
		{201, `{"request_uri":"no-scheme","expires_in":60}`, ""},
		{201, `{"request_uri":"urn:x y&state=evil","expires_in":60}`, ""},
		{201, `{"request_uri":42,"expires_in":60}`, ""},
	} {
		status, answer = tc.status, tc.answer
		storage := logto.NewMemoryStorage()
		authURL, err := app.Client(storage).SignIn(context.Background(), logto.SignInOptions{})
		var oe *logto.OAuthError
		switch {
		case !errors.Is(err, logto.ErrProvider):
			t.Errorf("%d %s: %q, %v; want ErrProvider", tc.status, tc.answer, authURL, err)
		case tc.wantOAuth != "" && (!errors.As(err, &oe) || oe.Code != tc.wantOAuth || oe.Endpoint != "pushed authorization" || oe.StatusCode != tc.status):
			t.Errorf("%d %s: %v, want an *OAuthError %s", tc.status, tc.answer, err, tc.wantOAuth)
		case tc.wantOAuth == "" && errors.As(err, &oe):
			t.Errorf("%d %s: %v, an *OAuthError", tc.status, tc.answer, err)
		}
		noPendingSignIn(t, storage)
	}
	// The same server, answering well: the sign-in starts.
	status, answer = 201, `{"request_uri":"urn:ietf:params:oauth:request_uri:x","expires_in":60}`
	authURL, err := app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
	if err != nil || !strings.HasSuffix(authURL, "request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax") {
		t.Errorf("good answer: %q, %v", authURL, err)
	}
}

func TestConfigRefusesUnknownPARMode(t *testing.T) {
	_, err := logto.NewApp(logto.Config{Endpoint: "https://tenant.logto.app", AppID: "a", PushedAuthorization: logto.PARRequired + 1})
	if !errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), "PushedAuthorization") {
		t.Errorf("err = %v, want ErrInvalidConfig naming PushedAuthorization", err)
	}
}

// A sign-in whose parameters never travel through the browser: SignIn
// pushes them to the provider and the URL names them by a request_uri.
func ExamplePARMode() {
	p := devProvider()
	defer p.Close()
	ctx := context.Background()

	client, err := logto.NewClient(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI:         "http://localhost:3000/callback",
		PushedAuthorization: logto.PARRequired, // fail rather than fall back
	}, logto.NewMemoryStorage())
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := client.SignIn(ctx, logto.SignInOptions{LoginHint: "dev@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	fmt.Println(len(u.Query()), u.Query().Has("request_uri"), u.Query().Has("login_hint"))

	// The callback is the same as without PAR.
	callback, err := p.Authorize(ctx, authURL)
	if err != nil {
		log.Fatal(err)
	}
	cb, _ := url.Parse(callback)
	res, err := client.HandleSignInCallbackURL(ctx, cb)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Claims.Subject)
	// Output:
	// 2 true false
	// dev-user-1
}
