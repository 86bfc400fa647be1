package logtotest_test

import (
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// claimStrings reads a JSON array of strings out of decoded claims.
func claimStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// The acr of a sign-in is the first requested value the user can satisfy,
// the same in the ID token, the refreshed ID token and the JWT access
// tokens, with the amr and auth_time of the sign-in.
func TestACRValues(t *testing.T) {
	noMFA := logtotest.DefaultUser()
	noMFA.MFA = false
	cases := []struct {
		name      string
		user      *logtotest.User
		acrValues string
		acr       string
		amr       []string
	}{
		{"not asked", nil, "", "", nil},
		{"mfa for a user with MFA", nil, logtotest.ACRMFA, logtotest.ACRMFA, []string{"pwd", "otp", "mfa"}},
		{"1fa first", nil, logtotest.ACR1FA + " " + logtotest.ACRMFA, logtotest.ACR1FA, []string{"pwd"}},
		{"unknown values skipped", nil, "urn:example:gold " + logtotest.ACRMFA, logtotest.ACRMFA, []string{"pwd", "otp", "mfa"}},
		{"mfa, else 1fa, for a user without MFA", &noMFA, logtotest.ACRMFA + " " + logtotest.ACR1FA, logtotest.ACR1FA, []string{"pwd"}},
		{"only mfa for a user without MFA", &noMFA, logtotest.ACRMFA, logtotest.ACR1FA, []string{"pwd"}},
		{"nothing known", nil, "urn:example:gold", logtotest.ACR1FA, []string{"pwd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const api = "https://api.example.com"
			p := logtotest.NewTestProvider(t, logtotest.Options{User: tc.user})
			f := newFlow(t, p)
			opts := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("resource", api)}
			if tc.acrValues != "" {
				opts = append(opts, oauth2.SetAuthURLParam("acr_values", tc.acrValues))
			}
			tok, _ := f.login(t, opts...)
			_, id := decodeJWT(t, idToken(t, tok))
			check := func(what string, c map[string]any) {
				t.Helper()
				acr, _ := c["acr"].(string)
				if _, has := c["acr"]; has != (tc.acr != "") || acr != tc.acr {
					t.Errorf("%s: acr = %v, want %q", what, c["acr"], tc.acr)
				}
				if _, has := c["amr"]; has != (tc.amr != nil) || !slices.Equal(claimStrings(c["amr"]), tc.amr) {
					t.Errorf("%s: amr = %v, want %q", what, c["amr"], tc.amr)
				}
				if c["auth_time"] != id["auth_time"] {
					t.Errorf("%s: auth_time = %v, the sign-in's is %v", what, c["auth_time"], id["auth_time"])
				}
			}
			check("ID token", id)

			status, body := refresh(t, p, tok.RefreshToken, nil)
			if status != 200 {
				t.Fatalf("refresh: %d %v", status, body)
			}
			_, refreshed := decodeJWT(t, body["id_token"].(string))
			check("refreshed ID token", refreshed)

			status, body = refresh(t, p, body["refresh_token"].(string), url.Values{"resource": {api}})
			if status != 200 {
				t.Fatalf("resource token: %d %v", status, body)
			}
			_, at := decodeJWT(t, body["access_token"].(string))
			check("access token", at)
		})
	}
}

// max_age needs nothing of the provider beyond a valid value: it keeps no
// session, so every sign-in authenticates now.
func TestMaxAge(t *testing.T) {
	now := time.Now()
	p := logtotest.NewTestProvider(t, logtotest.Options{Now: func() time.Time { return now }})
	f := newFlow(t, p)
	tok, _ := f.login(t, oauth2.SetAuthURLParam("max_age", "0"))
	if _, id := decodeJWT(t, idToken(t, tok)); id["auth_time"] != float64(now.Unix()) {
		t.Errorf("auth_time = %v, want %d", id["auth_time"], now.Unix())
	}
	for _, bad := range []string{"-1", "soon", "1.5", "+3", "99999999999999999999"} {
		q := f.authorize(t, oauth2.GenerateVerifier(), "n", oauth2.SetAuthURLParam("max_age", bad))
		if q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Errorf("max_age=%q: callback %v, want invalid_request", bad, q)
		}
	}
}

// On the sign-in page, the user picked decides what a request for MFA
// gets: the DefaultUser has a second factor, the SecondUser has not.
func TestACRValuesOnSignInPage(t *testing.T) {
	p := logtotest.NewTestProvider(t, signInOptions())
	f := newFlow(t, p)
	for choice, want := range []string{logtotest.ACRMFA, logtotest.ACR1FA} {
		verifier := oauth2.GenerateVerifier()
		authURL := f.cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier),
			oauth2.SetAuthURLParam("prompt", "consent"), oauth2.SetAuthURLParam("acr_values", logtotest.ACRMFA))
		id, _ := signInForm(t, authURL)
		q := callbackQuery(t, confirm(t, p, url.Values{"interaction": {id}, "choice": {strconv.Itoa(choice)}}, nil))
		tok, err := f.cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if _, c := decodeJWT(t, idToken(t, tok)); c["acr"] != want {
			t.Errorf("choice %d: acr = %v, want %s", choice, c["acr"], want)
		}
	}
}
