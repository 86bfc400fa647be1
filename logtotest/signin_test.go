package logtotest_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// noRedirects is a browser that shows each redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// page is an HTML answer as a browser gets it.
type page struct {
	status int
	header http.Header
	body   string
}

func browse(t *testing.T, method, target string, form url.Values, header map[string]string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header, string(b)}
}

var (
	interactionRE = regexp.MustCompile(`name="interaction" value="([^"]+)"`)
	choiceRE      = regexp.MustCompile(`name="choice" value="([^"]+)"`)
)

// signInForm GETs authURL, wants the sign-in page, and returns its
// interaction ID and the choices its buttons offer.
func signInForm(t *testing.T, authURL string) (string, []string) {
	t.Helper()
	pg := browse(t, http.MethodGet, authURL, nil, nil)
	if pg.status != 200 || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") {
		t.Fatalf("want the sign-in page, got %d %q %q", pg.status, pg.header.Get("Location"), pg.body)
	}
	if !strings.Contains(pg.body, `<form method="post" action="auth/confirm">`) {
		t.Fatalf("no form posting to auth/confirm: %s", pg.body)
	}
	m := interactionRE.FindStringSubmatch(pg.body)
	if m == nil {
		t.Fatalf("no interaction ID on the page: %s", pg.body)
	}
	var choices []string
	for _, c := range choiceRE.FindAllStringSubmatch(pg.body, -1) {
		choices = append(choices, c[1])
	}
	return m[1], choices
}

// confirm posts the sign-in form as the provider's own page does.
func confirm(t *testing.T, p *logtotest.Provider, form url.Values, header map[string]string) page {
	t.Helper()
	h := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": p.Endpoint()}
	for k, v := range header {
		h[k] = v
	}
	return browse(t, http.MethodPost, p.Issuer()+"/auth/confirm", form, h)
}

// callbackQuery checks pg redirects to the test callback and returns its
// query.
func callbackQuery(t *testing.T, pg page) url.Values {
	t.Helper()
	if pg.status != http.StatusSeeOther {
		t.Fatalf("want a redirect to the client, got %d %q", pg.status, pg.body)
	}
	u, err := url.Parse(pg.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "http://localhost:9999/callback" {
		t.Fatalf("redirected to %q", u)
	}
	return u.Query()
}

func signInOptions() logtotest.Options {
	return logtotest.Options{SignInPage: true, ExtraUsers: []logtotest.User{logtotest.SecondUser()}}
}

func TestSignInPageShownOnlyWhenAsked(t *testing.T) {
	verifier := oauth2.GenerateVerifier()

	p := logtotest.NewTestProvider(t, logtotest.Options{ExtraUsers: []logtotest.User{logtotest.SecondUser()}})
	f := newFlow(t, p)
	pg := browse(t, http.MethodGet, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), nil, nil)
	if q := callbackQuery(t, pg); q.Get("code") == "" {
		t.Errorf("without SignInPage: %v", q)
	}
	pg = browse(t, http.MethodPost, p.Issuer()+"/auth/confirm", url.Values{"interaction": {"x"}, "choice": {"0"}}, nil)
	if pg.status != 404 {
		t.Errorf("confirm route without SignInPage: %d", pg.status)
	}

	p = logtotest.NewTestProvider(t, signInOptions())
	f = newFlow(t, p)
	pg = browse(t, http.MethodGet, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), nil, nil)
	if pg.status != 200 || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") {
		t.Fatalf("with SignInPage: %d %q", pg.status, pg.header.Get("Location"))
	}
	for _, want := range []string{
		"<title>Sign in to the dev provider</title>",
		"embedded development provider", "No password is needed",
		">Continue as Dev User</button>", ">Continue as Second User</button>", ">Cancel</button>",
		"dev-app", "http://localhost:9999/callback?keep=me",
	} {
		if !strings.Contains(pg.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "<link", "src=", "http-equiv"} {
		if strings.Contains(pg.body, bad) {
			t.Errorf("page has %q", bad)
		}
	}
	if csp := pg.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || pg.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", pg.header)
	}
	if p.Requests("authorize") != 1 || p.LastAuthorizeRequest().Get("state") != "s" {
		t.Errorf("authorize requests %d, last %v", p.Requests("authorize"), p.LastAuthorizeRequest())
	}
	if cb, err := p.Authorize(t.Context(), f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))); err == nil ||
		!strings.Contains(err.Error(), "sign-in page") {
		t.Errorf("Authorize with the page: %q, %v", cb, err)
	}
	_, choices := signInForm(t, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	if !slices.Equal(choices, []string{"0", "1", "cancel"}) {
		t.Errorf("choices %q", choices)
	}

	// The user falls back to Username, then Subject, for the button.
	p = logtotest.NewTestProvider(t, logtotest.Options{SignInPage: true,
		User:       &logtotest.User{Subject: "s1", Username: "nick"},
		ExtraUsers: []logtotest.User{{Subject: "s2"}}})
	pg = browse(t, http.MethodGet, newFlow(t, p).cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), nil, nil)
	if !strings.Contains(pg.body, ">Continue as nick</button>") || !strings.Contains(pg.body, ">Continue as s2</button>") {
		t.Errorf("fallback labels: %s", pg.body)
	}
}

