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
		{"POST", "/oidc/token", "", "grant_type=client_credentials&resource=https://api.example.com&organization_id=org-1&scope=a", "Basic ZGV2LW0ybTpkZXYtbTJtLXNlY3JldA==", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/token", "", "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=pat_x&subject_token_type=urn:logto:token-type:personal_access_token&actor_token=x&actor_token_type=urn:ietf:params:oauth:token-type:access_token", "Basic ZGV2LWFwcDpkZXYtc2VjcmV0", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/device/auth", "", "client_id=dev-native&scope=openid+offline_access&resource=https://api.example.com", "", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/token", "", "client_id=dev-native&grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=x", "", "application/x-www-form-urlencoded"},
		{"GET", "/oidc/device", "user_code=bcdf-ghjk", "", "", ""},
		{"POST", "/oidc/device/confirm", "", "interaction=x&choice=deny", "", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/token/introspection", "", "token=x&token_type_hint=access_token", "Basic ZGV2LWFwcDpkZXYtc2VjcmV0", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/token/introspection", "", "token=eyJhbGciOiJFUzM4NCJ9.e30.AAAA&client_id=dev-m2m&client_secret=dev-m2m-secret", "", "application/x-www-form-urlencoded"},
		{"POST", "/oidc/request", "", "redirect_uri=http://a/cb&response_type=code&scope=openid&code_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&code_challenge_method=S256&resource=x", "Basic ZGV2LWFwcDpkZXYtc2VjcmV0", "application/x-www-form-urlencoded"},
		{"GET", "/oidc/auth", "client_id=dev-app&request_uri=urn:ietf:params:oauth:request_uri:x&request_uri=y", "", "", ""},
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

// FuzzDeviceVerification types arbitrary user codes at the device
// verification page ("@UC@" stands for the code of a request just made)
// and posts arbitrary forms from the page it shows ("@ID@" for its
// interaction ID): the provider must never panic, must show the confirm
// page only for a code that is the request's once case, dashes and spaces
// are set aside, must never let a cross-site post decide, and the device's
// poll must tell what the page said.
func FuzzDeviceVerification(f *testing.F) {
	for _, s := range []struct{ typed, body, site string }{
		{"@UC@", "interaction=@ID@&choice=0", "same-origin"},
		{" @UC@ ", "interaction=@ID@&choice=1", ""},
		{"@UC@", "interaction=@ID@&choice=deny", "none"},
		{"@UC@", "interaction=@ID@&choice=1", "cross-site"},
		{"@UC@", "interaction=@ID@&choice=2", "same-origin"},
		{"@UC@", "interaction=@ID@&choice=cancel", "same-origin"},
		{"@UC@x", "interaction=@ID@&choice=0", "same-origin"},
		{"bcdf-ghjk", "", ""},
		{"BCDFGHJK", "", ""},
		{"BCDF-GHJ\u212a", "", ""},
		{"@UC@", "", ""},
		{"<b>", "", ""},
		{"", "", ""},
		{"%zz", "%zz", "same-origin"},
	} {
		f.Add(s.typed, s.body, s.site)
	}
	p, err := logtotest.New(logtotest.Options{ExtraUsers: []logtotest.User{logtotest.SecondUser()}})
	if err != nil {
		f.Fatal(err)
	}
	p.SetBaseURL("http://op.test")
	serve := func(method, target, body string, header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		return rec
	}
	f.Fuzz(func(t *testing.T, typed, body, site string) {
		rec := serve(http.MethodPost, "http://op.test/oidc/device/auth", "client_id=dev-native&scope=openid", nil)
		var da struct {
			DeviceCode string `json:"device_code"`
			UserCode   string `json:"user_code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &da); err != nil || rec.Code != 200 {
			t.Fatalf("device authorization: %d %q", rec.Code, rec.Body.String())
		}
		typed = strings.ReplaceAll(typed, "@UC@", da.UserCode)
		rec = serve(http.MethodGet, "http://op.test/oidc/device?"+url.Values{"user_code": {typed}}.Encode(), "", nil)
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("page: %d %q", rec.Code, rec.Body.String())
		}
		m := regexp.MustCompile(`name="interaction" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
		squeezed := strings.NewReplacer("-", "", " ", "").Replace(strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, typed))
		if (m != nil) != (squeezed == strings.ReplaceAll(da.UserCode, "-", "")) {
			t.Fatalf("typed %q for %s: confirm page %v", typed, da.UserCode, m != nil)
		}
		if m == nil {
			return
		}
		rec = serve(http.MethodPost, "http://op.test/oidc/device/confirm", strings.ReplaceAll(body, "@ID@", m[1]),
			map[string]string{"Sec-Fetch-Site": site})
		outcome := "authorization_pending"
		switch {
		case rec.Code == 200 && site != "" && site != "same-origin" && site != "none":
			t.Fatalf("a %q post decided", site)
		case rec.Code == 200 && strings.Contains(rec.Body.String(), "signed in as"):
			outcome = ""
		case rec.Code == 200 && strings.Contains(rec.Body.String(), "Denied"):
			outcome = "access_denied"
		case rec.Code < 400 || rec.Code >= 500:
			t.Fatalf("confirm: %d %q", rec.Code, rec.Body.String())
		}
		rec = serve(http.MethodPost, "http://op.test/oidc/token",
			"client_id=dev-native&grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code="+da.DeviceCode, nil)
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if e.Error != outcome || (outcome == "") != (rec.Code == 200) {
			t.Fatalf("poll: %d %q, want %q", rec.Code, rec.Body.String(), outcome)
		}
	})
}
