package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Logto's authentication context classes, which the provider advertises and
// its login form reaches, and its API resource whose access tokens are
// opaque (checked by introspection).
const (
	acr1FA         = "urn:logto:acr:1fa"
	acrMFA         = "urn:logto:acr:mfa"
	opaqueResource = "https://opaque.example.com"
)

// The amr of the provider's sign-ins, as Logto's: a password, and a password
// with a TOTP (Logto adds "mfa" last whenever the acr is MFA).
var (
	amrPassword     = []string{"pwd"}
	amrPasswordTOTP = []string{"pwd", "otp", "mfa"}
)

// TestStepUpExamples is step-up authentication (RFC 9470) across the example
// processes and the Logto-like provider: the web app's one-factor sign-in
// gives a token examples/api refuses on /api/private-mfa with a challenge
// naming urn:logto:acr:mfa and the API's RFC 9728 metadata; the web app's
// /sign-in?acr_values=... signs the user in again with MFA, and the new
// token is accepted. max_age=0 forces a fresh login even then.
func TestStepUpExamples(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	app := startApp(t, p, nil)
	api := startAPI(t, p)
	b := app.Client(t)
	tokenPath := "/api/access-token?resource=" + url.QueryEscape(apiResource)
	metadataURL := api + "/.well-known/oauth-protected-resource"

	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.Fatalf("step %q failed; the steps after it need it", name)
		}
	}

	var oneFactorToken string
	var oneFactorAuthTime float64
	step("a plain sign-in is one factor", func(t *testing.T) {
		b.SignIn(t, p)
		idt := idTokenClaims(t, b)
		checkAuthentication(t, "ID token", idt, acr1FA, amrPassword)
		var claims map[string]any
		oneFactorToken, claims = getToken(t, b, tokenPath)
		checkAuthentication(t, "access token", claims, acr1FA, amrPassword)
		if claims["auth_time"] != idt["auth_time"] {
			t.Errorf("access token auth_time %v, ID token's %v: want the sign-in's", claims["auth_time"], idt["auth_time"])
		}
		oneFactorAuthTime, _ = claims["auth_time"].(float64)
		if resp, body := callAPI(t, api+"/api/private", oneFactorToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/private with it: %d %v, want 200", resp.StatusCode, body)
		}
	})

	step("the API asks for MFA", func(t *testing.T) {
		resp, body := callAPI(t, api+"/api/private-mfa", oneFactorToken)
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "insufficient_user_authentication" {
			t.Fatalf("GET /api/private-mfa with a one-factor token: %d %v, want 401 insufficient_user_authentication", resp.StatusCode, body)
		}
		challenge := resp.Header.Get("WWW-Authenticate")
		scheme, params := parseChallenge(challenge)
		want := map[string]string{
			"error":             "insufficient_user_authentication",
			"acr_values":        acrMFA,
			"resource_metadata": metadataURL,
		}
		for k, v := range want {
			if params[k] != v {
				t.Errorf("challenge %s = %q, want %q (WWW-Authenticate %q)", k, params[k], v, challenge)
			}
		}
		if !strings.EqualFold(scheme, "Bearer") {
			t.Errorf("challenge scheme %q, want Bearer", scheme)
		}
		if _, ok := params["max_age"]; ok {
			t.Errorf("challenge %q asks for max_age; the route requires none", challenge)
		}
	})

	step("the metadata the challenge names", func(t *testing.T) {
		var md struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
			BearerMethods        []string `json:"bearer_methods_supported"`
			Scopes               []string `json:"scopes_supported"`
		}
		getJSON(t, metadataURL, &md)
		if md.Resource != apiResource || !slices.Equal(md.AuthorizationServers, []string{p.Issuer}) || !slices.Equal(md.BearerMethods, []string{"header"}) {
			t.Errorf("metadata %+v: want resource %s, authorization_servers [%s], bearer_methods_supported [header]", md, apiResource, p.Issuer)
		}
		for _, s := range []string{"read:messages", "read:reports"} {
			if !slices.Contains(md.Scopes, s) {
				t.Errorf("metadata scopes_supported %v lacks %s", md.Scopes, s)
			}
		}
		// The issuer the metadata names is the provider, whose discovery
		// offers what the challenge asks for.
		var disc struct {
			ACRValues []string `json:"acr_values_supported"`
		}
		getJSON(t, md.AuthorizationServers[0]+"/.well-known/openid-configuration", &disc)
		if !slices.Contains(disc.ACRValues, acrMFA) {
			t.Errorf("the authorization server's acr_values_supported %v lacks %s", disc.ACRValues, acrMFA)
		}
	})

	var mfaAuthTime float64
	step("signing in again with acr_values gives an MFA token", func(t *testing.T) {
		// The provider session is a one-factor one: the provider asks for a
		// login again (step-up) before the consent page.
		forms := signInVia(t, b, p, "/sign-in?acr_values="+url.QueryEscape(acrMFA))
		if !slices.Equal(forms, []string{"login", "consent"}) {
			t.Errorf("step-up sign-in went through %v, want login then consent", forms)
		}
		checkAuthentication(t, "ID token", idTokenClaims(t, b), acrMFA, amrPasswordTOTP)
		tok, claims := getToken(t, b, tokenPath)
		checkAuthentication(t, "access token", claims, acrMFA, amrPasswordTOTP)
		mfaAuthTime, _ = claims["auth_time"].(float64)
		if mfaAuthTime < oneFactorAuthTime {
			t.Errorf("MFA token auth_time %v is before the first sign-in's %v", mfaAuthTime, oneFactorAuthTime)
		}
		resp, body := callAPI(t, api+"/api/private-mfa", tok)
		if resp.StatusCode != http.StatusOK || body["acr"] != acrMFA || body["sub"] != e2eUser {
			t.Fatalf("GET /api/private-mfa with the MFA token: %d %v, want 200 with acr %s", resp.StatusCode, body, acrMFA)
		}
		// The one-factor token has not become any better.
		if resp, body := callAPI(t, api+"/api/private-mfa", oneFactorToken); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the first token after the step-up: %d %v, want 401", resp.StatusCode, body)
		}
	})

	step("an MFA session meets acr_values without a login", func(t *testing.T) {
		forms := signInVia(t, b, p, "/sign-in?acr_values="+url.QueryEscape(acrMFA))
		if !slices.Equal(forms, []string{"consent"}) {
			t.Errorf("sign-in went through %v, want the consent page only", forms)
		}
		idt := idTokenClaims(t, b)
		checkAuthentication(t, "ID token", idt, acrMFA, amrPasswordTOTP)
		if idt["auth_time"] != mfaAuthTime {
			t.Errorf("ID token auth_time %v, want the MFA login's %v", idt["auth_time"], mfaAuthTime)
		}
	})

	step("max_age=0 forces a fresh login", func(t *testing.T) {
		before := float64(time.Now().Unix())
		forms := signInVia(t, b, p, "/sign-in?acr_values="+url.QueryEscape(acrMFA)+"&max_age=0")
		if !slices.Equal(forms, []string{"login", "consent"}) {
			t.Errorf("sign-in with max_age=0 went through %v, want login then consent", forms)
		}
		idt := idTokenClaims(t, b)
		checkAuthentication(t, "ID token", idt, acrMFA, amrPasswordTOTP)
		if at, _ := idt["auth_time"].(float64); at < before {
			t.Errorf("ID token auth_time %v, want the new login's (at or after %v)", idt["auth_time"], before)
		}
		tok, claims := getToken(t, b, tokenPath)
		if claims["auth_time"] != idt["auth_time"] || claims["acr"] != acrMFA {
			t.Errorf("access token acr %v auth_time %v, want %s and the ID token's %v", claims["acr"], claims["auth_time"], acrMFA, idt["auth_time"])
		}
		if resp, body := callAPI(t, api+"/api/private-mfa", tok); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/private-mfa: %d %v, want 200", resp.StatusCode, body)
		}
	})
}

