package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The command-line examples' contract (CONTRACT.md: examples/m2m and
// examples/cli), run as processes against the node provider.

// commandVariables are the command-line examples' environment variables: a
// run sees exactly the ones the test sets, none from the test's own
// environment.
var commandVariables = []string{
	"LOGTO_ENDPOINT", "LOGTO_APP_ID", "LOGTO_APP_SECRET", "LOGTO_SCOPES", "LOGTO_RESOURCES", "LOGTO_CLI_CACHE",
}

// commandTimeout bounds one run of a command; the sign-ins wait for the test
// to play the person, which takes a few seconds.
const commandTimeout = 30 * time.Second

// startCommand starts bin with args and env as a separate process (stopped
// on cleanup).
func startCommand(t testing.TB, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(commandVariables, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return startProcess(t, filepath.Base(bin)+" "+strings.Join(args, " "), cmd)
}

// commandRun is a finished run of a command.
type commandRun struct {
	stdout, stderr string
	exit           int
}

func (r commandRun) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exit, r.stdout, r.stderr)
}

// runCommand runs bin to its end.
func runCommand(t testing.TB, bin string, env map[string]string, args ...string) commandRun {
	t.Helper()
	return startCommand(t, bin, env, args...).finish(t)
}

// finish waits (at most commandTimeout) for the process to exit and
// returns what it printed and its exit status. A data race the race
// detector reported fails the test.
func (p *process) finish(t testing.TB) commandRun {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(commandTimeout):
		p.failf(t, "%s did not exit within %v", p.name, commandTimeout)
	}
	r := commandRun{stdout: p.stdout.String(), stderr: p.stderr.String()}
	if p.err != nil {
		var ee *exec.ExitError
		if !errors.As(p.err, &ee) {
			p.failf(t, "%s: %v", p.name, p.err)
		}
		r.exit = ee.ExitCode()
	}
	if strings.Contains(r.stderr, "WARNING: DATA RACE") {
		t.Errorf("%s reported a data race:\n%s", p.name, r.stderr)
	}
	return r
}

