package logtotest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

func TestUserinfo(t *testing.T) {
	u := logtotest.DefaultUser()
	u.CustomData = map[string]any{"level": 3.0}
	u.Identities = map[string]any{"github": map[string]any{"userId": "42"}}
	u.Organizations = []string{"o1"}
	u.OrganizationData = []map[string]any{{"id": "o1", "name": "One", "description": nil}}
	p := logtotest.NewTestProvider(t, logtotest.Options{User: &u})
	f := newFlow(t, p, "openid", "custom_data", "identities", "urn:logto:scope:organizations", "email")
	tok, _ := f.login(t)

	p.SetFaults(logtotest.Faults{UserinfoClaims: func(c map[string]any) { c["extra"] = "x" }})
	get := func(authz string) (int, map[string]any, string) {
		req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/me", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m, resp.Header.Get("WWW-Authenticate")
	}
	status, m, _ := get("Bearer " + tok.AccessToken)
	if status != 200 || m["sub"] != "dev-user-1" || m["email"] != "dev@example.com" || m["extra"] != "x" ||
		fmt.Sprint(m["custom_data"]) != "map[level:3]" || fmt.Sprint(m["identities"]) != "map[github:map[userId:42]]" ||
		fmt.Sprint(m["organization_data"]) != "[map[description:<nil> id:o1 name:One]]" || m["name"] != nil {
		t.Errorf("userinfo %d %v", status, m)
	}
	// The hook edited a copy: the user's data is untouched.
	if u.CustomData["extra"] != nil {
		t.Error("hook reached the user's data")
	}
	for _, authz := range []string{"", "Bearer nope", "Basic eDp5", "Bearer"} {
		status, m, www := get(authz)
		if status != 401 || m["error"] != "invalid_token" || !strings.HasPrefix(www, "Bearer ") {
			t.Errorf("authz %q: %d %v %q", authz, status, m, www)
		}
	}
	if p.Requests("userinfo") != 5 {
		t.Errorf("userinfo requests = %d", p.Requests("userinfo"))
	}
}

func TestRevocation(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	tok, _ := f.login(t)

	p.SetFaults(logtotest.Faults{RevocationStatus: 503})
	if status, _ := post(t, p, "/token/revocation", url.Values{"token": {tok.RefreshToken}}); status != 503 {
		t.Errorf("injected revocation status %d", status)
	}
	p.SetFaults(logtotest.Faults{})
	if status, body := post(t, p, "/token/revocation", url.Values{"token": {tok.RefreshToken}}); status != 200 {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, _ := post(t, p, "/token/revocation", url.Values{"token": {"never-issued"}}); status != 200 {
		t.Errorf("unknown token: %d", status)
	}
	if got := p.RevokedTokens(); !slices.Equal(got, []string{tok.RefreshToken, "never-issued"}) {
		t.Errorf("revoked tokens %v", got)
	}
	status, body := refresh(t, p, tok.RefreshToken, nil)
	wantError(t, status, body, 400, "invalid_grant")

	// Access token revocation.
	if _, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo before access token revocation: %v", err)
	}
	post(t, p, "/token/revocation", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}})
	if _, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("revoked access token still good for userinfo")
	}

	// Client authentication is required.
	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token/revocation", strings.NewReader("token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body = do(t, req)
	wantError(t, status, body, 401, "invalid_client")
}

func TestEndSession(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{PostLogoutRedirectURIs: []string{"http://localhost:9999/bye"}})
	f := newFlow(t, p)
	tok, _ := f.login(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	endSession := func(q url.Values) *http.Response {
		resp, err := client.Get(p.Issuer() + "/session/end?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	q := url.Values{
		"client_id":                {p.ClientID()},
		"id_token_hint":            {idToken(t, tok)},
		"post_logout_redirect_uri": {"http://localhost:9999/bye"},
		"state":                    {"bye-state"},
	}
	resp := endSession(q)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "http://localhost:9999/bye?state=bye-state" {
		t.Errorf("end session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := p.LastEndSessionRequest(); got.Get("state") != "bye-state" || got.Get("id_token_hint") == "" {
		t.Errorf("recorded %v", got)
	}
	// Offline grants survive end-session.
	if status, body := refresh(t, p, tok.RefreshToken, nil); status != 200 {
		t.Errorf("refresh after end session: %d %v", status, body)
	}

	bad := cloneQuery(q)
	bad.Set("post_logout_redirect_uri", "http://evil.example.com/")
	if resp := endSession(bad); resp.StatusCode != 400 {
		t.Errorf("unregistered post-logout URI: %d", resp.StatusCode)
	}
	bad = cloneQuery(q)
	bad.Set("id_token_hint", "a.b.c")
	if resp := endSession(bad); resp.StatusCode != 400 {
		t.Errorf("forged hint: %d", resp.StatusCode)
	}
	if resp := endSession(url.Values{}); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("plain end session: %d", resp.StatusCode)
	}
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
