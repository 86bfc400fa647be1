// Package e2e drives the SDK's example app (examples/nethttp) against a real
// OpenID provider: oidc-provider, the engine Logto is built on, configured
// like Logto (provider/server.js). Both run as separate processes on
// loopback; the tests act as the browser.
//
// The tests need Node.js 20.18 or later with the provider's dependencies
// installed (npm ci --prefix e2e/provider), and Chromium for the browser
// test. Without them they skip, unless LOGTO_E2E_REQUIRED=1, when they fail:
// CI sets it.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/seed098cf14d/logto/internal/testskip"
)

// The user the provider knows, and what the tests expect of it.
const (
	e2eUser     = "e2e-user"
	e2ePassword = "correct horse battery staple" // the engine's dev login takes any password
	e2eOrg      = "org-e2e"
	otherOrg    = "org-other" // exists, but the user is not a member
	apiResource = "https://api.example.com"
)

// defaultAppScopes are the extra scopes startApp asks for unless env says
// otherwise.
const defaultAppScopes = "email custom_data urn:logto:scope:organizations"

// installHints say how to get each tool the tests need.
var installHints = map[string]string{
	"node":     "install Node.js 20.18 or later (Debian bookworm's nodejs, 18, is too old) and run `npm ci --prefix e2e/provider`",
	"npm":      "install npm (it comes with Node.js) and run `npm ci --prefix e2e/provider`",
	"chromium": "install Chromium (apt-get install chromium)",
}

// requireTool skips the test when the program name is not installed, or
// fails it when LOGTO_E2E_REQUIRED=1 (CI), saying what to install.
func requireTool(t testing.TB, name string) {
	t.Helper()
	candidates := []string{name}
	if name == "chromium" {
		candidates = append(candidates, "chromium-browser", "google-chrome", "/usr/bin/chromium")
	}
	for _, c := range candidates {
		if _, err := exec.LookPath(c); err == nil {
			return
		}
	}
	hint := installHints[name]
	if hint == "" {
		hint = "install it"
	}
	unavailable(t, "%s not found: %s", name, hint)
}

// unavailable skips, or fails under LOGTO_E2E_REQUIRED=1; TestMain prints
// the skips after the run, as plain go test hides them.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	testskip.Unavailablef(t, "LOGTO_E2E_REQUIRED", format, args...)
}

func TestMain(m *testing.M) {
	testskip.Main(m)
}

// repoRoot is the SDK's repository root (the parent of this package).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the e2e package's source")
	}
	return filepath.Dir(filepath.Dir(file))
}

// artifactsEnv names the directory where the tests leave files for people
// to look at, such as screenshots; CI sets it and lists the files at the end.
const artifactsEnv = "LOGTO_ARTIFACTS_DIR"

