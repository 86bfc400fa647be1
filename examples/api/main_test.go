package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

const (
	testResource  = "https://api.example.com"
	otherResource = "https://other.example.com"
)

// syncBuffer is run's stdout in tests; safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(s.b.String(), "\n")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startAPI runs run() with env (plus a free ADDR) until the test ends, and
// waits for want lines of output, the first holding the API's URL. It
// returns the API's base URL and the output.
func startAPI(t *testing.T, env map[string]string, want int) (string, []string) {
	t.Helper()
	addr := freeAddr(t)
	env["ADDR"] = addr
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after its context ended")
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		lines := out.lines()
		if len(lines) > want && strings.Contains(lines[0], base) {
			return base, lines[:want]
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v; output %q", err, lines)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d lines with %s within 15 s: %q", want, base, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func get(t *testing.T, method, u, auth string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: HTTP %d, body is not a JSON object: %q", method, u, resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, u, ct)
	}
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s: HTTP %d", method, u, resp.StatusCode)
	}
	return a
}

func TestDevProviderPrintsWorkingCurl(t *testing.T) {
	base, lines := startAPI(t, map[string]string{}, 6)
	var checked, opaque int
	for _, line := range lines[1:] {
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		_, rest, _ := strings.Cut(line, "'Authorization: ")
		auth, target, ok := strings.Cut(rest, "' ")
		if !ok || !strings.HasPrefix(target, base+"/api/") {
			t.Fatalf("malformed curl line %q", line)
		}
		a := get(t, http.MethodGet, target, auth)
		if a.status != http.StatusOK {
			t.Errorf("GET %s with the printed token: %d %v", target, a.status, a.body)
		}
		if !strings.Contains(auth, ".") {
			opaque++ // checked by introspection at the dev provider
		}
		checked++
	}
	if checked != 4 || opaque != 1 || !strings.Contains(strings.Join(lines, "\n"), "/reports") {
		t.Fatalf("want 4 curl lines, one for the reports and one with an opaque token, got %d (%d opaque) in %q", checked, opaque, lines)
	}
	a := get(t, http.MethodGet, base+"/api/public", "")
	if a.status != http.StatusOK || a.body["message"] == nil {
		t.Errorf("GET /api/public: %d %v", a.status, a.body)
	}
}

