package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"

	"github.com/seed098cf14d/logto"
)

// accessTokenTTL is short so that the tests see tokens expire and refresh.
const accessTokenTTL = 4 * time.Second

// TestContract walks CONTRACT.md's example app against the Logto-like
// provider, as one browser session from sign-in to sign-out. Each step
// depends on the ones before it, so the first failure stops the walk.
func TestContract(t *testing.T) {
	p := startProvider(t, ProviderOptions{AccessTokenTTL: accessTokenTTL})
	app := startApp(t, p, map[string]string{
		// read:messages is a permission of the API resource: Logto, like the
		// engine, grants a resource's scopes only when the sign-in asks.
		"LOGTO_SCOPES": defaultAppScopes + " read:messages",
	})
	b := app.Client(t)
	verify := newJWTVerifier(t, p)

	ran, passed := 0, 0
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		ran++
		if !t.Run(name, f) {
			t.Fatalf("step %q failed; the steps after it need it", name)
		}
		passed++
	}
	defer func() { t.Logf("cases run: %d, passed: %d", ran, passed) }()

	step("signed out", func(t *testing.T) {
		home := b.Get(t, "/")
		if home.Status != http.StatusOK || !strings.Contains(string(home.Body), "Not authenticated") {
			t.Fatalf("GET / before sign-in: want Not authenticated, got %v", home)
		}
		for _, path := range []string{"/api/id-token-claims", "/api/userinfo", "/api/access-token?resource=" + url.QueryEscape(apiResource), "/api/organization-token?organization_id=" + e2eOrg} {
			status, body := b.GetJSON(t, path)
			if status != http.StatusUnauthorized || body["error"] != "not_authenticated" {
				t.Errorf("GET %s signed out: got %d %v, want 401 not_authenticated", path, status, body)
			}
		}
	})

	step("sign-in through the provider's login and consent forms", func(t *testing.T) {
		// What the app asks for: Logto's parameters, PKCE S256, a nonce, the
		// resources including the organizations one.
		page := b.Get(t, "/sign-in")
		if page.Location == nil {
			t.Fatalf("GET /sign-in: %v", page)
		}
		q := page.Location.Query()
		for k, want := range map[string]string{
			"client_id": p.ClientID, "response_type": "code", "code_challenge_method": "S256",
			"prompt": "consent", "redirect_uri": app.Base + "/callback",
		} {
			if got := q.Get(k); got != want {
				t.Errorf("authorization request %s = %q, want %q", k, got, want)
			}
		}
		scopes := strings.Fields(q.Get("scope"))
		for _, s := range []string{"openid", "offline_access", "profile", "email", "custom_data", "urn:logto:scope:organizations"} {
			if !slices.Contains(scopes, s) {
				t.Errorf("authorization request scope %v lacks %s", scopes, s)
			}
		}
		if r := q["resource"]; !slices.Contains(r, apiResource) || !slices.Contains(r, logto.ResourceOrganizations) {
			t.Errorf("authorization request resources %v, want %s and urn:logto:resource:organizations", r, apiResource)
		}
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if q.Get(k) == "" {
				t.Errorf("authorization request has no %s", k)
			}
		}
		b.SignIn(t, p)
		if n := p.Grants(t, "authorization_code"); n != 1 {
			t.Errorf("provider counted %d authorization_code grants, want 1", n)
		}
	})

	step("id token claims", func(t *testing.T) {
		status, claims := b.GetJSON(t, "/api/id-token-claims")
		if status != http.StatusOK {
			t.Fatalf("GET /api/id-token-claims: %d %v", status, claims)
		}
		want := map[string]any{"sub": e2eUser, "iss": p.Issuer, "aud": p.ClientID, "username": "e2e", "name": "E2E User", "email": "e2e@example.com"}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("ID token %s = %v, want %v", k, claims[k], v)
			}
		}
		if orgs, _ := claims["organizations"].([]any); !slices.Contains(orgs, any(e2eOrg)) {
			t.Errorf("ID token organizations = %v, want it to hold %s", claims["organizations"], e2eOrg)
		}
		if _, ok := claims["custom_data"]; ok {
			t.Errorf("ID token carries custom_data; Logto sends it from userinfo only")
		}
	})

	step("userinfo with custom_data", func(t *testing.T) {
		status, info := b.GetJSON(t, "/api/userinfo")
		if status != http.StatusOK {
			t.Fatalf("GET /api/userinfo: %d %v", status, info)
		}
		if info["sub"] != e2eUser {
			t.Errorf("userinfo sub = %v, want %s", info["sub"], e2eUser)
		}
		cd, _ := info["custom_data"].(map[string]any)
		if cd["plan"] != "pro" {
			t.Errorf("userinfo custom_data = %v, want {plan: pro}", info["custom_data"])
		}
	})

	var apiToken string
	step("access token for the API resource", func(t *testing.T) {
		before := p.Stats(t).RefreshGrants
		tok, claims := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		verified := verify(t, tok)
		for k, v := range map[string]any{"iss": p.Issuer, "sub": e2eUser, "client_id": p.ClientID} {
			if verified[k] != v {
				t.Errorf("access token %s = %v, want %v", k, verified[k], v)
			}
		}
		if !audienceIs(verified["aud"], apiResource) {
			t.Errorf("access token aud = %v, want %s", verified["aud"], apiResource)
		}
		if scope, _ := verified["scope"].(string); !slices.Contains(strings.Fields(scope), "read:messages") {
			t.Errorf("access token scope = %q, want read:messages", scope)
		}
		if claims["sub"] != verified["sub"] || claims["jti"] != verified["jti"] {
			t.Errorf("the app's decoded claims %v differ from the verified ones %v", claims, verified)
		}
		again, _ := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		if again != tok {
			t.Errorf("a second request within the token's lifetime got another token; want the cached one")
		}
		if d := p.Stats(t).RefreshGrants - before; d != 1 {
			t.Errorf("provider counted %d refresh grants for one resource token, want 1", d)
		}
		apiToken = tok
	})

	step("a resource the app was not configured for is refused before any request", func(t *testing.T) {
		before := p.Stats(t)
		status, body := b.GetJSON(t, "/api/access-token?resource="+url.QueryEscape("https://unknown.example.com"))
		if status != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("unknown resource: got %d %v, want 400 invalid_request", status, body)
		}
		after := p.Stats(t)
		if after.RefreshGrants != before.RefreshGrants || errorCount(after, "refresh_token") != errorCount(before, "refresh_token") {
			t.Errorf("the app sent a refresh grant for a resource it cannot have (the engine would rotate the refresh token, then answer invalid_target)")
		}
	})

	step("organization token", func(t *testing.T) {
		tok, _ := getToken(t, b, "/api/organization-token?organization_id="+e2eOrg)
		verified := verify(t, tok)
		if !audienceIs(verified["aud"], "urn:logto:organization:"+e2eOrg) {
			t.Errorf("organization token aud = %v, want urn:logto:organization:%s", verified["aud"], e2eOrg)
		}
		if !audienceIs(verified["aud"], logto.OrganizationAudience(e2eOrg)) {
			t.Errorf("logto.OrganizationAudience(%q) = %q, but the provider's organization token has aud %v", e2eOrg, logto.OrganizationAudience(e2eOrg), verified["aud"])
		}
		if verified["sub"] != e2eUser || verified["client_id"] != p.ClientID {
			t.Errorf("organization token sub/client_id = %v/%v", verified["sub"], verified["client_id"])
		}
		if verified["scope"] != "read:members" {
			t.Errorf("organization token scope = %v, want the member's read:members", verified["scope"])
		}
	})

	step("organization token for an organization the user is not in", func(t *testing.T) {
		before := p.Stats(t)
		rt := p.LatestRefreshToken(t, e2eUser)
		status, body := b.GetJSON(t, "/api/organization-token?organization_id="+otherOrg)
		if status < 400 || body["error"] != "access_denied" {
			t.Errorf("non-member organization token: got %d %v, want an error access_denied", status, body)
		}
		t.Logf("the app answers a non-member's organization token request with HTTP %d %v", status, body["error"])
		after := p.Stats(t)
		if d := after.GrantErrors["refresh_token"]["access_denied"] - before.GrantErrors["refresh_token"]["access_denied"]; d != 1 {
			t.Errorf("provider counted %d access_denied refresh grants, want 1", d)
		}
		// The refusal leaves the session and its refresh token as they were
		// (the next step refreshes with it).
		if p.LatestRefreshToken(t, e2eUser) != rt || after.RevokedGrants != before.RevokedGrants {
			t.Errorf("the refused request rotated the refresh token or revoked the grant")
		}
		status, body = b.GetJSON(t, "/api/id-token-claims")
		if status != http.StatusOK {
			t.Errorf("after access_denied the app dropped the session: %d %v", status, body)
		}
	})

	step("refresh after expiry", func(t *testing.T) {
		waitExpiry(t, apiToken)
		before := p.Stats(t).RefreshGrants
		tok, _ := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		if tok == apiToken {
			t.Fatalf("after the access token expired the app returned it again")
		}
		verify(t, tok)
		if d := p.Stats(t).RefreshGrants - before; d != 1 {
			t.Errorf("provider counted %d refresh grants for the expired token, want 1", d)
		}
		apiToken = tok
	})

	step("concurrent requests after expiry", func(t *testing.T) {
		waitExpiry(t, apiToken)
		before := p.Stats(t)
		const n = 30
		var wg sync.WaitGroup
		results := make([]string, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				status, body, err := b.getJSON("/api/access-token?resource=" + url.QueryEscape(apiResource))
				switch {
				case err != nil:
					errs[i] = err
				case status != http.StatusOK:
					errs[i] = fmt.Errorf("HTTP %d: %v", status, body)
				default:
					results[i], _ = body["access_token"].(string)
				}
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent request %d: %v", i, err)
			}
		}
		after := p.Stats(t)
		refreshes := after.RefreshGrants - before.RefreshGrants
		t.Logf("refresh grants for %d concurrent requests after expiry: %d", n, refreshes)
		if refreshes < 1 {
			t.Errorf("no refresh grant for %d requests after expiry", n)
		}
		if d := errorCount(after, "refresh_token") - errorCount(before, "refresh_token"); d != 0 {
			t.Errorf("provider refused %d refresh grants: %v", d, after.GrantErrors["refresh_token"])
		}
		if after.RevokedGrants != before.RevokedGrants {
			t.Errorf("provider revoked %d grants during the concurrent requests (a spent refresh token was presented again)", after.RevokedGrants-before.RevokedGrants)
		}
		distinct := map[string]bool{}
		for _, tok := range results {
			if tok != "" {
				distinct[tok] = true
			}
		}
		t.Logf("distinct access tokens handed out: %d", len(distinct))
		if distinct[apiToken] {
			t.Errorf("an expired access token was handed out again")
		}

		// The session still works, including the next refresh with the
		// refresh token the cookie now holds.
		home := b.Get(t, "/")
		if !strings.Contains(string(home.Body), "Authenticated") || strings.Contains(string(home.Body), "Not authenticated") {
			t.Fatalf("after the concurrent requests / says: %v", home)
		}
		if status, body := b.GetJSON(t, "/api/userinfo"); status != http.StatusOK {
			t.Errorf("userinfo after the concurrent requests: %d %v", status, body)
		}
		tok, _ := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		waitExpiry(t, tok)
		next, _ := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		verify(t, next)
		org, _ := getToken(t, b, "/api/organization-token?organization_id="+e2eOrg)
		verify(t, org)
		final := p.Stats(t)
		if errorCount(final, "refresh_token") != errorCount(before, "refresh_token") || final.RevokedGrants != before.RevokedGrants {
			t.Errorf("refreshes after the concurrent requests failed: errors %v, revoked grants %d", final.GrantErrors, final.RevokedGrants)
		}
	})

	step("concurrent requests for every kind of token after expiry", func(t *testing.T) {
		// The API token, the organization token and the default token
		// (userinfo) are all minted from the one refresh token, which
		// rotates on every grant: the three refreshes must follow each
		// other, each presenting the token the one before it received.
		tok, _ := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		waitExpiry(t, tok)
		before := p.Stats(t)
		paths := []string{
			"/api/access-token?resource=" + url.QueryEscape(apiResource),
			"/api/organization-token?organization_id=" + e2eOrg,
			"/api/userinfo",
		}
		const perPath = 10
		var wg sync.WaitGroup
		errs := make(chan error, perPath*len(paths))
		start := make(chan struct{})
		for i := range perPath * len(paths) {
			path := paths[i%len(paths)]
			wg.Go(func() {
				<-start
				status, body, err := b.getJSON(path)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("GET %s: HTTP %d: %v", path, status, body)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		after := p.Stats(t)
		t.Logf("refresh grants for %d concurrent requests for 3 kinds of token: %d", perPath*len(paths), after.RefreshGrants-before.RefreshGrants)
		if d := errorCount(after, "refresh_token") - errorCount(before, "refresh_token"); d != 0 || after.RevokedGrants != before.RevokedGrants {
			t.Fatalf("provider refused %d refresh grants (%v) and revoked %d grants: refreshes of one session overlapped or presented a spent token",
				d, after.GrantErrors["refresh_token"], after.RevokedGrants-before.RevokedGrants)
		}
		// Whichever of the answers' cookies the browser kept, the next
		// refresh works.
		tok, _ = getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
		waitExpiry(t, tok)
		verify(t, first(getToken(t, b, "/api/organization-token?organization_id="+e2eOrg)))
		verify(t, first(getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))))
		if final := p.Stats(t); errorCount(final, "refresh_token") != errorCount(before, "refresh_token") || final.RevokedGrants != before.RevokedGrants {
			t.Errorf("refreshes after the concurrent requests failed: errors %v, revoked grants %d", final.GrantErrors, final.RevokedGrants)
		}
	})

	step("sign-out revokes the refresh token and ends the provider session", func(t *testing.T) {
		refreshToken := p.LatestRefreshToken(t, e2eUser)
		if status, body := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}}); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("the direct token request itself does not work: %d %v", status, body)
		}
		// Another site cannot sign the user out: the browser marks its
		// requests, and the app refuses them with the session left as it was.
		before := p.Stats(t)
		for _, forged := range []struct {
			method string
			header http.Header
		}{
			{http.MethodGet, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
			{http.MethodGet, http.Header{"Sec-Fetch-Site": {"same-site"}}},
			{http.MethodPost, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
			{http.MethodPost, http.Header{"Origin": {"https://evil.example"}}},
		} {
			req, err := http.NewRequest(forged.method, app.Base+"/sign-out", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range forged.header {
				req.Header[k] = vs
			}
			if page := b.Do(t, req); page.Status != http.StatusForbidden {
				t.Errorf("%s /sign-out with %v: %v, want 403", forged.method, forged.header, page)
			}
		}
		if after := p.Stats(t); after.Revocations != before.Revocations {
			t.Errorf("refused sign-outs revoked %d tokens at the provider", after.Revocations-before.Revocations)
		}
		home := b.Get(t, "/")
		if !strings.Contains(string(home.Body), "Authenticated") || strings.Contains(string(home.Body), "Not authenticated") {
			t.Fatalf("after refused sign-outs / says: %v", home)
		}
		if p.LatestRefreshToken(t, e2eUser) != refreshToken {
			t.Errorf("refused sign-outs changed the session's refresh token")
		}

		// The home page's sign-out button posts the form, from the app's
		// own origin.
		form := findForm(t, home, func(f *Form) bool { return f.Action.Path == "/sign-out" })
		if form.Method != http.MethodPost {
			t.Errorf("the sign-out form's method is %s, want POST", form.Method)
		}
		page := b.Submit(t, form, "")
		if page.Location == nil || (page.Status != http.StatusFound && page.Status != http.StatusSeeOther) {
			t.Fatalf("POST /sign-out: %v", page)
		}
		end := page.Location
		if got := end.Scheme + "://" + end.Host + end.Path; got != p.Issuer+"/session/end" {
			t.Errorf("sign-out redirected to %s, want the end-session endpoint %s/session/end", got, p.Issuer)
		}
		q := end.Query()
		if q.Get("post_logout_redirect_uri") != app.Base+"/" || q.Get("client_id") != p.ClientID || q.Get("id_token_hint") == "" {
			t.Errorf("end-session parameters %v: want post_logout_redirect_uri=%s/, client_id and id_token_hint", q, app.Base)
		}
		after := p.Stats(t)
		if after.Revocations != before.Revocations+1 {
			t.Errorf("provider counted %d revocations during /sign-out, want 1", after.Revocations-before.Revocations)
		}

		// The engine asks the user to confirm; a person clicks "Yes".
		confirm, _ := b.Follow(t, end.String())
		if confirm.Status != http.StatusOK {
			t.Fatalf("end-session page: %v", confirm)
		}
		form = findForm(t, confirm, func(f *Form) bool { return f.Has("xsrf") })
		page = b.Submit(t, form, "yes")
		if page.Location == nil || page.Location.String() != app.Base+"/" {
			t.Fatalf("after confirming sign-out the provider sent the browser to %v, want %s/", page, app.Base)
		}
		home, _ = b.Follow(t, page.Location.String())
		if !strings.Contains(string(home.Body), "Not authenticated") {
			t.Errorf("after sign-out / says: %v", home)
		}
		if status, body := b.GetJSON(t, "/api/access-token?resource="+url.QueryEscape(apiResource)); status != http.StatusUnauthorized {
			t.Errorf("access token after sign-out: %d %v, want 401", status, body)
		}
		if s := p.Stats(t); s.EndSessions != before.EndSessions+1 {
			t.Errorf("provider counted %d end-session confirmations, want 1", s.EndSessions-before.EndSessions)
		}

		status, body := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("the session's last refresh token after sign-out: got %d %v, want 400 invalid_grant", status, body)
		}
	})

	step("session cookie fits a browser", func(t *testing.T) {
		largest := b.LargestSetCookie()
		t.Logf("largest Set-Cookie the app sent: %d bytes (of %d Set-Cookie headers)", largest, b.SetCookies())
		if largest > 4096 {
			t.Errorf("the app sent a %d-byte Set-Cookie; browsers keep at most 4096", largest)
		}
		if largest == 0 {
			t.Errorf("recorded no Set-Cookie from the app")
		}
	})
}

