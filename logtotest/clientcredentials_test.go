package logtotest_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/seed098cf14d/logto/logtotest"
)

const (
	api      = "https://api.example.com"
	otherAPI = "https://other.example.com"
)

// m2mOptions has two resources; the M2M application's roles cover one.
func m2mOptions() logtotest.Options {
	return logtotest.Options{
		Resources:         []string{api, otherAPI},
		ResourceScopes:    map[string][]string{api: {"read:messages", "write:messages"}},
		M2MResourceScopes: map[string][]string{api: {"read:messages", "write:messages"}},
	}
}

// clientCredentials asks for a token as the M2M application.
func clientCredentials(t *testing.T, p *logtotest.Provider, form url.Values) (int, map[string]any) {
	t.Helper()
	form = cloneQuery(form)
	form.Set("grant_type", "client_credentials")
	return postAs(t, p, "/token", p.M2MClientID(), p.M2MClientSecret(), form)
}

func TestClientCredentials(t *testing.T) {
	p := logtotest.NewTestProvider(t, m2mOptions())
	op, err := oidc.NewProvider(t.Context(), p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := op.Verifier(&oidc.Config{SkipClientIDCheck: true})

	for _, tc := range []struct {
		name               string
		form               url.Values
		aud, scope, org    string
		wantOrganizationID bool
	}{
		{"resource", url.Values{"resource": {api}}, api, "read:messages write:messages", "", false},
		{"narrowed", url.Values{"resource": {api}, "scope": {"write:messages delete:everything"}}, api, "write:messages", "", false},
		{"organization", url.Values{"organization_id": {"org-1"}}, "urn:logto:organization:org-1", "read:members", "org-1", true},
		{"organization narrowed to nothing", url.Values{"organization_id": {"org-1"}, "scope": {"x"}}, "urn:logto:organization:org-1", "", "org-1", true},
		{"resource in organization", url.Values{"organization_id": {"org-1"}, "resource": {api}}, api, "read:messages write:messages", "org-1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := clientCredentials(t, p, tc.form)
			if status != 200 {
				t.Fatalf("%d %v", status, body)
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["scope"] != tc.scope {
				t.Errorf("answer %v", body)
			}
			if _, ok := body["refresh_token"]; ok {
				t.Error("a refresh token for client credentials")
			}
			if _, ok := body["id_token"]; ok {
				t.Error("an ID token for client credentials")
			}
			raw, _ := body["access_token"].(string)
			hdr, claims := decodeJWT(t, raw)
			if hdr["typ"] != "at+jwt" || hdr["kid"] != p.SigningKeyID() {
				t.Errorf("header %v", hdr)
			}
			want := map[string]any{
				"iss": p.Issuer(), "sub": p.M2MClientID(), "client_id": p.M2MClientID(), "aud": tc.aud, "scope": tc.scope,
			}
			if tc.wantOrganizationID {
				want["organization_id"] = tc.org
			}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("%s = %v, want %v", k, claims[k], v)
				}
			}
			if _, ok := claims["organization_id"]; ok != tc.wantOrganizationID {
				t.Errorf("organization_id claim: %v", claims)
			}
			exp, _ := claims["exp"].(float64)
			iat, _ := claims["iat"].(float64)
			if exp-iat != 3600 {
				t.Errorf("exp %v iat %v", exp, iat)
			}
			if at, err := verifier.Verify(t.Context(), raw); err != nil || !slices.Equal(at.Audience, []string{tc.aud}) {
				t.Errorf("verify: %v", err)
			}
		})
	}
	if n := p.Grants("client_credentials"); n != 5 {
		t.Errorf("Grants(client_credentials) = %d, want 5", n)
	}
}

func TestClientCredentialsRefused(t *testing.T) {
	p := logtotest.NewTestProvider(t, m2mOptions())
	ok := url.Values{"grant_type": {"client_credentials"}, "resource": {api}}
	for _, tc := range []struct {
		name, id, secret string
		form             url.Values
		status           int
		code, says       string
	}{
		{"wrong secret", p.M2MClientID(), "wrong", ok, 401, "invalid_client", ""},
		{"web application", p.ClientID(), p.ClientSecret(), ok, 400, "unauthorized_client", ""},
		{"native application", p.NativeClientID(), "", ok, 400, "unauthorized_client", ""},
		{"unknown resource", p.M2MClientID(), p.M2MClientSecret(),
			url.Values{"grant_type": {"client_credentials"}, "resource": {"https://unknown.example.com"}}, 400, "invalid_target", ""},
		{"resource without a role", p.M2MClientID(), p.M2MClientSecret(),
			url.Values{"grant_type": {"client_credentials"}, "resource": {otherAPI}}, 400, "invalid_target", "no scope"},
		{"organizations resource", p.M2MClientID(), p.M2MClientSecret(),
			url.Values{"grant_type": {"client_credentials"}, "resource": {logtotest.OrganizationsResource}}, 400, "invalid_target", "organization_id"},
		{"two resources", p.M2MClientID(), p.M2MClientSecret(),
			url.Values{"grant_type": {"client_credentials"}, "resource": {api, api}}, 400, "invalid_target", "one resource per token"},
		{"neither resource nor organization", p.M2MClientID(), p.M2MClientSecret(),
			url.Values{"grant_type": {"client_credentials"}}, 400, "invalid_target", "organization_id"},
		{"non-member organization", p.M2MClientID(), p.M2MClientSecret(),
			url.Values{"grant_type": {"client_credentials"}, "organization_id": {"org-2"}}, 403, "access_denied", "not associated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postAs(t, p, "/token", tc.id, tc.secret, tc.form)
			wantError(t, status, body, tc.status, tc.code)
			if d, _ := body["error_description"].(string); !strings.Contains(d, tc.says) {
				t.Errorf("error_description %q does not say %q", d, tc.says)
			}
		})
	}

	// An M2M application in no organization; the default resource scopes.
	p = logtotest.NewTestProvider(t, logtotest.Options{M2MOrganizations: []string{}})
	status, body := clientCredentials(t, p, url.Values{"organization_id": {logtotest.DefaultOrganization}})
	wantError(t, status, body, 403, "access_denied")
	status, body = clientCredentials(t, p, url.Values{"resource": {logtotest.DefaultResource}})
	if status != 200 || body["scope"] != logtotest.DefaultResourceScope {
		t.Errorf("default M2M resource scopes: %d %v", status, body)
	}
	// The M2M application signs no user in.
	status, body = postAs(t, p, "/token", p.M2MClientID(), p.M2MClientSecret(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	wantError(t, status, body, 400, "unauthorized_client")
}