// tokens signs the provider's user in asking for scopes and returns its
// token for resource and, when org is set, its organization token for org.
func tokens(t *testing.T, p *logtotest.Provider, resource, org string, scopes ...string) (string, string) {
	t.Helper()
	ctx := context.Background()
	c, err := signIn(ctx, p, resource, append([]string{logto.ScopeOrganizations}, scopes...))
	if err != nil {
		t.Fatal(err)
	}
	at, err := c.GetAccessToken(ctx, resource)
	if err != nil {
		t.Fatal(err)
	}
	if org == "" {
		return at.Token, ""
	}
	ot, err := c.GetOrganizationToken(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	return at.Token, ot.Token
}

// orgResourceToken signs the provider's user in asking for scopes and
// returns its organization-scoped token of resource for org.
func orgResourceToken(t *testing.T, p *logtotest.Provider, resource, org string, scopes ...string) string {
	t.Helper()
	ctx := context.Background()
	c, err := signIn(ctx, p, resource, append([]string{logto.ScopeOrganizations}, scopes...))
	if err != nil {
		t.Fatal(err)
	}
	at, err := c.GetOrganizationResourceToken(ctx, resource, org)
	if err != nil {
		t.Fatal(err)
	}
	return at.Token
}

// mfaToken signs the provider's user in and returns its token for
// resource, with the acr of a sign-in with MFA.
func mfaToken(t *testing.T, p *logtotest.Provider, resource string) string {
	t.Helper()
	p.SetFaults(logtotest.Faults{AccessTokenClaims: func(m map[string]any) { m["acr"] = acrMFA }})
	defer p.SetFaults(logtotest.Faults{})
	tok, _ := tokens(t, p, resource, "", "read:messages")
	return tok
}

// opaqueToken mints an opaque access token of resource at the provider.
func opaqueToken(t *testing.T, p *logtotest.Provider, resource string, scopes ...string) string {
	t.Helper()
	tok, err := p.MintOpaqueAccessToken("", resource, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoutes(t *testing.T) {
	user := logtotest.DefaultUser()
	user.Organizations = []string{"org-1", "org-2"}
	p := logtotest.NewTestProvider(t, logtotest.Options{
		User:      &user,
		Resources: []string{testResource, otherResource},
		ResourceScopes: map[string][]string{
			testResource: {"read:messages", "write:messages", "read:reports"},
		},
		OrganizationScopes: []string{"read:members", "write:members"},
	})
	base, _ := startAPI(t, map[string]string{"LOGTO_ENDPOINT": p.Endpoint(), "API_RESOURCE": testResource,
		"LOGTO_APP_ID": p.M2MClientID(), "LOGTO_APP_SECRET": p.M2MClientSecret()}, 1)
	resourceMetadata := `resource_metadata="` + base + `/.well-known/oauth-protected-resource"`

	full, org1 := tokens(t, p, testResource, "org-1", "read:messages", "read:members")
	_, org2 := tokens(t, p, testResource, "org-2", "read:messages", "read:members")
	narrow, org1Narrow := tokens(t, p, testResource, "org-1", "write:messages", "write:members")
	other, _ := tokens(t, p, otherResource, "")
	orgRes1 := orgResourceToken(t, p, testResource, "org-1", "read:messages", "read:reports")
	orgRes2 := orgResourceToken(t, p, testResource, "org-2", "read:messages", "read:reports")
	orgRes1Narrow := orgResourceToken(t, p, testResource, "org-1", "read:messages")
	mfa := mfaToken(t, p, testResource)
	opaque := opaqueToken(t, p, testResource, "read:messages")
	opaqueNarrow := opaqueToken(t, p, testResource, "write:messages")
	opaqueOther := opaqueToken(t, p, otherResource)
	revoked := opaqueToken(t, p, testResource, "read:messages")
	if status := revoke(t, p, revoked); status != http.StatusOK {
		t.Fatalf("revocation: %d", status)
	}

	bearer := func(tok string) string { return "Bearer " + tok }
	const (
		members1 = "/api/organizations/org-1/members"
		reports1 = "/api/organizations/org-1/reports"
	)
	cases := []struct {
		name, method, path, auth string
		status                   int
		errCode                  string // the JSON error, and the challenge's error= when 401/403
		bareChallenge            bool
	}{
		{"public without token", "GET", "/api/public", "", 200, "", false},
		{"public with token", "GET", "/api/public", bearer(full), 200, "", false},
		{"public with garbage token", "GET", "/api/public", "Bearer garbage", 200, "", false},
		{"private without token", "GET", "/api/private", "", 401, "invalid_request", true},
		{"private with another scheme", "GET", "/api/private", "Basic dXNlcjpwYXNz", 401, "invalid_request", true},
		{"private with garbage", "GET", "/api/private", "Bearer garbage", 401, "invalid_token", false},
		{"private with malformed header", "GET", "/api/private", "Bearer a b", 400, "invalid_request", false},
		{"private with a token for another resource", "GET", "/api/private", bearer(other), 401, "invalid_token", false},
		{"private with an organization token", "GET", "/api/private", bearer(org1), 401, "invalid_token", false},
		{"private valid", "GET", "/api/private", bearer(full), 200, "", false},
		{"private valid without read:messages", "GET", "/api/private", bearer(narrow), 200, "", false},
		{"private-scoped without token", "GET", "/api/private-scoped", "", 401, "invalid_request", true},
		{"private-scoped with garbage", "GET", "/api/private-scoped", "Bearer garbage", 401, "invalid_token", false},
		{"private-scoped without read:messages", "GET", "/api/private-scoped", bearer(narrow), 403, "insufficient_scope", false},
		{"private-scoped valid", "GET", "/api/private-scoped", bearer(full), 200, "", false},
		{"members without token", "GET", members1, "", 401, "invalid_request", true},
		{"members with garbage", "GET", members1, "Bearer garbage", 401, "invalid_token", false},
		{"members with the org token", "GET", members1, bearer(org1), 200, "", false},
		{"members with another org's token", "GET", members1, bearer(org2), 401, "invalid_token", false},
		{"members with a resource token", "GET", members1, bearer(full), 401, "invalid_token", false},
		{"members without read:members", "GET", members1, bearer(org1Narrow), 403, "insufficient_scope", false},
		{"members of org-2 with its token", "GET", "/api/organizations/org-2/members", bearer(org2), 200, "", false},
		{"members of an odd id", "GET", "/api/organizations/%20%22x%5C/members", bearer(org1), 401, "invalid_token", false},
		{"private with an organization-scoped token", "GET", "/api/private", bearer(orgRes1), 401, "invalid_token", false},
		{"private-scoped with an organization-scoped token", "GET", "/api/private-scoped", bearer(orgRes1), 401, "invalid_token", false},
		{"reports without token", "GET", reports1, "", 401, "invalid_request", true},
		{"reports with garbage", "GET", reports1, "Bearer garbage", 401, "invalid_token", false},
		{"reports with its organization's token", "GET", reports1, bearer(orgRes1), 200, "", false},
		{"reports with another organization's token", "GET", reports1, bearer(orgRes2), 401, "invalid_token", false},
		{"reports of org-2 with its token", "GET", "/api/organizations/org-2/reports", bearer(orgRes2), 200, "", false},
		{"reports with a resource token", "GET", reports1, bearer(full), 401, "invalid_token", false},
		{"reports with an organization token", "GET", reports1, bearer(org1), 401, "invalid_token", false},
		{"reports without read:reports", "GET", reports1, bearer(orgRes1Narrow), 403, "insufficient_scope", false},
		{"members with an organization-scoped token", "GET", members1, bearer(orgRes1), 401, "invalid_token", false},
		{"private-mfa without token", "GET", "/api/private-mfa", "", 401, "invalid_request", true},
		{"private-mfa with garbage", "GET", "/api/private-mfa", "Bearer garbage", 401, "invalid_token", false},
		{"private-mfa without mfa", "GET", "/api/private-mfa", bearer(full), 401, "insufficient_user_authentication", false},
		{"private-mfa with mfa", "GET", "/api/private-mfa", bearer(mfa), 200, "", false},
		{"private-mfa with an organization-scoped token", "GET", "/api/private-mfa", bearer(orgRes1), 401, "invalid_token", false},
		{"private with an opaque token", "GET", "/api/private", bearer(opaque), 200, "", false},
		{"private-scoped with an opaque token", "GET", "/api/private-scoped", bearer(opaque), 200, "", false},
		{"private-scoped with an opaque token without read:messages", "GET", "/api/private-scoped", bearer(opaqueNarrow), 403, "insufficient_scope", false},
		{"private with an opaque token of another resource", "GET", "/api/private", bearer(opaqueOther), 401, "invalid_token", false},
		{"private with a revoked opaque token", "GET", "/api/private", bearer(revoked), 401, "invalid_token", false},
		{"private-mfa with an opaque token", "GET", "/api/private-mfa", bearer(opaque), 401, "insufficient_user_authentication", false},
		{"reports with an opaque token", "GET", reports1, bearer(opaque), 401, "invalid_token", false},
		{"POST private", "POST", "/api/private", bearer(full), 405, "method_not_allowed", false},
		{"POST metadata", "POST", "/.well-known/oauth-protected-resource", "", 405, "method_not_allowed", false},
		{"unknown route", "GET", "/api/nothing", bearer(full), 404, "not_found", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, tc.method, base+tc.path, tc.auth)
			if a.status != tc.status {
				t.Fatalf("%s %s: got %d %v, want %d", tc.method, tc.path, a.status, a.body, tc.status)
			}
			challenge := a.header.Get("WWW-Authenticate")
			if tc.errCode != "" {
				if a.body["error"] != tc.errCode || a.body["error_description"] == nil {
					t.Errorf("body %v, want error %q with a description", a.body, tc.errCode)
				}
			}
			switch {
			case tc.bareChallenge:
				if !strings.HasPrefix(challenge, "Bearer") || strings.Contains(challenge, "error=") {
					t.Errorf("WWW-Authenticate %q, want a bare Bearer challenge", challenge)
				}
			case tc.status == 401 || tc.status == 403:
				if !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, `error="`+tc.errCode+`"`) {
					t.Errorf("WWW-Authenticate %q, want Bearer with error=%q", challenge, tc.errCode)
				}
			}
			if tc.status == 403 && !strings.Contains(challenge, `scope="read:`) {
				t.Errorf("WWW-Authenticate %q names no required scope", challenge)
			}
			if (tc.status == 401 || tc.status == 403) && !strings.HasSuffix(challenge, ", "+resourceMetadata) {
				t.Errorf("WWW-Authenticate %q, want it ending with %s", challenge, resourceMetadata)
			}
			if tc.errCode == "insufficient_user_authentication" && !strings.Contains(challenge, `acr_values="`+acrMFA+`"`) {
				t.Errorf("WWW-Authenticate %q, want acr_values=%q", challenge, acrMFA)
			}
		})
	}

	t.Run("resource metadata", func(t *testing.T) {
		a := get(t, "GET", base+"/.well-known/oauth-protected-resource", "")
		servers, _ := a.body["authorization_servers"].([]any)
		methods, _ := a.body["bearer_methods_supported"].([]any)
		scopes, _ := a.body["scopes_supported"].([]any)
		if a.status != 200 || a.body["resource"] != testResource || len(servers) != 1 || servers[0] != p.Issuer() ||
			len(methods) != 1 || methods[0] != "header" || !slices.Contains(scopes, any("read:messages")) || !slices.Contains(scopes, any("read:reports")) {
			t.Errorf("metadata %d %v", a.status, a.body)
		}
	})

	t.Run("opaque claims", func(t *testing.T) {
		a := get(t, "GET", base+"/api/private", bearer(opaque))
		if a.body["sub"] != user.Subject || a.body["aud"] != testResource || a.body["active"] != true {
			t.Errorf("claims %v: want sub %q, aud %q and the introspection answer", a.body, user.Subject, testResource)
		}
		a = get(t, "GET", base+"/api/private-mfa", bearer(mfa))
		if a.body["acr"] != acrMFA {
			t.Errorf("private-mfa claims %v: want acr %q", a.body, acrMFA)
		}
	})

	t.Run("claims", func(t *testing.T) {
		a := get(t, "GET", base+"/api/private", bearer(full))
		if a.body["sub"] != user.Subject || a.body["aud"] != testResource {
			t.Errorf("claims %v: want sub %q and aud %q", a.body, user.Subject, testResource)
		}
		if s, _ := a.body["scope"].(string); !strings.Contains(" "+s+" ", " read:messages ") {
			t.Errorf("scope %q lacks read:messages", s)
		}
		a = get(t, "GET", base+"/api/private-scoped", bearer(full))
		if a.body["sub"] != user.Subject {
			t.Errorf("private-scoped claims %v: want sub %q", a.body, user.Subject)
		}
		a = get(t, "GET", base+members1, bearer(org1))
		if a.body["organization_id"] != "org-1" {
			t.Errorf("members answer %v: want organization_id org-1", a.body)
		}
		a = get(t, "GET", base+reports1, bearer(orgRes1))
		if a.body["organization_id"] != "org-1" || a.body["reports"] == nil {
			t.Errorf("reports answer %v: want organization_id org-1 and reports", a.body)
		}
	})
}

