package logtotest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
