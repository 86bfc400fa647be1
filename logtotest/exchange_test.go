package logtotest_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/logtotest"
)

// exchange asks for a token exchange as the web application.
func exchange(t *testing.T, p *logtotest.Provider, subjectToken, subjectType string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type":         {logtotest.GrantTypeTokenExchange},
		"subject_token":      {subjectToken},
		"subject_token_type": {subjectType},
	}
	for k, v := range extra {
		form[k] = v
	}
	return post(t, p, "/token", form)
}

// checker lets a check take a call's two results whole:
// check(t).exchanged(exchange(...)).
type checker struct{ *testing.T }

func check(t *testing.T) checker { return checker{t} }

// exchanged checks a successful exchange answer and returns the claims of
// its JWT access token, nil for an opaque one.
func (t checker) exchanged(status int, body map[string]any) map[string]any {
	t.Helper()
	if status != 200 {
		t.Fatalf("exchange: %d %v", status, body)
	}
	if body["issued_token_type"] != logtotest.TokenTypeAccessToken || body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 {
		t.Errorf("answer %v", body)
	}
	for _, k := range []string{"refresh_token", "id_token"} {
		if _, ok := body[k]; ok {
			t.Errorf("exchange answered a %s", k)
		}
	}
	raw, _ := body["access_token"].(string)
	if strings.Count(raw, ".") != 2 {
		return nil // opaque
	}
	_, claims := decodeJWT(t.T, raw)
	return claims
}

func exchangeOptions() logtotest.Options {
	o := m2mOptions()
	o.ExtraUsers = []logtotest.User{logtotest.SecondUser()}
	return o
}

