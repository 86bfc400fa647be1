package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestProviderIsLogtoLike checks the test provider itself, without the SDK,
// against what LOGTO-PROTOCOL.md says of Logto: the end-to-end tests mean
// something only if the provider behaves like the real one where it matters.
func TestProviderIsLogtoLike(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	ctx := context.Background()
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, &http.Client{Timeout: 10 * time.Second}), p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	var disc struct {
		IDTokenAlgs []string `json:"id_token_signing_alg_values_supported"`
		Userinfo    string   `json:"userinfo_endpoint"`
		EndSession  string   `json:"end_session_endpoint"`
		Revocation  string   `json:"revocation_endpoint"`
		Token       string   `json:"token_endpoint"`
		ISSParam    bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := op.Claims(&disc); err != nil {
		t.Fatal(err)
	}
	allScopes := "openid offline_access profile email custom_data " + logtoOrganizationsScope

	t.Run("discovery", func(t *testing.T) {
		want := map[string]string{
			disc.Token: p.Issuer + "/token", disc.Userinfo: p.Issuer + "/me",
			disc.EndSession: p.Issuer + "/session/end", disc.Revocation: p.Issuer + "/token/revocation",
		}
		for got, w := range want {
			if got != w {
				t.Errorf("endpoint %s, want %s", got, w)
			}
		}
		if !slices.Equal(disc.IDTokenAlgs, []string{"ES384"}) || !disc.ISSParam {
			t.Errorf("id_token_signing_alg_values_supported %v, iss parameter %v; want [ES384], true", disc.IDTokenAlgs, disc.ISSParam)
		}
	})

	t.Run("PKCE is required", func(t *testing.T) {
		b := newBrowser(t, p.Base)
		q := authParams(p, allScopes, "consent", apiResource)
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		cb, _ := b.authorize(t, p, p.Issuer+"/auth?"+q.Encode())
		if cb.Query().Get("error") != "invalid_request" || !strings.Contains(cb.Query().Get("error_description"), "PKCE") {
			t.Errorf("authorization without PKCE came back as %s, want error=invalid_request about PKCE", cb)
		}
	})

	t.Run("code exchange: ES384 ID token with the scopes' claims, opaque access token", func(t *testing.T) {
		tok := codeFlow(t, p, allScopes, "consent", apiResource, logtoOrganizationsResource)
		idt, err := op.Verifier(&oidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: []string{oidc.ES384}}).Verify(ctx, str(tok["id_token"]))
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		for _, k := range []string{"name", "username", "picture", "email", "email_verified", "organizations"} {
			if _, ok := claims[k]; !ok {
				t.Errorf("ID token lacks %s: %v", k, claims)
			}
		}
		for _, k := range []string{"custom_data", "organization_data", "identities"} {
			if _, ok := claims[k]; ok {
				t.Errorf("ID token carries the userinfo-only claim %s", k)
			}
		}
		if at := str(tok["access_token"]); strings.Count(at, ".") == 2 {
			t.Errorf("the code exchange answered a JWT access token; Logto's is opaque (only good for userinfo)")
		}
		if str(tok["refresh_token"]) == "" {
			t.Errorf("no refresh token with offline_access and prompt=consent")
		}
		info := userinfo(t, p, str(tok["access_token"]))
		if cd, _ := info["custom_data"].(map[string]any); cd["plan"] != "pro" {
			t.Errorf("userinfo custom_data = %v", info["custom_data"])
		}
		if od, _ := info["organization_data"].([]any); len(od) != 1 {
			t.Errorf("userinfo organization_data = %v, want the one organization", info["organization_data"])
		}
	})

	t.Run("no refresh token without prompt=consent", func(t *testing.T) {
		tok := codeFlow(t, p, allScopes, "login", apiResource)
		if rt := str(tok["refresh_token"]); rt != "" {
			t.Errorf("prompt=login gave a refresh token")
		}
	})

	t.Run("resource token, rotation, and reuse revoking the grant", func(t *testing.T) {
		tok := codeFlow(t, p, allScopes, "consent", apiResource)
		rt0 := str(tok["refresh_token"])
		status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt0}, "resource": {apiResource}})
		if status != http.StatusOK {
			t.Fatalf("resource token: %d %v", status, res)
		}
		var at map[string]any
		if err := decodeJWTPayload(str(res["access_token"]), &at); err != nil || !audienceIs(at["aud"], apiResource) || at["client_id"] != p.ClientID {
			t.Errorf("resource token claims %v (%v), want aud %s and client_id", at, err, apiResource)
		}
		rt1 := str(res["refresh_token"])
		if rt1 == "" || rt1 == rt0 {
			t.Fatalf("the refresh token was not rotated")
		}
		status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt0}})
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("a spent refresh token: %d %v, want invalid_grant", status, res)
		}
		status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}})
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("after a spent token was presented, the newest one still works (%d %v); Logto revokes the whole grant", status, res)
		}
	})

	t.Run("invalid_target spends the refresh token", func(t *testing.T) {
		tok := codeFlow(t, p, allScopes, "consent", apiResource)
		rt := str(tok["refresh_token"])
		status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": {"https://unknown.example.com"}})
		if status != http.StatusBadRequest || res["error"] != "invalid_target" {
			t.Fatalf("unknown resource: %d %v, want invalid_target", status, res)
		}
		status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("the refresh token after invalid_target: %d %v; LOGTO-PROTOCOL.md says the engine rotated it before refusing", status, res)
		}
	})

	t.Run("organization tokens", func(t *testing.T) {
		tok := codeFlow(t, p, allScopes, "consent", apiResource, logtoOrganizationsResource)
		rt := str(tok["refresh_token"])
		status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "organization_id": {otherOrg}})
		if status != http.StatusForbidden || res["error"] != "access_denied" {
			t.Errorf("non-member: %d %v, want 403 access_denied", status, res)
		}
		// The refusal came before rotation: the token still works.
		status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "organization_id": {e2eOrg}})
		if status != http.StatusOK {
			t.Fatalf("organization token after a refusal: %d %v", status, res)
		}
		var claims map[string]any
		if err := decodeJWTPayload(str(res["access_token"]), &claims); err != nil {
			t.Fatal(err)
		}
		if !audienceIs(claims["aud"], "urn:logto:organization:"+e2eOrg) || claims["scope"] != "read:members" {
			t.Errorf("organization token claims %v, want aud urn:logto:organization:%s, scope read:members", claims, e2eOrg)
		}
		if _, ok := claims["organization_id"]; ok {
			t.Errorf("a plain organization token carries organization_id")
		}
		rt = str(res["refresh_token"])
		status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "organization_id": {e2eOrg}, "resource": {apiResource}})
		if status != http.StatusOK {
			t.Fatalf("organization resource token: %d %v", status, res)
		}
		claims = nil
		if err := decodeJWTPayload(str(res["access_token"]), &claims); err != nil {
			t.Fatal(err)
		}
		if !audienceIs(claims["aud"], apiResource) || claims["organization_id"] != e2eOrg {
			t.Errorf("organization resource token claims %v, want aud %s and organization_id %s", claims, apiResource, e2eOrg)
		}
	})

	t.Run("organization token needs the organizations scope", func(t *testing.T) {
		tok := codeFlow(t, p, "openid offline_access profile", "consent", apiResource)
		status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}, "organization_id": {e2eOrg}})
		if status != http.StatusForbidden || res["error"] != "insufficient_scope" {
			t.Errorf("organization token without the scope: %d %v, want 403 insufficient_scope", status, res)
		}
	})
}

