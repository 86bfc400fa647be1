package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed098cf14d/logto/internal/kind"
)

func TestRouteMap(t *testing.T) {
	r, err := NewRoute("https://auth.example.com", "http://logto:3001")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"https://auth.example.com/oidc/token":          "http://logto:3001/oidc/token",
		"https://AUTH.example.com:443/oidc/jwks":       "http://logto:3001/oidc/jwks",
		"https://auth.example.com/oidc/me?x=1":         "http://logto:3001/oidc/me?x=1",
		"https://auth.example.com/a%2Fb":               "http://logto:3001/a%2Fb",
		"https://auth.example.com":                     "http://logto:3001",
		"https://other.example.com/oidc/token":         "https://other.example.com/oidc/token",
		"https://auth.example.com.evil.test/oidc/jwks": "https://auth.example.com.evil.test/oidc/jwks",
		"https://auth.example.com:8443/oidc/token":     "https://auth.example.com:8443/oidc/token",
		"http://auth.example.com/oidc/token":           "http://auth.example.com/oidc/token",
		"https://u@auth.example.com/oidc/token":        "https://u@auth.example.com/oidc/token",
		"/oidc/token":                                  "/oidc/token",
		"":                                             "",
	} {
		if got := r.Map(in); got != want {
			t.Errorf("Map(%q) = %q, want %q", in, got, want)
		}
	}

	// A public base URL with a path: only what lies under it moves, the
	// path replaced by the internal one's.
	r, err = NewRoute("https://example.com/auth", "http://10.0.0.7:3001/")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"https://example.com/auth/oidc/token": "http://10.0.0.7:3001/oidc/token",
		"https://example.com/auth":            "http://10.0.0.7:3001",
		"https://example.com/authx/oidc/jwks": "https://example.com/authx/oidc/jwks",
		"https://example.com/oidc/jwks":       "https://example.com/oidc/jwks",
	} {
		if got := r.Map(in); got != want {
			t.Errorf("Map(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := NewRoute("auth.example.com", "http://logto"); err == nil {
		t.Error("a relative public URL was accepted")
	}
}

// publicIssuer is what an internal provider behind a proxy calls itself.
const publicIssuer = "https://auth.example.com/oidc"

// internalProvider serves a metadata document at its own (internal) URL;
// edit changes it before it is sent.
func internalProvider(t *testing.T, edit func(map[string]any)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oidc/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		d := map[string]any{
			"issuer":                                publicIssuer,
			"authorization_endpoint":                publicIssuer + "/auth",
			"token_endpoint":                        publicIssuer + "/token",
			"userinfo_endpoint":                     publicIssuer + "/me",
			"jwks_uri":                              publicIssuer + "/jwks",
			"end_session_endpoint":                  publicIssuer + "/session/end",
			"revocation_endpoint":                   publicIssuer + "/token/revocation",
			"introspection_endpoint":                publicIssuer + "/token/introspection",
			"device_authorization_endpoint":         publicIssuer + "/device/auth",
			"pushed_authorization_request_endpoint": publicIssuer + "/request",
		}
		if edit != nil {
			edit(d)
		}
		_ = json.NewEncoder(w).Encode(d)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The metadata is read at the internal URL and must still name the public
// issuer; the endpoints this process calls move to the internal URL, the
// browser's stay public.
func TestFetchViaRoute(t *testing.T) {
	srv := internalProvider(t, nil)
	r, err := NewRoute("https://auth.example.com", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	d, err := FetchVia(context.Background(), srv.Client(), publicIssuer, r)
	if err != nil {
		t.Fatal(err)
	}
	in := srv.URL + "/oidc"
	for name, got := range map[string][2]string{
		"issuer":                                {d.Issuer, publicIssuer},
		"authorization_endpoint":                {d.AuthorizationEndpoint, publicIssuer + "/auth"},
		"end_session_endpoint":                  {d.EndSessionEndpoint, publicIssuer + "/session/end"},
		"token_endpoint":                        {d.TokenEndpoint, in + "/token"},
		"userinfo_endpoint":                     {d.UserinfoEndpoint, in + "/me"},
		"jwks_uri":                              {d.JWKSURI, in + "/jwks"},
		"revocation_endpoint":                   {d.RevocationEndpoint, in + "/token/revocation"},
		"introspection_endpoint":                {d.IntrospectionEndpoint, in + "/token/introspection"},
		"device_authorization_endpoint":         {d.DeviceAuthorizationEndpoint, in + "/device/auth"},
		"pushed_authorization_request_endpoint": {d.PushedAuthorizationRequestEndpoint, in + "/request"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", name, got[0], got[1])
		}
	}
}

// What the provider at the internal URL says is checked as if it had been
// read at the public one.
func TestFetchViaRouteAttacks(t *testing.T) {
	for name, c := range map[string]struct {
		edit func(map[string]any)
		// check is run on an accepted document; nil: it must be refused.
		check func(t *testing.T, d *Document)
	}{
		"another issuer": {edit: func(d map[string]any) { d["issuer"] = "https://evil.example/oidc" }},
		"the internal URL as issuer": {edit: func(d map[string]any) {
			d["issuer"] = "http://logto:3001/oidc"
		}},
		"http token endpoint under an https issuer": {edit: func(d map[string]any) {
			d["token_endpoint"] = "http://auth.example.com/oidc/token"
		}},
		"http jwks on another host": {edit: func(d map[string]any) { d["jwks_uri"] = "http://keys.evil.example/jwks" }},
		"endpoints on other hosts are not moved": {
			edit: func(d map[string]any) {
				d["token_endpoint"] = "https://evil.example/oidc/token"
				d["jwks_uri"] = "https://auth.example.com.evil.example/oidc/jwks"
				d["userinfo_endpoint"] = "https://auth.example.com:8443/oidc/me"
			},
			check: func(t *testing.T, d *Document) {
				if d.TokenEndpoint != "https://evil.example/oidc/token" ||
					d.JWKSURI != "https://auth.example.com.evil.example/oidc/jwks" ||
					d.UserinfoEndpoint != "https://auth.example.com:8443/oidc/me" {
					t.Errorf("moved: %+v", d)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := internalProvider(t, c.edit)
			r, err := NewRoute("https://auth.example.com", srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			d, err := FetchVia(context.Background(), srv.Client(), publicIssuer, r)
			if c.check == nil {
				if !errors.Is(err, kind.ErrProvider) {
					t.Fatalf("accepted (%+v, %v), want a provider error", d, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, d)
		})
	}
}

// Without a route, the metadata is read at the issuer itself.
func TestFetchViaNilRoute(t *testing.T) {
	var asked string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		asked = r.URL.String()
		return nil, errors.New("not here")
	})}
	if _, err := FetchVia(context.Background(), client, publicIssuer, nil); !errors.Is(err, kind.ErrProvider) {
		t.Fatalf("err %v, want a provider error", err)
	}
	if asked != URL(publicIssuer) {
		t.Fatalf("asked %q, want %q", asked, URL(publicIssuer))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
