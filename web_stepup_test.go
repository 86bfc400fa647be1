package logto_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// WebHandlers.SignIn passes ?acr_values and ?max_age on, after checking
// them; a link may ask for a stronger or fresher sign-in than the app's
// defaults, never for a weaker one.
func TestWebSignInStepUp(t *testing.T) {
	a := newWebApp(t, nil)
	strict := newWebApp(t, func(h *logto.WebHandlers) {
		h.SignInOptions.ACRValues = []string{logto.ACRMFA}
		h.SignInOptions.MaxAge = new(time.Minute)
	})
	for _, tc := range []struct {
		app       *webApp
		query     string
		acrValues string // "" means absent
		maxAge    string // "" means absent
		status    int    // 0 means 302 to the provider
	}{
		{app: a, query: ""},
		{app: a, query: "acr_values=urn:logto:acr:mfa&max_age=0", acrValues: logto.ACRMFA, maxAge: "0"},
		{app: a, query: "acr_values=urn:logto:acr:mfa+urn:logto:acr:1fa", acrValues: "urn:logto:acr:mfa urn:logto:acr:1fa"},
		{app: a, query: "max_age=300", maxAge: "300"},
		{app: a, query: "max_age=&acr_values=", acrValues: "", maxAge: ""},
		{app: a, query: "max_age=-1", status: 400},
		{app: a, query: "max_age=soon", status: 400},
		{app: a, query: "max_age=1.5", status: 400},
		{app: a, query: "max_age=%2B5", status: 400},
		{app: a, query: "max_age=1e3", status: 400},
		{app: a, query: "max_age=99999999999999999999", status: 400},
		{app: a, query: "max_age=1&max_age=2", status: 400},
		{app: a, query: "acr_values=a&acr_values=b", status: 400},
		{app: a, query: "acr_values=%22x%22", status: 400},
		{app: a, query: "acr_values=x%00y", status: 400},
		{app: a, query: "acr_values=" + strings.Repeat("a", 300), status: 400},
		// The app's defaults: the link can only narrow them.
		{app: strict, query: "", acrValues: logto.ACRMFA, maxAge: "60"},
		{app: strict, query: "max_age=3600", acrValues: logto.ACRMFA, maxAge: "60"},
		{app: strict, query: "max_age=10", acrValues: logto.ACRMFA, maxAge: "10"},
		{app: strict, query: "acr_values=urn:logto:acr:mfa", acrValues: logto.ACRMFA, maxAge: "60"},
		{app: strict, query: "acr_values=urn:logto:acr:1fa", status: 400},
	} {
		name := tc.query
		if tc.app == strict {
			name = "defaults mfa, 60 s: " + name
		}
		t.Run(name, func(t *testing.T) {
			resp, body := tc.app.browser(t).get("/sign-in?" + tc.query)
			if tc.status != 0 {
				if resp.StatusCode != tc.status || !strings.Contains(body, "invalid_request") {
					t.Errorf("got %d %q, want %d invalid_request", resp.StatusCode, body, tc.status)
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d %s", resp.StatusCode, body)
			}
			u, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			for k, want := range map[string]string{"acr_values": tc.acrValues, "max_age": tc.maxAge} {
				if got, ok := q[k]; (want == "" && ok) || (want != "" && !slices.Equal(got, []string{want})) {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// The whole step-up through the handlers: a sign-in the provider claims
// is older than max_age allows is refused and leaves no session; a fresh
// one with the acr asked for signs in.
func TestWebStepUpFlow(t *testing.T) {
	a := newWebApp(t, nil)
	b := a.browser(t)
	resp, _ := b.get("/sign-in?max_age=60&acr_values=urn:logto:acr:mfa")
	cb := b.authorize(resp)
	a.p.SetFaults(logtotest.Faults{IDTokenClaims: func(c map[string]any) { c["auth_time"] = time.Now().Add(-time.Hour).Unix() }})
	resp, body := b.get(cb)
	// Not the provider's failure as far as the user can tell: the page
	// says the sign-in was not strong or recent enough, and offers another.
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "insufficient_user_authentication") ||
		!strings.Contains(body, "stronger or more recent sign-in") || !strings.Contains(body, "Sign in again") {
		t.Errorf("stale sign-in: %d %s, want 401 insufficient_user_authentication", resp.StatusCode, body)
	}
	if !strings.Contains(a.logs.String(), "max_age=60") {
		t.Errorf("the log does not say why: %s", a.logs.String())
	}
	if resp, _ = b.get("/protected"); resp.StatusCode == http.StatusOK {
		t.Fatal("signed in after a refused sign-in")
	}

	a.p.SetFaults(logtotest.Faults{})
	b.signIn("max_age=60&acr_values=urn:logto:acr:mfa")
	if resp, _ = b.get("/protected"); resp.StatusCode != http.StatusOK {
		t.Errorf("/protected after a fresh sign-in: %d", resp.StatusCode)
	}
}