// TestIntrospectionExamples checks examples/api's opaque tokens against the
// provider's introspection endpoint (RFC 7662), the API authenticating as the
// provider's M2M app: an opaque token of its resource is accepted (with the
// sign-in's acr, so step-up works for opaque tokens too); one of no
// resource, one for another API, or a revoked one is refused; and an API
// without credentials refuses opaque tokens.
func TestIntrospectionExamples(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	bin := exampleBinary(t, "api")
	creds := func(resource string) map[string]string {
		return map[string]string{"LOGTO_ENDPOINT": p.Base, "API_RESOURCE": resource, "LOGTO_APP_ID": m2mClientID, "LOGTO_APP_SECRET": m2mClientSecret}
	}
	opaqueAPI := runAPI(t, bin, creds(opaqueResource))
	jwtAPI := runAPI(t, bin, creds(apiResource))
	noCreds := runAPI(t, bin, map[string]string{"LOGTO_ENDPOINT": p.Base, "API_RESOURCE": opaqueResource})

	// A one-factor sign-in and an MFA one, each holding both resources.
	scope := "openid offline_access profile read:messages"
	oneFactor := codeFlow(t, p, scope, "consent", opaqueResource, apiResource)
	q := authParams(p, scope, "consent", opaqueResource, apiResource)
	q.Set("acr_values", acrMFA)
	mfa := codeFlowQuery(t, newBrowser(t, p.Base), p, q)

	refresh := func(t *testing.T, grant map[string]any, resource string) string {
		t.Helper()
		status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(grant["refresh_token"])}, "resource": {resource}})
		if status != http.StatusOK {
			t.Fatalf("refresh for %s: %d %v", resource, status, res)
		}
		grant["refresh_token"] = res["refresh_token"]
		return str(res["access_token"])
	}
	opaque := refresh(t, oneFactor, opaqueResource)
	if strings.Count(opaque, ".") == 2 {
		t.Fatalf("the token for %s is JWT-shaped; the provider should issue an opaque one", opaqueResource)
	}

	t.Run("the provider introspects it", func(t *testing.T) {
		status, res := introspect(t, p, m2mClientID, m2mClientSecret, opaque)
		if status != http.StatusOK || res["active"] != true || !audienceIs(res["aud"], opaqueResource) || res["sub"] != e2eUser ||
			res["client_id"] != p.ClientID || res["token_type"] != "Bearer" || res["scope"] != "read:messages" {
			t.Fatalf("introspection: %d %v, want active, aud %s, sub %s, client_id %s, token_type Bearer, scope read:messages", status, res, opaqueResource, e2eUser, p.ClientID)
		}
		checkAuthentication(t, "introspection", res, acr1FA, amrPassword)
		status, res = introspect(t, p, m2mClientID, "wrong-secret", opaque)
		if status != http.StatusUnauthorized || res["error"] != "invalid_client" {
			t.Errorf("introspection with a wrong secret: %d %v, want 401 invalid_client", status, res)
		}
	})

	t.Run("accepted by the API of its resource", func(t *testing.T) {
		resp, body := callAPI(t, opaqueAPI+"/api/private", opaque)
		if resp.StatusCode != http.StatusOK || body["sub"] != e2eUser || !audienceIs(body["aud"], opaqueResource) {
			t.Fatalf("GET /api/private: %d %v, want 200 with sub %s and aud %s", resp.StatusCode, body, e2eUser, opaqueResource)
		}
		if resp, body := callAPI(t, opaqueAPI+"/api/private-scoped", opaque); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/private-scoped: %d %v, want 200 (scope read:messages)", resp.StatusCode, body)
		}
		resp, body = callAPI(t, opaqueAPI+"/api/private-mfa", opaque)
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "insufficient_user_authentication" {
			t.Errorf("GET /api/private-mfa with a one-factor opaque token: %d %v, want 401 insufficient_user_authentication", resp.StatusCode, body)
		}
	})

	t.Run("an MFA sign-in's opaque token passes the MFA route", func(t *testing.T) {
		tok := refresh(t, mfa, opaqueResource)
		resp, body := callAPI(t, opaqueAPI+"/api/private-mfa", tok)
		if resp.StatusCode != http.StatusOK || body["acr"] != acrMFA {
			t.Fatalf("GET /api/private-mfa: %d %v, want 200 with acr %s", resp.StatusCode, body, acrMFA)
		}
	})

	t.Run("a machine-to-machine opaque token", func(t *testing.T) {
		status, res := tokenRequestAs(t, p, m2mClientID, m2mClientSecret, url.Values{"grant_type": {"client_credentials"}, "resource": {opaqueResource}, "scope": {"read:messages"}})
		if status != http.StatusOK || strings.Count(str(res["access_token"]), ".") == 2 {
			t.Fatalf("client credentials for %s: %d %v, want an opaque token", opaqueResource, status, res)
		}
		// Introspection names no sub for a token of no user (the engine's
		// JWTs say sub = client_id); client_id says whose it is.
		resp, body := callAPI(t, opaqueAPI+"/api/private-scoped", str(res["access_token"]))
		if resp.StatusCode != http.StatusOK || body["client_id"] != m2mClientID || !audienceIs(body["aud"], opaqueResource) {
			t.Errorf("GET /api/private-scoped: %d %v, want 200 with client_id %s and aud %s", resp.StatusCode, body, m2mClientID, opaqueResource)
		}
		// No user signed in: nothing to step up from.
		if resp, body := callAPI(t, opaqueAPI+"/api/private-mfa", str(res["access_token"])); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET /api/private-mfa: %d %v, want 401", resp.StatusCode, body)
		}
	})

	for _, tc := range []struct {
		name, api, token string
	}{
		{"refused by the API of another resource", jwtAPI, opaque},
		{"refused by an API without credentials", noCreds, opaque},
		// The code exchange's access token: opaque, no aud, good for
		// userinfo only.
		{"the userinfo token refused", opaqueAPI, str(oneFactor["access_token"])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := callAPI(t, tc.api+"/api/private", tc.token)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
				t.Errorf("GET /api/private: %d %v, want 401 invalid_token", resp.StatusCode, body)
			}
			if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}

	// Last: revoking an opaque access token revokes its whole grant.
	t.Run("a revoked token refused", func(t *testing.T) {
		// One the API has never seen, so that no cached answer stands in
		// for the provider's.
		tok := refresh(t, oneFactor, opaqueResource)
		revoke(t, p, tok)
		if status, res := introspect(t, p, m2mClientID, m2mClientSecret, tok); status != http.StatusOK || res["active"] != false {
			t.Fatalf("introspection after revocation: %d %v, want active false", status, res)
		}
		resp, body := callAPI(t, opaqueAPI+"/api/private", tok)
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
			t.Errorf("GET /api/private with a revoked token: %d %v, want 401 invalid_token", resp.StatusCode, body)
		}
	})
}

