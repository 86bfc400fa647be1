package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed098cf14d/logto"
)

// browserTimeout bounds the whole browser session; browserStep bounds each
// wait for a page inside it.
const (
	browserTimeout = 90 * time.Second
	browserStep    = 20 * time.Second
)

// TestBrowserSignInSignOut signs in and out with a real headless Chromium,
// so the session cookie's attributes meet a browser's cookie rules rather
// than Go's cookie jar. The app is served as http://localhost:P and the
// provider as http://127.0.0.1:Q: two sites, so the provider's redirect back
// to /callback is a cross-site navigation, on which a browser sends only
// SameSite=Lax (or None) cookies: a Strict session cookie, or one scoped to
// the wrong path, would lose the sign-in state there. Secure is checked as an
// attribute, since Chromium counts http://localhost as a secure context and
// might keep a Secure cookie from it anyway.
func TestBrowserSignInSignOut(t *testing.T) {
	requireTool(t, "chromium")
	started := time.Now()

	appBase := fmt.Sprintf("http://localhost:%d", freePort(t))
	p := startProvider(t, ProviderOptions{RedirectURI: appBase + "/callback", PostLogoutRedirectURI: appBase + "/"})
	app := startApp(t, p, nil)
	if app.Base != appBase {
		t.Fatalf("the app serves %s, want %s", app.Base, appBase)
	}
	appURL, _ := url.Parse(app.Base)
	provURL, _ := url.Parse(p.Base)
	if appURL.Hostname() == provURL.Hostname() {
		t.Fatalf("app %s and provider %s share a host name; the redirect back would not be cross-site", app.Base, p.Base)
	}
	t.Logf("app %s, provider %s (cross-site), ready after %v", app.Base, p.Base, time.Since(started).Round(time.Millisecond))

	c := newChromeTab(t)
	defer c.close()

	// Signed out.
	c.navigate(app.Base + "/")
	c.waitFor("the app's home page, signed out", c.appHome(app, "Not authenticated"))
	c.logf("opened %s: Not authenticated", app.Base+"/")
	c.screenshot("signed-out")

	// Sign in: the app's link, the provider's login and consent pages.
	mark := c.mark()
	c.click(`a[href="/sign-in"]`)
	c.waitFor("the provider's login form", c.at(p.Base, "/oidc/", `input[name="login"]`))
	c.logf("clicked Sign in: at the provider's login page %s", c.location())
	c.do(
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), e2eUser),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), e2ePassword),
	)
	c.click(`button[type="submit"]`)
	c.waitFor("the provider's consent form", c.at(p.Base, "/oidc/", `input[name="prompt"][value="consent"]`))
	c.logf("submitted login %q: at the consent page %s", e2eUser, c.location())
	c.click(`button[type="submit"]`)
	// /callback answers a page of its own only when it failed, say because
	// the browser did not send the session cookie along.
	callbackFailed := fmt.Sprintf(`location.origin === %s && location.pathname === "/callback" && document.readyState === "complete"`, jsString(app.Base))
	c.waitUnless("the app's home page, signed in", c.appHome(app, "Authenticated"), callbackFailed)
	hops := c.navigationsSince(mark)
	c.logf("confirmed consent: back at %s, Authenticated; the browser went through\n\t%s", c.location(), strings.Join(hops, "\n\t"))
	if !slices.ContainsFunc(hops, func(h string) bool { return strings.HasPrefix(h, "GET "+app.Base+"/callback?") }) {
		c.fatalf("the browser never requested %s/callback on the way back", app.Base)
	}
	if who, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.body.innerText`)); err == nil {
		c.logf("signed-in page says: %q", strings.Join(strings.Fields(who), " "))
	}

	// The session cookie as the browser stored it.
	cookie := c.cookie(app.Base+"/", app.SessionCookie())
	if cookie == nil {
		c.fatalf("no %q cookie for %s after sign-in", app.SessionCookie(), app.Base)
	}
	expires := "session"
	if !cookie.Session {
		expires = time.Unix(int64(cookie.Expires), 0).UTC().Format(time.RFC3339)
	}
	c.logf("session cookie %q: Domain=%s Path=%s HttpOnly=%v Secure=%v SameSite=%s Expires=%s Size=%d",
		cookie.Name, cookie.Domain, cookie.Path, cookie.HTTPOnly, cookie.Secure, cookie.SameSite, expires, cookie.Size)
	wantSecure := appURL.Scheme == "https"
	if !cookie.HTTPOnly {
		t.Errorf("session cookie: HttpOnly = false, want true")
	}
	if cookie.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie: SameSite = %q, want %q", cookie.SameSite, network.CookieSameSiteLax)
	}
	if cookie.Path != "/" {
		t.Errorf("session cookie: Path = %q, want /", cookie.Path)
	}
	if cookie.Secure != wantSecure {
		t.Errorf("session cookie: Secure = %v, want %v for %s", cookie.Secure, wantSecure, app.Base)
	}
	if cookie.Domain != appURL.Hostname() {
		t.Errorf("session cookie: Domain = %q, want host-only %q", cookie.Domain, appURL.Hostname())
	}

	c.screenshot("signed-in")

	// The protected page opens.
	resp := c.navigateResponse(app.Base + "/protected")
	if resp.Status != 200 {
		c.fatalf("GET /protected signed in: HTTP %d, want 200", resp.Status)
	}
	c.waitFor("the protected page", c.at(app.Base, "/protected", `h1`)+` && document.querySelector("h1").textContent === "Protected"`)
	c.logf("opened /protected: HTTP %d, Protected", resp.Status)

	// Sign out, confirming at the provider if it asks.
	c.navigate(app.Base + "/")
	c.waitFor("the app's home page, signed in", c.appHome(app, "Authenticated"))
	mark = c.mark()
	c.click(`form[action="/sign-out"] button`)
	confirm := c.at(p.Base, "/oidc/", `button[name="logout"][value="yes"]`)
	home := c.appHome(app, "Not authenticated")
	c.waitFor("the provider's logout confirmation or the app's home page", "("+confirm+") || ("+home+")")
	if ok, _ := chromedp.Run(c.stepCtx(), chromedp.Evaluate[bool](confirm)); ok {
		c.logf("clicked Sign out: the provider asks to confirm at %s", truncate(c.location(), 200))
		c.click(`button[name="logout"][value="yes"]`)
	}
	c.waitFor("the app's home page, signed out", home)
	c.logf("signed out: back at %s, Not authenticated; the browser went through\n\t%s", c.location(), strings.Join(c.navigationsSince(mark), "\n\t"))
	if after := c.cookie(app.Base+"/", app.SessionCookie()); after != nil {
		c.logf("after sign-out the browser still holds a %d-byte %q cookie (an emptied session)", after.Size, after.Name)
	} else {
		c.logf("after sign-out the browser holds no %q cookie", app.SessionCookie())
	}

	// The protected page sends a signed-out browser to sign in again; the
	// provider's session ended too, so it asks for the login again.
	mark = c.mark()
	c.navigate(app.Base + "/protected")
	c.waitFor("the provider's login form after /protected", c.at(p.Base, "/oidc/", `input[name="login"]`))
	hops = c.navigationsSince(mark)
	c.logf("opened /protected signed out: at the provider's login page; the browser went through\n\t%s", strings.Join(hops, "\n\t"))
	if !slices.ContainsFunc(hops, func(h string) bool { return strings.HasPrefix(h, "GET "+app.Base+"/sign-in") }) {
		c.fatalf("/protected did not redirect to %s/sign-in", app.Base)
	}

	if blocked := c.blockedSessionCookies(app.SessionCookie()); len(blocked) > 0 {
		t.Errorf("Chromium blocked the session cookie:\n\t%s", strings.Join(blocked, "\n\t"))
	}
	c.mu.Lock()
	c.logf("cookies Chromium blocked during the session, any site: %d%s", len(c.blocked), strings.Join(append([]string{""}, c.blocked...), "\n\t"))
	c.mu.Unlock()
	c.logf("browser session done in %v (test %v)", time.Since(c.started).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// chromiumPath is the browser requireTool found.
func chromiumPath(t testing.TB) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium binary")
	return ""
}

// chromeTab is one tab of a headless Chromium that this test owns. It
// records the main-frame navigations and every cookie Chromium refused to
// store or send, and on failure reports the page it is on.
type chromeTab struct {
	t       *testing.T
	ctx     context.Context
	cancel  func()
	started time.Time
	output  syncBuffer // Chromium's stdout and stderr, and chromedp's own log

	mu      sync.Mutex
	navs    []string // "GET url", "  <- 302", in order
	blocked []string // cookies Chromium did not store or did not send
}

func newChromeTab(t *testing.T) *chromeTab {
	t.Helper()
	c := &chromeTab{t: t, started: time.Now()}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 640),
		chromedp.CombinedOutput(&c.output),
	)
	// The whole browser lives at most browserTimeout: the first Run binds
	// the browser to this context.
	ctx, cancelTimeout := context.WithTimeout(t.Context(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	logf := func(format string, args ...any) { fmt.Fprintf(&c.output, "chromedp: "+format+"\n", args...) }
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf))
	c.ctx = tabCtx
	c.cancel = func() {
		cancelTab()
		cancelAlloc() // waits for Chromium to exit, before t.TempDir is removed
		cancelTimeout()
	}
	if err := chromedp.Listen(tabCtx, c.record); err != nil {
		c.cancel()
		t.Fatalf("starting %s: %v\n%s", chromiumPath(t), err, c.output.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			// Without a D-Bus, Chromium complains on every start: noise.
			lines := slices.DeleteFunc(strings.Split(c.output.String(), "\n"), func(l string) bool { return strings.Contains(l, ":ERROR:dbus/") })
			t.Logf("chromium output:\n%s", truncate(strings.Join(lines, "\n"), 4000))
		}
	})
	c.logf("started headless %s", chromiumPath(t))
	return c
}

func (c *chromeTab) close() {
	if c.ctx.Err() == nil {
		_ = chromedp.Cancel(c.ctx) // closes the browser gracefully
	}
	c.cancel()
}

// record runs on the tab's event loop, in event order; it must be quick.
func (c *chromeTab) record(ev any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Type != network.ResourceTypeDocument {
			return
		}
		if r := ev.RedirectResponse; r != nil {
			c.navs = append(c.navs, fmt.Sprintf("  <- %d", r.Status))
		}
		c.navs = append(c.navs, ev.Request.Method+" "+truncate(ev.Request.URL, 200))
	case *network.EventRequestWillBeSentExtraInfo:
		for _, ac := range ev.AssociatedCookies {
			// A cookie for another path or domain is simply not this
			// request's; any other reason is the browser's policy at work.
			reasons := slices.DeleteFunc(slices.Clone(ac.BlockedReasons), func(r network.CookieBlockedReason) bool {
				return r == network.CookieBlockedReasonNotOnPath || r == network.CookieBlockedReasonDomainMismatch
			})
			if len(reasons) > 0 && ac.Cookie != nil {
				c.blocked = append(c.blocked, fmt.Sprintf("not sent: %s (domain %s): %v", ac.Cookie.Name, ac.Cookie.Domain, reasons))
			}
		}
	case *network.EventResponseReceivedExtraInfo:
		for _, bc := range ev.BlockedCookies {
			c.blocked = append(c.blocked, fmt.Sprintf("not stored: %s: %v", truncate(bc.CookieLine, 60), bc.BlockedReasons))
		}
	}
}

// blockedSessionCookies are the refusals that concern the app's session
// cookie.
func (c *chromeTab) blockedSessionCookies(name string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, b := range c.blocked {
		if strings.Contains(b, " "+name+" ") || strings.Contains(b, " "+name+"=") {
			out = append(out, b)
		}
	}
	return out
}

func (c *chromeTab) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.navs)
}

func (c *chromeTab) navigationsSince(mark int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.navs[mark:])
}

func (c *chromeTab) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("[%5.2fs] "+format, append([]any{time.Since(c.started).Seconds()}, args...)...)
}

// stepCtx bounds one action. Its cancel is left to the session's end: the
// steps are few.
func (c *chromeTab) stepCtx() context.Context {
	ctx, cancel := context.WithTimeout(c.ctx, browserStep)
	c.t.Cleanup(cancel)
	return ctx
}

// screenshot saves a picture of the whole page, for people
// (saveScreenshot: into LOGTO_ARTIFACTS_DIR when it is set).
func (c *chromeTab) screenshot(name string) {
	c.t.Helper()
	png, err := chromedp.Run(c.stepCtx(), chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		c.fatalf("screenshot %s: %v", name, err)
	}
	saveScreenshot(c.t, name, png)
}

func (c *chromeTab) do(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.stepCtx(), actions...); err != nil {
		c.fatalf("%v", err)
	}
}

func (c *chromeTab) navigate(u string) {
	c.t.Helper()
	if err := chromedp.Do(c.stepCtx(), chromedp.Navigate(u)); err != nil {
		c.fatalf("navigating to %s: %v", u, err)
	}
}

func (c *chromeTab) navigateResponse(u string) *network.Response {
	c.t.Helper()
	resp, err := chromedp.Run(c.stepCtx(), chromedp.NavigateResponse(u))
	if err != nil {
		c.fatalf("navigating to %s: %v", u, err)
	}
	return resp
}

func (c *chromeTab) click(selector string) {
	c.t.Helper()
	if err := chromedp.Do(c.stepCtx(), chromedp.Click(chromedp.CSS(selector))); err != nil {
		c.fatalf("clicking %s: %v", selector, err)
	}
}

func (c *chromeTab) location() string {
	loc, err := chromedp.Run(c.stepCtx(), chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(location unknown: %v)", err)
	}
	return loc
}

// waitFor evaluates the JavaScript condition in the current page until it is
// true. It polls from Go rather than in the page, so navigations in between
// (and the renderer swap of a cross-site one) do not break the wait.
func (c *chromeTab) waitFor(what, condition string) {
	c.t.Helper()
	c.waitUnless(what, condition, "false")
}

// waitUnless is waitFor that gives up at once when the condition stuck,
// a page the flow never leaves, holds instead.
func (c *chromeTab) waitUnless(what, condition, stuck string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, browserStep)
	defer cancel()
	var lastErr error
	for {
		evalCtx, cancelEval := context.WithTimeout(ctx, 2*time.Second)
		state, err := chromedp.Run(evalCtx, chromedp.Evaluate[int]("("+condition+") ? 1 : ("+stuck+") ? 2 : 0"))
		cancelEval()
		if err == nil && state == 1 {
			return
		}
		if err == nil && state == 2 {
			c.fatalf("waiting for %s: the browser is stuck\ncondition: %s\nstuck: %s", what, condition, stuck)
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			c.fatalf("waiting for %s: %v (last evaluation error: %v)\ncondition: %s", what, ctx.Err(), lastErr, condition)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// at is a condition: the page is loaded from origin, under pathPrefix, and
// has an element matching selector.
func (c *chromeTab) at(origin, pathPrefix, selector string) string {
	return fmt.Sprintf(`location.origin === %s && location.pathname.startsWith(%s) && document.readyState !== "loading" && document.querySelector(%s) !== null`,
		jsString(origin), jsString(pathPrefix), jsString(selector))
}

// appHome is a condition: the app's / with heading h1.
func (c *chromeTab) appHome(app *App, h1 string) string {
	return fmt.Sprintf(`location.origin === %s && location.pathname === "/" && document.readyState !== "loading" && document.querySelector("h1") !== null && document.querySelector("h1").textContent === %s`,
		jsString(app.Base), jsString(h1))
}

// SessionCookie is the name of the app's session cookie: on a loopback
// BASE_URL, as every app here has, the example puts BASE_URL's port in it,
// so that local apps on other ports keep their own.
func (a *App) SessionCookie() string {
	u, err := url.Parse(a.Base)
	if err != nil || u.Port() == "" {
		return logto.DefaultSessionName
	}
	return logto.DefaultSessionName + "_" + u.Port()
}

// cookie returns the browser's cookie name for pageURL, or nil.
func (c *chromeTab) cookie(pageURL, name string) *network.Cookie {
	c.t.Helper()
	res, err := chromedp.Call(c.stepCtx(), network.GetCookies, network.GetCookiesParams{URLs: []string{pageURL}})
	if err != nil {
		c.fatalf("Network.getCookies: %v", err)
	}
	for _, ck := range res.Cookies {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// fatalf fails the test with where the browser is and what it shows.
func (c *chromeTab) fatalf(format string, args ...any) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	if c.ctx.Err() != nil {
		fmt.Fprintf(&b, "\n(the browser session ended: %v)", context.Cause(c.ctx))
	} else {
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		defer cancel()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			loc = fmt.Sprintf("unknown (%v)", err)
		}
		page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		if err != nil {
			page = fmt.Sprintf("unknown (%v)", err)
		}
		fmt.Fprintf(&b, "\ncurrent URL: %s\npage HTML:\n%s", loc, truncate(page, 3000))
	}
	c.mu.Lock()
	fmt.Fprintf(&b, "\nnavigations:\n\t%s", strings.Join(c.navs, "\n\t"))
	if len(c.blocked) > 0 {
		fmt.Fprintf(&b, "\ncookies Chromium blocked:\n\t%s", strings.Join(c.blocked, "\n\t"))
	}
	c.mu.Unlock()
	c.t.Fatal(b.String())
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... (%d more bytes)", len(s)-n)
}
