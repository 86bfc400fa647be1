package logto_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// publicBase is the provider's public base URL in the ProviderURL tests:
// nothing answers there, as for an app in a container that cannot reach
// its provider's public name.
const publicBase = "https://auth.example.test"

// hostLog is an HTTP client's transport that lets requests through to one
// host only and records every host asked for.
type hostLog struct {
	allowed string // host:port
	mu      sync.Mutex
	hosts   []string
}

func (h *hostLog) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, r.URL.Host)
	h.mu.Unlock()
	if r.URL.Host != h.allowed {
		return nil, errors.New("unreachable from here: " + r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (h *hostLog) asked() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.hosts)
}

// routedEnv is an App whose provider calls itself publicBase but is reached
// only at its own (internal) URL, which ProviderURL names.
type routedEnv struct {
	*env
	internal *url.URL
	log      *hostLog
}

func newRoutedEnv(t *testing.T, faults *logtotest.Faults) *routedEnv {
	t.Helper()
	p := logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{testRedirect},
		PostLogoutRedirectURIs: []string{testPostLogout},
		Resources:              []string{testResource},
	})
	internal, err := url.Parse(p.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	p.SetBaseURL(publicBase)
	if faults != nil {
		p.SetFaults(*faults)
	}
	log := &hostLog{allowed: internal.Host}
	cfg := logto.Config{
		Endpoint:              publicBase,
		ProviderURL:           internal.String(),
		AppID:                 p.ClientID(),
		AppSecret:             p.ClientSecret(),
		RedirectURI:           testRedirect,
		PostLogoutRedirectURI: testPostLogout,
		Resources:             []string{testResource},
		HTTPClient:            &http.Client{Transport: log},
	}
	app, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &routedEnv{env: &env{p: p, app: app, cfg: cfg}, internal: internal, log: log}
}

// browse plays the browser at the public authorization URL, which a proxy
// in front of the provider would forward.
func (e *routedEnv) browse(t *testing.T, authURL string) *url.URL {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host != publicBase {
		t.Fatalf("the browser is sent to %s, not to the public URL", authURL)
	}
	u.Scheme, u.Host = e.internal.Scheme, e.internal.Host
	cb, err := e.p.Authorize(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	back, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// The whole life of a session with the provider reached at ProviderURL:
// every request of the app goes there, the browser is sent to the public
// URL, and the tokens name the public issuer.
func TestProviderURLReachesTheProviderInside(t *testing.T) {
	e := newRoutedEnv(t, nil)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	c := e.app.Client(storage)

	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleSignInCallbackURL(ctx, e.browse(t, authURL)); err != nil {
		t.Fatal(err)
	}
	claims, err := c.IDTokenClaims(ctx)
	if err != nil || claims.Issuer != publicBase+"/oidc" {
		t.Fatalf("ID token issuer %v, %v; want the public one", claims, err)
	}
	at, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	if ac, _ := at.Claims(); ac["iss"] != publicBase+"/oidc" {
		t.Errorf("access token iss = %v", ac["iss"])
	}
	if _, err := c.FetchUserInfo(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := c.SignOut(ctx, logto.SignOutOptions{})
	if err != nil || res.RevocationErr != nil {
		t.Fatalf("SignOut: %v, %v", err, res.RevocationErr)
	}
	if !strings.HasPrefix(res.URL, publicBase+"/oidc/session/end?") {
		t.Errorf("end-session URL %s is not the public one", res.URL)
	}
	for ep, want := range map[string]int{"discovery": 1, "jwks": 1, "token": 2, "userinfo": 1, "revocation": 1} {
		if n := e.p.Requests(ep); n != want {
			t.Errorf("%s requests at the provider: %d, want %d", ep, n, want)
		}
	}
	asked := e.log.asked()
	if len(asked) == 0 {
		t.Fatal("no request went through the app's HTTP client")
	}
	for _, h := range asked {
		if h != e.internal.Host {
			t.Errorf("the app asked %s, not the provider's internal URL", h)
		}
	}

	// The device authorization endpoint is the app's to call too.
	_, _ = c.StartDeviceSignIn(ctx)
	if n := e.p.Requests("device_authorization"); n != 1 {
		t.Errorf("device authorization requests at the provider: %d, want 1", n)
	}
}

// The provider at ProviderURL is trusted to be the provider of Endpoint,
// never to be another: its metadata must name the public issuer, may not
// downgrade an endpoint to http, and endpoints it names on other hosts are
// not taken for its own.
func TestProviderURLAttacks(t *testing.T) {
	t.Run("issuer of the internal URL", func(t *testing.T) {
		e := newRoutedEnv(t, nil)
		e.p.SetFaults(logtotest.Faults{DiscoveryIssuer: e.internal.String() + "/oidc"})
		_, err := e.app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
		if !errors.Is(err, logto.ErrDiscovery) {
			t.Fatalf("err %v, want ErrDiscovery", err)
		}
	})
	t.Run("another issuer", func(t *testing.T) {
		e := newRoutedEnv(t, &logtotest.Faults{DiscoveryIssuer: "https://evil.example/oidc"})
		_, err := e.app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
		if !errors.Is(err, logto.ErrDiscovery) {
			t.Fatalf("err %v, want ErrDiscovery", err)
		}
	})
	t.Run("http token endpoint", func(t *testing.T) {
		e := newRoutedEnv(t, &logtotest.Faults{DiscoveryEdit: func(d map[string]any) {
			d["token_endpoint"] = "http://auth.example.test/oidc/token"
		}})
		_, err := e.app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
		if !errors.Is(err, logto.ErrDiscovery) {
			t.Fatalf("err %v, want ErrDiscovery", err)
		}
	})
	t.Run("endpoints on another host", func(t *testing.T) {
		e := newRoutedEnv(t, &logtotest.Faults{DiscoveryEdit: func(d map[string]any) {
			d["token_endpoint"] = "https://evil.example/oidc/token"
			d["jwks_uri"] = "https://auth.example.test.evil.example/oidc/jwks"
		}})
		ctx := context.Background()
		c := e.app.Client(logto.NewMemoryStorage())
		authURL, err := c.SignIn(ctx, logto.SignInOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.HandleSignInCallbackURL(ctx, e.browse(t, authURL)); !errors.Is(err, logto.ErrProvider) {
			t.Fatalf("err %v, want ErrProvider (the named host is out of reach)", err)
		}
		if !slices.Contains(e.log.asked(), "evil.example") {
			t.Errorf("asked %v: the code went elsewhere than where the metadata said", e.log.asked())
		}
		if n := e.p.Requests("token"); n != 0 {
			t.Errorf("%d token requests reached the internal URL for an endpoint of another host", n)
		}
	})
}

func TestProviderURLConfig(t *testing.T) {
	base := logto.Config{Endpoint: publicBase, AppID: "app"}
	for raw, ok := range map[string]bool{
		"http://logto:3001":         true,
		"http://10.0.0.7:3001/":     true,
		"https://logto.example.com": true,
		"http://logto.example.com":  false,
		"http://logto:3001/oidc":    false,
		"logto:3001":                false,
	} {
		cfg := base
		cfg.ProviderURL = raw
		_, err := logto.NewApp(cfg)
		if ok != (err == nil) || (err != nil && (!errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), "ProviderURL"))) {
			t.Errorf("ProviderURL %q: err %v, want ok = %v", raw, err, ok)
		}
	}
	cfg := base
	cfg.ProviderURL, cfg.InsecureAllowHTTP = "http://logto.example.com", true
	if _, err := logto.NewApp(cfg); err != nil {
		t.Errorf("InsecureAllowHTTP: %v", err)
	}
}
