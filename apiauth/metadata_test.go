package apiauth_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

const testMetadataURL = "https://api.example.com/.well-known/oauth-protected-resource"

// The metadata's URL follows RFC 9728 section 3.1: the well-known path
// goes between the host and the base URL's path.
func TestResourceMetadataURL(t *testing.T) {
	for base, want := range map[string]string{
		"":                               "",
		"https://api.example.com":        testMetadataURL,
		"https://api.example.com/":       testMetadataURL,
		"https://example.com/api/v1":     "https://example.com/.well-known/oauth-protected-resource/api/v1",
		"https://example.com/api/v1/":    "https://example.com/.well-known/oauth-protected-resource/api/v1",
		"http://127.0.0.1:4000":          "http://127.0.0.1:4000/.well-known/oauth-protected-resource",
		"https://API.example.com:8443/x": "https://API.example.com:8443/.well-known/oauth-protected-resource/x",
	} {
		v, err := apiauth.NewValidator(apiauth.Config{Endpoint: "https://tenant.logto.app", Audience: testResource,
			Metadata: apiauth.ResourceMetadata{BaseURL: base}})
		if err != nil {
			t.Errorf("BaseURL %q: %v", base, err)
			continue
		}
		if got := v.ResourceMetadataURL(); got != want {
			t.Errorf("BaseURL %q: ResourceMetadataURL %q, want %q", base, got, want)
		}
	}
}

// What the metadata names must be usable by a client: absolute URLs (https
// unless loopback or InsecureAllowHTTP), scopes that are scope tokens.
func TestResourceMetadataConfigChecked(t *testing.T) {
	for name, tc := range map[string]struct {
		md       apiauth.ResourceMetadata
		insecure bool
		word     string
	}{
		"http base":              {apiauth.ResourceMetadata{BaseURL: "http://api.example.com"}, false, "Metadata.BaseURL"},
		"relative base":          {apiauth.ResourceMetadata{BaseURL: "/api"}, false, "Metadata.BaseURL"},
		"ftp base":               {apiauth.ResourceMetadata{BaseURL: "ftp://api.example.com"}, false, "Metadata.BaseURL"},
		"base with a query":      {apiauth.ResourceMetadata{BaseURL: "https://api.example.com/?a=b"}, false, "Metadata.BaseURL"},
		"base with a fragment":   {apiauth.ResourceMetadata{BaseURL: "https://api.example.com/#x"}, false, "Metadata.BaseURL"},
		"base with user info":    {apiauth.ResourceMetadata{BaseURL: "https://u:p@api.example.com"}, false, "Metadata.BaseURL"},
		"base with a quote":      {apiauth.ResourceMetadata{BaseURL: `https://api.example.com/"x`}, false, "Metadata.BaseURL"},
		"relative documentation": {apiauth.ResourceMetadata{Documentation: "docs"}, false, "Metadata.Documentation"},
		"http documentation":     {apiauth.ResourceMetadata{Documentation: "http://docs.example.com"}, false, "Metadata.Documentation"},
		"empty scope":            {apiauth.ResourceMetadata{Scopes: []string{""}}, false, "Metadata.Scopes"},
		"scope with a space":     {apiauth.ResourceMetadata{Scopes: []string{"read messages"}}, false, "Metadata.Scopes"},
		"scope with a quote":     {apiauth.ResourceMetadata{Scopes: []string{`read"`}}, false, "Metadata.Scopes"},
		"http base, insecure ok": {apiauth.ResourceMetadata{BaseURL: "http://api.example.com", Documentation: "http://docs.example.com"}, true, ""},
		"loopback http base ok":  {apiauth.ResourceMetadata{BaseURL: "http://localhost:4000"}, false, ""},
		"everything well-formed": {apiauth.ResourceMetadata{BaseURL: "https://api.example.com/v1", Scopes: []string{"read:messages"}, Documentation: "https://docs.example.com/api"}, false, ""},
	} {
		_, err := apiauth.NewValidator(apiauth.Config{Endpoint: "https://tenant.logto.app", Audience: testResource, Metadata: tc.md, InsecureAllowHTTP: tc.insecure})
		switch {
		case tc.word == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.word != "" && (!errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.word)):
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming %s", name, err, tc.word)
		}
	}
}

