package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// What the provider offers beyond the browser, and the fixed clients for it
// (e2e/provider/README.md).
const (
	m2mClientID            = "e2e-m2m"
	m2mClientSecret        = "e2e-m2m-secret"
	noExchangeClientID     = "e2e-noexchange"
	noExchangeClientSecret = "e2e-noexchange-secret"
	nativeClientID         = "e2e-native"

	tokenExchangeGrant  = "urn:ietf:params:oauth:grant-type:token-exchange"
	deviceCodeGrant     = "urn:ietf:params:oauth:grant-type:device_code"
	accessTokenType     = "urn:ietf:params:oauth:token-type:access_token"
	personalAccessToken = "urn:logto:token-type:personal_access_token"
)

// TestProviderMachineToMachine checks the client-credentials grant as Logto
// answers it: a JWT for one API resource with the requested scopes the app's
// roles cover, an organization token for an organization the app belongs
// to, and Logto's refusals.
func TestProviderMachineToMachine(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	keys := providerKeys(t, p)

	t.Run("discovery", func(t *testing.T) {
		var disc struct {
			GrantTypes []string `json:"grant_types_supported"`
			Device     string   `json:"device_authorization_endpoint"`
		}
		getJSON(t, p.Issuer+"/.well-known/openid-configuration", &disc)
		for _, g := range []string{"client_credentials", tokenExchangeGrant, deviceCodeGrant} {
			if !slices.Contains(disc.GrantTypes, g) {
				t.Errorf("grant_types_supported %v lacks %s", disc.GrantTypes, g)
			}
		}
		if disc.Device != p.Issuer+"/device/auth" {
			t.Errorf("device_authorization_endpoint %q, want %s/device/auth", disc.Device, p.Issuer)
		}
	})

	cc := func(form url.Values) (int, map[string]any) {
		form.Set("grant_type", "client_credentials")
		return tokenRequestAs(t, p, m2mClientID, m2mClientSecret, form)
	}

	tokens := []struct {
		name   string
		form   url.Values
		aud    string
		scope  string // in the token and the answer; "" for none
		orgID  string // the organization_id claim, "" for none
		answer string // the answer's scope when it differs from scope
	}{
		{
			name:  "API resource: the requested scopes the app's roles cover",
			form:  url.Values{"resource": {apiResource}, "scope": {"read:messages write:messages"}},
			aud:   apiResource,
			scope: "read:messages",
		},
		{
			name: "API resource without scope: no scope",
			form: url.Values{"resource": {apiResource}},
			aud:  apiResource,
		},
		{
			name:  "organization token",
			form:  url.Values{"organization_id": {e2eOrg}, "scope": {"read:members invite:members"}},
			aud:   "urn:logto:organization:" + e2eOrg,
			scope: "read:members",
		},
		{
			name:  "organization-scoped API token",
			form:  url.Values{"organization_id": {e2eOrg}, "resource": {apiResource}, "scope": {"read:messages read:reports"}},
			aud:   apiResource,
			scope: "read:messages",
			orgID: e2eOrg,
		},
	}
	for _, tc := range tokens {
		t.Run(tc.name, func(t *testing.T) {
			status, res := cc(tc.form)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d %v", status, res)
			}
			for _, k := range []string{"refresh_token", "id_token"} {
				if _, ok := res[k]; ok {
					t.Errorf("the answer carries %s; client credentials give an access token only", k)
				}
			}
			if res["token_type"] != "Bearer" || res["expires_in"] != float64(3600) {
				t.Errorf("token_type %v, expires_in %v; want Bearer, 3600", res["token_type"], res["expires_in"])
			}
			if got := str(res["scope"]); got != tc.scope {
				t.Errorf("answer scope %q, want %q", got, tc.scope)
			}
			claims := verifiedClaims(t, keys, str(res["access_token"]))
			if !audienceIs(claims["aud"], tc.aud) || claims["sub"] != m2mClientID || claims["client_id"] != m2mClientID {
				t.Errorf("claims %v: want aud %s, sub and client_id %s", claims, tc.aud, m2mClientID)
			}
			if got := str(claims["scope"]); got != tc.scope {
				t.Errorf("token scope %q, want %q", got, tc.scope)
			}
			if got := str(claims["organization_id"]); got != tc.orgID {
				t.Errorf("organization_id claim %q, want %q", got, tc.orgID)
			}
		})
	}

	refusals := []struct {
		name          string
		client        string
		secret        string
		form          url.Values
		status        int
		err           string
		descriptionIn string
	}{
		{"unknown resource", m2mClientID, m2mClientSecret, url.Values{"resource": {"https://unknown.example.com"}},
			http.StatusBadRequest, "invalid_target", "unknown"},
		{"two resources", m2mClientID, m2mClientSecret, url.Values{"resource": {apiResource, logtoOrganizationsResource}},
			http.StatusBadRequest, "invalid_target", "single resource"},
		{"neither resource nor organization", m2mClientID, m2mClientSecret, url.Values{},
			http.StatusBadRequest, "invalid_target", "organization_id"},
		{"organization the app is not in", m2mClientID, m2mClientSecret, url.Values{"organization_id": {otherOrg}},
			http.StatusForbidden, "access_denied", "app has not associated with the organization"},
		{"unknown organization", m2mClientID, m2mClientSecret, url.Values{"organization_id": {"org-nowhere"}, "resource": {apiResource}},
			http.StatusForbidden, "access_denied", "app has not associated with the organization"},
		{"another app, not in the organization", noExchangeClientID, noExchangeClientSecret, url.Values{"organization_id": {e2eOrg}},
			http.StatusForbidden, "access_denied", "app has not associated with the organization"},
		{"wrong secret", m2mClientID, "not-the-secret", url.Values{"resource": {apiResource}},
			http.StatusUnauthorized, "invalid_client", ""},
		{"web client", p.ClientID, p.ClientSecret, url.Values{"resource": {apiResource}},
			http.StatusBadRequest, "invalid_request", "grant type is not allowed"},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			tc.form.Set("grant_type", "client_credentials")
			status, res := tokenRequestAs(t, p, tc.client, tc.secret, tc.form)
			if status != tc.status || res["error"] != tc.err || !strings.Contains(str(res["error_description"]), tc.descriptionIn) {
				t.Errorf("HTTP %d %v; want %d %s with a description about %q", status, res, tc.status, tc.err, tc.descriptionIn)
			}
		})
	}
}

