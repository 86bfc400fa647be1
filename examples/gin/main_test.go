package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

type testApp struct {
	t      *testing.T
	p      *logtotest.Provider
	srv    *httptest.Server
	client *http.Client
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	gin.SetMode(gin.TestMode)
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	srv := httptest.NewUnstartedServer(nil)
	s := &settings{
		endpoint:      p.Endpoint(),
		appID:         p.ClientID(),
		appSecret:     p.ClientSecret(),
		baseURL:       "http://" + srv.Listener.Addr().String(),
		audience:      logtotest.DefaultResource,
		sessionSecret: []byte("test session secret, 32 bytes ok"),
	}
	router, err := newRouter(s)
	if err != nil {
		t.Fatalf("newRouter: %v", err)
	}
	srv.Config.Handler = router
	srv.Start()
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &testApp{t: t, p: p, srv: srv, client: client}
}

// get fetches u (absolute or a path of the app) without following redirects.
func (a *testApp) get(u, bearer string) (*http.Response, string) {
	a.t.Helper()
	var h http.Header
	if bearer != "" {
		h = http.Header{"Authorization": {"Bearer " + bearer}}
	}
	return a.send(http.MethodGet, u, h)
}

// send makes a request with headers, without following redirects.
func (a *testApp) send(method, u string, header http.Header) (*http.Response, string) {
	a.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = a.srv.URL + u
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp, string(body)
}