// TestSignInKeepsAuthorizeErrors runs bad authorization requests against a
// provider with the page: they fail as they do without it, before any page.
func TestSignInKeepsAuthorizeErrors(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{SignInPage: true, RedirectURIs: []string{"http://localhost:1/cb"}})
	base := url.Values{
		"client_id": {p.ClientID()}, "redirect_uri": {"http://localhost:1/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"},
		"state": {"st"},
	}
	cases := map[string]struct {
		edit    func(url.Values)
		wantErr string // "" = an error page, no redirect
	}{
		"no client":      {func(q url.Values) { q.Del("client_id") }, ""},
		"unknown client": {func(q url.Values) { q.Set("client_id", "other") }, ""},
		"unregistered":   {func(q url.Values) { q.Set("redirect_uri", "http://localhost:1/other") }, ""},
		"token":          {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type"},
		"no openid":      {func(q url.Values) { q.Set("scope", "profile") }, "invalid_request"},
		"no pkce":        {func(q url.Values) { q.Del("code_challenge") }, "invalid_request"},
		"resource":       {func(q url.Values) { q.Set("resource", "https://unknown.example.com") }, "invalid_target"},
		"prompt none":    {func(q url.Values) { q.Set("prompt", "none") }, "login_required"},
	}
	for name, tc := range cases {
		q := cloneQuery(base)
		tc.edit(q)
		pg := browse(t, http.MethodGet, p.Issuer()+"/auth?"+q.Encode(), nil, nil)
		if tc.wantErr == "" {
			if pg.status != 400 || pg.header.Get("Location") != "" || !strings.Contains(pg.body, "something went wrong") {
				t.Errorf("%s: want an error page, got %d %q", name, pg.status, pg.header.Get("Location"))
			}
			continue
		}
		loc, _ := url.Parse(pg.header.Get("Location"))
		if pg.status != http.StatusSeeOther || loc.Host != "localhost:1" || loc.Query().Get("error") != tc.wantErr ||
			loc.Query().Get("state") != "st" || loc.Query().Get("iss") != p.Issuer() {
			t.Errorf("%s: got %d %q, want error %s", name, pg.status, loc, tc.wantErr)
		}
	}

	// An injected fault still comes first.
	p.SetFaults(logtotest.Faults{AuthorizeError: "temporarily_unavailable"})
	pg := browse(t, http.MethodGet, p.Issuer()+"/auth?"+base.Encode(), nil, nil)
	if loc, _ := url.Parse(pg.header.Get("Location")); loc == nil || loc.Query().Get("error") != "temporarily_unavailable" {
		t.Errorf("fault: %d %q", pg.status, pg.header.Get("Location"))
	}

	// Without the page, prompt=none is approved as before.
	p2 := logtotest.NewTestProvider(t, logtotest.Options{})
	q := cloneQuery(base)
	q.Set("prompt", "none")
	pg = browse(t, http.MethodGet, p2.Issuer()+"/auth?"+q.Encode(), nil, nil)
	if loc, _ := url.Parse(pg.header.Get("Location")); loc == nil || loc.Query().Get("code") == "" {
		t.Errorf("prompt=none without the page: %d %q", pg.status, pg.header.Get("Location"))
	}
}