// awaitStderr waits (at most commandTimeout) until a line of the process's
// standard error matches re, and returns the submatches.
func (p *process) awaitStderr(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(commandTimeout)
	for {
		if m := re.FindStringSubmatch(p.stderr.String()); m != nil {
			return m
		}
		if !p.running() {
			p.failf(t, "%s exited before printing a line matching %s", p.name, re)
		}
		if time.Now().After(deadline) {
			p.failf(t, "%s printed no line matching %s within %v", p.name, re, commandTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refusedWith checks a run that the contract says ends in exit 1 with one
// line on stderr naming code.
func refusedWith(t testing.TB, r commandRun, code string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	named := regexp.MustCompile(`\b` + regexp.QuoteMeta(code) + `\b`)
	if r.exit != 1 || r.stdout != "" || len(lines) != 1 || !named.MatchString(lines[0]) {
		t.Fatalf("want exit 1, nothing on stdout and one line on stderr naming %s; got %v", code, r)
	}
}

// ------------------------------------------------------------------ m2m

// m2mOutput is examples/m2m's JSON line; pointers tell a missing field from
// a zero one.
type m2mOutput struct {
	AccessToken      string         `json:"access_token"`
	TokenType        string         `json:"token_type"`
	ExpiresIn        *int64         `json:"expires_in"`
	Scope            *string        `json:"scope"`
	IssuedTokenType  *string        `json:"issued_token_type"`
	Claims           map[string]any `json:"claims"`
	ProviderRequests *int           `json:"provider_requests"`
	Get              *struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"get"`
}

// TestExampleM2M runs every command of examples/m2m's contract against the
// provider's machine-to-machine apps: client credentials for an API
// resource, an organization, narrowed scopes, -repeat through the cache,
// -get through the transport, token exchange (personal access token,
// impersonation subject token, actor token), and the refusals.
func TestExampleM2M(t *testing.T) {
	p := startProvider(t, ProviderOptions{})
	bin := exampleBinary(t, "m2m")
	keys := providerKeys(t, p)
	env := func(appID, secret string) map[string]string {
		return map[string]string{"LOGTO_ENDPOINT": p.Base, "LOGTO_APP_ID": appID, "LOGTO_APP_SECRET": secret}
	}
	m2mApp := env(m2mClientID, m2mClientSecret)

	// ok runs the command, which must succeed, checks the JSON line's
	// fields and that the token verifies against the provider's keys with
	// the claims the line shows, and returns the line and the claims.
	ok := func(t *testing.T, env map[string]string, args ...string) (m2mOutput, map[string]any) {
		t.Helper()
		r := runCommand(t, bin, env, args...)
		if r.exit != 0 || r.stderr != "" || strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "\n") {
			t.Fatalf("want exit 0 and one line on stdout, nothing on stderr; got %v", r)
		}
		var out m2mOutput
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("stdout is not the JSON line: %v\n%s", err, r.stdout)
		}
		if out.AccessToken == "" || out.TokenType != "Bearer" || out.Scope == nil || out.ProviderRequests == nil ||
			out.ExpiresIn == nil || *out.ExpiresIn < 3590 || *out.ExpiresIn > 3600 {
			t.Fatalf("want access_token, token_type Bearer, expires_in about 3600, scope and provider_requests; got %s", r.stdout)
		}
		claims := verifiedClaims(t, keys, out.AccessToken)
		if !reflect.DeepEqual(out.Claims, claims) {
			t.Errorf("the line's claims %v are not the token's %v", out.Claims, claims)
		}
		return out, claims
	}

	t.Run("client credentials for an API resource", func(t *testing.T) {
		before := p.Grants(t, "client_credentials")
		out, claims := ok(t, m2mApp, "-resource", apiResource)
		if !audienceIs(claims["aud"], apiResource) || claims["sub"] != m2mClientID || claims["client_id"] != m2mClientID {
			t.Errorf("claims %v: want aud %s, sub and client_id %s", claims, apiResource, m2mClientID)
		}
		if *out.Scope != "" || out.IssuedTokenType != nil {
			t.Errorf("scope %q, issued_token_type %v: want no scope (none asked for) and no issued_token_type", *out.Scope, out.IssuedTokenType)
		}
		if *out.ProviderRequests != 1 || p.Grants(t, "client_credentials") != before+1 {
			t.Errorf("provider_requests %d, the provider counted %d client_credentials grants: want 1 and 1",
				*out.ProviderRequests, p.Grants(t, "client_credentials")-before)
		}
	})

	t.Run("-scope: the requested scopes the app's roles cover", func(t *testing.T) {
		out, claims := ok(t, m2mApp, "-resource", apiResource, "-scope", "read:messages write:messages")
		if *out.Scope != "read:messages" || claims["scope"] != "read:messages" || !audienceIs(claims["aud"], apiResource) {
			t.Errorf("scope %q, claims %v: want read:messages for %s", *out.Scope, claims, apiResource)
		}
	})

	t.Run("-organization: an organization token", func(t *testing.T) {
		_, claims := ok(t, m2mApp, "-organization", e2eOrg)
		if !audienceIs(claims["aud"], "urn:logto:organization:"+e2eOrg) || claims["sub"] != m2mClientID {
			t.Errorf("claims %v: want aud urn:logto:organization:%s, sub %s", claims, e2eOrg, m2mClientID)
		}
	})

	t.Run("-repeat 5 on a fresh token: one request", func(t *testing.T) {
		before := p.Grants(t, "client_credentials")
		out, _ := ok(t, m2mApp, "-resource", apiResource, "-repeat", "5")
		if n := p.Grants(t, "client_credentials") - before; *out.ProviderRequests != 1 || n != 1 {
			t.Errorf("provider_requests %d, the provider counted %d client_credentials grants: want 1 and 1", *out.ProviderRequests, n)
		}
	})

	t.Run("-get: the bearer reaches the API", func(t *testing.T) {
		var mu sync.Mutex
		var auths []string
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			auths = append(auths, r.Header.Get("Authorization"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"messages":["hello"],"path":%q}`, r.URL.Path)
		}))
		defer api.Close()
		out, _ := ok(t, m2mApp, "-resource", apiResource, "-get", api.URL+"/messages")
		if out.Get == nil || out.Get.Status != http.StatusOK {
			t.Fatalf("get %+v, want status 200", out.Get)
		}
		var body map[string]any
		if err := json.Unmarshal(out.Get.Body, &body); err != nil || !reflect.DeepEqual(body, map[string]any{"messages": []any{"hello"}, "path": "/messages"}) {
			t.Errorf("get body %s (%v), want the API's answer", out.Get.Body, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(auths, []string{"Bearer " + out.AccessToken}) {
			t.Errorf("the API got Authorization %q, want one request with Bearer and the printed token", auths)
		}
		if *out.ProviderRequests != 1 {
			t.Errorf("provider_requests %d: the transport should use the cached token", *out.ProviderRequests)
		}
	})

	t.Run("exchange: personal access token", func(t *testing.T) {
		pat := mintPAT(t, p, url.Values{"account": {e2eUser}})
		out, claims := ok(t, m2mApp, "-subject-token", pat, "-subject-token-type", personalAccessToken, "-resource", apiResource)
		if claims["sub"] != e2eUser || claims["client_id"] != m2mClientID || !audienceIs(claims["aud"], apiResource) {
			t.Errorf("claims %v: want sub %s (the token's account), client_id %s, aud %s", claims, e2eUser, m2mClientID, apiResource)
		}
		// The provider, like Logto, sends no issued_token_type; the m2m
		// package reports what Logto always issues.
		if out.IssuedTokenType == nil || *out.IssuedTokenType != accessTokenType {
			t.Errorf("issued_token_type %v, want %s", out.IssuedTokenType, accessTokenType)
		}
		if _, ok := claims["act"]; ok {
			t.Errorf("act claim %v without an actor token", claims["act"])
		}
	})

	t.Run("exchange: impersonation subject token, single use", func(t *testing.T) {
		var minted struct {
			SubjectToken string `json:"subject_token"`
		}
		postTestHook(t, p, "/__test/subject-token", url.Values{"account": {e2eUser}}, &minted)
		args := []string{"-subject-token", minted.SubjectToken, "-subject-token-type", accessTokenType, "-resource", apiResource}
		out, claims := ok(t, m2mApp, args...)
		if claims["sub"] != e2eUser || out.IssuedTokenType == nil {
			t.Errorf("claims %v, issued_token_type %v: want sub %s and an issued_token_type", claims, out.IssuedTokenType, e2eUser)
		}
		refusedWith(t, runCommand(t, bin, m2mApp, args...), "invalid_grant")
	})

	t.Run("exchange: actor token", func(t *testing.T) {
		// An opaque access token with openid, from a person's sign-in.
		actor := str(codeFlow(t, p, "openid offline_access profile", "consent")["access_token"])
		pat := mintPAT(t, p, url.Values{"account": {e2eUser}})
		_, claims := ok(t, m2mApp, "-subject-token", pat, "-subject-token-type", personalAccessToken,
			"-actor-token", actor, "-actor-token-type", accessTokenType, "-resource", apiResource)
		if act, _ := claims["act"].(map[string]any); act["sub"] != e2eUser || claims["sub"] != e2eUser {
			t.Errorf("claims %v: want sub %s and act {sub: %s}", claims, e2eUser, e2eUser)
		}
	})

	t.Run("an actor token without a subject token is refused before any request", func(t *testing.T) {
		before := p.Stats(t)
		actor := str(codeFlow(t, p, "openid", "consent")["access_token"])
		r := runCommand(t, bin, m2mApp, "-resource", apiResource, "-actor-token", actor, "-actor-token-type", accessTokenType)
		if r.exit == 0 || r.stdout != "" || !strings.Contains(r.stderr, "-subject-token") {
			t.Errorf("want a non-zero exit naming -subject-token, no token; got %v", r)
		}
		if after := p.Stats(t); after.Grants["client_credentials"] != before.Grants["client_credentials"] {
			t.Errorf("the provider counted %d client_credentials grants, want none", after.Grants["client_credentials"]-before.Grants["client_credentials"])
		}
	})

	pat := mintPAT(t, p, url.Values{"account": {e2eUser}})
	refusals := []struct {
		name string
		env  map[string]string
		args []string
		code string
	}{
		{"bad secret", env(m2mClientID, "not-the-secret"), []string{"-resource", apiResource}, "invalid_client"},
		{"unknown resource", m2mApp, []string{"-resource", "https://unknown.example.com"}, "invalid_target"},
		{"two resources", m2mApp, []string{"-resource", apiResource, "-resource", logtoOrganizationsResource}, "invalid_target"},
		// Logto's (and the provider's) code for an organization the app is
		// not in.
		{"organization the app is not in", m2mApp, []string{"-organization", otherOrg}, "access_denied"},
		// The engine refuses a grant type the client lacks with
		// invalid_request, not unauthorized_client.
		{"app without token exchange", env(noExchangeClientID, noExchangeClientSecret),
			[]string{"-subject-token", pat, "-subject-token-type", personalAccessToken, "-resource", apiResource}, "invalid_request"},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			before := p.Stats(t).GrantErrors
			refusedWith(t, runCommand(t, bin, tc.env, tc.args...), tc.code)
			// The refusal is the provider's, not a check of the example's.
			if got, was := codeCount(p.Stats(t).GrantErrors, tc.code), codeCount(before, tc.code); got != was+1 {
				t.Errorf("the provider answered %s %d times, want once", tc.code, got-was)
			}
		})
	}
}

