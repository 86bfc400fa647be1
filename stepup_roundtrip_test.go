package logto_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
)

// Step-up end to end, in process: an API that wants an MFA sign-in
// challenges the token of a one-factor sign-in (RFC 9470); the client reads
// the challenge, signs the user in again with the API's acr_values and
// comes back; the API accepts the new token.
func TestStepUpRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: e.p.Endpoint(), Audience: testResource})
	if err != nil {
		t.Fatal(err)
	}
	mfa := apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{ACRValues: []string{logto.ACRMFA}})
	api := httptest.NewServer(v.Middleware(mfa(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.ClaimsFrom(r.Context())
		_, _ = io.WriteString(w, "reports for "+c.Subject+" ("+c.ACR()+")")
	}))))
	defer api.Close()

	storage := logto.NewMemoryStorage()
	first := e.signIn(t, storage)
	if first.Claims.ACR == logto.ACRMFA {
		t.Fatalf("the first sign-in is already MFA (%q): nothing to step up from", first.Claims.ACR)
	}
	c := e.app.Client(storage)
	hc := &http.Client{Transport: c.Transport(testResource, nil, api.URL)}

	_, err = hc.Get(api.URL + "/reports")
	ch, ok := logto.AsStepUp(err)
	if !ok {
		t.Fatalf("the one-factor token: err = %v, want a step-up challenge", err)
	}
	if !errors.Is(err, logto.ErrNotAuthenticated) || len(ch.ACRValues) != 1 || ch.ACRValues[0] != logto.ACRMFA {
		t.Fatalf("challenge %+v (%v)", ch, err)
	}

	// The helper's options drive the second sign-in, back to where the
	// user was.
	res, err := c.HandleSignInCallbackURL(ctx, e.startSignIn(t, c, ch.SignInOptions("/reports")))
	if err != nil {
		t.Fatalf("step-up sign-in: %v", err)
	}
	if res.Claims.ACR != logto.ACRMFA || res.ReturnTo != "/reports" {
		t.Fatalf("step-up sign-in: acr %q, return to %q", res.Claims.ACR, res.ReturnTo)
	}
	resp, err := hc.Get(api.URL + "/reports")
	if err != nil {
		t.Fatalf("after the step-up: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "reports for "+first.Claims.Subject+" ("+logto.ACRMFA+")" {
		t.Errorf("after the step-up: %d %q", resp.StatusCode, body)
	}
}
