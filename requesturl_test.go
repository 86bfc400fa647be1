package logto_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// proxiedRedirect is the public callback of an app behind a TLS-terminating
// proxy; the app itself listens on plain http at another host.
const proxiedRedirect = "https://app.example/callback"

// startProxiedSignIn starts a sign-in for proxiedRedirect and returns the
// query the provider sends back to the callback.
func startProxiedSignIn(t *testing.T, trust bool) (*env, *logto.Client, string) {
	t.Helper()
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.RedirectURI = proxiedRedirect
		p.RedirectURIs = []string{proxiedRedirect}
		c.TrustForwardedHeaders = trust
	})
	c := e.app.Client(logto.NewMemoryStorage())
	cb := e.startSignIn(t, c, logto.SignInOptions{})
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != proxiedRedirect {
		t.Fatalf("provider redirected to %s", cb)
	}
	return e, c, cb.RawQuery
}

// proxiedCallback is the callback request as the app's server sees it when
// it arrives at internal.test:8080 claiming, in X-Forwarded-Proto and
// X-Forwarded-Host, to have been sent to https://app.example.
func proxiedCallback(query string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/callback?"+query, nil)
	r.Host = "internal.test:8080"
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "app.example")
	return r
}

// Anyone can send X-Forwarded-Host. Unless the app says a proxy sets it, a
// callback that arrives at another host must not pass for the redirect URI
// with its help.
func TestCallbackForgedForwardedHeaders(t *testing.T) {
	ctx := context.Background()
	_, c, query := startProxiedSignIn(t, false)
	r := proxiedCallback(query)
	if _, err := c.HandleSignInCallback(ctx, r); !errors.Is(err, logto.ErrInvalidCallback) {
		t.Fatalf("callback with forged X-Forwarded-* headers: err = %v, want ErrInvalidCallback", err)
	}
	if ok, _ := c.IsAuthenticated(ctx); ok {
		t.Fatal("signed in through forged X-Forwarded-* headers")
	}
}

// Behind a proxy that sets the headers (TrustForwardedHeaders), the callback
// the proxy forwards over plain http completes.
func TestCallbackTrustedForwardedHeaders(t *testing.T) {
	ctx := context.Background()
	_, c, query := startProxiedSignIn(t, true)
	r := proxiedCallback(query)
	if _, err := c.HandleSignInCallback(ctx, r); err != nil {
		t.Fatalf("proxied callback: %v", err)
	}
	if ok, err := c.IsAuthenticated(ctx); !ok || err != nil {
		t.Fatalf("not signed in after a proxied callback: %v", err)
	}
}

func TestRequestURL(t *testing.T) {
	cases := []struct {
		name    string
		target  string
		tls     bool
		headers map[string]string
		trust   bool
		want    string
	}{
		{"plain", "http://app.test/cb?x=1", false, nil, false, "http://app.test/cb?x=1"},
		{"TLS", "http://app.test/cb", true, nil, false, "https://app.test/cb"},
		{"forwarded, untrusted", "http://app.test/cb", false,
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}, false, "http://app.test/cb"},
		{"forwarded, trusted", "http://app.test/cb", false,
			map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example"}, true, "https://app.example/cb"},
		{"forwarded lists, trusted: first hop", "http://app.test/cb", false,
			map[string]string{"X-Forwarded-Proto": "HTTPS, http", "X-Forwarded-Host": "App.Example, inner"}, true, "https://app.example/cb"},
		{"unknown forwarded scheme, trusted", "http://app.test/cb", false,
			map[string]string{"X-Forwarded-Proto": "gopher"}, true, "http://app.test/cb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			r.URL.Scheme, r.URL.Host = "", "" // as a server sees it
			r.TLS = nil
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := logto.RequestURL(r, tc.trust); got.String() != tc.want {
				t.Errorf("RequestURL = %s, want %s", got, tc.want)
			}
		})
	}
}