// TestProviderAuthenticationContext checks, without the SDK, that the
// provider handles acr_values and max_age as Logto does: every sign-in
// gets acr and amr, the ID token and the access tokens minted from it carry
// them and its auth_time (a refresh keeps it), acr_values are binding (a
// one-factor session signs in again, or with prompt=none fails; unknown
// classes fail), and max_age=0 forces a login.
func TestProviderAuthenticationContext(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	var disc struct {
		ACRValues     []string `json:"acr_values_supported"`
		Introspection string   `json:"introspection_endpoint"`
		ClaimsSupp    []string `json:"claims_supported"`
	}
	getJSON(t, p.Issuer+"/.well-known/openid-configuration", &disc)
	if !slices.Equal(disc.ACRValues, []string{acr1FA, acrMFA}) || disc.Introspection != p.Issuer+"/token/introspection" {
		t.Errorf("discovery acr_values_supported %v, introspection_endpoint %q; want [%s %s], %s/token/introspection", disc.ACRValues, disc.Introspection, acr1FA, acrMFA, p.Issuer)
	}
	if !slices.Contains(disc.ClaimsSupp, "acr") || !slices.Contains(disc.ClaimsSupp, "auth_time") {
		t.Errorf("claims_supported %v lacks acr or auth_time", disc.ClaimsSupp)
	}

	b := newBrowser(t, p.Base) // one browser: one provider session throughout
	keys := providerKeys(t, p)
	scope := "openid offline_access profile"
	signIn := func(t *testing.T, extra url.Values) (map[string]any, map[string]any, []string) {
		t.Helper()
		q := authParams(p, scope, "consent", apiResource)
		for k, v := range extra {
			q[k] = v
		}
		cb, forms := b.authorize(t, p, p.Issuer+"/auth?"+q.Encode())
		tok := exchangeCode(t, p, cb)
		return tok, verifiedClaims(t, keys, str(tok["id_token"])), forms
	}

	var first map[string]any
	if !t.Run("a sign-in without acr_values is one factor", func(t *testing.T) {
		tok, idt, _ := signIn(t, nil)
		checkAuthentication(t, "ID token", idt, acr1FA, amrPassword)
		first = idt
		// A refresh a second later keeps the sign-in's auth_time.
		authTime, _ := idt["auth_time"].(float64)
		if authTime == 0 {
			t.Fatalf("ID token without auth_time: %v", idt)
		}
		time.Sleep(time.Until(time.Unix(int64(authTime)+1, 0)) + 50*time.Millisecond)
		status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(tok["refresh_token"])}, "resource": {apiResource}})
		if status != http.StatusOK {
			t.Fatalf("resource token: %d %v", status, res)
		}
		at := verifiedClaims(t, keys, str(res["access_token"]))
		checkAuthentication(t, "refreshed access token", at, acr1FA, amrPassword)
		if at["auth_time"] != authTime {
			t.Errorf("refreshed access token auth_time %v, want the sign-in's %v", at["auth_time"], authTime)
		}
		status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(res["refresh_token"])}})
		if status != http.StatusOK {
			t.Fatalf("refresh for an ID token: %d %v", status, res)
		}
		again := verifiedClaims(t, keys, str(res["id_token"]))
		checkAuthentication(t, "refreshed ID token", again, acr1FA, amrPassword)
		if again["auth_time"] != authTime {
			t.Errorf("refreshed ID token auth_time %v, want %v", again["auth_time"], authTime)
		}
	}) {
		t.FailNow()
	}

	t.Run("acr_values=mfa on a one-factor session signs in again", func(t *testing.T) {
		_, idt, forms := signIn(t, url.Values{"acr_values": {acrMFA}})
		if !slices.Contains(forms, "login") {
			t.Errorf("forms %v: the one-factor session was taken for MFA without a login", forms)
		}
		checkAuthentication(t, "ID token", idt, acrMFA, amrPasswordTOTP)
	})

	t.Run("acr_values=1fa on an MFA session needs no login", func(t *testing.T) {
		_, idt, forms := signIn(t, url.Values{"acr_values": {acr1FA}})
		if slices.Contains(forms, "login") {
			t.Errorf("forms %v: an MFA session meets 1fa", forms)
		}
		checkAuthentication(t, "ID token", idt, acrMFA, amrPasswordTOTP)
	})

	t.Run("max_age=0 forces a login", func(t *testing.T) {
		_, idt, forms := signIn(t, url.Values{"max_age": {"0"}})
		if !slices.Contains(forms, "login") {
			t.Errorf("forms %v: max_age=0 without a login", forms)
		}
		// The new login asked for no class: one factor.
		checkAuthentication(t, "ID token", idt, acr1FA, amrPassword)
		if at, _ := idt["auth_time"].(float64); at <= first["auth_time"].(float64) {
			t.Errorf("auth_time %v, want after the first sign-in's %v", idt["auth_time"], first["auth_time"])
		}
	})

	t.Run("prompt=none on a one-factor session asking for MFA fails", func(t *testing.T) {
		// The session is the max_age=0 login's: one factor.
		q := authParams(p, scope, "none", apiResource)
		q.Set("acr_values", acrMFA)
		cb, forms := b.authorize(t, p, p.Issuer+"/auth?"+q.Encode())
		if cb.Query().Get("error") != "unmet_authentication_requirements" || len(forms) != 0 {
			t.Errorf("callback %s after forms %v, want error=unmet_authentication_requirements and no forms", cb, forms)
		}
	})

	t.Run("unknown acr_values fail", func(t *testing.T) {
		q := authParams(p, scope, "consent")
		q.Set("acr_values", "urn:example:acr:retina")
		cb, forms := b.authorize(t, p, p.Issuer+"/auth?"+q.Encode())
		if cb.Query().Get("error") != "unmet_authentication_requirements" || len(forms) != 0 {
			t.Errorf("callback %s after forms %v, want error=unmet_authentication_requirements and no forms", cb, forms)
		}
	})
}