func TestTokenExchangePersonalAccessToken(t *testing.T) {
	p := logtotest.NewTestProvider(t, exchangeOptions())
	second := logtotest.SecondUser().Subject
	pat, err := p.MintPersonalAccessToken(second)
	if err != nil {
		t.Fatal(err)
	}
	const patType = logtotest.TokenTypePersonalAccessToken

	// A resource token for the PAT's user, for the client that asks; the
	// PAT works again and again.
	for range 2 {
		claims := check(t).exchanged(exchange(t, p, pat, patType, url.Values{"resource": {api}}))
		for k, want := range map[string]any{
			"iss": p.Issuer(), "sub": second, "aud": api, "client_id": p.ClientID(), "scope": "read:messages write:messages",
		} {
			if claims[k] != want {
				t.Errorf("%s = %v, want %v", k, claims[k], want)
			}
		}
		if _, ok := claims["act"]; ok {
			t.Errorf("act without an actor token: %v", claims)
		}
	}
	claims := check(t).exchanged(exchange(t, p, pat, patType, url.Values{"resource": {api}, "scope": {"read:messages"}}))
	if claims["scope"] != "read:messages" {
		t.Errorf("narrowed scope %v", claims["scope"])
	}

	// Organization tokens only for the user's organizations.
	status, body := exchange(t, p, pat, patType, url.Values{"organization_id": {"org-1"}})
	wantError(t, status, body, 403, "access_denied")
	mainPAT, err := p.MintPersonalAccessToken("")
	if err != nil {
		t.Fatal(err)
	}
	claims = check(t).exchanged(exchange(t, p, mainPAT, patType, url.Values{"organization_id": {"org-1"}}))
	if claims["sub"] != "dev-user-1" || claims["aud"] != "urn:logto:organization:org-1" ||
		claims["organization_id"] != "org-1" || claims["scope"] != "read:members" {
		t.Errorf("organization token claims %v", claims)
	}

	// Neither: an opaque token good for userinfo, with the user's claims.
	status, body = exchange(t, p, pat, patType, url.Values{"scope": {"openid profile"}})
	if check(t).exchanged(status, body) != nil || body["scope"] != "openid profile" {
		t.Fatalf("opaque exchange: %v", body)
	}
	req, _ := http.NewRequest(http.MethodGet, p.Issuer()+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	if status, info := do(t, req); status != 200 || info["sub"] != second || info["name"] != "Second User" {
		t.Errorf("userinfo with the exchanged token: %d %v", status, info)
	}

	// The M2M application may exchange too.
	status, body = postAs(t, p, "/token", p.M2MClientID(), p.M2MClientSecret(), url.Values{
		"grant_type": {logtotest.GrantTypeTokenExchange}, "subject_token": {pat}, "subject_token_type": {patType}, "resource": {api},
	})
	if claims := check(t).exchanged(status, body); claims["client_id"] != p.M2MClientID() || claims["sub"] != second {
		t.Errorf("M2M exchange claims %v", claims)
	}

	// Revoked, then refused.
	if err := p.RevokePersonalAccessToken(pat); err != nil {
		t.Fatal(err)
	}
	status, body = exchange(t, p, pat, patType, url.Values{"resource": {api}})
	wantError(t, status, body, 400, "invalid_grant")
	if err := p.RevokePersonalAccessToken("pat_unknown"); err == nil {
		t.Error("revoked a token never minted")
	}
	if _, err := p.MintPersonalAccessToken("nobody"); err == nil {
		t.Error("minted a PAT for an unknown user")
	}
	if n := p.Grants(logtotest.GrantTypeTokenExchange); n != 8 {
		t.Errorf("Grants(token exchange) = %d, want 8", n)
	}
}

func TestTokenExchangeImpersonation(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	opts := exchangeOptions()
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := logtotest.NewTestProvider(t, opts)
	const typ = logtotest.TokenTypeAccessToken

	st, err := p.MintSubjectToken(logtotest.SecondUser().Subject)
	if err != nil {
		t.Fatal(err)
	}
	// A refused request does not spend it.
	status, body := exchange(t, p, st, typ, url.Values{"organization_id": {"org-1"}})
	wantError(t, status, body, 403, "access_denied")
	claims := check(t).exchanged(exchange(t, p, st, typ, url.Values{"resource": {api}}))
	if claims["sub"] != logtotest.SecondUser().Subject {
		t.Errorf("sub %v", claims["sub"])
	}
	// Single use.
	status, body = exchange(t, p, st, typ, url.Values{"resource": {api}})
	wantError(t, status, body, 400, "invalid_grant")

	// Expires after 10 minutes.
	st, _ = p.MintSubjectToken("")
	st2, _ := p.MintSubjectToken("")
	mu.Lock()
	now = now.Add(logtotest.SubjectTokenTTL - time.Second)
	mu.Unlock()
	check(t).exchanged(exchange(t, p, st, typ, url.Values{"resource": {api}}))
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	status, body = exchange(t, p, st2, typ, url.Values{"resource": {api}})
	wantError(t, status, body, 400, "invalid_grant")

	// Unknown, or a PAT posing as a subject token.
	status, body = exchange(t, p, "sub_unknown", typ, url.Values{"resource": {api}})
	wantError(t, status, body, 400, "invalid_grant")
	pat, _ := p.MintPersonalAccessToken("")
	status, body = exchange(t, p, pat, typ, url.Values{"resource": {api}})
	wantError(t, status, body, 400, "invalid_grant")

	// A subject token of a main user SetUser replaced is dead.
	st, _ = p.MintSubjectToken("")
	p.SetUser(logtotest.User{Subject: "someone-else"})
	status, body = exchange(t, p, st, typ, url.Values{"resource": {api}})
	wantError(t, status, body, 400, "invalid_grant")
}

func TestTokenExchangeActor(t *testing.T) {
	p := logtotest.NewTestProvider(t, exchangeOptions())
	actorTok, _ := newFlow(t, p).login(t) // dev-user-1's opaque access token, scope openid...
	pat, _ := p.MintPersonalAccessToken(logtotest.SecondUser().Subject)
	const patType = logtotest.TokenTypePersonalAccessToken

	claims := check(t).exchanged(exchange(t, p, pat, patType, url.Values{
		"resource": {api}, "actor_token": {actorTok.AccessToken}, "actor_token_type": {logtotest.TokenTypeAccessToken},
	}))
	act, _ := claims["act"].(map[string]any)
	if claims["sub"] != logtotest.SecondUser().Subject || act["sub"] != "dev-user-1" || len(act) != 1 {
		t.Errorf("delegated token claims %v", claims)
	}

	// A JWT access token is no actor token, as in Logto.
	jwt := check(t).token(exchange(t, p, pat, patType, url.Values{"resource": {api}}))
	for name, tc := range map[string]struct {
		form url.Values
		code string
	}{
		"unknown actor":          {url.Values{"actor_token": {"nope"}, "actor_token_type": {logtotest.TokenTypeAccessToken}}, "invalid_grant"},
		"JWT actor":              {url.Values{"actor_token": {jwt}, "actor_token_type": {logtotest.TokenTypeAccessToken}}, "invalid_grant"},
		"actor without type":     {url.Values{"actor_token": {actorTok.AccessToken}}, "invalid_request"},
		"type without actor":     {url.Values{"actor_token_type": {logtotest.TokenTypeAccessToken}}, "invalid_request"},
		"unsupported actor type": {url.Values{"actor_token": {actorTok.AccessToken}, "actor_token_type": {"urn:ietf:params:oauth:token-type:id_token"}}, "invalid_request"},
	} {
		tc.form.Set("resource", api)
		status, body := exchange(t, p, pat, patType, tc.form)
		if status != 400 || body["error"] != tc.code {
			t.Errorf("%s: %d %v, want %s", name, status, body, tc.code)
		}
	}
	// An actor token without openid, from a sign-in without it, is refused.
	f := newFlow(t, p, "openid", "offline_access")
	tok, _ := f.login(t)
	status, body := refresh(t, p, tok.RefreshToken, url.Values{"scope": {"offline_access"}})
	if status != 200 || body["scope"] != "offline_access" {
		t.Fatalf("refresh without openid: %d %v", status, body)
	}
	status, body = exchange(t, p, pat, patType, url.Values{
		"resource": {api}, "actor_token": {body["access_token"].(string)}, "actor_token_type": {logtotest.TokenTypeAccessToken},
	})
	wantError(t, status, body, 400, "invalid_grant")
}

// token returns the access token of a successful exchange.
func (t checker) token(status int, body map[string]any) string {
	t.Helper()
	t.exchanged(status, body)
	return body["access_token"].(string)
}

func TestTokenExchangeRefused(t *testing.T) {
	p := logtotest.NewTestProvider(t, exchangeOptions())
	pat, _ := p.MintPersonalAccessToken("")
	form := url.Values{
		"grant_type": {logtotest.GrantTypeTokenExchange}, "subject_token": {pat},
		"subject_token_type": {logtotest.TokenTypePersonalAccessToken}, "resource": {api},
	}
	// The native application is not allowed by default.
	status, body := postAs(t, p, "/token", p.NativeClientID(), "", form)
	wantError(t, status, body, 400, "unauthorized_client")
	if d, _ := body["error_description"].(string); !strings.Contains(d, "token exchange is not allowed for this application") {
		t.Errorf("description %q", d)
	}
	for name, tc := range map[string]struct {
		change url.Values
		code   string
	}{
		"unsupported type":    {url.Values{"subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"}}, "invalid_request"},
		"no subject token":    {url.Values{"subject_token": {""}}, "invalid_request"},
		"no type":             {url.Values{"subject_token_type": {""}}, "invalid_request"},
		"unknown PAT":         {url.Values{"subject_token": {"pat_nope"}}, "invalid_grant"},
		"unknown resource":    {url.Values{"resource": {"https://unknown.example.com"}}, "invalid_target"},
		"two resources":       {url.Values{"resource": {api, otherAPI}}, "invalid_target"},
		"organization as URN": {url.Values{"resource": {logtotest.OrganizationsResource}}, "invalid_target"},
	} {
		f := cloneQuery(form)
		for k, v := range tc.change {
			f[k] = v
		}
		status, body := post(t, p, "/token", f)
		if status != 400 || body["error"] != tc.code {
			t.Errorf("%s: %d %v, want %s", name, status, body, tc.code)
		}
	}

	// Allowed per application: here only the native one.
	p = logtotest.NewTestProvider(t, logtotest.Options{TokenExchangeClients: []string{logtotest.DefaultNativeClientID}})
	pat, _ = p.MintPersonalAccessToken("")
	form.Set("subject_token", pat)
	form.Set("resource", logtotest.DefaultResource)
	status, body = post(t, p, "/token", form)
	wantError(t, status, body, 400, "unauthorized_client")
	status, body = postAs(t, p, "/token", p.M2MClientID(), p.M2MClientSecret(), form)
	wantError(t, status, body, 400, "unauthorized_client")
	if claims := check(t).exchanged(postAs(t, p, "/token", p.NativeClientID(), "", form)); claims["client_id"] != p.NativeClientID() {
		t.Errorf("native exchange claims %v", claims)
	}
	// And nobody.
	p = logtotest.NewTestProvider(t, logtotest.Options{TokenExchangeClients: []string{}})
	pat, _ = p.MintPersonalAccessToken("")
	form.Set("subject_token", pat)
	status, body = post(t, p, "/token", form)
	wantError(t, status, body, 400, "unauthorized_client")
}