func TestSignInChoosesUser(t *testing.T) {
	main := logtotest.DefaultUser()
	second := logtotest.SecondUser()
	p := logtotest.NewTestProvider(t, signInOptions())
	f := newFlow(t, p, "openid", "offline_access", "profile", "email", "urn:logto:scope:organizations")

	for _, tc := range []struct {
		choice string
		user   logtotest.User
		orgOK  bool // may get an organization token for org-1
	}{
		{"0", main, true},
		{"1", second, false},
	} {
		verifier := oauth2.GenerateVerifier()
		authURL := f.cfg.AuthCodeURL("st-"+tc.choice, oauth2.S256ChallengeOption(verifier),
			oauth2.SetAuthURLParam("prompt", "consent"), oauth2.SetAuthURLParam("nonce", "n-"+tc.choice),
			oauth2.SetAuthURLParam("resource", logtotest.OrganizationsResource))
		id, _ := signInForm(t, authURL)
		q := callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {tc.choice}}, nil))
		if q.Get("code") == "" || q.Get("state") != "st-"+tc.choice || q.Get("iss") != p.Issuer() || q.Get("keep") != "me" {
			t.Fatalf("choice %s: callback %v", tc.choice, q)
		}
		tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("choice %s: exchange: %v", tc.choice, err)
		}
		idt, err := f.verifyID(t, idToken(t, tok))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Name  string   `json:"name"`
			Email string   `json:"email"`
			Orgs  []string `json:"organizations"`
		}
		_ = idt.Claims(&c)
		if idt.Subject != tc.user.Subject || idt.Nonce != "n-"+tc.choice || c.Name != tc.user.Name ||
			c.Email != tc.user.Email || !slices.Equal(c.Orgs, tc.user.Organizations) {
			t.Errorf("choice %s: id token sub %q nonce %q claims %+v", tc.choice, idt.Subject, idt.Nonce, c)
		}

		ui, err := f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		var uc map[string]any
		_ = ui.Claims(&uc)
		if ui.Subject != tc.user.Subject || uc["name"] != tc.user.Name || uc["email"] != tc.user.Email {
			t.Errorf("choice %s: userinfo %v", tc.choice, uc)
		}

		// Refresh keeps the grant's user, in the ID token and in
		// organization membership.
		status, body := refresh(t, p, tok.RefreshToken, nil)
		if status != 200 {
			t.Fatalf("choice %s: refresh %d %v", tc.choice, status, body)
		}
		if _, rc := decodeJWT(t, body["id_token"].(string)); rc["sub"] != tc.user.Subject || rc["name"] != tc.user.Name {
			t.Errorf("choice %s: refreshed id token %v", tc.choice, rc)
		}
		status, body = refresh(t, p, body["refresh_token"].(string), url.Values{"organization_id": {logtotest.DefaultOrganization}})
		switch {
		case tc.orgOK && status == 200:
			if _, ac := decodeJWT(t, body["access_token"].(string)); ac["sub"] != tc.user.Subject {
				t.Errorf("choice %s: organization token %v", tc.choice, ac)
			}
		case tc.orgOK:
			t.Errorf("choice %s: organization token refused: %d %v", tc.choice, status, body)
		default:
			wantError(t, status, body, 403, "access_denied")
		}

		// SetUser changes the main user, not a grant of an extra user.
		changed := main
		changed.Name = "Changed"
		p.SetUser(changed)
		ui, err = f.op.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		_ = ui.Claims(&uc)
		want := tc.user.Name
		if tc.choice == "0" {
			want = "Changed"
		}
		if uc["name"] != want {
			t.Errorf("choice %s: userinfo name after SetUser %v, want %q", tc.choice, uc["name"], want)
		}
		p.SetUser(main)
	}
	if p.Requests("sign_in") != 2 {
		t.Errorf("sign_in requests = %d", p.Requests("sign_in"))
	}
}

