package logtotest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto/logtotest"
)

// FuzzServeHTTP throws arbitrary requests at the provider: it must never
// panic, and every JSON error must be a proper OAuth error.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, path, query, body, authz, ctype string }{
		{"GET", "/oidc/auth", "client_id=dev-app&redirect_uri=http://a/cb&response_type=code&scope=openid&code_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&code_challenge_method=S256&resource=%zz", "", "", ""},
		{"POST", "/oidc/token", "", "grant_type=authorization_code&code=x&code_verifier=y", "Basic ZGV2LWFwcDpkZXYtc2VjcmV0", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/token", "", "grant_type=refresh_token&refresh_token=x&resource=a&resource=b", "Basic %%%", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/token/revocation", "", "token=x", "Basic ZGV2LWFwcDpkZXYtc2VjcmV0", "application/x-www-form-urlencoded; charset=utf-8"},
		{"GET", "/oidc/session/end", "id_token_hint=a.b.c&post_logout_redirect_uri=http://x", "", "", ""},
		{"GET", "/oidc/session/end", "id_token_hint=eyJhbGciOiJFUzM4NCJ9.e30.AAAA", "", "", ""},
		{"GET", "/oidc/me", "", "", "Bearer x", ""},
		{"GET", "/oidc/jwks", "", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body, s.authz, s.ctype)
	}
	p, err := logtotest.New(logtotest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	p.SetBaseURL("http://op.test")
	f.Fuzz(func(t *testing.T, method, path, query, body, authz, ctype string) {
		req := httptest.NewRequest(http.MethodGet, "http://op.test/", strings.NewReader(body))
		req.Method = method
		req.URL.Path = path
		req.URL.RawQuery = query
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		if rec.Code >= 400 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Description == "" {
				t.Fatalf("%d %q", rec.Code, rec.Body.String())
			}
		}
	})
}

// FuzzSignInConfirm posts arbitrary sign-in forms, where "@ID@" stands for
// the ID of a page just shown: the provider must never panic, must answer
// either a redirect to the registered callback (with a code or
// access_denied, and the request's state) or an error, and must never
// redirect a cross-site post.
func FuzzSignInConfirm(f *testing.F) {
	const cb = "http://localhost:9999/callback"
	for _, s := range []struct{ body, site string }{
		{"interaction=@ID@&choice=0", "same-origin"},
		{"interaction=@ID@&choice=1", ""},
		{"interaction=@ID@&choice=cancel", "none"},
		{"interaction=@ID@&choice=1", "cross-site"},
		{"interaction=@ID@&choice=2", "same-origin"},
		{"interaction=@ID@&choice=-1&choice=0", "same-origin"},
		{"interaction=@ID@&interaction=@ID@&choice=0", "same-origin"},
		{"interaction=nope&choice=0&redirect_uri=http://evil.example/", "same-origin"},
		{"%zz", "same-origin"},
	} {
		f.Add(s.body, s.site)
	}
	p, err := logtotest.New(logtotest.Options{
		SignInPage:   true,
		ExtraUsers:   []logtotest.User{logtotest.SecondUser()},
		RedirectURIs: []string{cb},
	})
	if err != nil {
		f.Fatal(err)
	}
	p.SetBaseURL("http://op.test")
	authURL := "http://op.test/oidc/auth?" + url.Values{
		"client_id": {p.ClientID()}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}, "state": {"st"},
	}.Encode()
	idRE := regexp.MustCompile(`name="interaction" value="([^"]+)"`)
	f.Fuzz(func(t *testing.T, body, site string) {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, authURL, nil))
		m := idRE.FindStringSubmatch(rec.Body.String())
		if rec.Code != 200 || m == nil {
			t.Fatalf("no sign-in page: %d %q", rec.Code, rec.Body.String())
		}
		req := httptest.NewRequest(http.MethodPost, "http://op.test/oidc/auth/confirm",
			strings.NewReader(strings.ReplaceAll(body, "@ID@", m[1])))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		rec = httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusSeeOther:
			if site != "" && site != "same-origin" && site != "none" {
				t.Fatalf("a %q post was approved", site)
			}
			u, err := url.Parse(rec.Header().Get("Location"))
			if err != nil || u.Scheme+"://"+u.Host+u.Path != cb {
				t.Fatalf("redirected to %q", rec.Header().Get("Location"))
			}
			q := u.Query()
			if q.Get("state") != "st" || (q.Get("code") == "") == (q.Get("error") != "access_denied") {
				t.Fatalf("callback %v", q)
			}
		case rec.Code < 400 || rec.Code >= 500:
			t.Fatalf("%d %q", rec.Code, rec.Body.String())
		}
	})
}
