package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
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
	base, lines := startAPI(t, map[string]string{}, 5)
	var checked int
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
		checked++
	}
	if checked != 3 || !strings.Contains(strings.Join(lines, "\n"), "/reports") {
		t.Fatalf("want 3 curl lines, one for the reports, got %d in %q", checked, lines)
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
	base, _ := startAPI(t, map[string]string{"LOGTO_ENDPOINT": p.Endpoint(), "API_RESOURCE": testResource}, 1)

	full, org1 := tokens(t, p, testResource, "org-1", "read:messages", "read:members")
	_, org2 := tokens(t, p, testResource, "org-2", "read:messages", "read:members")
	narrow, org1Narrow := tokens(t, p, testResource, "org-1", "write:messages", "write:members")
	other, _ := tokens(t, p, otherResource, "")
	orgRes1 := orgResourceToken(t, p, testResource, "org-1", "read:messages", "read:reports")
	orgRes2 := orgResourceToken(t, p, testResource, "org-2", "read:messages", "read:reports")
	orgRes1Narrow := orgResourceToken(t, p, testResource, "org-1", "read:messages")

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
		{"POST private", "POST", "/api/private", bearer(full), 405, "method_not_allowed", false},
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
		})
	}

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