// TestProviderTokenExchange checks Logto's token-exchange grant: subject
// tokens (personal access tokens, impersonation subject tokens, access
// tokens), the actor token, the per-app switch, and the refusals.
func TestProviderTokenExchange(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	keys := providerKeys(t, p)
	pat := mintPAT(t, p, url.Values{})

	exchange := func(client, secret string, form url.Values) (int, map[string]any) {
		form.Set("grant_type", tokenExchangeGrant)
		return tokenRequestAs(t, p, client, secret, form)
	}
	withPAT := func(form url.Values) url.Values {
		form.Set("subject_token", pat)
		form.Set("subject_token_type", personalAccessToken)
		return form
	}
	// exchanged checks a successful answer and returns the token's claims
	// (nil for an opaque token).
	exchanged := func(t *testing.T, status int, res map[string]any, scope string) map[string]any {
		t.Helper()
		if status != http.StatusOK {
			t.Fatalf("HTTP %d %v", status, res)
		}
		for _, k := range []string{"refresh_token", "id_token"} {
			if _, ok := res[k]; ok {
				t.Errorf("the answer carries %s; token exchange gives an access token only", k)
			}
		}
		// Logto's grant answers without issued_token_type, which RFC 8693
		// section 2.2.1 requires: a client must not depend on it.
		if v, ok := res["issued_token_type"]; ok {
			t.Errorf("issued_token_type %v: Logto sends none; the provider should not either", v)
		}
		if res["token_type"] != "Bearer" || str(res["scope"]) != scope {
			t.Errorf("token_type %v, scope %q; want Bearer, %q", res["token_type"], res["scope"], scope)
		}
		at := str(res["access_token"])
		if strings.Count(at, ".") != 2 {
			return nil
		}
		return verifiedClaims(t, keys, at)
	}

	t.Run("personal access token for an API resource", func(t *testing.T) {
		status, res := exchange(m2mClientID, m2mClientSecret, withPAT(url.Values{"resource": {apiResource}, "scope": {"openid read:messages"}}))
		claims := exchanged(t, status, res, "read:messages")
		if !audienceIs(claims["aud"], apiResource) || claims["sub"] != e2eUser || claims["client_id"] != m2mClientID || claims["scope"] != "read:messages" {
			t.Errorf("claims %v: want aud %s, sub %s, client_id %s, scope read:messages", claims, apiResource, e2eUser, m2mClientID)
		}
		if _, ok := claims["act"]; ok {
			t.Errorf("act claim without an actor token: %v", claims["act"])
		}
	})

	t.Run("the same personal access token again, for an organization", func(t *testing.T) {
		status, res := exchange(m2mClientID, m2mClientSecret, withPAT(url.Values{"organization_id": {e2eOrg}, "scope": {"read:members invite:members"}}))
		claims := exchanged(t, status, res, "read:members")
		if !audienceIs(claims["aud"], "urn:logto:organization:"+e2eOrg) || claims["sub"] != e2eUser || claims["scope"] != "read:members" {
			t.Errorf("claims %v: want an organization token for %s with read:members (the user's role gives no invite:members)", claims, e2eUser)
		}
	})

	t.Run("personal access token, no resource: opaque, good for userinfo", func(t *testing.T) {
		status, res := exchange(p.ClientID, p.ClientSecret, withPAT(url.Values{"scope": {"openid profile read:messages"}}))
		if claims := exchanged(t, status, res, "openid profile"); claims != nil {
			t.Fatalf("a JWT (%v); want an opaque token", claims)
		}
		if info := userinfo(t, p, str(res["access_token"])); info["sub"] != e2eUser || info["username"] != "e2e" {
			t.Errorf("userinfo %v, want the e2e user's profile", info)
		}
	})

	t.Run("actor token: act claim", func(t *testing.T) {
		actor := str(codeFlow(t, p, "openid offline_access profile", "consent", apiResource)["access_token"])
		status, res := exchange(m2mClientID, m2mClientSecret, withPAT(url.Values{
			"resource": {apiResource}, "actor_token": {actor}, "actor_token_type": {accessTokenType},
		}))
		claims := exchanged(t, status, res, "")
		act, _ := claims["act"].(map[string]any)
		if act == nil || act["sub"] != e2eUser || len(act) != 1 {
			t.Errorf("act %v, want {sub: %s}", claims["act"], e2eUser)
		}

		status, res = exchange(m2mClientID, m2mClientSecret, withPAT(url.Values{
			"resource": {apiResource}, "actor_token": {actor}, "actor_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
		}))
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("an actor token of another type: HTTP %d %v, want invalid_grant", status, res)
		}
	})

	t.Run("impersonation subject token: single use", func(t *testing.T) {
		var minted struct {
			SubjectToken string `json:"subject_token"`
			ExpiresIn    int    `json:"expires_in"`
		}
		postTestHook(t, p, "/__test/subject-token", url.Values{"account": {e2eUser}}, &minted)
		if !strings.HasPrefix(minted.SubjectToken, "sub_") || minted.ExpiresIn != 600 {
			t.Fatalf("minted %+v, want a sub_ token for 600 s", minted)
		}
		form := url.Values{"subject_token": {minted.SubjectToken}, "subject_token_type": {accessTokenType}, "resource": {apiResource}}
		status, res := exchange(m2mClientID, m2mClientSecret, form)
		if claims := exchanged(t, status, res, ""); claims["sub"] != e2eUser {
			t.Errorf("sub %v, want %s", claims["sub"], e2eUser)
		}
		status, res = exchange(m2mClientID, m2mClientSecret, form)
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("the subject token a second time: HTTP %d %v, want invalid_grant", status, res)
		}
	})

	t.Run("access token as subject", func(t *testing.T) {
		_, res := exchange(m2mClientID, m2mClientSecret, withPAT(url.Values{"resource": {apiResource}}))
		status, res := exchange(p.ClientID, p.ClientSecret, url.Values{
			"subject_token": {str(res["access_token"])}, "subject_token_type": {accessTokenType}, "resource": {apiResource}, "scope": {"read:reports"},
		})
		if claims := exchanged(t, status, res, "read:reports"); claims["sub"] != e2eUser || claims["client_id"] != p.ClientID {
			t.Errorf("claims %v: want sub %s for client %s", claims, e2eUser, p.ClientID)
		}
	})

	expiredPAT := mintPAT(t, p, url.Values{"expires_in": {"0"}})
	idToken := str(codeFlow(t, p, "openid profile", "login")["id_token"])
	refusals := []struct {
		name   string
		client string
		secret string
		form   url.Values
		status int
		err    string
	}{
		{"app without token exchange", noExchangeClientID, noExchangeClientSecret, withPAT(url.Values{}),
			http.StatusBadRequest, "invalid_request"},
		{"unknown personal access token", m2mClientID, m2mClientSecret,
			url.Values{"subject_token": {"pat_unknown"}, "subject_token_type": {personalAccessToken}},
			http.StatusBadRequest, "invalid_grant"},
		{"expired personal access token", m2mClientID, m2mClientSecret,
			url.Values{"subject_token": {expiredPAT}, "subject_token_type": {personalAccessToken}},
			http.StatusBadRequest, "invalid_grant"},
		{"unknown subject token type", m2mClientID, m2mClientSecret,
			url.Values{"subject_token": {pat}, "subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}},
			http.StatusBadRequest, "invalid_grant"},
		{"ID token as an access token", m2mClientID, m2mClientSecret,
			url.Values{"subject_token": {idToken}, "subject_token_type": {accessTokenType}},
			http.StatusBadRequest, "invalid_grant"},
		{"no subject token", m2mClientID, m2mClientSecret,
			url.Values{"subject_token_type": {personalAccessToken}},
			http.StatusBadRequest, "invalid_request"},
		{"organization the user is not in", m2mClientID, m2mClientSecret, withPAT(url.Values{"organization_id": {otherOrg}}),
			http.StatusForbidden, "access_denied"},
		{"unknown resource", m2mClientID, m2mClientSecret, withPAT(url.Values{"resource": {"https://unknown.example.com"}}),
			http.StatusBadRequest, "invalid_target"},
		{"unknown actor token", m2mClientID, m2mClientSecret,
			withPAT(url.Values{"actor_token": {"not-a-token"}, "actor_token_type": {accessTokenType}}),
			http.StatusBadRequest, "invalid_grant"},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			status, res := exchange(tc.client, tc.secret, tc.form)
			if status != tc.status || res["error"] != tc.err {
				t.Errorf("HTTP %d %v; want %d %s", status, res, tc.status, tc.err)
			}
		})
	}
}

