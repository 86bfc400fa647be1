package logto_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// recordingEnder records EndSessions calls and fails with err when set.
type recordingEnder struct {
	mu    sync.Mutex
	calls [][2]string
	err   error
}

func (e *recordingEnder) EndSessions(_ context.Context, sub, sid string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, [2]string{sub, sid})
	return e.err
}

func (e *recordingEnder) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// postLogout sends body with content type ct to h and returns the answer.
func postLogout(h http.Handler, method, ct, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "http://app.test/backchannel-logout", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const formCT = "application/x-www-form-urlencoded"

func tokenForm(tok string) string { return url.Values{"logout_token": {tok}}.Encode() }

func mustLogoutToken(t testing.TB, p *logtotest.Provider, opts logtotest.LogoutTokenOptions) string {
	t.Helper()
	tok, err := p.LogoutToken(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// wantLogoutError checks a 400 (or status) answer with no-store and an
// invalid_request JSON body.
func wantLogoutError(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	var body struct{ Error, ErrorDescription string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", w.Body, err)
	}
	if status == http.StatusBadRequest && body.Error != "invalid_request" {
		t.Errorf("error %q, want invalid_request", body.Error)
	}
}

func TestBackchannelLogoutValid(t *testing.T) {
	e := newEnv(t, nil)
	ender := &recordingEnder{}
	srv := httptest.NewServer(e.app.BackchannelLogoutHandler(ender))
	t.Cleanup(srv.Close)

	resp, err := e.p.SendBackchannelLogout(context.Background(), srv.URL, logtotest.LogoutTokenOptions{
		Subject: "user-1", SessionID: "sess-1", Expiry: 2 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Fatalf("status %d, Cache-Control %q; want 200 no-store", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if len(ender.calls) != 1 || ender.calls[0] != [2]string{"user-1", "sess-1"} {
		t.Fatalf("EndSessions calls %q, want one (user-1, sess-1)", ender.calls)
	}

	// sid alone, no exp (logout tokens may omit it).
	tok := mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{SessionID: "sess-2"})
	if w := postLogout(e.app.BackchannelLogoutHandler(ender), http.MethodPost, formCT+"; charset=utf-8", tokenForm(tok)); w.Code != http.StatusOK {
		t.Fatalf("sid-only token: %d %s", w.Code, w.Body)
	}
	if got := ender.calls[1]; got != [2]string{"", "sess-2"} {
		t.Errorf("EndSessions(%q), want (\"\", sess-2)", got)
	}

	claims, err := e.app.VerifyLogoutToken(context.Background(), mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{JTI: "j-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != logtotest.DefaultUser().Subject || claims.JWTID != "j-1" || claims.Issuer != e.p.Issuer() ||
		!claims.Audience.Contains(e.p.ClientID()) || claims.IssuedAt.IsZero() || len(claims.Raw) == 0 {
		t.Errorf("claims %+v", claims)
	}
}

func TestBackchannelLogoutRejects(t *testing.T) {
	e := newEnv(t, nil)
	type opts = logtotest.LogoutTokenOptions
	tokenCases := []struct {
		name string
		opts opts
	}{
		{"bad signature", opts{Signing: logtotest.SignWrongKey}},
		{"unknown key", opts{Signing: logtotest.SignUnknownKey}},
		{"alg none", opts{Signing: logtotest.SignNone}},
		{"HS256 with the public key", opts{Signing: logtotest.SignHS256PublicKey}},
		{"wrong aud", opts{Audience: "another-app"}},
		{"wrong iss", opts{Issuer: "https://evil.example/oidc"}},
		{"missing events", opts{OmitEvents: true}},
		{"events without the logout key", opts{Claims: func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		}}},
		{"event value not an object", opts{Claims: func(c map[string]any) {
			c["events"] = map[string]any{logtotest.BackchannelLogoutEvent: "yes"}
		}}},
		{"events an array", opts{Claims: func(c map[string]any) {
			c["events"] = []any{logtotest.BackchannelLogoutEvent}
		}}},
		{"with nonce", opts{Nonce: "n-1"}},
		{"with null nonce", opts{Claims: func(c map[string]any) { c["nonce"] = nil }}},
		{"neither sub nor sid", opts{OmitSubject: true}},
		{"sub not a string", opts{Claims: func(c map[string]any) { c["sub"] = 42 }}},
		{"missing iat", opts{OmitIssuedAt: true}},
		{"iat not a number", opts{Claims: func(c map[string]any) { c["iat"] = "now" }}},
		{"iat in the future", opts{IssuedAtOffset: 10 * time.Minute}},
		{"too old", opts{IssuedAtOffset: -(logto.LogoutTokenMaxAge + 2*logto.DefaultClockLeeway)}},
		{"expired", opts{IssuedAtOffset: -3 * time.Minute, Expiry: time.Minute}},
		{"missing jti", opts{OmitJTI: true}},
		{"wrong typ header", opts{Type: "JWT"}},
		{"ID token typ", opts{Type: "id_token+jwt"}},
	}
	for _, tc := range tokenCases {
		t.Run(tc.name, func(t *testing.T) {
			ender := &recordingEnder{}
			tok := mustLogoutToken(t, e.p, tc.opts)
			w := postLogout(e.app.BackchannelLogoutHandler(ender), http.MethodPost, formCT, tokenForm(tok))
			wantLogoutError(t, w, http.StatusBadRequest)
			if ender.count() != 0 {
				t.Errorf("ender called %d times", ender.count())
			}
			_, err := e.app.VerifyLogoutToken(context.Background(), tok)
			t.Log(err)
			if !errors.Is(err, logto.ErrInvalidToken) {
				t.Errorf("VerifyLogoutToken: %v, want ErrInvalidToken", err)
			}
		})
	}

	valid := func() string { return mustLogoutToken(t, e.p, opts{}) }
	requestCases := []struct {
		name, method, ct, body string
		status                 int
	}{
		{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed},
		{"PUT", http.MethodPut, formCT, tokenForm(valid()), http.StatusMethodNotAllowed},
		{"missing logout_token", http.MethodPost, formCT, "other=1", http.StatusBadRequest},
		{"empty logout_token", http.MethodPost, formCT, "logout_token=", http.StatusBadRequest},
		{"logout_token twice", http.MethodPost, formCT, tokenForm(valid()) + "&" + tokenForm(valid()), http.StatusBadRequest},
		{"JSON body", http.MethodPost, "application/json", `{"logout_token":"` + valid() + `"}`, http.StatusBadRequest},
		{"no content type", http.MethodPost, "", tokenForm(valid()), http.StatusBadRequest},
		{"oversized body", http.MethodPost, formCT, tokenForm(valid()) + "&pad=" + strings.Repeat("a", 70<<10), http.StatusBadRequest},
		{"malformed form", http.MethodPost, formCT, "logout_token=%zz", http.StatusBadRequest},
		{"garbage token", http.MethodPost, formCT, tokenForm("not.a.jwt"), http.StatusBadRequest},
	}
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			ender := &recordingEnder{}
			w := postLogout(e.app.BackchannelLogoutHandler(ender), tc.method, tc.ct, tc.body)
			wantLogoutError(t, w, tc.status)
			if tc.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if ender.count() != 0 {
				t.Errorf("ender called %d times", ender.count())
			}
		})
	}
}

func TestBackchannelLogoutReplay(t *testing.T) {
	e := newEnv(t, nil)
	ender := &recordingEnder{}
	h := e.app.BackchannelLogoutHandler(ender)
	body := tokenForm(mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{}))
	if w := postLogout(h, http.MethodPost, formCT, body); w.Code != http.StatusOK {
		t.Fatalf("first: %d %s", w.Code, w.Body)
	}
	wantLogoutError(t, postLogout(h, http.MethodPost, formCT, body), http.StatusBadRequest)
	// Another token with the same jti is a replay too.
	again := mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{JTI: "fixed"})
	if w := postLogout(h, http.MethodPost, formCT, tokenForm(again)); w.Code != http.StatusOK {
		t.Fatalf("jti fixed: %d %s", w.Code, w.Body)
	}
	same := mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{JTI: "fixed", Subject: "other"})
	wantLogoutError(t, postLogout(h, http.MethodPost, formCT, tokenForm(same)), http.StatusBadRequest)
	if ender.count() != 2 {
		t.Errorf("ender called %d times, want 2", ender.count())
	}
}

