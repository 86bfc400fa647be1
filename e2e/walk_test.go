package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed098cf14d/logto/logtotest"
)

// TestBrowserWalkDevProvider is a newcomer's first hour in a real browser:
// `go run ./examples/nethttp` with no LOGTO_ENDPOINT, so the app starts the
// embedded dev provider and shows its sign-in page. The walk signs in as
// the dev user, opens every link the signed-in home page offers, meets an
// error page, signs out, and finds that /protected asks for a sign-in
// again. Every page must be styled and self-contained: no request leaves
// loopback, and a page loads nothing from another origin. The screenshots
// (saveScreenshot) are for people to look at.
func TestBrowserWalkDevProvider(t *testing.T) {
	requireTool(t, "chromium")
	started := time.Now()

	// What a newcomer gets, on a free port: BASE_URL on localhost (the
	// default is http://localhost:3000), and nothing else set.
	port := freePort(t)
	app := runApp(t, map[string]string{
		"BASE_URL": fmt.Sprintf("http://localhost:%d", port),
		"ADDR":     fmt.Sprintf("127.0.0.1:%d", port),
	})
	dev := app.devProvider(t)
	user := logtotest.DefaultUser()
	t.Logf("app %s with its dev provider %s, ready after %v", app.Base, dev, time.Since(started).Round(time.Millisecond))

	c := newChromeTab(t)
	defer c.close()
	reqs := &requestLog{byID: map[network.RequestID]*seenRequest{}}
	if err := chromedp.Listen(c.ctx, reqs.record); err != nil {
		c.fatalf("listening to the tab's network events: %v", err)
	}
	pages := []string{app.Base, dev} // the origins a page may come from

	// 1. Signed out, on a styled page that loads nothing from elsewhere.
	c.navigate(app.Base + "/")
	c.waitFor("the app's home page, signed out", c.appHome(app, "Not authenticated"))
	style := c.evalString(`(() => { const s = getComputedStyle(document.body);
		return [s.marginTop, s.backgroundColor, s.fontFamily].join(" | ") })()`)
	c.logf("opened %s: Not authenticated; body style %s", app.Base+"/", style)
	// A browser's own style for a body is an 8px margin on a transparent
	// background in a serif font.
	if !strings.HasPrefix(style, "0px | rgb(") || strings.Contains(style, "Times New Roman") {
		c.fatalf("the home page's body has the browser's default style (%s): the stylesheet did not apply", style)
	}
	if bad := reqs.offOrigin(pages); len(bad) > 0 {
		c.fatalf("the signed-out home page made requests off its origin:\n\t%s", strings.Join(bad, "\n\t"))
	}
	c.screenshot("signed-out")

	// 2. Sign in on the dev provider's page, as the dev user.
	mark := c.mark()
	c.click(`a[href="/sign-in"]`)
	c.waitFor("the dev provider's sign-in page", c.devSignInPage(dev))
	buttons := c.evalString(`[...document.querySelectorAll("form button")].map(b => b.textContent.trim()).join(", ")`)
	c.logf("clicked Sign in: at %s, %q, with buttons %s", truncate(c.location(), 120), c.evalString(`document.title`), buttons)
	wantButton := "Continue as " + user.Name
	for _, b := range []string{wantButton, "Continue as " + logtotest.SecondUser().Name, "Cancel"} {
		if !slices.Contains(strings.Split(buttons, ", "), b) {
			c.fatalf("the dev provider's sign-in page has no %q button (buttons: %s)", b, buttons)
		}
	}
	c.screenshot("dev-sign-in")
	choice := c.evalString(fmt.Sprintf(`[...document.querySelectorAll("form button")].find(b => b.textContent.trim() === %s).value`, jsString(wantButton)))
	c.click(fmt.Sprintf(`form button[name="choice"][value=%q]`, choice))
	callbackFailed := fmt.Sprintf(`location.origin === %s && location.pathname === "/callback" && document.readyState === "complete"`, jsString(app.Base))
	c.waitUnless("the app's home page, signed in", c.appHome(app, "Authenticated"), callbackFailed)
	c.logf("clicked %q: back at %s, Authenticated; the browser went through\n\t%s", wantButton, c.location(), strings.Join(c.navigationsSince(mark), "\n\t"))
	callback := reqs.lastDocument(app.Base + "/callback?")
	if callback == "" {
		c.fatalf("the browser never requested %s/callback on the way back", app.Base)
	}
	name := c.evalString(`document.querySelector(".user .name").textContent.trim()`)
	shown := c.evalString(`document.querySelector(".user").innerText`)
	if name != user.Name || !strings.Contains(shown, user.Email) {
		c.fatalf("the signed-in home page shows %q (name %q), want the name %q and the email %q", shown, name, user.Name, user.Email)
	}
	// The dev user has no picture: the avatar is the name's initial.
	avatar := c.evalString(`(() => { const a = document.querySelector(".user .avatar"); if (!a) return "none";
		const r = a.getBoundingClientRect(); if (r.width < 16 || r.height < 16) return "invisible";
		return a.tagName === "IMG" ? (a.complete && a.naturalWidth > 0 ? "picture" : "broken picture") : "initial " + a.textContent.trim() })()`)
	if avatar != "picture" && avatar != "initial "+user.Name[:1] {
		c.fatalf("the signed-in home page's avatar: %s", avatar)
	}
	c.logf("signed in as %q <%s>, avatar: %s", name, user.Email, avatar)
	c.screenshot("signed-in")

	// 3. Every link of the signed-in home page answers 200 with what it
	// promises.
	links := c.sameOriginLinks(app)
	wantRoutes := []string{"/", "/protected", "/api/id-token-claims", "/api/userinfo",
		"/api/access-token", "/api/organization-token", "/api/organization-resource-token"}
	var routes []string
	for _, l := range links {
		routes = append(routes, l.path)
	}
	for _, r := range wantRoutes {
		if !slices.Contains(routes, r) {
			c.fatalf("the signed-in home page links no %s; its links: %v", r, links)
		}
	}
	for _, l := range links {
		c.navigate(app.Base + "/")
		c.waitFor("the app's home page, signed in", c.appHome(app, "Authenticated"))
		resp, err := chromedp.RunResponse(c.stepCtx(), chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href=%q]`, l.href))))
		if err != nil {
			c.fatalf("clicking the link %q (%s): %v", l.text, l.href, err)
		}
		if resp.Status != 200 || !strings.HasPrefix(resp.URL, app.Base+l.path) {
			c.fatalf("the link %q (%s) answered HTTP %d from %s, want 200 from the app", l.text, l.href, resp.Status, resp.URL)
		}
		what := c.checkLinkPage(app, l, user)
		c.logf("link %q %s: HTTP %d, %s", l.text, l.href, resp.Status, what)
		if l.path == "/api/id-token-claims" {
			c.screenshot("json")
		}
	}

	// 4. Errors: a JSON route answers a JSON error; a forged callback, the
	// error page, and the signed-in session stays; a reload of the real
	// callback goes home.
	unknown := app.Base + "/api/access-token?resource=" + url.QueryEscape("https://unknown.example.com")
	resp := c.navigateResponse(unknown)
	var jsonErr map[string]any
	if body := c.pageText(); json.Unmarshal([]byte(body), &jsonErr) != nil || resp.Status < 400 || resp.Status > 499 || jsonErr["error"] == nil {
		c.fatalf("GET %s: HTTP %d %q, want a 4xx JSON error", unknown, resp.Status, body)
	}
	c.logf("opened an access token for an unknown resource: HTTP %d, %v", resp.Status, jsonErr)

	resp = c.navigateResponse(app.Base + "/callback?state=forged&code=x")
	if resp.Status != 400 {
		c.fatalf("a forged callback answered HTTP %d, want 400", resp.Status)
	}
	code, sentence := c.checkErrorPage()
	c.logf("opened a forged callback: HTTP %d, the error page says %q: %q", resp.Status, code, sentence)
	c.screenshot("error")
	c.click(`main a[href="/"]`)
	c.waitFor("the app's home page, still signed in after a forged callback", c.appHome(app, "Authenticated"))
	c.logf("clicked Home: still Authenticated")
	resp = c.navigateResponse(callback)
	if resp.Status != 200 || resp.URL != app.Base+"/" {
		c.fatalf("reopening the real callback answered HTTP %d from %s, want 200 from %s/", resp.Status, resp.URL, app.Base)
	}
	c.waitFor("the app's home page after reloading the real callback", c.appHome(app, "Authenticated"))
	c.logf("reopened the real callback: HTTP %d at %s, Authenticated", resp.Status, c.location())

	// 5. Sign out through the page's own control; then /protected asks
	// for a sign-in rather than signing in again silently.
	mark = c.mark()
	c.click(`form[action="/sign-out"] button`)
	c.waitFor("the dev provider's signed-out page", c.at(dev, "/oidc/", `h1`)+` && document.querySelector("h1").textContent === "You are signed out of the dev provider"`)
	c.logf("clicked Sign out: at %s, %q; the browser went through\n\t%s", truncate(c.location(), 120), c.evalString(`document.title`), strings.Join(c.navigationsSince(mark), "\n\t"))
	c.screenshot("dev-signed-out")
	c.click(fmt.Sprintf(`a.button[href^=%q]`, app.Base+"/"))
	c.waitFor("the app's home page, signed out", c.appHome(app, "Not authenticated"))
	c.logf("clicked Return to the app: at %s, Not authenticated", c.location())

	mark = c.mark()
	c.navigate(app.Base + "/protected")
	c.waitFor("the dev provider's sign-in page after /protected", c.devSignInPage(dev))
	hops := c.navigationsSince(mark)
	c.logf("opened /protected signed out: at the dev provider's sign-in page; the browser went through\n\t%s", strings.Join(hops, "\n\t"))
	if !slices.ContainsFunc(hops, func(h string) bool { return strings.HasPrefix(h, "GET "+app.Base+"/sign-in") }) {
		c.fatalf("/protected did not send the browser to %s/sign-in", app.Base)
	}
	if slices.ContainsFunc(hops, func(h string) bool { return strings.HasPrefix(h, "GET "+app.Base+"/callback") }) {
		c.fatalf("/protected signed the browser in again without asking")
	}
	c.screenshot("protected-asks-sign-in")

	if bad := reqs.offOrigin(pages); len(bad) > 0 {
		c.fatalf("requests off loopback or off their page's origin:\n\t%s", strings.Join(bad, "\n\t"))
	}
	if failed := reqs.failures(); len(failed) > 0 {
		c.fatalf("requests that failed in the browser:\n\t%s", strings.Join(failed, "\n\t"))
	}
	if blocked := c.blockedSessionCookies(app.SessionCookie()); len(blocked) > 0 {
		t.Errorf("Chromium blocked the session cookie:\n\t%s", strings.Join(blocked, "\n\t"))
	}
	c.logf("%d requests, all on loopback and each page's own origin; browser walk done in %v (test %v)",
		reqs.count(), time.Since(c.started).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

// devProvider is the base URL of the dev provider the app started, from
// the line the app prints about it.
func (a *App) devProvider(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^dev provider at (http://\S+)`).FindStringSubmatch(a.proc.stdout.String())
	if m == nil {
		a.proc.failf(t, "the app printed no line about its dev provider")
	}
	return m[1]
}