// TestProviderPAR checks, without the SDK, that the provider takes pushed
// authorization requests (RFC 9126) as Logto does: discovery names the
// endpoint, a confidential client pushes with client_secret_basic and gets
// a request_uri, the authorization endpoint signs in with it once; and with
// ProviderOptions.RequirePAR a request that was not pushed is refused.
func TestProviderPAR(t *testing.T) {
	for _, required := range []bool{false, true} {
		name := "optional"
		if required {
			name = "required"
		}
		t.Run(name, func(t *testing.T) {
			p := startProvider(t, ProviderOptions{RequirePAR: required})
			var disc struct {
				PAR        string `json:"pushed_authorization_request_endpoint"`
				RequirePAR bool   `json:"require_pushed_authorization_requests"`
			}
			getJSON(t, p.Issuer+"/.well-known/openid-configuration", &disc)
			if disc.PAR != p.Issuer+"/request" || disc.RequirePAR != required {
				t.Fatalf("discovery pushed_authorization_request_endpoint %q, require_pushed_authorization_requests %v; want %s/request, %v", disc.PAR, disc.RequirePAR, p.Issuer, required)
			}

			q := authParams(p, "openid offline_access profile", "consent", apiResource)
			b := newBrowser(t, p.Base)
			if required {
				page := b.Get(t, p.Issuer+"/auth?"+q.Encode())
				refused := page.Status == http.StatusBadRequest && bytes.Contains(page.Body, []byte("invalid_request"))
				if loc := page.Location; loc != nil {
					refused = loc.Query().Get("error") == "invalid_request"
				}
				if !refused {
					t.Errorf("an authorization request that was not pushed: %v, want invalid_request", page)
				}
			}

			status, res := postAs(t, p, disc.PAR, p.ClientID, "wrong-secret", q)
			if status != http.StatusUnauthorized || res["error"] != "invalid_client" {
				t.Errorf("push with a wrong secret: %d %v, want 401 invalid_client", status, res)
			}
			status, res = postAs(t, p, disc.PAR, p.ClientID, p.ClientSecret, q)
			requestURI := str(res["request_uri"])
			if status != http.StatusCreated || !strings.HasPrefix(requestURI, "urn:ietf:params:oauth:request_uri:") {
				t.Fatalf("push: %d %v, want 201 with a request_uri", status, res)
			}
			if exp, _ := res["expires_in"].(float64); exp <= 0 {
				t.Errorf("push answer expires_in %v", res["expires_in"])
			}

			authURL := p.Issuer + "/auth?" + url.Values{"client_id": {p.ClientID}, "request_uri": {requestURI}}.Encode()
			cb, forms := b.authorize(t, p, authURL)
			if !slices.Equal(forms, []string{"login", "consent"}) {
				t.Errorf("forms %v, want login then consent", forms)
			}
			if cb.Query().Get("state") != q.Get("state") {
				t.Errorf("callback %s: want the pushed request's state %q", cb, q.Get("state"))
			}
			tok := exchangeCode(t, p, cb)
			if str(tok["id_token"]) == "" || str(tok["refresh_token"]) == "" {
				t.Errorf("code exchange answered %v, want an ID token and a refresh token", tok)
			}

			// A request_uri is good for one authorization request.
			cb, _ = b.authorize(t, p, authURL)
			if cb.Query().Get("error") == "" || cb.Query().Get("code") != "" {
				t.Errorf("the request_uri used again: callback %s, want an error", cb)
			}
		})
	}
}