func TestSignInCancel(t *testing.T) {
	p := logtotest.NewTestProvider(t, signInOptions())
	f := newFlow(t, p)
	id, _ := signInForm(t, f.cfg.AuthCodeURL("keep-this", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	q := callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {"cancel"}}, nil))
	if q.Get("error") != "access_denied" || q.Get("state") != "keep-this" || q.Get("iss") != p.Issuer() ||
		q.Get("code") != "" || q.Get("error_description") == "" {
		t.Errorf("cancel: %v", q)
	}
	// A canceled form is spent.
	if pg := confirm(t, p, url.Values{"interaction": {id}, "choice": {"0"}}, nil); pg.status != 400 {
		t.Errorf("sign-in after cancel: %d", pg.status)
	}
}

func TestSignInInteractionRefused(t *testing.T) {
	var offset atomic.Int64
	opts := signInOptions()
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	p := logtotest.NewTestProvider(t, opts)
	f := newFlow(t, p)
	form := func() string {
		id, _ := signInForm(t, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		return id
	}
	refused := func(name string, pg page, status int, says string) {
		t.Helper()
		if pg.status != status || pg.header.Get("Location") != "" || !strings.Contains(pg.body, says) ||
			!strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: got %d %q %q, want %d saying %q", name, pg.status, pg.header.Get("Location"), pg.body, status, says)
		}
	}

	id := form()
	callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {"1"}}, nil))
	refused("replay", confirm(t, p, url.Values{"interaction": {id}, "choice": {"1"}}, nil), 400, "already used")
	refused("unknown", confirm(t, p, url.Values{"interaction": {"bm90LWlzc3VlZA"}, "choice": {"0"}}, nil), 400, "unknown sign-in interaction")

	id = form()
	offset.Store(int64(interactionTTL - time.Second))
	id2 := form()
	offset.Store(int64(interactionTTL + time.Second))
	refused("expired", confirm(t, p, url.Values{"interaction": {id}, "choice": {"0"}}, nil), 400, "expired")
	callbackQuery(t, confirm(t, p, url.Values{"interaction": {id2}, "choice": {"0"}}, nil))

	id = form()
	for name, bad := range map[string]url.Values{
		"no interaction":   {"choice": {"0"}},
		"no choice":        {"interaction": {id}},
		"two choices":      {"interaction": {id}, "choice": {"0", "1"}},
		"two interactions": {"interaction": {id, id}, "choice": {"0"}},
		"no such user":     {"interaction": {id}, "choice": {"2"}},
		"negative":         {"interaction": {id}, "choice": {"-1"}},
		"signed":           {"interaction": {id}, "choice": {"+1"}},
		"huge":             {"interaction": {id}, "choice": {"99999999999999999999"}},
		"word":             {"interaction": {id}, "choice": {"yes"}},
	} {
		refused(name, confirm(t, p, bad, nil), 400, "invalid_request")
	}
	// The interaction ID counts only in the body.
	refused("in the query", browse(t, http.MethodPost, p.Issuer()+"/auth/confirm?interaction="+url.QueryEscape(id)+"&choice=0",
		url.Values{}, map[string]string{"Sec-Fetch-Site": "same-origin"}), 400, "missing required parameter")
	// None of that spent the form.
	callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {"0"}}, nil))

	if pg := browse(t, http.MethodGet, p.Issuer()+"/auth/confirm?interaction="+id, nil, nil); pg.status != 405 {
		t.Errorf("GET confirm: %d", pg.status)
	}
}