// devSignInPage is a condition: the dev provider's sign-in page, with its
// "Continue as" buttons.
func (c *chromeTab) devSignInPage(dev string) string {
	return c.at(dev, "/oidc/", `form button[name="choice"]`) + ` && document.querySelector("h1").textContent === "Sign in to the dev provider"`
}

// evalString evaluates a JavaScript expression of the page that yields a
// string.
func (c *chromeTab) evalString(expr string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.stepCtx(), chromedp.Evaluate[string](expr))
	if err != nil {
		c.fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// pageText is the text of the page: a JSON document's as Chromium shows
// it (in a pre), or the body's.
func (c *chromeTab) pageText() string {
	c.t.Helper()
	return c.evalString(`(document.querySelector("body > pre") || document.body).textContent`)
}

// pageLink is a link of a page to its own origin.
type pageLink struct{ href, path, text string }

func (l pageLink) String() string { return fmt.Sprintf("%q %s", l.text, l.href) }

// sameOriginLinks are the links of the current page to app's origin, one
// per href, but for signing out.
func (c *chromeTab) sameOriginLinks(app *App) []pageLink {
	c.t.Helper()
	raw := c.evalString(`JSON.stringify([...document.querySelectorAll("a[href]")].map(a =>
		[a.getAttribute("href"), a.href, a.textContent.trim()]))`)
	var all [][3]string
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		c.fatalf("reading the page's links: %v", err)
	}
	var links []pageLink
	for _, a := range all {
		u, err := url.Parse(a[1])
		if err != nil || u.Scheme+"://"+u.Host != app.Base || u.Path == "/sign-out" {
			continue
		}
		if strings.ContainsAny(a[0], `"\`) {
			c.fatalf("the link %q has an href a CSS selector cannot quote simply: %s", a[2], a[0])
		}
		if !slices.ContainsFunc(links, func(l pageLink) bool { return l.href == a[0] }) {
			links = append(links, pageLink{href: a[0], path: u.Path, text: a[2]})
		}
	}
	return links
}

// checkLinkPage checks the page a link of the home page opened: JSON with
// what the route promises, or an app page that is not an error, and says
// what it found.
func (c *chromeTab) checkLinkPage(app *App, l pageLink, user logtotest.User) string {
	c.t.Helper()
	if !strings.HasPrefix(l.path, "/api/") {
		h1 := c.evalString(`document.querySelector("h1") ? document.querySelector("h1").textContent : ""`)
		isError := c.evalString(`document.querySelector(".error") ? "yes" : ""`)
		want := map[string]string{"/": "Authenticated", "/protected": "Protected"}[l.path]
		if isError != "" || h1 == "" || (want != "" && h1 != want) {
			c.fatalf("the link %s opened a page headed %q (error page: %v), want %q", l, h1, isError != "", want)
		}
		return fmt.Sprintf("a page headed %q", h1)
	}
	text := c.pageText()
	var v map[string]any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		c.fatalf("the link %s shows no JSON object: %v\n%s", l, err, truncate(text, 500))
	}
	if !strings.Contains(text, "\n  \"") {
		c.fatalf("the link %s shows JSON that is not indented for a browser:\n%s", l, truncate(text, 500))
	}
	if v["error"] != nil {
		c.fatalf("the link %s shows an error: %v", l, v)
	}
	claims := v
	switch l.path {
	case "/api/id-token-claims", "/api/userinfo":
		if v["sub"] != user.Subject {
			c.fatalf("the link %s shows sub %v, want %q: %v", l, v["sub"], user.Subject, v)
		}
	default:
		token, _ := v["access_token"].(string)
		claims, _ = v["claims"].(map[string]any)
		if token == "" || claims == nil {
			c.fatalf("the link %s shows no access_token and claims: %s", l, truncate(text, 500))
		}
		q, _ := url.ParseQuery(strings.TrimPrefix(l.href, l.path+"?"))
		wantAud := q.Get("resource")
		if wantAud == "" {
			wantAud = "urn:logto:organization:" + q.Get("organization_id")
		}
		if !audienceHas(claims["aud"], wantAud) {
			c.fatalf("the link %s shows a token for %v, want %q", l, claims["aud"], wantAud)
		}
		if org := q.Get("organization_id"); org != "" && l.path == "/api/organization-resource-token" && claims["organization_id"] != org {
			c.fatalf("the link %s shows a token of organization %v, want %q", l, claims["organization_id"], org)
		}
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return fmt.Sprintf("JSON with %s (sub %v, aud %v)", strings.Join(keys, ", "), claims["sub"], claims["aud"])
}

func audienceHas(aud any, want string) bool {
	switch aud := aud.(type) {
	case string:
		return aud == want
	case []any:
		return slices.Contains(aud, any(want))
	}
	return false
}

// checkErrorPage checks that the page is the app's error page: the error's
// code as its heading, a plain sentence, and links Home and Sign in again.
// It returns the code and the sentence.
func (c *chromeTab) checkErrorPage() (code, sentence string) {
	c.t.Helper()
	raw := c.evalString(`JSON.stringify((() => {
		const card = document.querySelector("main .error");
		if (!card) return null;
		const h1 = card.querySelector("h1"), p = card.querySelector("h1 + p");
		return {code: h1 ? h1.textContent.trim() : "", sentence: p ? p.textContent.trim() : "",
			links: [...card.querySelectorAll("a[href]")].map(a => a.textContent.trim() + " " + a.getAttribute("href"))};
	})())`)
	var page *struct {
		Code, Sentence string
		Links          []string
	}
	if err := json.Unmarshal([]byte(raw), &page); err != nil || page == nil {
		c.fatalf("not the app's error page (%s)", raw)
	}
	if !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(page.Code) {
		c.fatalf("the error page's heading %q is no error code", page.Code)
	}
	// A sentence for a person: no error chain ("logto: ...: ..."), no code.
	if !regexp.MustCompile(`^[A-Z][^:]*[.!]$`).MatchString(page.Sentence) || strings.Contains(page.Sentence, page.Code) {
		c.fatalf("the error page's text %q is not a plain sentence", page.Sentence)
	}
	for _, want := range []string{"Home /", "Sign in again /sign-in"} {
		if !slices.Contains(page.Links, want) {
			c.fatalf("the error page has no link %q (links: %v)", want, page.Links)
		}
	}
	return page.Code, page.Sentence
}

// requestLog is every request the tab sent, from the network events.
type requestLog struct {
	mu   sync.Mutex
	reqs []*seenRequest
	byID map[network.RequestID]*seenRequest // the latest hop of each request
}

// seenRequest is one request, one hop of a redirect chain.
type seenRequest struct {
	method, url string
	typ         network.ResourceType
	document    string // the URL of the document it was made for
	status      int64  // 0 until an answer came
	failed      string // why loading failed, if it did
}

func (s *seenRequest) String() string {
	return fmt.Sprintf("%s %s %s (for %s): HTTP %d%s", s.typ, s.method, truncate(s.url, 150), truncate(s.document, 80), s.status, s.failed)
}

// record runs on the tab's event loop; it must be quick.
func (l *requestLog) record(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if prev := l.byID[ev.RequestID]; prev != nil && ev.RedirectResponse != nil {
			prev.status = ev.RedirectResponse.Status
		}
		r := &seenRequest{method: ev.Request.Method, url: ev.Request.URL, typ: ev.Type, document: ev.DocumentURL}
		l.reqs = append(l.reqs, r)
		l.byID[ev.RequestID] = r
	case *network.EventResponseReceived:
		if r := l.byID[ev.RequestID]; r != nil {
			r.status = ev.Response.Status
		}
	case *network.EventLoadingFailed:
		if r := l.byID[ev.RequestID]; r != nil {
			r.failed = fmt.Sprintf(" failed: %s%s", ev.ErrorText, ev.BlockedReason)
		}
	}
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

// lastDocument is the URL of the latest page request whose URL starts with
// prefix, or "".
func (l *requestLog) lastDocument(prefix string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range slices.Backward(l.reqs) {
		if r.typ == network.ResourceTypeDocument && strings.HasPrefix(r.url, prefix) {
			return r.url
		}
	}
	return ""
}

// offOrigin lists the requests that left loopback, or loaded a page from
// an origin not in pageOrigins, or loaded anything else from an origin
// other than its page's.
func (l *requestLog) offOrigin(pageOrigins []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bad []string
	for _, r := range l.reqs {
		u, err := url.Parse(r.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !loopbackHost(u.Hostname()) {
			bad = append(bad, "off loopback: "+r.String())
			continue
		}
		origin := u.Scheme + "://" + u.Host
		if r.typ == network.ResourceTypeDocument {
			if !slices.Contains(pageOrigins, origin) {
				bad = append(bad, "a page from another origin: "+r.String())
			}
			continue
		}
		if d, err := url.Parse(r.document); err != nil || d.Scheme+"://"+d.Host != origin {
			bad = append(bad, "off its page's origin: "+r.String())
		}
	}
	return bad
}

// failures lists the requests whose loading failed.
func (l *requestLog) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		if r.failed != "" {
			out = append(out, r.String())
		}
	}
	return out
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
