package apiauth_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// A handler that edits the claims it is handed, or what their methods
// return, must not change what the next request with the same token sees
// (the Validator shares one checked form per token): it could otherwise
// grant a later request a scope, a role or another subject.
func TestClaimsCannotChangeTheCache(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, logtotest.Faults{AccessTokenClaims: set("roles", []string{"user"})})
	var seen []string
	h := e.v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.ClaimsFrom(r.Context())
		var all map[string]any
		if err := c.Unmarshal(&all); err != nil {
			t.Error(err)
		}
		seen = append(seen, fmt.Sprint(c.Subject, c.ClientID, c.Roles(), c.Audience(), c.Scopes(), all["sub"], all["roles"], c.HasScope("admin")))
		c.Subject, c.ClientID = "mallory", "evil-app"
		c.Roles()[0] = "admin"
		c.Audience()[0] = "https://evil.example"
		c.Scopes()[0] = "admin"
		all["sub"] = "mallory"
		all["roles"].([]any)[0] = "admin"
	}))
	for range 3 {
		if w := call(h, "/", "Bearer "+tok); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if len(seen) != 3 || seen[0] != seen[1] || seen[1] != seen[2] {
		t.Fatalf("requests saw %q", seen)
	}

	// Validate hands out copies too.
	c1, err := e.v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	c1.Subject = "mallory"
	c2, err := e.v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Subject != logtotest.DefaultUser().Subject {
		t.Errorf("second Validate: subject %q", c2.Subject)
	}
}

// A zero Claims grants nothing and does not panic.
func TestZeroClaims(t *testing.T) {
	var c apiauth.Claims
	if c.HasScope("") || c.Scopes() != nil || c.Roles() != nil || c.Audience() != nil || c.RequireOrganization("x") == nil ||
		c.ACR() != "" || c.AMR() != nil || !c.AuthTime().IsZero() {
		t.Errorf("zero Claims: %+v", c)
	}
	var m map[string]any
	if err := c.Unmarshal(&m); err == nil {
		t.Error("Unmarshal of a zero Claims succeeded")
	}
}

// The step-up claims (RFC 9470 section 4, OpenID Connect Core section 2)
// are typed; a malformed one reads as absent, which can only deny (a
// route that needs it refuses), never as a value the provider did not
// sign, and it does not make the rest of the token unusable.
func TestStepUpClaims(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	authTime := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	c, err := e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: func(m map[string]any) {
		m["acr"] = "urn:logto:acr:mfa"
		m["amr"] = []string{"pwd", "otp"}
		m["auth_time"] = authTime.Unix()
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ACR() != "urn:logto:acr:mfa" || !slices.Equal(c.AMR(), []string{"pwd", "otp"}) || !c.AuthTime().Equal(authTime) {
		t.Errorf("ACR %q, AMR %q, AuthTime %v", c.ACR(), c.AMR(), c.AuthTime())
	}
	c.AMR()[0] = "none"
	if c.AMR()[0] != "pwd" {
		t.Error("AMR hands out the shared slice")
	}

	for name, edit := range map[string]func(map[string]any){
		"absent":    func(m map[string]any) { delete(m, "acr"); delete(m, "amr"); delete(m, "auth_time") },
		"malformed": func(m map[string]any) { m["acr"], m["amr"], m["auth_time"] = 2, "pwd", "yesterday" },
		"null":      func(m map[string]any) { m["acr"], m["amr"], m["auth_time"] = nil, nil, nil },
		"negative":  func(m map[string]any) { m["auth_time"] = -1 },
	} {
		c, err := e.v.Validate(ctx, e.token(t, logtotest.Faults{AccessTokenClaims: edit}))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c.ACR() != "" || c.AMR() != nil || !c.AuthTime().IsZero() {
			t.Errorf("%s: ACR %q, AMR %q, AuthTime %v", name, c.ACR(), c.AMR(), c.AuthTime())
		}
	}
}