// TestProviderDeviceFlow checks the device authorization grant (RFC 8628)
// with the native client: a person approves or aborts on the engine's own
// pages while the device polls, and polling faster than the interval is
// answered with slow_down.
func TestProviderDeviceFlow(t *testing.T) {
	p := startProvider(t, ProviderOptions{DevicePollInterval: time.Second})

	t.Run("approved", func(t *testing.T) {
		d := startDeviceFlow(t, p, "openid offline_access profile")
		if d.VerificationURI != p.Issuer+"/device" || d.Interval != 1 || d.ExpiresIn != 600 || d.UserCode == "" ||
			d.VerificationURIComplete != p.Issuer+"/device?user_code="+url.QueryEscape(d.UserCode) {
			t.Errorf("device authorization %+v: want the verification URI %s/device, interval 1, 600 s", d, p.Issuer)
		}
		if status, res := d.poll(t); status != http.StatusBadRequest || res["error"] != "authorization_pending" {
			t.Fatalf("before approval: HTTP %d %v, want authorization_pending", status, res)
		}
		if page := verifyDevice(t, p, d.VerificationURIComplete, true); !strings.Contains(string(page.Body), "Sign-in Success") {
			t.Fatalf("after approval the browser shows %v", page)
		}
		status, tok := d.poll(t)
		if status != http.StatusOK || str(tok["access_token"]) == "" || str(tok["id_token"]) == "" || str(tok["refresh_token"]) == "" {
			t.Fatalf("after approval: HTTP %d %v, want access, ID and refresh tokens", status, tok)
		}

		// A public client: every refresh rotates the refresh token.
		rt := str(tok["refresh_token"])
		refresh := func() (int, map[string]any) {
			return tokenRequestAs(t, p, nativeClientID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		}
		for i := range 2 {
			status, res := refresh()
			if status != http.StatusOK || str(res["refresh_token"]) == "" || str(res["refresh_token"]) == rt {
				t.Fatalf("refresh %d: HTTP %d %v, want a new refresh token", i+1, status, res)
			}
			rt = str(res["refresh_token"])
		}

		// A device that polls once more after its tokens came presents a
		// spent code: the engine (and so Logto) revokes the whole grant.
		revoked := p.Stats(t).RevokedGrants
		if status, res := d.poll(t); status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("the device code once more: HTTP %d %v, want invalid_grant", status, res)
		}
		if status, res := refresh(); status != http.StatusBadRequest || res["error"] != "invalid_grant" || p.Stats(t).RevokedGrants != revoked+1 {
			t.Errorf("the newest refresh token after the spent device code: HTTP %d %v; want invalid_grant, the grant revoked", status, res)
		}
	})

	t.Run("aborted", func(t *testing.T) {
		d := startDeviceFlow(t, p, "openid profile")
		verifyDevice(t, p, d.VerificationURIComplete, false)
		if status, res := d.poll(t); status != http.StatusBadRequest || res["error"] != "access_denied" {
			t.Errorf("after the person aborted: HTTP %d %v, want access_denied", status, res)
		}
	})

	t.Run("polling too fast", func(t *testing.T) {
		d := startDeviceFlow(t, p, "openid")
		if status, res := d.poll(t); res["error"] != "authorization_pending" {
			t.Fatalf("first poll: HTTP %d %v, want authorization_pending", status, res)
		}
		if status, res := d.pollNow(t); status != http.StatusBadRequest || res["error"] != "slow_down" {
			t.Fatalf("a poll at once: HTTP %d %v, want slow_down", status, res)
		}
		// RFC 8628 section 3.5: the interval is now 5 s longer for this code.
		if status, res := d.poll(t); res["error"] != "slow_down" {
			t.Errorf("a poll after the old interval: HTTP %d %v, want slow_down again", status, res)
		}
	})
}