// The RFC 9728 document: the resource, its authorization server (the
// issuer), how to send tokens, the scopes and documentation when given;
// public and cacheable, GET and HEAD only.
func TestResourceMetadataHandler(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: p.Endpoint(), Audience: testResource, Metadata: apiauth.ResourceMetadata{
		BaseURL:       "https://api.example.com",
		Scopes:        []string{"read:messages", "read:reports"},
		Documentation: "https://docs.example.com/api",
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := v.ResourceMetadataHandler()
	w := call(h, apiauth.ResourceMetadataPath)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "public") || !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q, want public with a max-age", cc)
	}
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resource":                 testResource,
		"authorization_servers":    []any{p.Issuer()},
		"scopes_supported":         []any{"read:messages", "read:reports"},
		"bearer_methods_supported": []any{"header"},
		"resource_documentation":   "https://docs.example.com/api",
	}
	if mustJSON(t, doc) != mustJSON(t, want) {
		t.Errorf("document\n got %s\nwant %s", mustJSON(t, doc), mustJSON(t, want))
	}
	// The issuer is the provider's own, as discovery names it: no request
	// to the provider is needed to serve the document.
	if n := p.Requests("discovery"); n != 0 {
		t.Errorf("%d discovery requests", n)
	}

	r := httptest.NewRequest(http.MethodHead, apiauth.ResourceMetadataPath, nil)
	hw := httptest.NewRecorder()
	h.ServeHTTP(hw, r)
	if hw.Code != http.StatusOK || hw.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", hw.Code, hw.Body.Len())
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		r := httptest.NewRequest(m, apiauth.ResourceMetadataPath, strings.NewReader("x"))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("%s: %d %v %s", m, w.Code, w.Header(), w.Body)
		}
	}

	// Optional members are left out when not configured.
	bare, err := apiauth.NewValidator(apiauth.Config{Endpoint: p.Endpoint(), Audience: testResource})
	if err != nil {
		t.Fatal(err)
	}
	w = call(bare.ResourceMetadataHandler(), apiauth.ResourceMetadataPath)
	want = map[string]any{
		"resource":                 testResource,
		"authorization_servers":    []any{p.Issuer()},
		"bearer_methods_supported": []any{"header"},
	}
	doc = nil
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != http.StatusOK || mustJSON(t, doc) != mustJSON(t, want) {
		t.Errorf("bare document %d %s, want %s", w.Code, w.Body, mustJSON(t, want))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RFC 9728 section 5.1: every challenge names the metadata, so a client
// that knows nothing of the API learns where to get a token.
func TestChallengesNameTheMetadata(t *testing.T) {
	e := newEnv(t)
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: e.p.Endpoint(), Audience: testResource, Now: e.clock.now,
		Metadata: apiauth.ResourceMetadata{BaseURL: "https://api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle("/private", v.Middleware(ok))
	mux.Handle("/scoped", v.Middleware(apiauth.RequireScopes("delete:everything")(ok)))
	mux.Handle("/mfa", v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{ACRValues: []string{acrMFA}})(ok)))
	mux.Handle("/orgs/{id}", v.OrganizationMiddleware(func(r *http.Request) string { return r.PathValue("id") })(ok))
	rm := `, resource_metadata="` + testMetadataURL + `"`
	good := e.token(t, noFaults)
	for _, tc := range []struct {
		name, path string
		auth       []string
		status     int
		www        string
	}{
		{"no token", "/private", nil, 401, `Bearer realm="api"` + rm},
		{"another scheme", "/private", []string{"Basic dXNlcjpwYXNz"}, 401, `Bearer realm="api"` + rm},
		{"invalid token", "/private", []string{"Bearer not.a.jwt"}, 401, invalidToken("malformed token or unsupported algorithm") + rm},
		{"expired", "/private", []string{"Bearer " + e.token(t, logtotest.Faults{AccessTokenClaims: set("exp", time.Now().Add(-time.Hour).Unix())})}, 401, invalidToken("token expired") + rm},
		{"another organization", "/orgs/org2", []string{"Bearer " + e.orgToken(t, "org1")}, 401, invalidToken("wrong audience") + rm},
		{"insufficient user authentication", "/mfa", []string{"Bearer " + good}, 401,
			insufficientUserAuth("a different authentication level is required", `acr_values="urn:logto:acr:mfa"`) + rm},
		{"insufficient scope", "/scoped", []string{"Bearer " + good}, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="delete:everything"` + rm},
		{"malformed header", "/private", []string{"Bearer a b"}, 400,
			`Bearer realm="api", error="invalid_request", error_description="malformed bearer credentials"` + rm},
		{"valid", "/private", []string{"Bearer " + good}, 200, ""},
	} {
		w := call(mux, tc.path, tc.auth...)
		if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.www {
			t.Errorf("%s: %d %s\nwant %d %s", tc.name, w.Code, w.Header().Get("WWW-Authenticate"), tc.status, tc.www)
		}
	}

	// An app that calls Validate itself answers through the Validator's
	// WriteError, which names the metadata too; the package's WriteError
	// knows no Validator.
	_, err = v.Validate(t.Context(), "not.a.jwt")
	w := httptest.NewRecorder()
	v.WriteError(w, err)
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != invalidToken("malformed token or unsupported algorithm")+rm {
		t.Errorf("Validator.WriteError: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	w = httptest.NewRecorder()
	apiauth.WriteError(w, err)
	if w.Header().Get("WWW-Authenticate") != invalidToken("malformed token or unsupported algorithm") {
		t.Errorf("WriteError: %s", w.Header().Get("WWW-Authenticate"))
	}
}
