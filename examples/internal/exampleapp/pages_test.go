package exampleapp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
)

// homeFor renders the signed-in home page for claims under s.
func homeFor(t *testing.T, s *Settings, claims *logto.IDTokenClaims) string {
	t.Helper()
	a := &App{Settings: s, Title: "test"}
	v := a.view()
	v.User = a.userView(claims)
	w := httptest.NewRecorder()
	render(w, http.StatusOK, homePage, v)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("render: %d %v", w.Code, w.Header())
	}
	return w.Body.String()
}

func TestHomeUser(t *testing.T) {
	s := &Settings{Resources: []string{"https://api.example.com"}, Scopes: []string{logto.ScopeOrganizations}}
	claims := &logto.IDTokenClaims{Subject: "u1"}
	claims.Username, claims.Email, claims.Organizations = "émile", "e@example.com", []string{"o 1"}
	page := homeFor(t, s, claims)
	for _, want := range []string{
		`<span class="avatar" aria-hidden="true">É</span>`, // a placeholder with the initial
		"émile", "e@example.com",
		`href="/api/access-token?resource=https%3A%2F%2Fapi.example.com"`,
		`href="/api/organization-token?organization_id=o&#43;1"`,
		`href="/api/organization-resource-token?organization_id=o&#43;1&amp;resource=https%3A%2F%2Fapi.example.com"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<img") {
		t.Error("an image for a user without a picture")
	}

	claims.Picture = "https://cdn.example.com/a.png"
	if page := homeFor(t, s, claims); !strings.Contains(page, `<img class="avatar" src="https://cdn.example.com/a.png" alt="" referrerpolicy="no-referrer">`) {
		t.Errorf("no picture: %s", page)
	}
	// A picture claim is the provider's data: only a web URL becomes a src.
	claims.Picture = "javascript:alert(1)"
	if page := homeFor(t, s, claims); strings.Contains(page, "javascript:") {
		t.Errorf("the page uses a javascript: picture: %s", page)
	}
	claims.Name = `<script>alert(1)</script>`
	if page := homeFor(t, s, claims); strings.Contains(page, "<script>") {
		t.Errorf("the name is not escaped: %s", page)
	}
}

// A route that cannot work with the configuration is explained, not linked.
func TestHomeLinksNeedTheirConfiguration(t *testing.T) {
	claims := &logto.IDTokenClaims{Subject: "u1"}
	claims.Organizations = []string{"o1"}
	for _, tc := range []struct {
		name      string
		s         *Settings
		links     []string
		notLinked []string
		says      string
	}{
		{"nothing configured", &Settings{},
			nil, []string{"/api/access-token", "/api/organization-token", "/api/organization-resource-token"}, "LOGTO_RESOURCES"},
		{"a resource, no organizations scope", &Settings{Resources: []string{"https://r.example"}},
			[]string{"/api/access-token"}, []string{"/api/organization-token", "/api/organization-resource-token"}, "LOGTO_SCOPES"},
		{"the organizations scope, no resource", &Settings{Scopes: []string{logto.ScopeOrganizations}},
			[]string{"/api/organization-token"}, []string{"/api/access-token", "/api/organization-resource-token"}, "LOGTO_RESOURCES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := homeFor(t, tc.s, claims)
			for _, l := range append(tc.links, "/protected", "/api/id-token-claims", "/api/userinfo") {
				if !strings.Contains(page, `href="`+l) {
					t.Errorf("no link to %s", l)
				}
			}
			for _, l := range tc.notLinked {
				if strings.Contains(page, `href="`+l) {
					t.Errorf("a link to %s", l)
				}
			}
			if !strings.Contains(page, tc.says) {
				t.Errorf("the page does not mention %s", tc.says)
			}
		})
	}
	// In the organizations scope but in no organization: said, not linked.
	page := homeFor(t, &Settings{Scopes: []string{logto.ScopeOrganizations}}, &logto.IDTokenClaims{Subject: "u2"})
	if strings.Contains(page, `href="/api/organization-token`) || !strings.Contains(page, "member of no organization") {
		t.Errorf("a user in no organization: %s", page)
	}
}