func TestWebSignIn(t *testing.T) {
	a := newTestApp(t)

	resp, _ := a.get("/protected", "")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/sign-in?return_to=%2Fprotected" {
		t.Fatalf("signed-out /protected: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	resp, _ = a.get("/sign-in?return_to=/protected", "")
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authURL, a.p.Endpoint()+"/oidc/auth") {
		t.Fatalf("/sign-in: %d to %q, want the provider %s", resp.StatusCode, authURL, a.p.Endpoint())
	}

	callback, err := a.p.Authorize(context.Background(), authURL)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if !strings.HasPrefix(callback, a.srv.URL+"/callback?") {
		t.Fatalf("callback URL %q", callback)
	}
	resp, body := a.get(callback, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/protected" {
		t.Fatalf("callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}

	resp, body = a.get("/protected", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Protected</h1>") {
		t.Fatalf("signed-in /protected: %d: %s", resp.StatusCode, body)
	}
	resp, body = a.get("/", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Authenticated") || strings.Contains(body, "Not authenticated") {
		t.Fatalf("signed-in /: %d: %s", resp.StatusCode, body)
	}

	if !strings.Contains(body, `<form method="post" action="/sign-out"`) {
		t.Errorf("the home page has no sign-out form: %s", body)
	}

	// Another site cannot sign the user out.
	for _, tc := range []struct {
		method string
		header http.Header
	}{
		{http.MethodGet, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{http.MethodGet, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{http.MethodPost, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
		{http.MethodPost, http.Header{"Origin": {"https://evil.example"}}},
	} {
		resp, body = a.send(tc.method, "/sign-out", tc.header)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s /sign-out %v: %d %.200q, want 403", tc.method, tc.header, resp.StatusCode, body)
		}
		if n := len(a.p.RevokedTokens()); n != 0 {
			t.Errorf("%s /sign-out %v: %d tokens revoked", tc.method, tc.header, n)
		}
		if resp, _ = a.get("/protected", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("/protected after a refused sign-out: %d, want 200", resp.StatusCode)
		}
	}

	resp, _ = a.send(http.MethodPost, "/sign-out", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {a.srv.URL}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), a.p.Endpoint()+"/oidc/") {
		t.Fatalf("POST /sign-out: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(a.p.RevokedTokens()); n != 1 {
		t.Errorf("POST /sign-out revoked %d tokens, want the refresh token", n)
	}
	resp, _ = a.get("/protected", "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/protected after sign-out: %d, want 302", resp.StatusCode)
	}
}

// mintToken signs in with its own logto.App and returns an access token for
// the dev provider's API resource.
func mintToken(t *testing.T, p *logtotest.Provider) string {
	t.Helper()
	ctx := context.Background()
	app, err := logto.NewApp(logto.Config{
		Endpoint:    p.Endpoint(),
		AppID:       p.ClientID(),
		AppSecret:   p.ClientSecret(),
		RedirectURI: "http://127.0.0.1/callback",
		Resources:   []string{logtotest.DefaultResource},
		Scopes:      []string{"read:messages"},
	})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	c := app.Client(logto.NewMemoryStorage())
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	cb, err := p.Authorize(ctx, authURL)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	cbURL, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleSignInCallbackURL(ctx, cbURL); err != nil {
		t.Fatalf("callback: %v", err)
	}
	at, err := c.GetAccessToken(ctx, logtotest.DefaultResource)
	if err != nil {
		t.Fatalf("GetAccessToken: %v", err)
	}
	return at.Token
}

func TestAPI(t *testing.T) {
	a := newTestApp(t)

	resp, body := a.get("/api/messages", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no token: %d (WWW-Authenticate %q): %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	resp, _ = a.get("/api/messages", "not-a-jwt")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad token: %d, want 401", resp.StatusCode)
	}

	tok := mintToken(t, a.p)
	resp, body = a.get("/api/messages", tok)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("with token: %d: %s", resp.StatusCode, body)
	}
	var got struct {
		Subject  string   `json:"subject"`
		Messages []string `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if got.Subject != logtotest.DefaultUser().Subject || len(got.Messages) == 0 {
		t.Fatalf("body %+v", got)
	}
}

func TestLoadSettings(t *testing.T) {
	env := map[string]string{}
	s, err := loadSettings(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.baseURL != "http://localhost:3001" || s.addr != ":3001" || s.audience != logtotest.DefaultResource || len(s.sessionSecret) != 32 {
		t.Fatalf("defaults: %+v", s)
	}
	// A short SESSION_SECRET is stretched to 32 bytes, the same every time
	// (replicas must agree); a long one is used as it is.
	env["SESSION_SECRET"] = "short"
	a, errA := loadSettings(func(k string) string { return env[k] })
	b, errB := loadSettings(func(k string) string { return env[k] })
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if len(a.sessionSecret) != 32 || string(a.sessionSecret) != string(b.sessionSecret) {
		t.Errorf("short SESSION_SECRET gave %q and %q", a.sessionSecret, b.sessionSecret)
	}
	env["SESSION_SECRET"] = "a session secret of 32 bytes, ok"
	if s, err := loadSettings(func(k string) string { return env[k] }); err != nil {
		t.Error(err)
	} else if string(s.sessionSecret) != env["SESSION_SECRET"] {
		t.Errorf("long SESSION_SECRET gave %q", s.sessionSecret)
	}
	env["BASE_URL"] = "not a url"
	if _, err := loadSettings(func(k string) string { return env[k] }); err == nil {
		t.Fatal("bad BASE_URL accepted")
	}
}

// Without LOGTO_ENDPOINT the example may start the dev provider only for
// local development; app credentials or a BASE_URL on a real host make it
// refuse to start, naming LOGTO_ENDPOINT.
func TestDevProviderNeverStandsIn(t *testing.T) {
	for _, env := range []map[string]string{
		{"LOGTO_APP_ID": "real-app"},
		{"LOGTO_APP_SECRET": "real-secret"},
		{"BASE_URL": "https://app.example.com"},
		{"BASE_URL": "http://192.168.1.20:3000"},
		{"BASE_URL": "http://localhost.evil.example:3000"},
	} {
		env["ADDR"] = "127.0.0.1:0"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out strings.Builder
		err := run(ctx, func(k string) string { return env[k] }, &out)
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Errorf("%v: run started (err %v); output:\n%s", env, err, out.String())
			continue
		}
		if !strings.Contains(err.Error(), "LOGTO_ENDPOINT") {
			t.Errorf("%v: error %q does not name LOGTO_ENDPOINT", env, err)
		}
	}
	for _, base := range []string{"http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"} {
		if _, err := loadSettings(func(k string) string { return map[string]string{"BASE_URL": base}[k] }); err != nil {
			t.Errorf("BASE_URL %s: %v", base, err)
		}
	}
	env := map[string]string{"BASE_URL": "https://app.example.com", "LOGTO_ENDPOINT": "https://tenant.logto.app", "LOGTO_APP_ID": "a"}
	if _, err := loadSettings(func(k string) string { return env[k] }); err != nil {
		t.Errorf("with LOGTO_ENDPOINT: %v", err)
	}
}