// TestProviderNativeLoopback checks the native client's authorization code
// flow: its registered http://127.0.0.1/callback matches any port (RFC 8252
// section 7.3), PKCE is required, and the code is exchanged without a
// secret.
func TestProviderNativeLoopback(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	params := func(redirectURI string, pkce bool) url.Values {
		q := url.Values{
			"client_id": {nativeClientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
			"scope": {"openid offline_access profile"}, "prompt": {"consent"}, "state": {"native-state"},
		}
		if pkce {
			sum := sha256.Sum256([]byte(pkceVerifier))
			q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
			q.Set("code_challenge_method", "S256")
		}
		return q
	}

	t.Run("any port", func(t *testing.T) {
		redirectURI := fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t))
		b := newBrowser(t, p.Base)
		cb, forms := b.authorize(t, p, p.Issuer+"/auth?"+params(redirectURI, true).Encode())
		q := cb.Query()
		if got := cb.Scheme + "://" + cb.Host + cb.Path; got != redirectURI || q.Get("code") == "" || q.Get("iss") != p.Issuer || q.Get("state") != "native-state" {
			t.Fatalf("callback %s after forms %v: want %s with a code, iss and state", cb, forms, redirectURI)
		}
		status, tok := tokenRequestAs(t, p, nativeClientID, "", url.Values{
			"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {pkceVerifier},
		})
		if status != http.StatusOK || str(tok["id_token"]) == "" || str(tok["refresh_token"]) == "" {
			t.Fatalf("code exchange without a secret: HTTP %d %v", status, tok)
		}
	})

	t.Run("PKCE is required", func(t *testing.T) {
		redirectURI := fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t))
		cb, _ := newBrowser(t, p.Base).authorize(t, p, p.Issuer+"/auth?"+params(redirectURI, false).Encode())
		if !strings.HasPrefix(cb.String(), redirectURI+"?") || cb.Query().Get("error") != "invalid_request" {
			t.Errorf("without PKCE: %s, want %s?error=invalid_request", cb, redirectURI)
		}
	})

	for _, bad := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/elsewhere", freePort(t)),
		"http://example.com:8080/callback",
		"https://127.0.0.1:8443/callback",
	} {
		t.Run("refused: "+bad, func(t *testing.T) {
			page := newBrowser(t, p.Base).Get(t, p.Issuer+"/auth?"+params(bad, true).Encode())
			if page.Status != http.StatusBadRequest || page.Location != nil || !strings.Contains(string(page.Body), "redirect_uri") {
				t.Errorf("an unregistered redirect URI: %v; want a 400 error page about redirect_uri, no redirect", page)
			}
		})
	}
}