func TestBackchannelLogoutEnderFailure(t *testing.T) {
	e := newEnv(t, nil)
	ender := &recordingEnder{err: errors.New("redis down")}
	h := e.app.BackchannelLogoutHandler(ender)
	body := tokenForm(mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{}))
	w := postLogout(h, http.MethodPost, formCT, body)
	wantLogoutError(t, w, http.StatusInternalServerError)
	if strings.Contains(w.Body.String(), "redis down") {
		t.Errorf("the body leaks the cause: %s", w.Body)
	}
	// The provider's retry of the same token goes through once the store
	// is back.
	ender.mu.Lock()
	ender.err = nil
	ender.mu.Unlock()
	if w := postLogout(h, http.MethodPost, formCT, body); w.Code != http.StatusOK {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
}

func TestBackchannelLogoutReplayCacheBounded(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, func(c *logto.Config, o *logtotest.Options) { c.Now, o.Now = clock, clock })
	logto.SetLogoutReplayCacheSize(e.app, 3)
	ender := &recordingEnder{}
	h := e.app.BackchannelLogoutHandler(ender)
	send := func() *httptest.ResponseRecorder {
		return postLogout(h, http.MethodPost, formCT, tokenForm(mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{})))
	}
	for i := range 3 {
		if w := send(); w.Code != http.StatusOK {
			t.Fatalf("token %d: %d %s", i, w.Code, w.Body)
		}
	}
	// Full of live entries: fail closed rather than forget one.
	wantLogoutError(t, send(), http.StatusBadRequest)

	// Once the entries are past the maximum age, they make room.
	mu.Lock()
	now = now.Add(logto.LogoutTokenMaxAge + logto.DefaultClockLeeway + time.Second)
	mu.Unlock()
	if w := send(); w.Code != http.StatusOK {
		t.Fatalf("after expiry: %d %s", w.Code, w.Body)
	}
	if ender.count() != 4 {
		t.Errorf("ender called %d times, want 4", ender.count())
	}
}

