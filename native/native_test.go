package native_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/native"
)

const apiResource = "https://api.example.com"

func newClient(t testing.TB, p *logtotest.Provider, cache native.Cache) *native.Client {
	t.Helper()
	c, err := native.New(native.Config{
		Endpoint:  p.Endpoint(),
		AppID:     p.NativeClientID(),
		Resources: []string{apiResource},
		Scopes:    []string{logto.ScopeOrganizations},
		Cache:     cache,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// browse plays the browser: it follows the provider's redirect back to the
// loopback listener and returns what the listener answered.
func browse(ctx context.Context, p *logtotest.Provider, authURL string) (int, string, error) {
	callback, err := p.Authorize(ctx, authURL)
	if err != nil {
		return 0, "", err
	}
	return get(ctx, callback)
}

func get(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestLoginBrowser(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var callbackHost string
	var browser sync.WaitGroup
	defer browser.Wait()
	claims, err := c.LoginBrowser(ctx, native.BrowserOptions{Open: func(authURL string) error {
		u, _ := url.Parse(authURL)
		redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
		callbackHost = redirect.Host
		if redirect.Hostname() != "127.0.0.1" || redirect.Path != "/callback" || redirect.Port() == "" {
			t.Errorf("redirect_uri %q", redirect)
		}
		if u.Query().Get("code_challenge_method") != "S256" {
			t.Errorf("no PKCE in %q", authURL)
		}
		browser.Go(func() {
			status, body, err := browse(ctx, p, authURL)
			if err != nil || status != http.StatusOK || !strings.Contains(body, "signed in") {
				t.Errorf("browser got %d %q, %v", status, body, err)
			}
		})
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != logtotest.DefaultUser().Subject {
		t.Errorf("signed in as %q", claims.Subject)
	}
	// The port is closed once the sign-in is over.
	if conn, err := net.DialTimeout("tcp", callbackHost, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", callbackHost)
	}
	// The session is kept and serves tokens.
	got, err := c.IDTokenClaims(ctx)
	if err != nil || got.Subject != claims.Subject {
		t.Errorf("claims after sign-in: %v, %v", got, err)
	}
	if tok, err := c.AccessToken(ctx, apiResource, ""); err != nil || tok.Token == "" {
		t.Errorf("access token: %v", err)
	}
}

// A request without the sign-in's state is refused and the wait goes on;
// the real redirect still signs in.
func TestLoginBrowserWrongState(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var browser sync.WaitGroup
	defer browser.Wait()
	_, err := c.LoginBrowser(ctx, native.BrowserOptions{Open: func(authURL string) error {
		u, _ := url.Parse(authURL)
		redirect := u.Query().Get("redirect_uri")
		browser.Go(func() {
			status, _, err := get(ctx, redirect+"?code=forged&state=forged")
			if err != nil || status != http.StatusBadRequest {
				t.Errorf("forged redirect answered %d, %v", status, err)
			}
			if status, _, err := browse(ctx, p, authURL); err != nil || status != http.StatusOK {
				t.Errorf("real redirect answered %d, %v", status, err)
			}
		})
		return nil
	}})
	if err != nil {
		t.Fatalf("after a forged redirect: %v", err)
	}
}

// The provider's refusal ends the sign-in with its code, and the port
// closes.
func TestLoginBrowserProviderError(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	p.SetFaults(logtotest.Faults{AuthorizeError: "access_denied", AuthorizeErrorDescription: "the person said no"})
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var host string
	var browser sync.WaitGroup
	defer browser.Wait()
	_, err := c.LoginBrowser(ctx, native.BrowserOptions{Open: func(authURL string) error {
		u, _ := url.Parse(authURL)
		r, _ := url.Parse(u.Query().Get("redirect_uri"))
		host = r.Host
		browser.Go(func() {
			status, _, err := browse(ctx, p, authURL)
			if err != nil || status != http.StatusBadRequest {
				t.Errorf("browser got %d, %v", status, err)
			}
		})
		return nil
	}})
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" {
		t.Fatalf("err = %v, want access_denied", err)
	}
	if conn, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still open", host)
	}
	if _, err := c.IDTokenClaims(ctx); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Errorf("after a refused sign-in: %v", err)
	}
}

func TestLoginBrowserOptions(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ctx := context.Background()
	if _, err := c.LoginBrowser(ctx, native.BrowserOptions{}); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("no Open: %v", err)
	}
	open := func(string) error { return nil }
	for _, addr := range []string{"0.0.0.0:0", "192.168.1.2:0", "localhost:0", "nonsense"} {
		if _, err := c.LoginBrowser(ctx, native.BrowserOptions{Open: open, ListenAddr: addr}); !errors.Is(err, logto.ErrInvalidRequest) {
			t.Errorf("ListenAddr %q: %v", addr, err)
		}
	}
	// A context that ends while waiting ends the sign-in.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.LoginBrowser(short, native.BrowserOptions{Open: open}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ended context: %v", err)
	}
}