const (
	logtoOrganizationsScope    = "urn:logto:scope:organizations"
	logtoOrganizationsResource = "urn:logto:resource:organizations"
)

// pkceVerifier is the code_verifier authParams uses: the tests are the only
// client, so one fixed verifier is enough.
var pkceVerifier = func() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}()

// authParams is an authorization request the way a Logto SDK makes one.
func authParams(p *Provider, scope, prompt string, resources ...string) url.Values {
	sum := sha256.Sum256([]byte(pkceVerifier))
	q := url.Values{
		"client_id":             {p.ClientID},
		"redirect_uri":          {p.redirectURI},
		"response_type":         {"code"},
		"scope":                 {scope},
		"prompt":                {prompt},
		"state":                 {"state-" + pkceVerifier[:8]},
		"nonce":                 {"nonce-" + pkceVerifier[:8]},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	for _, r := range resources {
		q.Add("resource", r)
	}
	return q
}

// codeFlow signs in with a fresh browser and exchanges the code.
func codeFlow(t testing.TB, p *Provider, scope, prompt string, resources ...string) map[string]any {
	t.Helper()
	return codeFlowQuery(t, newBrowser(t, p.Base), p, authParams(p, scope, prompt, resources...))
}

// codeFlowQuery signs in with browser b and the authorization request q
// (authParams and more), and exchanges the code.
func codeFlowQuery(t testing.TB, b *Browser, p *Provider, q url.Values) map[string]any {
	t.Helper()
	cb, _ := b.authorize(t, p, p.Issuer+"/auth?"+q.Encode())
	return exchangeCode(t, p, cb)
}

// exchangeCode exchanges the code of the callback URL cb, which must carry
// the provider's iss (RFC 9207).
func exchangeCode(t testing.TB, p *Provider, cb *url.URL) map[string]any {
	t.Helper()
	q := cb.Query()
	if q.Get("code") == "" || q.Get("iss") != p.Issuer {
		t.Fatalf("callback %s: want a code and iss=%s", cb, p.Issuer)
	}
	status, tok := p.TokenRequest(t, url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {p.redirectURI}, "code_verifier": {pkceVerifier},
	})
	if status != http.StatusOK {
		t.Fatalf("code exchange: %d %v", status, tok)
	}
	return tok
}

func userinfo(t testing.TB, p *Provider, accessToken string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.Issuer+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: HTTP %d, %v", resp.StatusCode, err)
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