// --------------------------------------------------------------- helpers

// tokenRequestAs posts form to the token endpoint as the client: with
// client_secret_basic when secret is set, else as a public client (client_id
// in the form).
func tokenRequestAs(t testing.TB, p *Provider, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	body := url.Values{}
	for k, v := range form {
		body[k] = slices.Clone(v)
	}
	if secret == "" {
		body.Set("client_id", clientID)
	}
	req, err := http.NewRequest(http.MethodPost, p.Issuer+"/token", strings.NewReader(body.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	return doJSON(t, req)
}

func doJSON(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s: HTTP %d, body is not JSON: %v", req.Method, req.URL, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

func getJSON(t testing.TB, rawURL string, v any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d, %v", rawURL, resp.StatusCode, err)
	}
}

// providerKeys is the provider's key set, to verify the tokens it signs.
func providerKeys(t testing.TB, p *Provider) *oidc.RemoteKeySet {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	return oidc.NewRemoteKeySet(ctx, p.Issuer+"/jwks")
}

// verifiedClaims checks a JWT's signature against the provider's keys and
// returns its claims.
func verifiedClaims(t testing.TB, keys *oidc.RemoteKeySet, jwt string) map[string]any {
	t.Helper()
	payload, err := keys.VerifySignature(context.Background(), jwt)
	if err != nil {
		t.Fatalf("access token %.40q...: %v", jwt, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// postTestHook posts form to one of the provider's test-only routes and
// decodes its 201 answer into v.
func postTestHook(t testing.TB, p *Provider, path string, form url.Values, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, res := doJSON(t, req)
	if status != http.StatusCreated {
		t.Fatalf("POST %s: HTTP %d %v", path, status, res)
	}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// mintPAT has the provider mint a personal access token for the e2e user.
func mintPAT(t testing.TB, p *Provider, form url.Values) string {
	t.Helper()
	var v struct {
		PAT string `json:"personal_access_token"`
	}
	postTestHook(t, p, "/__test/pat", form, &v)
	if !strings.HasPrefix(v.PAT, "pat_") {
		t.Fatalf("minted personal access token %q, want pat_...", v.PAT)
	}
	return v.PAT
}

// deviceFlow is a device authorization answer, and the device that polls
// with it.
type deviceFlow struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`

	p        *Provider
	lastPoll time.Time
}

// startDeviceFlow asks the device authorization endpoint for codes, as the
// native client.
func startDeviceFlow(t testing.TB, p *Provider, scope string) *deviceFlow {
	t.Helper()
	form := url.Values{"client_id": {nativeClientID}, "scope": {scope}}
	req, err := http.NewRequest(http.MethodPost, p.Issuer+"/device/auth", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, res := doJSON(t, req)
	if status != http.StatusOK {
		t.Fatalf("device authorization: HTTP %d %v", status, res)
	}
	d := &deviceFlow{p: p}
	b, _ := json.Marshal(res)
	if err := json.Unmarshal(b, d); err != nil || d.DeviceCode == "" {
		t.Fatalf("device authorization answer %v: %v", res, err)
	}
	return d
}

// poll waits out the interval since the previous poll, then polls.
func (d *deviceFlow) poll(t testing.TB) (int, map[string]any) {
	t.Helper()
	time.Sleep(time.Until(d.lastPoll.Add(time.Duration(d.Interval) * time.Second)))
	return d.pollNow(t)
}

// pollNow polls the token endpoint at once.
func (d *deviceFlow) pollNow(t testing.TB) (int, map[string]any) {
	t.Helper()
	defer func() { d.lastPoll = time.Now() }()
	return tokenRequestAs(t, d.p, nativeClientID, "", url.Values{"grant_type": {deviceCodeGrant}, "device_code": {d.DeviceCode}})
}

// verifyDevice does what a person does with the code on another device:
// opens verificationURIComplete, continues (approve) or aborts on the
// engine's confirmation page, and when continuing, signs in as the e2e user
// and consents. It returns the page the browser ends on.
func verifyDevice(t testing.TB, p *Provider, verificationURIComplete string, approve bool) *Page {
	t.Helper()
	b := newBrowser(t, p.Base)
	// The link pre-fills the code: the engine answers a self-submitting
	// form, which a browser posts at once.
	page := b.Get(t, verificationURIComplete)
	page = b.Submit(t, findForm(t, page, func(f *Form) bool { return f.Has("xsrf") && f.Has("user_code") }), "")
	confirm := findForm(t, page, func(f *Form) bool { return f.Has("confirm") })
	if !approve {
		// The [ Abort ] button is the one whose value is "yes".
		return b.Submit(t, confirm, "yes")
	}
	page = b.Submit(t, confirm, "")
	for step := 0; ; step++ {
		if step > 20 {
			t.Fatalf("device verification did not end after 20 steps: %v", page)
		}
		if page.Location != nil && page.Status >= 300 && page.Status < 400 {
			page = b.Get(t, page.Location.String())
			continue
		}
		if page.Status != http.StatusOK {
			t.Fatalf("device verification: %v", page)
		}
		forms, err := parseForms(page)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(forms, func(f *Form) bool { return f.Has("login") || f.Values.Get("prompt") == "consent" })
		if i < 0 {
			return page
		}
		if forms[i].Has("login") {
			forms[i].Values.Set("login", e2eUser)
			forms[i].Values.Set("password", e2ePassword)
		}
		page = b.Submit(t, forms[i], "")
	}
}
