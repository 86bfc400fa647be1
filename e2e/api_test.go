package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// apiVariables are the API example's environment variables (CONTRACT.md):
// runAPI passes none of them on from the test's own environment.
var apiVariables = []string{"LOGTO_ENDPOINT", "API_RESOURCE", "ADDR", "API_BASE_URL", "LOGTO_APP_ID", "LOGTO_APP_SECRET"}

// startAPI runs examples/api against p for apiResource, without
// credentials for introspection, and returns its URL (runAPI).
func startAPI(t testing.TB, p *Provider) string {
	t.Helper()
	return runAPI(t, exampleBinary(t, "api"), map[string]string{"LOGTO_ENDPOINT": p.Base, "API_RESOURCE": apiResource})
}

// runAPI runs the examples/api binary bin as a separate process configured
// by vars and nothing else of apiVariables (ADDR defaults to a free loopback
// port), waits for the line with its URL and returns that URL. It is
// stopped on cleanup; a data race it reports fails the test.
func runAPI(t testing.TB, bin string, vars map[string]string) string {
	t.Helper()
	addr := vars["ADDR"]
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
	base := "http://" + addr
	cmd := exec.Command(bin)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(apiVariables, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range vars {
		if k != "ADDR" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, "ADDR="+addr)
	proc := startProcess(t, "api", cmd)
	t.Cleanup(func() {
		if strings.Contains(proc.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the API reported a data race:\n%s", proc.stderr.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if hasLineWith(proc.stdout.String(), base) {
			return base
		}
		if !proc.running() {
			proc.failf(t, "the API exited before printing its URL %s", base)
		}
		if time.Now().After(deadline) {
			proc.failf(t, "the API printed no line with %s within 30 s", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callAPI sends GET target with the bearer token and decodes the JSON answer.
func callAPI(t testing.TB, target, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("GET %s: HTTP %d, body is not a JSON object: %q", target, resp.StatusCode, raw)
	}
	return resp, body
}

// TestAPIWithProviderTokens checks that examples/api accepts the real
// provider's resource tokens and refuses its tokens for another audience.
func TestAPIWithProviderTokens(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	app := startApp(t, p, nil)
	b := app.Client(t)
	b.SignIn(t, p)
	resourceToken, _ := getToken(t, b, "/api/access-token?resource="+url.QueryEscape(apiResource))
	orgToken, _ := getToken(t, b, "/api/organization-token?organization_id="+e2eOrg)

	api := startAPI(t, p)

	t.Run("resource token accepted", func(t *testing.T) {
		resp, body := callAPI(t, api+"/api/private", resourceToken)
		if resp.StatusCode != http.StatusOK || body["sub"] != e2eUser {
			t.Fatalf("GET /api/private with the resource token: %d %v, want 200 with sub %q", resp.StatusCode, body, e2eUser)
		}
		if !audienceIs(body["aud"], apiResource) {
			t.Errorf("claims %v: aud is not %s", body, apiResource)
		}
	})
	t.Run("organization token refused", func(t *testing.T) {
		resp, body := callAPI(t, api+"/api/private", orgToken)
		challenge := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
			t.Fatalf("GET /api/private with the organization token: %d %v, want 401 invalid_token", resp.StatusCode, body)
		}
		if !strings.HasPrefix(challenge, "Bearer ") || !strings.Contains(challenge, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q, want Bearer with error=\"invalid_token\"", challenge)
		}
	})
}

// TestAPIOrganizationScopedTokens checks examples/api with the real
// provider's organization-scoped token of the API (aud the API, claim
// organization_id): good for its own organization's reports only, refused
// on the routes that know no organization (its scopes come from the
// user's roles in that one organization).
func TestAPIOrganizationScopedTokens(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	grant := codeFlow(t, p, "openid offline_access read:messages read:reports "+logtoOrganizationsScope, "consent", apiResource, logtoOrganizationsResource)
	status, res := p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(grant["refresh_token"])},
		"resource": {apiResource}, "organization_id": {e2eOrg}})
	if status != http.StatusOK {
		t.Fatalf("organization-scoped token: %d %v", status, res)
	}
	orgScoped := str(res["access_token"])
	status, res = p.TokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(res["refresh_token"])},
		"resource": {apiResource}})
	if status != http.StatusOK {
		t.Fatalf("resource token: %d %v", status, res)
	}
	resourceToken := str(res["access_token"])

	api := startAPI(t, p)
	reports := api + "/api/organizations/" + e2eOrg + "/reports"
	for _, tc := range []struct {
		name, target, token string
		status              int
		errCode             string
	}{
		{"its organization's reports", reports, orgScoped, http.StatusOK, ""},
		{"another organization's reports", api + "/api/organizations/" + otherOrg + "/reports", orgScoped, http.StatusUnauthorized, "invalid_token"},
		{"a route outside organizations", api + "/api/private", orgScoped, http.StatusUnauthorized, "invalid_token"},
		{"a scoped route outside organizations", api + "/api/private-scoped", orgScoped, http.StatusUnauthorized, "invalid_token"},
		{"reports with a token outside organizations", reports, resourceToken, http.StatusUnauthorized, "invalid_token"},
		{"the token outside organizations where it belongs", api + "/api/private-scoped", resourceToken, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := callAPI(t, tc.target, tc.token)
			if resp.StatusCode != tc.status || (tc.errCode != "" && body["error"] != tc.errCode) {
				t.Fatalf("GET %s: %d %v, want %d %s", tc.target, resp.StatusCode, body, tc.status, tc.errCode)
			}
			if tc.status == http.StatusOK && tc.target == reports && body["organization_id"] != e2eOrg {
				t.Errorf("reports answer %v, want organization_id %s", body, e2eOrg)
			}
			if tc.errCode != "" && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="`+tc.errCode+`"`) {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}