// interactionTTL mirrors the provider's: a sign-in form lasts 10 minutes.
const interactionTTL = 10 * time.Minute

func TestSignInCrossSiteRefused(t *testing.T) {
	p := logtotest.NewTestProvider(t, signInOptions())
	f := newFlow(t, p)
	id, _ := signInForm(t, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	form := url.Values{"interaction": {id}, "choice": {"1"}}
	for name, h := range map[string]map[string]string{
		"cross-site":            {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"same-site":             {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:1"},
		"foreign Origin only":   {"Sec-Fetch-Site": "", "Origin": "https://evil.example"},
		"cross-site, no Origin": {"Sec-Fetch-Site": "cross-site", "Origin": ""},
	} {
		pg := confirm(t, p, form, h)
		if pg.status != 403 || pg.header.Get("Location") != "" {
			t.Errorf("%s: %d %q", name, pg.status, pg.header.Get("Location"))
		}
	}
	// The refused posts did not spend the form.
	callbackQuery(t, confirm(t, p, form, nil))
}

func TestSignInIgnoresRepostedParams(t *testing.T) {
	p := logtotest.NewTestProvider(t, signInOptions())
	f := newFlow(t, p, "openid", "offline_access")
	verifier := oauth2.GenerateVerifier()
	id, _ := signInForm(t, f.cfg.AuthCodeURL("real-state", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("prompt", "consent")))

	attacker := url.Values{
		"redirect_uri": {"http://evil.example/cb"}, "state": {"evil"}, "client_id": {"other"},
		"scope": {"openid profile email"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"nonce": {"evil-nonce"}, "prompt": {"none"},
	}
	form := url.Values{"interaction": {id}, "choice": {"1"}}
	for k, v := range attacker {
		form[k] = v
	}
	pg := browse(t, http.MethodPost, p.Issuer()+"/auth/confirm?"+attacker.Encode(), form,
		map[string]string{"Sec-Fetch-Site": "same-origin"})
	q := callbackQuery(t, pg)
	if q.Get("state") != "real-state" || q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange with the original verifier: %v", err)
	}
	if got := tok.Extra("scope"); got != "openid offline_access" || tok.RefreshToken == "" {
		t.Errorf("scope %v, refresh token %q", got, tok.RefreshToken)
	}
	_, c := decodeJWT(t, idToken(t, tok))
	if c["sub"] != "dev-user-2" || c["nonce"] != nil || c["email"] != nil {
		t.Errorf("id token claims %v", c)
	}
}

func TestSignInEscapesHTML(t *testing.T) {
	evil := logtotest.SecondUser()
	evil.Name = `<script>alert(1)</script>`
	evil.Email = `"><img src=x onerror=alert(2)>@example.com`
	p := logtotest.NewTestProvider(t, logtotest.Options{SignInPage: true, ExtraUsers: []logtotest.User{evil}})
	f := newFlow(t, p)
	f.cfg.RedirectURL = `http://localhost:9999/callback?x="><script>alert(3)</script>`
	pg := browse(t, http.MethodGet, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil, nil)
	if pg.status != 200 {
		t.Fatalf("page: %d %q", pg.status, pg.body)
	}
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(pg.body, bad) {
			t.Errorf("page has %q unescaped:\n%s", bad, pg.body)
		}
	}
	if !strings.Contains(pg.body, "Continue as &lt;script&gt;alert(1)&lt;/script&gt;") ||
		!strings.Contains(pg.body, "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;@example.com") {
		t.Errorf("escaped name or email missing:\n%s", pg.body)
	}
}

func TestEndSessionSignedOutPage(t *testing.T) {
	opts := signInOptions()
	opts.PostLogoutRedirectURIs = []string{"http://localhost:9999/bye"}
	p := logtotest.NewTestProvider(t, opts)
	f := newFlow(t, p)
	verifier := oauth2.GenerateVerifier()
	id, _ := signInForm(t, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent")))
	q := callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {"0"}}, nil))
	tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	end := url.Values{
		"client_id":                {p.ClientID()},
		"id_token_hint":            {idToken(t, tok)},
		"post_logout_redirect_uri": {"http://localhost:9999/bye"},
		"state":                    {"bye state"},
	}
	pg := browse(t, http.MethodGet, p.Issuer()+"/session/end?"+end.Encode(), nil, nil)
	if pg.status != 200 || pg.header.Get("Location") != "" ||
		!strings.Contains(pg.body, "You are signed out of the dev provider") ||
		!strings.Contains(pg.body, `<a class="button" href="http://localhost:9999/bye?state=bye&#43;state">Return to the app</a>`) ||
		strings.Contains(pg.body, "<script") {
		t.Errorf("end session: %d %q\n%s", pg.status, pg.header.Get("Location"), pg.body)
	}
	// What end-session does not do is unchanged: the offline grant lives.
	if status, body := refresh(t, p, tok.RefreshToken, nil); status != 200 {
		t.Errorf("refresh after end session: %d %v", status, body)
	}
	// Validation is unchanged.
	bad := cloneQuery(end)
	bad.Set("post_logout_redirect_uri", "http://evil.example.com/")
	if pg := browse(t, http.MethodGet, p.Issuer()+"/session/end?"+bad.Encode(), nil, nil); pg.status != 400 {
		t.Errorf("unregistered post-logout URI: %d", pg.status)
	}
	bad = cloneQuery(end)
	bad.Del("client_id")
	bad.Del("id_token_hint")
	if pg := browse(t, http.MethodGet, p.Issuer()+"/session/end?"+bad.Encode(), nil, nil); pg.status != 400 {
		t.Errorf("post-logout URI without a client: %d", pg.status)
	}
	// Nowhere to return to: the page without the link.
	pg = browse(t, http.MethodGet, p.Issuer()+"/session/end", nil, nil)
	if pg.status != 200 || !strings.Contains(pg.body, "You are signed out of the dev provider") || strings.Contains(pg.body, "Return to the app") {
		t.Errorf("plain end session: %d\n%s", pg.status, pg.body)
	}

	// Without SignInPage, the silent redirect.
	p2 := logtotest.NewTestProvider(t, logtotest.Options{PostLogoutRedirectURIs: []string{"http://localhost:9999/bye"}})
	end.Del("id_token_hint")
	pg = browse(t, http.MethodGet, p2.Issuer()+"/session/end?"+end.Encode(), nil, nil)
	if pg.status != http.StatusSeeOther || pg.header.Get("Location") != "http://localhost:9999/bye?state=bye+state" {
		t.Errorf("without SignInPage: %d %q", pg.status, pg.header.Get("Location"))
	}
}

