package m2m_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/m2m"
)

// onlyHost lets requests through to one host and fails every other.
type onlyHost string

func (h onlyHost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != string(h) {
		return nil, errors.New("unreachable from here: " + r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A provider that calls itself by its public URL is reached at its
// internal one; its tokens and metadata still name the public issuer, and
// metadata naming another issuer is refused.
func TestProviderURL(t *testing.T) {
	const public = "https://auth.example.test"
	for name, lie := range map[string]string{"honest": "", "lying": "https://evil.example/oidc"} {
		t.Run(name, func(t *testing.T) {
			p := newProvider(t, logtotest.Options{})
			internal, err := url.Parse(p.Endpoint())
			if err != nil {
				t.Fatal(err)
			}
			p.SetBaseURL(public)
			p.SetFaults(logtotest.Faults{DiscoveryIssuer: lie})
			c := newClient(t, p, func(c *m2m.Config) {
				c.Endpoint, c.ProviderURL = public, internal.String()
				c.HTTPClient = &http.Client{Transport: onlyHost(internal.Host)}
			})
			tok, err := c.Token(context.Background(), m2m.ClientCredentials{Resources: []string{apiResource}})
			if lie != "" {
				if !errors.Is(err, logto.ErrProvider) || p.Requests("token") != 0 {
					t.Fatalf("err %v after %d token requests, want a refusal before any", err, p.Requests("token"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if iss := claims(t, tok.AccessToken)["iss"]; iss != public+"/oidc" {
				t.Errorf("iss = %v", iss)
			}
		})
	}
	if _, err := m2m.New(m2m.Config{Endpoint: public, ProviderURL: "http://logto.example.com", AppID: "a", AppSecret: "s"}); !errors.Is(err, logto.ErrInvalidConfig) {
		t.Errorf("http ProviderURL on a public name: err %v", err)
	}
}

// m2m shares the token-endpoint client: across a secret rotation at the
// provider, each switch costs one more request, and the secret that works
// is kept.
func TestSecretRotation(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	old := p.M2MClientSecret()
	c := newClient(t, p, func(c *m2m.Config) { c.AppSecret, c.PreviousAppSecrets = "new-secret", []string{old} })
	ctx := context.Background()
	for i, step := range []struct {
		secret   string // at the provider
		requests int
	}{{old, 2}, {old, 1}, {"new-secret", 2}, {"new-secret", 1}, {"third", 2}} {
		if err := p.SetClientSecret(p.M2MClientID(), step.secret); err != nil {
			t.Fatal(err)
		}
		p.ResetCounters()
		// Each step asks for a token of its own, so none comes from the cache.
		_, err := c.Token(ctx, m2m.ClientCredentials{Resources: []string{apiResource}, Scopes: []string{fmt.Sprint("s", i)}})
		var oe *logto.OAuthError
		switch {
		case step.secret == "third" && (!errors.As(err, &oe) || oe.Code != "invalid_client"):
			t.Errorf("step %d: err %v, want invalid_client", i, err)
		case step.secret != "third" && err != nil:
			t.Errorf("step %d: %v", i, err)
		}
		if n := p.Requests("token"); n != step.requests {
			t.Errorf("step %d: %d token requests, want %d", i, n, step.requests)
		}
	}
}