// getToken asks an app token route and returns the token and the claims the
// app decoded.
func getToken(t testing.TB, b *Browser, path string) (string, map[string]any) {
	t.Helper()
	status, body := b.GetJSON(t, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, status, body)
	}
	tok, _ := body["access_token"].(string)
	if tok == "" {
		t.Fatalf("GET %s: no access_token in %v", path, body)
	}
	claims, _ := body["claims"].(map[string]any)
	return tok, claims
}

// newJWTVerifier returns a function that verifies an access token against
// the provider's discovery and JWKS (signature ES384, iss, exp) and returns
// its claims.
func newJWTVerifier(t testing.TB, p *Provider) func(testing.TB, string) map[string]any {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	v := op.VerifierContext(ctx, &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{oidc.ES384}})
	return func(t testing.TB, raw string) map[string]any {
		t.Helper()
		tok, err := v.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("access token does not verify against the provider's keys: %v", err)
		}
		var claims map[string]any
		if err := tok.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		return claims
	}
}

// waitExpiry sleeps until the JWT raw has expired.
func waitExpiry(t testing.TB, raw string) {
	t.Helper()
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := decodeJWTPayload(raw, &claims); err != nil || claims.Exp == 0 {
		t.Fatalf("reading exp of the access token: %v", err)
	}
	d := time.Until(time.Unix(claims.Exp, 0)) + 500*time.Millisecond
	if d > 2*accessTokenTTL {
		t.Fatalf("the access token expires in %v; the provider was started with %v", d, accessTokenTTL)
	}
	time.Sleep(d)
}

