package apiauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// FuzzBearer: the Authorization header parser never panics, takes only the
// token of one Bearer header, and its refusals are 400 or 401 answers with
// a header value that is safe to send.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{
		"Bearer abc.def.ghi", "bearer  x", "BEARER", "Bearer ", "Bearer a b", "Bearer\ta",
		"Basic dXNlcjpwYXNz", "", " Bearer x", "Bearer x\x00\"\\", "Bearer é",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, h string, twice bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Authorization"] = []string{h}
		if twice {
			r.Header["Authorization"] = append(r.Header["Authorization"], h)
		}
		tok, err := apiauth.Bearer(r)
		if err == nil {
			scheme, _, _ := strings.Cut(h, " ")
			if twice || tok == "" || strings.ContainsAny(tok, " \t") || !strings.HasSuffix(h, tok) || !strings.EqualFold(scheme, "Bearer") {
				t.Fatalf("Bearer(%q, twice %v) = %q", h, twice, tok)
			}
			return
		}
		w := httptest.NewRecorder()
		apiauth.WriteError(w, err)
		if w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized {
			t.Fatalf("Bearer(%q): %v answered %d", h, err, w.Code)
		}
		for _, c := range w.Header().Get("WWW-Authenticate") {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("Bearer(%q): challenge %q", h, w.Header().Get("WWW-Authenticate"))
			}
		}
	})
}

// FuzzValidate: Validate and its organization forms never panic on any
// string, fail with ErrInvalidToken or ErrProvider only, and never accept a
// token whose claims the provider did not sign.
func FuzzValidate(f *testing.F) {
	e := newEnv(f)
	signed := map[string]bool{} // payloads the provider signed
	mint := func(tok string) string {
		parts := strings.Split(tok, ".")
		p, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			f.Fatal(err)
		}
		signed[string(p)] = true
		return tok
	}
	seeds := []string{
		mint(e.token(f, noFaults)),
		mint(e.orgToken(f, "org1")),
		mint(e.orgResourceToken(f, "org1", noFaults)),
		e.token(f, logtotest.Faults{AccessTokenSigning: logtotest.SignNone}),
		e.token(f, logtotest.Faults{AccessTokenSigning: logtotest.SignHS256PublicKey}),
		e.token(f, logtotest.Faults{AccessTokenSigning: logtotest.SignWrongKey}),
		e.token(f, logtotest.Faults{AccessTokenType: "-"}),
		"", "a.b.c", "..", "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		for _, validate := range []func() (*apiauth.Claims, error){
			func() (*apiauth.Claims, error) { return e.v.Validate(ctx, raw) },
			func() (*apiauth.Claims, error) { return e.v.ValidateOrganization(ctx, raw, "org1") },
			func() (*apiauth.Claims, error) { return e.v.ValidateOrganizationResource(ctx, raw, "org1") },
		} {
			c, err := validate()
			if err != nil {
				if !errors.Is(err, apiauth.ErrInvalidToken) && !errors.Is(err, apiauth.ErrProvider) {
					t.Fatalf("%q: err = %v, of no known kind", raw, err)
				}
				continue
			}
			parts := strings.Split(raw, ".")
			if c == nil || len(parts) != 3 {
				t.Fatalf("accepted %q, not a compact JWS", raw)
			}
			if p, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || !signed[string(p)] {
				t.Fatalf("accepted %q, whose claims the provider did not sign", raw)
			}
		}
	})
}

// FuzzIntrospectionAnswer: the introspection answer's checks never panic,
// fail with ErrInvalidToken (the token) or ErrProvider (the answer) only,
// and accept only an answer that says, as JSON, active true, token_type
// Bearer, no key binding, this issuer or none, and an exp not past.
func FuzzIntrospectionAnswer(f *testing.F) {
	const issuer = "https://tenant.logto.app/oidc"
	v, err := apiauth.NewValidator(apiauth.Config{Endpoint: "https://tenant.logto.app", Audience: testResource,
		Introspection: apiauth.Introspection{ClientID: "api", ClientSecret: "secret"}})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	for _, s := range []string{
		`{"active":true,"token_type":"Bearer","aud":"https://api.example.com","exp":1700003600,"iat":1700000000,"iss":"` + issuer + `","sub":"u","client_id":"c","scope":"a b"}`,
		`{"active":true,"token_type":"Bearer","aud":["x","https://api.example.com"],"exp":1700003600,"organization_id":"o","acr":"urn:logto:acr:mfa","amr":["pwd"],"auth_time":1699999000}`,
		`{"active":false}`, `{"active":"true"}`, `{"active":1}`, `{}`, `[]`, `null`, `{"active":true}`,
		`{"active":true,"token_type":"DPoP","exp":1700003600}`,
		`{"active":true,"token_type":"Bearer","exp":1700003600,"cnf":{"jkt":"x"}}`,
		`{"active":true,"token_type":"Bearer","exp":1700003600,"cnf":null}`,
		`{"active":true,"token_type":"Bearer","exp":1e300}`,
		`{"active":true,"token_type":"Bearer","exp":-1}`,
		`{"active":true,"token_type":"Bearer","exp":1700003600,"iss":"https://evil.example/oidc"}`,
		`{"active":true,"active":false,"token_type":"Bearer","exp":1700003600}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := apiauth.JudgeIntrospection(v, body, now)
		if err != nil {
			if errors.Is(err, apiauth.ErrInvalidToken) == errors.Is(err, apiauth.ErrProvider) {
				t.Fatalf("%q: err = %v, of no one kind", body, err)
			}
			return
		}
		var a struct {
			Active    any     `json:"active"`
			TokenType string  `json:"token_type"`
			Cnf       any     `json:"cnf"`
			Iss       *string `json:"iss"`
			Exp       float64 `json:"exp"`
		}
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if a.Active != true || !strings.EqualFold(a.TokenType, "Bearer") || a.Cnf != nil || (a.Iss != nil && *a.Iss != "" && *a.Iss != issuer) ||
			a.Exp <= 0 || !now.Before(time.Unix(int64(a.Exp), 0).Add(apiauth.DefaultClockLeeway+time.Second)) {
			t.Fatalf("accepted %q", body)
		}
		if c == nil || c.Expiry.IsZero() {
			t.Fatalf("accepted %q with claims %+v", body, c)
		}
	})
}