func TestBackchannelLogoutConcurrentReplay(t *testing.T) {
	e := newEnv(t, nil)
	ender := &recordingEnder{}
	h := e.app.BackchannelLogoutHandler(ender)
	body := tokenForm(mustLogoutToken(t, e.p, logtotest.LogoutTokenOptions{}))
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i] = postLogout(h, http.MethodPost, formCT, body).Code })
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == http.StatusOK {
			ok++
		}
	}
	if ok != 1 || ender.count() != 1 {
		t.Errorf("codes %v, ender calls %d; want exactly one success", codes, ender.count())
	}
}

// With no SessionEnder the App records the logout itself: the sessions it
// names are refused from their next request on, cookie sessions included.
func TestBackchannelLogoutEndsCookieSessions(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	h := e.app.BackchannelLogoutHandler(nil)
	for _, tc := range []struct {
		name string
		opts func(claims *logto.IDTokenClaims) logtotest.LogoutTokenOptions
	}{
		{"by sid", func(c *logto.IDTokenClaims) logtotest.LogoutTokenOptions {
			return logtotest.LogoutTokenOptions{SessionID: c.SessionID}
		}},
		{"by sub", func(c *logto.IDTokenClaims) logtotest.LogoutTokenOptions {
			return logtotest.LogoutTokenOptions{Subject: c.Subject}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			victim := logto.NewMemoryStorage()
			e.signIn(t, victim)
			copied := copyStorage(victim) // a cookie taken earlier: the same session
			claims, err := e.app.Client(victim).IDTokenClaims(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if claims.SessionID == "" {
				t.Fatal("logtotest sent no sid")
			}
			w := postLogout(h, http.MethodPost, formCT, tokenForm(mustLogoutToken(t, e.p, tc.opts(claims))))
			if w.Code != http.StatusOK {
				t.Fatalf("logout: %d %s", w.Code, w.Body)
			}
			for name, s := range map[string]*logto.MemoryStorage{"session": victim, "copy": copied} {
				if ok, err := e.app.Client(s).IsAuthenticated(ctx); ok || err != nil {
					t.Errorf("%s after back-channel logout: authenticated %v, %v", name, ok, err)
				}
			}
			if rt, _ := victim.Get(ctx, logto.StorageKeyRefreshToken); rt != "" {
				t.Error("the ended session's tokens were kept")
			}
			// A sign-in after the logout is a new session.
			clk.advance(time.Second)
			fresh := logto.NewMemoryStorage()
			e.signIn(t, fresh)
			if ok, err := e.app.Client(fresh).IsAuthenticated(ctx); !ok {
				t.Errorf("a later sign-in was refused: %v", err)
			}
		})
	}
}

func FuzzVerifyLogoutToken(f *testing.F) {
	e := newEnv(f, nil)
	for _, o := range []logtotest.LogoutTokenOptions{
		{Signing: logtotest.SignWrongKey}, {Signing: logtotest.SignNone},
		{Signing: logtotest.SignHS256PublicKey}, {OmitEvents: true}, {Nonce: "x"},
	} {
		f.Add(mustLogoutToken(f, e.p, o))
	}
	valid := mustLogoutToken(f, e.p, logtotest.LogoutTokenOptions{})
	f.Add(valid[:len(valid)-2] + "AA")
	f.Add("a.b.c")
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		if claims, err := e.app.VerifyLogoutToken(context.Background(), raw); err == nil {
			t.Fatalf("verified %q: %+v", raw, claims)
		}
	})
}

func ExampleApp_BackchannelLogoutHandler() {
	app, err := logto.NewApp(logto.Config{Endpoint: "https://tenant.logto.app", AppID: "my-app"})
	if err != nil {
		panic(err)
	}
	// ender ends server-side sessions by sub and sid: redisstore.Store is one.
	var ender logto.SessionEnder = endNothing{}
	mux := http.NewServeMux()
	mux.Handle("POST /backchannel-logout", app.BackchannelLogoutHandler(ender))
	fmt.Println("ready")
	// Output: ready
}

type endNothing struct{}

func (endNothing) EndSessions(context.Context, string, string) error { return nil }