func TestExtraUsersValidated(t *testing.T) {
	second := logtotest.SecondUser()
	for name, tc := range map[string]struct {
		opts logtotest.Options
		want []string // in the error; nil = no error
	}{
		"ok":             {logtotest.Options{ExtraUsers: []logtotest.User{second}}, nil},
		"empty subject":  {logtotest.Options{ExtraUsers: []logtotest.User{{Name: "x"}}}, []string{"ExtraUsers[0] has no Subject"}},
		"main's subject": {logtotest.Options{ExtraUsers: []logtotest.User{{Subject: "dev-user-1"}}}, []string{`ExtraUsers[0] has the Subject "dev-user-1" of Options.User`}},
		"given main's":   {logtotest.Options{User: &second, ExtraUsers: []logtotest.User{second}}, []string{"of Options.User"}},
		"duplicates": {logtotest.Options{ExtraUsers: []logtotest.User{second, {}, second}},
			[]string{"ExtraUsers[1] has no Subject", `ExtraUsers[2] has the Subject "dev-user-2" of ExtraUsers[0]`}},
	} {
		_, err := logtotest.New(tc.opts)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", name, err, w)
			}
		}
		if _, err := logtotest.Start(tc.opts); err == nil {
			t.Errorf("%s: Start accepted it", name)
		}
	}
}