// ------------------------------------------------------------------ helpers

// signInVia signs browser b in at the app through path (a /sign-in link)
// and returns the provider's forms it went through; the app must then say
// Authenticated.
func signInVia(t testing.TB, b *Browser, p *Provider, path string) []string {
	t.Helper()
	page := b.Get(t, path)
	if page.Location == nil || !strings.HasPrefix(page.Location.String(), p.Issuer+"/auth?") {
		t.Fatalf("GET %s: want a redirect to the provider, got %v", path, page)
	}
	callback, forms := b.authorize(t, p, page.Location.String())
	page, _ = b.Follow(t, callback.String())
	if page.URL.Path != "/" || page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte("Authenticated")) || bytes.Contains(page.Body, []byte("Not authenticated")) {
		t.Fatalf("after sign-in through %s: want / saying Authenticated, got %v", path, page)
	}
	return forms
}

// idTokenClaims is the app's /api/id-token-claims.
func idTokenClaims(t testing.TB, b *Browser) map[string]any {
	t.Helper()
	status, claims := b.GetJSON(t, "/api/id-token-claims")
	if status != http.StatusOK {
		t.Fatalf("GET /api/id-token-claims: %d %v", status, claims)
	}
	return claims
}

// checkAuthentication checks the acr, amr and auth_time claims of what.
func checkAuthentication(t testing.TB, what string, claims map[string]any, acr string, amr []string) {
	t.Helper()
	var got []string
	list, _ := claims["amr"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		got = append(got, s)
	}
	if claims["acr"] != acr || !slices.Equal(got, amr) {
		t.Errorf("%s: acr %v, amr %v; want %s, %v", what, claims["acr"], claims["amr"], acr, amr)
	}
	if at, ok := claims["auth_time"].(float64); !ok || at <= 0 || at > float64(time.Now().Unix()+5) {
		t.Errorf("%s: auth_time %v, want the sign-in's time", what, claims["auth_time"])
	}
}

