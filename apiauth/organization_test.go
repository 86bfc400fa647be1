package apiauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// An organization-scoped token of the API (aud the API, organization_id
// org1) has the scopes organization org1's roles give. Routes that are not
// organization-aware must refuse it: otherwise a member with read:messages
// in one organization reads everybody's messages.
func TestOrganizationResourceTokenRefusedOnGlobalRoutes(t *testing.T) {
	e := newEnv(t)
	h := routes(e.v)
	tok := e.orgResourceToken(t, "org1", noFaults)
	for _, path := range []string{"/private", "/scoped", "/any"} {
		w := call(h, path, "Bearer "+tok)
		if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != invalidToken("the token is scoped to an organization") {
			t.Errorf("GET %s with an organization-scoped token: %d %q %s", path, w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
		}
	}
	if _, err := e.v.Validate(context.Background(), tok); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("Validate: err = %v, want ErrInvalidToken", err)
	}
}

// OrganizationResourceMiddleware admits an organization-scoped token of the
// API for its own organization only.
func TestOrganizationResourceMiddleware(t *testing.T) {
	e := newEnv(t)
	h := routes(e.v)
	org1 := e.orgResourceToken(t, "org1", noFaults)
	noReports := e.orgResourceToken(t, "org1", logtotest.Faults{AccessTokenClaims: set("scope", "read:messages")})
	tests := []struct {
		name   string
		path   string
		tok    string
		status int
		www    string
	}{
		{"its organization", "/orgs/org1/reports", org1, 200, ""},
		{"another organization", "/orgs/org2/reports", org1, 401, invalidToken("the token is not for this organization")},
		{"a resource token without organization_id", "/orgs/org1/reports", e.token(t, noFaults), 401, invalidToken("the token is not for this organization")},
		{"an organization token", "/orgs/org1/reports", e.orgToken(t, "org1"), 401, invalidToken("wrong audience")},
		{"organization_id null", "/orgs/org1/reports", e.orgResourceToken(t, "org1", logtotest.Faults{AccessTokenClaims: set("organization_id", nil)}), 401, invalidToken("the token is not for this organization")},
		{"organization_id a number", "/orgs/1/reports", e.orgResourceToken(t, "org1", logtotest.Faults{AccessTokenClaims: set("organization_id", 1)}), 401, invalidToken("the token is not for this organization")},
		{"missing scope", "/orgs/org1/reports", noReports, 403,
			`Bearer realm="api", error="insufficient_scope", error_description="the access token lacks a required scope", scope="read:reports"`},
		// Cached from the requests above: the route's checks still apply.
		{"its organization again, on a global route", "/private", org1, 401, invalidToken("the token is scoped to an organization")},
		{"organization_id null, on a global route", "/private", e.orgResourceToken(t, "org2", logtotest.Faults{AccessTokenClaims: set("organization_id", nil)}), 401, invalidToken("the token is scoped to an organization")},
		{"organization_id empty, on a global route", "/private", e.orgResourceToken(t, "org2", logtotest.Faults{AccessTokenClaims: set("organization_id", "")}), 401, invalidToken("the token is scoped to an organization")},
		// An organization token naming another organization in a claim.
		{"organization token with a contradicting organization_id", "/orgs/org1", e.orgTokenWith(t, "org1", logtotest.Faults{AccessTokenClaims: set("organization_id", "org2")}), 401, invalidToken("the token is not for this organization")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(h, tt.path, "Bearer "+tt.tok)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.www {
				t.Errorf("GET %s: %d %q %s, want %d %q", tt.path, w.Code, w.Header().Get("WWW-Authenticate"), w.Body, tt.status, tt.www)
			}
		})
	}

	ctx := context.Background()
	c, err := e.v.ValidateOrganizationResource(ctx, org1, "org1")
	if err != nil || c.OrganizationID != "org1" || !c.HasScope("read:reports") {
		t.Errorf("ValidateOrganizationResource: %+v, %v", c, err)
	}
	for _, org := range []string{"", "org2"} {
		if _, err := e.v.ValidateOrganizationResource(ctx, org1, org); !errors.Is(err, apiauth.ErrInvalidToken) {
			t.Errorf("ValidateOrganizationResource for %q: %v", org, err)
		}
	}
	_, err = e.v.ValidateOrganizationResource(ctx, org1, "org2")
	if err == nil || !strings.Contains(err.Error(), `"org1"`) || !strings.Contains(err.Error(), `"org2"`) {
		t.Errorf("the error names neither organization: %v", err)
	}
}

// Claims.RequireOrganization passes for both kinds of organization tokens
// of organization id, and for nothing else.
func TestRequireOrganizationOfOrganizationResourceToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	oc, err := e.v.ValidateOrganization(ctx, e.orgToken(t, "org1"), "org1")
	if err != nil {
		t.Fatal(err)
	}
	if err := oc.RequireOrganization("org1"); err != nil {
		t.Errorf("organization token, its organization: %v", err)
	}
	if err := oc.RequireOrganization("org2"); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("organization token, another organization: %v", err)
	}
	if err := oc.RequireOrganization(""); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("organization token, no organization: %v", err)
	}
	rc, err := e.v.ValidateOrganizationResource(ctx, e.orgResourceToken(t, "org1", noFaults), "org1")
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.RequireOrganization("org1"); err != nil {
		t.Errorf("organization-scoped resource token, its organization: %v", err)
	}
	if err := rc.RequireOrganization("org2"); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("organization-scoped resource token, another organization: %v", err)
	}
	c, err := e.v.Validate(ctx, e.token(t, noFaults))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RequireOrganization("org1"); !errors.Is(err, apiauth.ErrInvalidToken) {
		t.Errorf("resource token: %v", err)
	}
}

// An organization audience as the API's Audience would make Middleware take
// organization tokens for resource tokens.
func TestOrganizationAudienceRefusedAsAudience(t *testing.T) {
	_, err := apiauth.NewValidator(apiauth.Config{Endpoint: "https://tenant.logto.app", Audience: apiauth.OrganizationAudiencePrefix + "org1"})
	if !errors.Is(err, apiauth.ErrInvalidConfig) || !strings.Contains(err.Error(), "OrganizationMiddleware") {
		t.Errorf("err = %v", err)
	}
}