// codeCount is how many token requests of any grant type failed with code.
func codeCount(errs map[string]map[string]int, code string) int {
	n := 0
	for _, byCode := range errs {
		n += byCode[code]
	}
	return n
}

// ------------------------------------------------------------------ cli

// cliAccessTokenTTL is short so that a cached token goes stale within the
// test: the library replaces a token once half its life is gone.
const cliAccessTokenTTL = 8 * time.Second

// TestExampleCLI runs every command of examples/cli's contract against the
// provider's native app, in order, as a person would: signed out, a denied
// and an approved device sign-in, whoami, tokens from the cache and by
// refresh (rotating the refresh token), organization tokens, the cache
// file, logout revoking the refresh token, and a browser sign-in through
// the loopback redirect. Each step needs the ones before it, so the first
// failure stops the walk.
func TestExampleCLI(t *testing.T) {
	p := startProvider(t, ProviderOptions{DevicePollInterval: time.Second, AccessTokenTTL: cliAccessTokenTTL})
	bin := exampleBinary(t, "cli")
	keys := providerKeys(t, p)
	cachePath := filepath.Join(t.TempDir(), "logto", "session.json")
	env := map[string]string{
		"LOGTO_ENDPOINT":  p.Base,
		"LOGTO_APP_ID":    nativeClientID,
		"LOGTO_CLI_CACHE": cachePath,
		"LOGTO_RESOURCES": apiResource,
		// The user is a member of org-e2e: organization tokens need the scope.
		"LOGTO_SCOPES": logtoOrganizationsScope,
	}
	cli := func(t *testing.T, args ...string) commandRun {
		t.Helper()
		return runCommand(t, bin, env, args...)
	}
	// signedIn checks the output of a successful login.
	signedIn := func(t *testing.T, r commandRun) {
		t.Helper()
		if r.exit != 0 || r.stdout != "signed in as "+e2eUser+"\n" {
			t.Fatalf("want exit 0 and %q on stdout; got %v", "signed in as "+e2eUser, r)
		}
	}
	// token runs `cli token args...`, which must print one JWT that
	// verifies, for the e2e user and the native app; it returns its claims.
	token := func(t *testing.T, args ...string) (string, map[string]any) {
		t.Helper()
		r := cli(t, append([]string{"token"}, args...)...)
		tok := strings.TrimSuffix(r.stdout, "\n")
		if r.exit != 0 || tok == "" || strings.ContainsAny(tok, " \n") {
			t.Fatalf("want exit 0 and a token on stdout; got %v", r)
		}
		claims := verifiedClaims(t, keys, tok)
		if claims["sub"] != e2eUser || claims["client_id"] != nativeClientID {
			t.Fatalf("claims %v: want sub %s, client_id %s", claims, e2eUser, nativeClientID)
		}
		return tok, claims
	}
	cachedRefreshToken := func(t *testing.T) string {
		t.Helper()
		rt := readCLICache(t, cachePath)["refreshToken"]
		if rt == "" {
			t.Fatalf("the cache holds no refresh token")
		}
		return rt
	}
	notSignedIn := func(t *testing.T) {
		t.Helper()
		for _, cmd := range []string{"whoami", "token"} {
			if r := cli(t, cmd); r.exit != 1 || r.stdout != "" || !strings.Contains(r.stderr, "not signed in") {
				t.Errorf("%s: want exit 1 saying not signed in; got %v", cmd, r)
			}
		}
		if _, err := os.Stat(cachePath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the cache file: %v, want none", err)
		}
	}

	ran, passed := 0, 0
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		ran++
		if !t.Run(name, f) {
			t.Fatalf("step %q failed; the steps after it need it", name)
		}
		passed++
	}
	defer func() { t.Logf("steps run: %d, passed: %d", ran, passed) }()

	step("signed out", notSignedIn)

	visit := regexp.MustCompile(`(?m)^visit (\S+) and enter (\S+)$`)
	orOpen := regexp.MustCompile(`(?m)^or open (\S+)$`)
	// deviceLogin starts `login --device`, checks what it shows the person
	// and returns the process, the link to approve at and the two lines.
	deviceLogin := func(t *testing.T) (proc *process, complete, shown string) {
		t.Helper()
		proc = startCommand(t, bin, env, "login", "--device")
		m := proc.awaitStderr(t, visit)
		complete = proc.awaitStderr(t, orOpen)[1]
		if m[1] != p.Issuer+"/device" || complete != m[1]+"?user_code="+url.QueryEscape(m[2]) {
			proc.failf(t, "visit %s and enter %s, or open %s: want the provider's %s/device and the same code", m[1], m[2], complete, p.Issuer)
		}
		return proc, complete, m[0] + "\nor open " + complete + "\n"
	}

	step("login --device, denied", func(t *testing.T) {
		proc, complete, shown := deviceLogin(t)
		verifyDevice(t, p, complete, false)
		r := proc.finish(t)
		if !strings.HasPrefix(r.stderr, shown) {
			t.Fatalf("stderr does not start with the two lines for the person; got %v", r)
		}
		r.stderr = strings.TrimPrefix(r.stderr, shown)
		refusedWith(t, r, "access_denied")
		if _, err := os.Stat(cachePath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the cache file after a denied sign-in: %v, want none", err)
		}
	})

	step("login --device", func(t *testing.T) {
		proc, complete, _ := deviceLogin(t)
		if page := verifyDevice(t, p, complete, true); !strings.Contains(string(page.Body), "Sign-in Success") {
			proc.failf(t, "after approval the browser shows %v", page)
		}
		signedIn(t, proc.finish(t))
		if n := p.Grants(t, deviceCodeGrant); n != 1 {
			t.Errorf("the provider counted %d device_code grants, want 1", n)
		}
	})

	step("whoami", func(t *testing.T) {
		r := cli(t, "whoami")
		var claims map[string]any
		if r.exit != 0 || json.Unmarshal([]byte(r.stdout), &claims) != nil {
			t.Fatalf("want exit 0 and JSON claims; got %v", r)
		}
		if claims["sub"] != e2eUser || claims["iss"] != p.Issuer || !audienceIs(claims["aud"], nativeClientID) || claims["username"] != "e2e" {
			t.Errorf("claims %v: want the e2e user's ID token for %s from %s", claims, nativeClientID, p.Issuer)
		}
	})

	step("token: the default token, good at userinfo", func(t *testing.T) {
		r := cli(t, "token")
		tok := strings.TrimSuffix(r.stdout, "\n")
		if r.exit != 0 || tok == "" {
			t.Fatalf("want exit 0 and a token; got %v", r)
		}
		if info := userinfo(t, p, tok); info["sub"] != e2eUser {
			t.Errorf("userinfo %v, want sub %s", info, e2eUser)
		}
	})

	var apiToken string
	var apiClaims map[string]any
	step("token -resource: a refresh, which rotates the refresh token", func(t *testing.T) {
		rt, refreshes := cachedRefreshToken(t), p.Stats(t).RefreshGrants
		apiToken, apiClaims = token(t, "-resource", apiResource)
		if !audienceIs(apiClaims["aud"], apiResource) {
			t.Errorf("aud %v, want %s", apiClaims["aud"], apiResource)
		}
		if n := p.Stats(t).RefreshGrants - refreshes; n != 1 {
			t.Errorf("the provider counted %d refresh grants, want 1", n)
		}
		if now := cachedRefreshToken(t); now == rt || now != p.LatestRefreshToken(t, e2eUser) {
			t.Errorf("the cache's refresh token: changed %v, the provider's newest %v; want both", now != rt, now == p.LatestRefreshToken(t, e2eUser))
		}
	})

	step("token -resource again: from the cache", func(t *testing.T) {
		rt, refreshes := cachedRefreshToken(t), p.Stats(t).RefreshGrants
		if tok, _ := token(t, "-resource", apiResource); tok != apiToken {
			t.Errorf("a different token; want the cached one (it has %v of its %v left)",
				time.Until(time.Unix(int64(apiClaims["exp"].(float64)), 0)).Round(time.Millisecond), cliAccessTokenTTL)
		}
		if p.Stats(t).RefreshGrants != refreshes || cachedRefreshToken(t) != rt {
			t.Errorf("a refresh; want the cached token")
		}
	})

	step("token -resource once the token is stale: refreshed, rotating the refresh token", func(t *testing.T) {
		// The token was issued at most 1 s after iat (whole seconds); it is
		// replaced once half its life is gone.
		stale := time.Unix(int64(apiClaims["iat"].(float64)), 0).Add(time.Second + cliAccessTokenTTL/2 + 250*time.Millisecond)
		time.Sleep(time.Until(stale))
		rt, refreshes := cachedRefreshToken(t), p.Stats(t).RefreshGrants
		tok, claims := token(t, "-resource", apiResource)
		if tok == apiToken || claims["jti"] == apiClaims["jti"] || !audienceIs(claims["aud"], apiResource) {
			t.Errorf("claims %v: want a new token for %s", claims, apiResource)
		}
		if n := p.Stats(t).RefreshGrants - refreshes; n != 1 {
			t.Errorf("the provider counted %d refresh grants, want 1", n)
		}
		if now := cachedRefreshToken(t); now == rt || now != p.LatestRefreshToken(t, e2eUser) {
			t.Errorf("the cache's refresh token: changed %v, the provider's newest %v; want both", now != rt, now == p.LatestRefreshToken(t, e2eUser))
		}
	})

	step("token -organization", func(t *testing.T) {
		_, claims := token(t, "-organization", e2eOrg)
		if !audienceIs(claims["aud"], "urn:logto:organization:"+e2eOrg) {
			t.Errorf("aud %v, want urn:logto:organization:%s", claims["aud"], e2eOrg)
		}
		_, claims = token(t, "-resource", apiResource, "-organization", e2eOrg)
		if !audienceIs(claims["aud"], apiResource) || claims["organization_id"] != e2eOrg {
			t.Errorf("claims %v: want aud %s and organization_id %s", claims, apiResource, e2eOrg)
		}
	})

	step("the cache file", func(t *testing.T) {
		fi, err := os.Stat(cachePath)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("the cache file's mode is %v, want 0600", fi.Mode().Perm())
		}
		// The tokens and their expiry (the session's lifetime record), never
		// a sign-in's state, nonce or PKCE verifier.
		for k := range readCLICache(t, cachePath) {
			if !slices.Contains([]string{"idToken", "refreshToken", "accessToken", "session"}, k) && !strings.HasPrefix(k, "accessToken:") {
				t.Errorf("the cache holds %q", k)
			}
		}
		// Written beside and renamed: no temporary file left over.
		entries, err := os.ReadDir(filepath.Dir(cachePath))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if name := e.Name(); name != filepath.Base(cachePath) && name != filepath.Base(cachePath)+".lock" {
				t.Errorf("the cache's directory holds %s", name)
			}
		}
	})

	step("logout: the refresh token is revoked, the cache is gone", func(t *testing.T) {
		rt := cachedRefreshToken(t)
		if rt != p.LatestRefreshToken(t, e2eUser) {
			t.Fatalf("the cache's refresh token is not the provider's newest")
		}
		revocations := p.Stats(t).Revocations
		if r := cli(t, "logout"); r.exit != 0 {
			t.Fatalf("want exit 0; got %v", r)
		}
		if _, err := os.Stat(cachePath); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the cache file after logout: %v, want none", err)
		}
		if n := p.Stats(t).Revocations - revocations; n != 1 {
			t.Errorf("the provider answered %d revocations, want 1", n)
		}
		status, res := tokenRequestAs(t, p, nativeClientID, "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusBadRequest || res["error"] != "invalid_grant" {
			t.Errorf("a refresh with the logged-out refresh token: HTTP %d %v, want invalid_grant", status, res)
		}
	})

	step("signed out after logout", notSignedIn)

	step("login --browser", func(t *testing.T) {
		proc := startCommand(t, bin, env, "login", "--browser")
		authURL, err := url.Parse(proc.awaitStderr(t, regexp.MustCompile(`(?m)^open (\S+)$`))[1])
		if err != nil {
			proc.failf(t, "the sign-in URL: %v", err)
		}
		q := authURL.Query()
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || authURL.Scheme+"://"+authURL.Host+authURL.Path != p.Issuer+"/auth" || q.Get("client_id") != nativeClientID ||
			q.Get("code_challenge_method") != "S256" || q.Get("state") == "" ||
			redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Port() == "" || redirect.Path != "/callback" {
			proc.failf(t, "open %s: want the provider's %s/auth for %s, PKCE S256, a state, a redirect to http://127.0.0.1:<port>/callback",
				authURL, p.Issuer, nativeClientID)
		}
		b := newBrowser(t, p.Base)
		callback, forms := b.authorize(t, p, authURL.String())
		if !slices.Equal(forms, []string{"login", "consent"}) || callback.Host != redirect.Host || callback.Path != "/callback" {
			proc.failf(t, "the provider sent the browser to %s after the forms %v; want %s after login and consent", callback, forms, redirect)
		}
		if page := b.Get(t, callback.String()); page.Status != http.StatusOK || !strings.Contains(string(page.Body), "You are signed in.") {
			proc.failf(t, "the loopback listener answered %v", page)
		}
		signedIn(t, proc.finish(t))
		if n := p.Grants(t, "authorization_code"); n != 1 {
			t.Errorf("the provider counted %d authorization_code grants, want 1", n)
		}
		if r := cli(t, "whoami"); r.exit != 0 || !strings.Contains(r.stdout, `"sub": "`+e2eUser+`"`) {
			t.Errorf("whoami after the browser sign-in: %v", r)
		}
		if _, claims := token(t, "-resource", apiResource); !audienceIs(claims["aud"], apiResource) {
			t.Errorf("aud %v, want %s", claims["aud"], apiResource)
		}
	})
}

// readCLICache reads the cache file, a JSON object of strings. Reading it
// is all a test does: the commands own it.
func readCLICache(t testing.TB, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the cache file: %v", err)
	}
	var v map[string]string
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("the cache file is not a JSON object of strings: %v", err)
	}
	return v
}