// challengeParam is one auth-param of a challenge: a token, or a quoted
// string with backslash escapes (RFC 9110 section 11.2).
var challengeParam = regexp.MustCompile(`\s*([!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_` + "`" + `|~0-9A-Za-z-]+))\s*(?:,|$)`)

// quotedPair is a backslash escape in a quoted string.
var quotedPair = regexp.MustCompile(`\\(.)`)

// parseChallenge reads a single WWW-Authenticate challenge into its scheme
// and auth-params (names in lower case).
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for _, m := range challengeParam.FindAllStringSubmatch(rest, -1) {
		v := m[3]
		if v == "" {
			v = quotedPair.ReplaceAllString(m[2], "$1")
		}
		params[strings.ToLower(m[1])] = v
	}
	return scheme, params
}

// postAs posts form to endpoint with client_secret_basic and decodes the
// JSON answer.
func postAs(t testing.TB, p *Provider, endpoint, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	return doJSON(t, req)
}

// introspect asks the provider's introspection endpoint about token as the
// client.
func introspect(t testing.TB, p *Provider, clientID, secret, token string) (int, map[string]any) {
	t.Helper()
	return postAs(t, p, p.Issuer+"/token/introspection", clientID, secret, url.Values{"token": {token}})
}

// revoke revokes token as the web client, which must answer 200.
func revoke(t testing.TB, p *Provider, token string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.Issuer+"/token/revocation", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: HTTP %d %s", resp.StatusCode, body)
	}
}
