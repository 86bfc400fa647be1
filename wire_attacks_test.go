package logto_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/jwks"
	"github.com/seed098cf14d/logto/logtotest"
)

// forgedJWT is a token in JWT form signed by nobody, naming key kid.
func forgedJWT(kid, typ, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES384","kid":"`+kid+`","typ":"`+typ+`"}`)) + "." + enc([]byte(payload)) + "." + enc(make([]byte, 96))
}

// An attacker can post logout tokens naming made-up keys as fast as it
// likes; the key set is fetched once per cooldown, not once per token.
func TestForgedKeyIDsDoNotDriveKeyFetches(t *testing.T) {
	e := newEnv(t, nil)
	h := e.app.BackchannelLogoutHandler(&recordingEnder{})
	// Prime discovery and keys with one valid token.
	w := postLogout(h, http.MethodPost, formCT, tokenForm(mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{Subject: "u"})))
	if w.Code != http.StatusOK {
		t.Fatalf("valid logout token: %d %s", w.Code, w.Body)
	}
	before := e.p.Requests("jwks")
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Go(func() {
			payload := fmt.Sprintf(`{"iss":%q,"aud":%q,"iat":%d,"jti":"j%d","sub":"u","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
				e.p.Issuer(), e.p.ClientID(), time.Now().Unix(), i)
			w := postLogout(h, http.MethodPost, formCT, tokenForm(forgedJWT(fmt.Sprintf("kid-%d", i), "logout+jwt", payload)))
			if w.Code != http.StatusBadRequest {
				t.Errorf("forged token %d: %d", i, w.Code)
			}
		})
	}
	wg.Wait()
	if n := e.p.Requests("jwks") - before; n > 1 {
		t.Fatalf("%d key fetches for 300 forged key IDs, want at most 1", n)
	}

	// The same through the callback: ID tokens signed with keys the
	// provider does not publish.
	before = e.p.Requests("jwks")
	for range 20 {
		c := e.app.Client(logto.NewMemoryStorage())
		cb := e.startSignIn(t, c, logto.SignInOptions{})
		e.p.SetFaults(logtotest.Faults{IDTokenSigning: logtotest.SignUnknownKey})
		if _, err := c.HandleSignInCallbackURL(context.Background(), cb); !errors.Is(err, logto.ErrInvalidToken) {
			t.Fatalf("unknown key: %v", err)
		}
		e.p.SetFaults(logtotest.Faults{})
	}
	if n := e.p.Requests("jwks") - before; n > 1 {
		t.Fatalf("%d key fetches for 20 callbacks with unknown keys, want at most 1", n)
	}
}

// A provider outage while keys rotate is not an invalid token: the refresh
// answers ErrProvider, the rotated refresh token is kept, and the session
// survives to refresh again once the provider is back.
func TestKeyOutageDuringRefreshKeepsSession(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	rt0, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
	idt0, _ := storage.Get(ctx, logto.StorageKeyIDToken)

	e.p.RotateKeys() // the refresh's new ID token names a key not yet fetched
	e.p.SetFaults(logtotest.Faults{JWKSStatus: http.StatusServiceUnavailable})
	clk.advance(2 * time.Hour)
	_, err := c.GetAccessToken(ctx, testResource)
	if !errors.Is(err, logto.ErrProvider) || errors.Is(err, logto.ErrNotAuthenticated) || errors.Is(err, logto.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrProvider alone", err)
	}
	if ok, _ := c.IsAuthenticated(ctx); !ok {
		t.Fatal("the session was dropped for a provider outage")
	}
	rt1, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
	if rt1 == rt0 || rt1 == "" {
		t.Fatal("the rotated refresh token was thrown away")
	}
	if idt, _ := storage.Get(ctx, logto.StorageKeyIDToken); idt != idt0 {
		t.Fatal("an unverified ID token was stored")
	}

	// Also right after a rotation, within the key set's cooldown: the new
	// key is not fetched yet, and that is no reason to end the session.
	e.p.SetFaults(logtotest.Faults{})
	clk.advance(jwks.Cooldown)
	if _, err := c.GetAccessToken(ctx, testResource); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if idt, _ := storage.Get(ctx, logto.StorageKeyIDToken); idt == idt0 {
		t.Error("the refreshed ID token was not stored once it could be verified")
	}
}

// RFC 9207: a provider that says it sends iss on the authorization
// response always does; a callback without it is a mix-up attempt.
func TestCallbackWithoutIssRefusedWhenAdvertised(t *testing.T) {
	e := newEnv(t, nil)
	c := e.app.Client(logto.NewMemoryStorage())
	cb := e.startSignIn(t, c, logto.SignInOptions{})
	q := cb.Query()
	if q.Get("iss") == "" {
		t.Fatal("logtotest sent no iss")
	}
	q.Del("iss")
	cb.RawQuery = q.Encode()
	_, err := c.HandleSignInCallbackURL(context.Background(), cb)
	if !errors.Is(err, logto.ErrInvalidCallback) {
		t.Fatalf("err = %v, want ErrInvalidCallback", err)
	}
	if n := e.p.Grants("authorization_code"); n != 0 {
		t.Errorf("the code was redeemed (%d grants)", n)
	}

	// A provider that does not advertise it may leave it out.
	e2 := newEnv(t, nil)
	e2.p.SetFaults(logtotest.Faults{DiscoveryEdit: func(d map[string]any) {
		delete(d, "authorization_response_iss_parameter_supported")
	}})
	c2 := e2.app.Client(logto.NewMemoryStorage())
	cb2 := e2.startSignIn(t, c2, logto.SignInOptions{})
	q2 := cb2.Query()
	q2.Del("iss")
	cb2.RawQuery = q2.Encode()
	if _, err := c2.HandleSignInCallbackURL(context.Background(), cb2); err != nil {
		t.Fatalf("no iss from a provider that does not advertise it: %v", err)
	}
}

// An https provider whose discovery gives an http endpoint would have the
// client secret or tokens travel in clear: refused.
func TestMixedSchemeDiscoveryRefused(t *testing.T) {
	for _, name := range []string{"token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			// logtotest serves over http on loopback; make it claim https
			// as its issuer, with the one endpoint left on http.
			https := strings.Replace(e.p.Issuer(), "http://", "https://", 1)
			e.p.SetFaults(logtotest.Faults{DiscoveryEdit: func(d map[string]any) {
				for k, v := range d {
					if s, ok := v.(string); ok && k != name {
						d[k] = strings.Replace(s, "http://", "https://", 1)
					}
				}
			}})
			doc, err := fetchJSON(e.p.Issuer() + "/.well-known/openid-configuration")
			if err != nil || doc["issuer"] != https || strings.HasPrefix(doc[name].(string), "https") {
				t.Fatalf("fault did not apply: %v %v", doc, err)
			}
			app, err := logto.NewApp(logto.Config{
				Endpoint: strings.TrimSuffix(https, "/oidc"), AppID: e.p.ClientID(), AppSecret: e.p.ClientSecret(),
				RedirectURI: testRedirect,
				HTTPClient:  &http.Client{Transport: httpsToHTTP{}},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
			if !errors.Is(err, logto.ErrDiscovery) || !strings.Contains(err.Error(), name) {
				t.Fatalf("err = %v, want ErrDiscovery naming %s", err, name)
			}
		})
	}
}

// httpsToHTTP sends https requests to the same host over http, so a test
// can stand an http provider in for an https one.
type httpsToHTTP struct{}

func (httpsToHTTP) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	u := *r.URL
	u.Scheme = "http"
	r.URL = &u
	return http.DefaultTransport.RoundTrip(r)
}

func fetchJSON(u string) (map[string]any, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	return m, err
}