// saveScreenshot writes png to $LOGTO_ARTIFACTS_DIR/e2e/<test name>/<name>.png
// (a relative LOGTO_ARTIFACTS_DIR is taken from the repository root); without
// the variable it only logs that it took one. A png that is not a PNG fails
// the test.
func saveScreenshot(t testing.TB, name string, png []byte) {
	t.Helper()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		t.Logf("took a %d-byte screenshot %s; set %s to keep it", len(png), name, artifactsEnv)
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(repoRoot(t), dir)
	}
	path := filepath.Join(dir, "e2e", filepath.FromSlash(t.Name()), name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote a %d-byte screenshot to %s", len(png), path)
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output; safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a child process in its own process group.
type process struct {
	name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	exited chan struct{}
	err    error // set before exited is closed
}

// startProcess starts cmd in a new process group and stops the group on
// cleanup (SIGTERM, then SIGKILL after 5 s). When the test failed, the
// process's output is logged.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout = &p.stdout
	cmd.Stderr = &p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s stdout:\n%s", name, p.stdout.String())
			t.Logf("%s stderr:\n%s", name, p.stderr.String())
		}
	})
	return p
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *process) stop() {
	if !p.running() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// failf fails the test with the process's output attached.
func (p *process) failf(t testing.TB, format string, args ...any) {
	t.Helper()
	exit := "still running"
	if !p.running() {
		exit = fmt.Sprint(p.err) // written before exited was closed
	}
	t.Fatalf("%s\n%s exit: %s\n%s stdout:\n%s\n%s stderr:\n%s", fmt.Sprintf(format, args...),
		p.name, exit, p.name, p.stdout.String(), p.name, p.stderr.String())
}

// ------------------------------------------------------------------ provider

// Provider is a running e2e/provider/server.js.
type Provider struct {
	Base, Issuer, ClientID, ClientSecret string

	// redirectURI is the client's registered redirect URI; startApp serves
	// the app where it points unless told otherwise.
	redirectURI string
	proc        *process
}

// ProviderOptions configure startProvider. An empty RedirectURI reserves a
// free loopback port for the app and registers http://127.0.0.1:<port>/callback
// (and .../ as post-logout URI); startApp then serves the app there.
type ProviderOptions struct {
	RedirectURI, PostLogoutRedirectURI string
	// AccessTokenTTL is the lifetime of every access token; zero means 1 h.
	AccessTokenTTL time.Duration
	// ExtraOrganizations makes the e2e user a member of that many more
	// organizations (Logto-shaped IDs, role member): a large ID token.
	ExtraOrganizations int
	// ExtraResources adds API resources https://api-<i>.example.com, i
	// from 1, with the scope read:messages.
	ExtraResources int
	// DevicePollInterval, rounded up to whole seconds, is the device-flow
	// poll interval the provider announces and enforces with slow_down;
	// zero means Logto's behaviour: no interval announced, 5 s enforced.
	DevicePollInterval time.Duration
	// RequirePAR makes the provider refuse authorization requests that were
	// not pushed first (RFC 9126); Logto accepts both.
	RequirePAR bool
}

// startProvider starts the provider on a free loopback port and waits (at
// most 60 s) until its discovery document answers. It is stopped on cleanup.
func startProvider(t testing.TB, opts ProviderOptions) *Provider {
	t.Helper()
	requireTool(t, "node")
	requireNodeVersion(t)
	dir := filepath.Join(repoRoot(t), "e2e", "provider")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		unavailable(t, "the provider's node modules are missing: run `npm ci --prefix e2e/provider` from the repository root")
	}
	if opts.RedirectURI == "" {
		appBase := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		opts.RedirectURI = appBase + "/callback"
		if opts.PostLogoutRedirectURI == "" {
			opts.PostLogoutRedirectURI = appBase + "/"
		}
	}
	if opts.PostLogoutRedirectURI == "" {
		opts.PostLogoutRedirectURI = strings.TrimSuffix(opts.RedirectURI, "/callback") + "/"
	}
	ttl := int64(3600)
	if opts.AccessTokenTTL > 0 {
		ttl = int64((opts.AccessTokenTTL + time.Second - 1) / time.Second)
	}

	port := freePort(t)
	p := &Provider{
		Base:         fmt.Sprintf("http://127.0.0.1:%d", port),
		ClientID:     "e2e-app",
		ClientSecret: "e2e-secret-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		redirectURI:  opts.RedirectURI,
	}
	p.Issuer = p.Base + "/oidc"
	cmd := exec.Command("node", filepath.Join(dir, "server.js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PORT="+strconv.Itoa(port),
		"BASE_URL="+p.Base,
		"CLIENT_ID="+p.ClientID,
		"CLIENT_SECRET="+p.ClientSecret,
		"REDIRECT_URI="+opts.RedirectURI,
		"POST_LOGOUT_REDIRECT_URI="+opts.PostLogoutRedirectURI,
		"ACCESS_TOKEN_TTL="+strconv.FormatInt(ttl, 10),
		"EXTRA_ORGANIZATIONS="+strconv.Itoa(opts.ExtraOrganizations),
		"EXTRA_RESOURCES="+strconv.Itoa(opts.ExtraResources),
	)
	if opts.RequirePAR {
		cmd.Env = append(cmd.Env, "REQUIRE_PAR=1")
	}
	if opts.DevicePollInterval > 0 {
		cmd.Env = append(cmd.Env, "DEVICE_POLL_INTERVAL="+strconv.FormatInt(int64((opts.DevicePollInterval+time.Second-1)/time.Second), 10))
	}
	p.proc = startProcess(t, "provider", cmd)

	discoveryURL := p.Issuer + "/.well-known/openid-configuration"
	client := &http.Client{Timeout: 2 * time.Second}
	// Node starts in about a second; a CI machine busy with other test
	// binaries has been seen to take over 20.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if !p.proc.running() {
			p.proc.failf(t, "the provider exited before its discovery document answered")
		}
		resp, err := client.Get(discoveryURL)
		if err == nil {
			var d struct {
				Issuer string `json:"issuer"`
			}
			err = json.NewDecoder(resp.Body).Decode(&d)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				if d.Issuer != p.Issuer {
					p.proc.failf(t, "discovery names issuer %q, want %q", d.Issuer, p.Issuer)
				}
				return p
			}
		}
		if time.Now().After(deadline) {
			p.proc.failf(t, "%s did not answer within 60 s (last error: %v)", discoveryURL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requireNodeVersion skips (or fails) when node is older than the provider's
// engine needs: oidc-provider 9 uses URL.parse, new in Node.js 20.18.
func requireNodeVersion(t testing.TB) {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		unavailable(t, "node --version: %v", err)
	}
	v := strings.TrimSpace(string(out))
	var major, minor int
	if _, err := fmt.Sscanf(v, "v%d.%d", &major, &minor); err != nil {
		unavailable(t, "node --version printed %q", v)
	}
	if major < 20 || (major == 20 && minor < 18) {
		unavailable(t, "node %s is too old for the e2e provider: %s", v, installHints["node"])
	}
}

// ProviderStats is the provider's test-only count of what happened.
type ProviderStats struct {
	// Grants counts successful token responses by grant_type.
	Grants map[string]int `json:"grants"`
	// GrantErrors counts failed token requests by grant_type and error code.
	GrantErrors map[string]map[string]int `json:"grant_errors"`
	// RefreshGrants is Grants["refresh_token"].
	RefreshGrants int `json:"refresh_grants"`
	// RevokedGrants counts whole grants revoked (by revocation, or by a
	// refresh token presented twice).
	RevokedGrants int `json:"revoked_grants"`
	// Revocations counts successful requests to the revocation endpoint.
	Revocations int `json:"revocations"`
	// EndSessions counts completed RP-initiated logouts.
	EndSessions int `json:"end_sessions"`
}

// Stats reads the provider's admin endpoint.
func (p *Provider) Stats(t testing.TB) ProviderStats {
	t.Helper()
	var s ProviderStats
	p.admin(t, "/__test/grants", &s)
	return s
}

// Grants returns how many token requests of grantType succeeded so far.
func (p *Provider) Grants(t testing.TB, grantType string) int {
	t.Helper()
	return p.Stats(t).Grants[grantType]
}

// LatestRefreshToken returns the newest refresh token the provider issued to
// account: the one a client that follows rotation holds.
func (p *Provider) LatestRefreshToken(t testing.TB, account string) string {
	t.Helper()
	var v struct {
		RefreshToken string `json:"refresh_token"`
	}
	p.admin(t, "/__test/refresh-token?account="+url.QueryEscape(account), &v)
	return v.RefreshToken
}

func (p *Provider) admin(t testing.TB, path string, v any) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(p.Base + path)
	if err != nil {
		t.Fatalf("provider admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("provider admin %s: HTTP %d: %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("provider admin %s: %v: %s", path, err, body)
	}
}

// TokenRequest posts form to the provider's token endpoint with
// client_secret_basic, as the app would, and returns the status and the
// decoded JSON answer.
func (p *Provider) TokenRequest(t testing.TB, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(p.ClientID), url.QueryEscape(p.ClientSecret))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token request: HTTP %d, body is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// ----------------------------------------------------------------------- app

// App is a running examples/nethttp.
type App struct {
	Base string

	proc *process
}

// appBinary builds examples/nethttp into the test's temporary directory
// (exampleBinary).
func appBinary(t testing.TB) string {
	t.Helper()
	return exampleBinary(t, "nethttp")
}

// exampleBinary builds ./examples/<name> into the test's temporary directory,
// with the race detector when the tests have it, so that a data race in the
// SDK shows up in the program's output. The go command's build cache makes
// every build after the first one a link of about a second.
func exampleBinary(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	args := []string{"build", "-o", path}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./examples/"+name)
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return path
}

// appVariables are the example's environment variables (CONTRACT.md, and
// the few the example reads besides): runApp passes none of them on from
// the test's own environment.
var appVariables = []string{
	"LOGTO_ENDPOINT", "LOGTO_APP_ID", "LOGTO_APP_SECRET", "LOGTO_SCOPES", "LOGTO_RESOURCES",
	"BASE_URL", "ADDR", "SESSION_SECRET", "REDIS_URL", "SESSION_STORE",
	"SESSION_MAX_AGE", "SESSION_IDLE_TIMEOUT", "API_AUDIENCE", "DEV_PROVIDER_AUTO_APPROVE",
}

// startApp runs the example app against p as a separate process. Its
// environment is LOGTO_ENDPOINT, LOGTO_APP_ID, LOGTO_APP_SECRET, BASE_URL
// (where p's redirect URI points), LOGTO_RESOURCES=https://api.example.com
// and LOGTO_SCOPES="email custom_data urn:logto:scope:organizations",
// overridden by env (runApp).
func startApp(t testing.TB, p *Provider, env map[string]string) *App {
	t.Helper()
	base := strings.TrimSuffix(p.redirectURI, "/callback")
	if u, err := url.Parse(base); err != nil || u.Path != "" || u.Host == "" {
		base = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	}
	vars := map[string]string{
		"LOGTO_ENDPOINT":   p.Base,
		"LOGTO_APP_ID":     p.ClientID,
		"LOGTO_APP_SECRET": p.ClientSecret,
		"BASE_URL":         base,
		"LOGTO_RESOURCES":  apiResource,
		"LOGTO_SCOPES":     defaultAppScopes,
	}
	for k, v := range env {
		vars[k] = v
	}
	return runApp(t, vars)
}

// runApp runs the example app as a separate process configured by vars
// and nothing else of appVariables. It waits for the line with its URL
// (BASE_URL) on stdout and stops the app on cleanup; a data race the app
// reports fails the test.
func runApp(t testing.TB, vars map[string]string) *App {
	t.Helper()
	bin := appBinary(t)
	a := &App{Base: strings.TrimRight(vars["BASE_URL"], "/")}
	cmd := exec.Command(bin)
	// The app's configuration is exactly vars: none of the contract's
	// variables leak in from the test's own environment (CI exports
	// REDIS_URL for redisstore's tests, for one).
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(appVariables, name) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	a.proc = startProcess(t, "app", cmd)
	t.Cleanup(func() {
		if strings.Contains(a.proc.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the app reported a data race:\n%s", a.proc.stderr.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if hasLineWith(a.proc.stdout.String(), a.Base) {
			return a
		}
		if !a.proc.running() {
			a.proc.failf(t, "the app exited before printing its URL %s", a.Base)
		}
		if time.Now().After(deadline) {
			a.proc.failf(t, "the app printed no line with %s within 30 s", a.Base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func hasLineWith(out, s string) bool {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			return true
		}
	}
	return false
}

// ------------------------------------------------------------------- browser

// Browser is a cookie-keeping HTTP client that does not follow redirects, so
// each hop can be checked. It records the Set-Cookie headers the app sends.
type Browser struct {
	HTTP *http.Client
	base string // the app's base URL
	rec  *cookieRecorder
}

// cookieRecorder is a transport that notes the largest Set-Cookie header
// line one host sent, the most bytes of Set-Cookie lines in one of its
// responses, and the largest Cookie header sent to it.
type cookieRecorder struct {
	next         http.RoundTripper
	host         string
	mu           sync.Mutex
	largest      int
	largestTotal int
	largestSent  int
	count        int
}

func (c *cookieRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := len(strings.Join(req.Header.Values("Cookie"), "; "))
	resp, err := c.next.RoundTrip(req)
	if err != nil || req.URL.Host != c.host {
		return resp, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.largestSent = max(c.largestSent, sent)
	total := 0
	for _, v := range resp.Header.Values("Set-Cookie") {
		c.count++
		// The header a browser has to store: "Set-Cookie: " is not part of
		// the cookie; name=value and the attributes are.
		c.largest = max(c.largest, len(v))
		total += len(v)
	}
	c.largestTotal = max(c.largestTotal, total)
	return resp, nil
}

// Client returns a new browser for the app: an empty cookie jar.
func (a *App) Client(t testing.TB) *Browser {
	t.Helper()
	return newBrowser(t, a.Base)
}

// newBrowser returns a browser with an empty cookie jar; relative paths are
// taken against base, and the Set-Cookie headers base's host sends are
// recorded.
func newBrowser(t testing.TB, base string) *Browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	rec := &cookieRecorder{next: http.DefaultTransport.(*http.Transport).Clone(), host: u.Host}
	return &Browser{
		base: strings.TrimRight(base, "/"),
		rec:  rec,
		HTTP: &http.Client{
			Jar:       jar,
			Transport: rec,
			Timeout:   30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// LargestSetCookie is the length in bytes of the largest Set-Cookie header
// value the app has sent this browser.
func (b *Browser) LargestSetCookie() int {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return b.rec.largest
}

// LargestSetCookieTotal is the most bytes of Set-Cookie header values the
// app has sent this browser in one response.
func (b *Browser) LargestSetCookieTotal() int {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return b.rec.largestTotal
}

// LargestCookieHeader is the length of the longest Cookie header this
// browser has sent the app.
func (b *Browser) LargestCookieHeader() int {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return b.rec.largestSent
}

// SetCookies is how many Set-Cookie headers the app has sent this browser.
func (b *Browser) SetCookies() int {
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	return b.rec.count
}

// Page is a response with its body read.
type Page struct {
	URL      *url.URL
	Status   int
	Header   http.Header
	Body     []byte
	Location *url.URL // resolved against URL; nil when there is none
}

func (p *Page) String() string {
	body := string(p.Body)
	if len(body) > 2000 {
		body = body[:2000] + "..."
	}
	return fmt.Sprintf("%s -> HTTP %d (Location %v): %s", p.URL, p.Status, p.Location, body)
}

// Do sends req and reads the answer.
func (b *Browser) Do(t testing.TB, req *http.Request) *Page {
	t.Helper()
	p, err := b.do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return p
}

func (b *Browser) do(req *http.Request) (*Page, error) {
	resp, err := b.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	p := &Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: body}
	if loc := resp.Header.Get("Location"); loc != "" {
		if p.Location, err = req.URL.Parse(loc); err != nil {
			return nil, fmt.Errorf("bad Location %q: %w", loc, err)
		}
	}
	return p, nil
}

// Get fetches rawURL; a path is taken relative to the app.
func (b *Browser) Get(t testing.TB, rawURL string) *Page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(rawURL), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
	return b.Do(t, req)
}

// GetJSON fetches an app route and decodes its JSON answer.
func (b *Browser) GetJSON(t testing.TB, path string) (int, map[string]any) {
	t.Helper()
	status, v, err := b.getJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	return status, v
}

// getJSON is GetJSON for use off the test's goroutine.
func (b *Browser) getJSON(path string) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodGet, b.abs(path), nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	p, err := b.do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	var v map[string]any
	if err := json.Unmarshal(p.Body, &v); err != nil {
		return p.Status, nil, fmt.Errorf("GET %s: HTTP %d, body is not a JSON object: %v: %s", path, p.Status, err, p.Body)
	}
	return p.Status, v, nil
}

func (b *Browser) abs(rawURL string) string {
	if strings.HasPrefix(rawURL, "/") {
		return b.base + rawURL
	}
	return rawURL
}

// Follow fetches rawURL and follows redirects (at most 20) until a page that
// is not a redirect, which it returns with every hop before it.
func (b *Browser) Follow(t testing.TB, rawURL string) (*Page, []*Page) {
	t.Helper()
	var hops []*Page
	p := b.Get(t, rawURL)
	for p.Location != nil && p.Status >= 300 && p.Status < 400 {
		hops = append(hops, p)
		if len(hops) > 20 {
			t.Fatalf("more than 20 redirects from %s: %v", rawURL, hops)
		}
		p = b.Get(t, p.Location.String())
	}
	return p, hops
}

// SignIn signs in as the e2e user the way a person would: /sign-in, the
// provider's login page (login and password typed into its form), its
// consent page (Continue), back through /callback to /, which must then say
// Authenticated.
func (b *Browser) SignIn(t testing.TB, p *Provider) {
	t.Helper()
	page := b.Get(t, "/sign-in")
	if page.Status != http.StatusFound && page.Status != http.StatusSeeOther {
		t.Fatalf("GET /sign-in: want a redirect to the provider, got %v", page)
	}
	if !strings.HasPrefix(page.Location.String(), p.Issuer+"/auth?") {
		t.Fatalf("GET /sign-in redirected to %s, want the provider's %s/auth", page.Location, p.Issuer)
	}
	callback, forms := b.authorize(t, p, page.Location.String())
	if !slices.Equal(forms, []string{"login", "consent"}) {
		t.Fatalf("sign-in went through the provider's forms %v; want login, then consent", forms)
	}
	if !strings.HasPrefix(callback.String(), b.base+"/callback?") {
		t.Fatalf("the provider sent the browser to %s, want %s/callback", callback, b.base)
	}
	page, _ = b.Follow(t, callback.String())
	if page.URL.Path != "/" || page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte("Authenticated")) || bytes.Contains(page.Body, []byte("Not authenticated")) {
		t.Fatalf("after sign-in: want / saying Authenticated, got %v", page)
	}
}

// authorize goes to authURL at the provider and, as a person would, fills in
// its login form (the e2e user and a password) and clicks Continue on its
// consent page, following redirects until one leaves the provider. It returns
// that redirect (the callback URL) and the forms it submitted, in order.
func (b *Browser) authorize(t testing.TB, p *Provider, authURL string) (*url.URL, []string) {
	t.Helper()
	var forms []string
	next := authURL
	for step := 0; ; step++ {
		if step > 30 {
			t.Fatalf("the provider did not redirect back after 30 steps (forms %v)", forms)
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if u.Host != p.hostport() {
			return u, forms
		}
		page := b.Get(t, next)
		if page.Location != nil && page.Status >= 300 && page.Status < 400 {
			next = page.Location.String()
			continue
		}
		if page.Status != http.StatusOK {
			t.Fatalf("at the provider: %v", page)
		}
		form := findForm(t, page, func(f *Form) bool { return f.Has("login") || f.Values.Get("prompt") == "consent" })
		if form.Has("login") {
			form.Values.Set("login", e2eUser)
			form.Values.Set("password", e2ePassword)
			forms = append(forms, "login")
		} else {
			forms = append(forms, "consent")
		}
		page = b.Submit(t, form, "")
		if page.Location == nil {
			t.Fatalf("submitting the provider's %s form: %v", forms[len(forms)-1], page)
		}
		next = page.Location.String()
	}
}

func (p *Provider) hostport() string {
	u, _ := url.Parse(p.Base)
	return u.Host
}

// ---------------------------------------------------------------------- forms

// Form is an HTML form as a browser would submit it.
type Form struct {
	ID      string
	Action  *url.URL
	Method  string
	Values  url.Values
	buttons []formButton // submit buttons, in document order
}

type formButton struct{ name, value string }

// Has reports whether the form has a field called name.
func (f *Form) Has(name string) bool {
	_, ok := f.Values[name]
	return ok
}

// findForm returns the first form of page that match accepts.
func findForm(t testing.TB, page *Page, match func(*Form) bool) *Form {
	t.Helper()
	forms, err := parseForms(page)
	if err != nil {
		t.Fatalf("parsing %s: %v", page.URL, err)
	}
	for _, f := range forms {
		if match(f) {
			return f
		}
	}
	t.Fatalf("no matching form on %v", page)
	return nil
}

// parseForms reads the forms of an HTML page: their action, method, the
// successful controls' default values (input, textarea, select) and submit
// buttons, including controls outside a form that name it with form="id".
func parseForms(page *Page) ([]*Form, error) {
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		return nil, err
	}
	var forms []*Form
	byID := map[string]*Form{}
	type orphan struct {
		formID string
		n      *html.Node
	}
	var orphans []orphan

	var walk func(n *html.Node, current *Form)
	walk = func(n *html.Node, current *Form) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				action, err := page.URL.Parse(attr(n, "action"))
				if err != nil {
					action = page.URL
				}
				f := &Form{ID: attr(n, "id"), Action: action, Method: strings.ToUpper(attr(n, "method")), Values: url.Values{}}
				if f.Method == "" {
					f.Method = http.MethodGet
				}
				forms = append(forms, f)
				if f.ID != "" {
					byID[f.ID] = f
				}
				current = f
			case "input", "button", "textarea", "select":
				if id := attr(n, "form"); id != "" {
					orphans = append(orphans, orphan{id, n})
				} else if current != nil {
					addControl(current, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, current)
		}
	}
	walk(doc, nil)
	for _, o := range orphans {
		if f := byID[o.formID]; f != nil {
			addControl(f, o.n)
		}
	}
	return forms, nil
}

func addControl(f *Form, n *html.Node) {
	name := attr(n, "name")
	typ := strings.ToLower(attr(n, "type"))
	switch n.Data {
	case "button":
		if typ == "" || typ == "submit" {
			f.buttons = append(f.buttons, formButton{name, attr(n, "value")})
		}
		return
	case "input":
		switch typ {
		case "submit", "image":
			f.buttons = append(f.buttons, formButton{name, attr(n, "value")})
			return
		case "checkbox", "radio":
			if !hasAttr(n, "checked") {
				return
			}
		case "file", "reset":
			return
		}
		if name != "" {
			f.Values.Add(name, attr(n, "value"))
		}
	case "textarea":
		if name != "" {
			f.Values.Add(name, textOf(n))
		}
	case "select":
		if name != "" {
			f.Values.Add(name, selectedOption(n))
		}
	}
}

func selectedOption(n *html.Node) string {
	first, found := "", false
	var walk func(*html.Node) (string, bool)
	walk = func(n *html.Node) (string, bool) {
		if n.Type == html.ElementNode && n.Data == "option" {
			v := attr(n, "value")
			if !hasAttr(n, "value") {
				v = textOf(n)
			}
			if !found {
				first, found = v, true
			}
			if hasAttr(n, "selected") {
				return v, true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if v, ok := walk(c); ok {
				return v, true
			}
		}
		return "", false
	}
	if v, ok := walk(n); ok {
		return v
	}
	return first
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	return slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// Submit sends form as a browser does when the user clicks the submit button
// whose value is buttonValue ("" for the first one): the button's name and
// value go along with the fields.
func (b *Browser) Submit(t testing.TB, f *Form, buttonValue string) *Page {
	t.Helper()
	values := url.Values{}
	for k, vs := range f.Values {
		values[k] = slices.Clone(vs)
	}
	if len(f.buttons) > 0 {
		btn := f.buttons[0]
		if buttonValue != "" {
			i := slices.IndexFunc(f.buttons, func(b formButton) bool { return b.value == buttonValue })
			if i < 0 {
				t.Fatalf("form %s has no button with value %q (buttons %v)", f.Action, buttonValue, f.buttons)
			}
			btn = f.buttons[i]
		}
		if btn.name != "" {
			values.Add(btn.name, btn.value)
		}
	} else if buttonValue != "" {
		t.Fatalf("form %s has no submit button", f.Action)
	}

	var req *http.Request
	var err error
	if f.Method == http.MethodPost {
		req, err = http.NewRequest(http.MethodPost, f.Action.String(), strings.NewReader(values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		u := *f.Action
		u.RawQuery = values.Encode()
		req, err = http.NewRequest(http.MethodGet, u.String(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if origin := f.Action.Scheme + "://" + f.Action.Host; origin != "://" {
		req.Header.Set("Origin", origin)
	}
	return b.Do(t, req)
}