// revoke revokes token at the provider as its web app.
func revoke(t *testing.T, p *logtotest.Provider, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.Issuer()+"/token/revocation", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID(), p.ClientSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Without LOGTO_APP_ID and LOGTO_APP_SECRET, opaque tokens are refused
// without asking the provider; API_BASE_URL names the metadata in every
// challenge.
func TestOpaqueTokensNeedCredentials(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	base, _ := startAPI(t, map[string]string{"LOGTO_ENDPOINT": p.Endpoint(), "API_BASE_URL": "https://api.example.com/v1"}, 1)
	a := get(t, "GET", base+"/api/private", "Bearer "+opaqueToken(t, p, logtotest.DefaultResource))
	const rm = `resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1"`
	if a.status != 401 || a.body["error"] != "invalid_token" || !strings.HasSuffix(a.header.Get("WWW-Authenticate"), ", "+rm) {
		t.Errorf("opaque token without credentials: %d %v %s", a.status, a.body, a.header.Get("WWW-Authenticate"))
	}
	if n := p.Requests("introspection"); n != 0 {
		t.Errorf("%d introspection requests", n)
	}
	// The metadata is served at the well-known path, and at the one RFC
	// 9728 forms for a base URL with a path.
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/v1"} {
		if a := get(t, "GET", base+path, ""); a.status != 200 || a.body["resource"] != logtotest.DefaultResource {
			t.Errorf("GET %s: %d %v", path, a.status, a.body)
		}
	}
}