func first[A, B any](a A, _ B) A { return a }

func audienceIs(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return len(a) == 1 && a[0] == want
	}
	return false
}

func errorCount(s ProviderStats, grantType string) int {
	n := 0
	for _, c := range s.GrantErrors[grantType] {
		n += c
	}
	return n
}

// decodeJWTPayload decodes a JWT's payload without verifying it.
func decodeJWTPayload(raw string, v any) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWS compact serialization (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// TestSignInOptions checks the sign-in parameters the app takes from its
// query against the real provider: sign-up first (Logto's first_screen and
// interaction_mode, which the provider must accept) and return_to.
func TestSignInOptions(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	app := startApp(t, p, nil)

	t.Run("sign-up first is accepted by the provider", func(t *testing.T) {
		b := app.Client(t)
		page := b.Get(t, "/sign-in?interaction_mode=signUp")
		if page.Location == nil {
			t.Fatalf("GET /sign-in?interaction_mode=signUp: %v", page)
		}
		q := page.Location.Query()
		if q.Get("first_screen") != "register" || q.Get("interaction_mode") != "signUp" {
			t.Errorf("authorization request first_screen=%q interaction_mode=%q, want register, signUp", q.Get("first_screen"), q.Get("interaction_mode"))
		}
		callback, forms := b.authorize(t, p, page.Location.String())
		if cq := callback.Query(); cq.Get("error") != "" || cq.Get("code") == "" || len(forms) != 2 {
			t.Fatalf("the provider answered the sign-up request with %s after forms %v", callback, forms)
		}
	})

	t.Run("return_to", func(t *testing.T) {
		b := app.Client(t)
		page := b.Get(t, "/protected")
		if page.Location == nil || page.Location.Path != "/sign-in" || page.Location.Query().Get("return_to") != "/protected" {
			t.Fatalf("GET /protected signed out: want a redirect to /sign-in?return_to=/protected, got %v", page)
		}
		page = b.Get(t, page.Location.String())
		if page.Location == nil {
			t.Fatalf("GET /sign-in?return_to=/protected: %v", page)
		}
		callback, _ := b.authorize(t, p, page.Location.String())
		page = b.Get(t, callback.String())
		if page.Location == nil || page.Location.String() != app.Base+"/protected" {
			t.Fatalf("the callback redirected to %v, want %s/protected", page, app.Base)
		}
		if page = b.Get(t, "/protected"); page.Status != http.StatusOK {
			t.Errorf("GET /protected after sign-in: %v", page)
		}
	})
}

// TestTokensStayCached: a token the session was just given is served from
// the cache when asked for again, even when the cookie has no room for every
// token (SessionStorage then gives up the oldest cached token, never the one
// just minted, and never the identity).
func TestTokensStayCached(t *testing.T) {
	p := startProvider(t, ProviderOptions{}) // tokens live 1 h
	app := startApp(t, p, nil)
	b := app.Client(t)
	b.SignIn(t, p)
	signedIn := b.LargestSetCookie()

	apiPath := "/api/access-token?resource=" + url.QueryEscape(apiResource)
	orgPath := "/api/organization-token?organization_id=" + e2eOrg
	for _, path := range []string{apiPath, orgPath} {
		first, _ := getToken(t, b, path)
		before := p.Stats(t).RefreshGrants
		again, _ := getToken(t, b, path)
		if again != first {
			t.Errorf("%s: asked twice in a row, got a new token", path)
		}
		if n := p.Stats(t).RefreshGrants - before; n != 0 {
			t.Errorf("%s: asked again, cost %d refresh grants; the token just minted must stay cached", path, n)
		}
		if status, body := b.GetJSON(t, "/api/userinfo"); status != http.StatusOK {
			t.Fatalf("userinfo: %d %v", status, body)
		}
	}

	// Alternating two JWTs: with one JWT besides the identity the cookie is
	// near its budget, so the other may have to be minted again. Measured,
	// not asserted: server-side sessions remove the limit.
	before := p.Stats(t).RefreshGrants
	const rounds = 3
	for range rounds {
		getToken(t, b, apiPath)
		getToken(t, b, orgPath)
	}
	t.Logf("Set-Cookie: %d bytes signed in, largest %d; %d rounds alternating the API and organization tokens cost %d refresh grants",
		signedIn, b.LargestSetCookie(), rounds, p.Stats(t).RefreshGrants-before)
	if got := b.LargestSetCookie(); got > 4096 {
		t.Errorf("largest Set-Cookie %d bytes, over 4096", got)
	}
}

// TestSignInCancelled: the user cancels at the provider's login page. The
// callback carries error=access_denied, and the app answers an error page
// naming it, with no session.
func TestSignInCancelled(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	app := startApp(t, p, nil)
	b := app.Client(t)

	page := b.Get(t, "/sign-in")
	if page.Location == nil {
		t.Fatalf("GET /sign-in: %v", page)
	}
	login, _ := b.Follow(t, page.Location.String())
	cancel := findLink(t, login, "Cancel")
	page = b.Get(t, cancel.String())
	for page.Location != nil && page.Location.Host == p.hostport() {
		page = b.Get(t, page.Location.String())
	}
	if page.Location == nil || !strings.HasPrefix(page.Location.String(), app.Base+"/callback?") || page.Location.Query().Get("error") != "access_denied" {
		t.Fatalf("cancelling at the provider: want a redirect to %s/callback with error=access_denied, got %v", app.Base, page)
	}
	callback := page.Location.String()
	page = b.Get(t, callback)
	if page.Status < 400 || !strings.Contains(string(page.Body), "access_denied") {
		t.Errorf("the callback with error=access_denied answered %v; want a 4xx/5xx page naming access_denied", page)
	}
	if home := b.Get(t, "/"); !strings.Contains(string(home.Body), "Not authenticated") {
		t.Errorf("after a cancelled sign-in / says: %v", home)
	}
	// The state is spent: the same callback again is refused too.
	if page = b.Get(t, callback); page.Status < 400 {
		t.Errorf("a replayed callback answered %v; want a 4xx page", page)
	}
}

// findLink returns the target of the first link on page whose text holds text.
func findLink(t testing.TB, page *Page, text string) *url.URL {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		t.Fatal(err)
	}
	var found *url.URL
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if found != nil {
			return
		}
		if n.Type == html.ElementNode && n.Data == "a" && strings.Contains(textOf(n), text) {
			if u, err := page.URL.Parse(attr(n, "href")); err == nil {
				found = u
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if found == nil {
		t.Fatalf("no link %q on %v", text, page)
	}
	return found
}