func TestBadSettings(t *testing.T) {
	err := run(context.Background(), func(k string) string {
		if k == "LOGTO_ENDPOINT" {
			return "not a url"
		}
		return ""
	}, io.Discard)
	if err == nil {
		t.Fatal("run accepted LOGTO_ENDPOINT=\"not a url\"")
	}
}

// Without LOGTO_ENDPOINT the API may start the dev provider only for local
// development: the API's own client credentials, or a public API_BASE_URL or
// listen address, make it refuse to start, naming LOGTO_ENDPOINT.
func TestDevProviderNeverStandsIn(t *testing.T) {
	for _, env := range []map[string]string{
		{"LOGTO_APP_ID": "real-api-client", "ADDR": "127.0.0.1:0"},
		{"LOGTO_APP_SECRET": "real-secret", "ADDR": "127.0.0.1:0"},
		{"API_BASE_URL": "https://api.example.com", "ADDR": "127.0.0.1:0"},
		{"API_BASE_URL": "http://localhost.evil.example:4000", "ADDR": "127.0.0.1:0"},
		{"ADDR": "0.0.0.0:0"},
		{"ADDR": ":0"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out := &syncBuffer{}
		err := run(ctx, func(k string) string { return env[k] }, out)
		timedOut := ctx.Err() != nil
		cancel()
		if err == nil || timedOut {
			t.Errorf("%v: run started (err %v); output %q", env, err, out.lines())
			continue
		}
		if !strings.Contains(err.Error(), "LOGTO_ENDPOINT") {
			t.Errorf("%v: error %q does not name LOGTO_ENDPOINT", env, err)
		}
	}
	for _, env := range []map[string]string{
		{},
		{"ADDR": "localhost:4000"},
		{"ADDR": "[::1]:4000", "API_BASE_URL": "http://[::1]:4000"},
		{"LOGTO_ENDPOINT": "https://tenant.logto.app", "LOGTO_APP_ID": "a", "ADDR": ":4000", "API_BASE_URL": "https://api.example.com"},
	} {
		if _, err := loadSettings(func(k string) string { return env[k] }); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}
