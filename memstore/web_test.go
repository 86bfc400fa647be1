package memstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/memstore"
)

// webApp is an app serving /sign-in, /callback, /sign-out, /protected
// behind RequireAuth, and /backchannel-logout, with its sessions in a
// Store.
type webApp struct {
	p     *logtotest.Provider
	srv   *httptest.Server
	app   *logto.App
	store *memstore.Store
}

func newWebApp(t *testing.T) *webApp {
	t.Helper()
	a := &webApp{}
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	redirect, postLogout := a.srv.URL+"/callback", a.srv.URL+"/"
	a.p = logtotest.NewTestProvider(t, logtotest.Options{
		RedirectURIs:           []string{redirect},
		PostLogoutRedirectURIs: []string{postLogout},
	})
	var err error
	a.app, err = logto.NewApp(logto.Config{
		Endpoint: a.p.Endpoint(), AppID: a.p.ClientID(), AppSecret: a.p.ClientSecret(),
		RedirectURI: redirect, PostLogoutRedirectURI: postLogout,
	})
	must(t, err)
	a.store, err = memstore.New(redirect, secret)
	must(t, err)
	h := &logto.WebHandlers{App: a.app, Storage: logto.SessionStorageFunc(a.store, "")}
	mux.Handle("/sign-in", h.SignIn())
	mux.Handle("/callback", h.Callback())
	mux.Handle("/sign-out", h.SignOut())
	mux.Handle("/protected", h.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := h.Client(w, r).IDTokenClaims(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s", claims.Subject)
	})))
	mux.Handle("POST /backchannel-logout", a.app.BackchannelLogoutHandler(a.store))
	return a
}

// browser is a cookie jar that does not follow redirects.
type browser struct {
	t *testing.T
	a *webApp
	c *http.Client
}

func (a *webApp) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	must(t, err)
	return &browser{t: t, a: a, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// get fetches target ("/..." is on the app).
func (b *browser) get(target string) (*http.Response, string) {
	b.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.a.srv.URL + target
	}
	resp, err := b.c.Get(target)
	must(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(b.t, err)
	return resp, string(body)
}

// signIn runs /sign-in, the provider and /callback, and returns the
// callback's answer.
func (b *browser) signIn() *http.Response {
	b.t.Helper()
	resp, body := b.get("/sign-in")
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	cb, err := b.a.p.Authorize(context.Background(), resp.Header.Get("Location"))
	must(b.t, err)
	resp, body = b.get(cb)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	return resp
}

// signedIn reports whether /protected lets the browser in.
func (b *browser) signedIn() bool {
	b.t.Helper()
	resp, body := b.get("/protected")
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusFound:
		return false
	}
	b.t.Fatalf("/protected: %d %s", resp.StatusCode, body)
	return false
}

func TestWebSignIn(t *testing.T) {
	a := newWebApp(t)
	b := a.browser(t)

	resp, _ := b.get("/protected")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/sign-in") {
		t.Fatalf("anonymous /protected: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := len(a.store.SessionIDs()); n != 0 {
		t.Errorf("an anonymous visit made %d sessions", n)
	}

	resp = b.signIn()
	cookie := oneSetCookie(t, resp.Header, logto.DefaultSessionName)
	if n := len(cookie.Value); n >= 200 {
		t.Errorf("session cookie value has %d bytes, want < 200", n)
	}
	if cookie.MaxAge != logto.DefaultSessionMaxAge || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Errorf("session cookie %+v", cookie)
	}
	if si, an := a.store.Counts(); si != 1 || an != 0 {
		t.Errorf("after sign-in: %d signed-in and %d other sessions, want 1 and 0", si, an)
	}
	resp, body := b.get("/protected")
	if want := "hello " + logtotest.DefaultUser().Subject; resp.StatusCode != http.StatusOK || body != want {
		t.Fatalf("/protected: %d %q, want 200 %q", resp.StatusCode, body, want)
	}

	// Sign-out ends the session, and a copy of its cookie names nothing.
	resp, _ = b.get("/sign-out")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if c := oneSetCookie(t, resp.Header, logto.DefaultSessionName); c.MaxAge >= 0 {
		t.Errorf("sign-out kept the cookie %+v", c)
	}
	if ids := a.store.SessionIDs(); len(ids) != 0 {
		t.Errorf("sign-out left %q in the store", ids)
	}
	if b.signedIn() {
		t.Error("/protected lets the browser in after sign-out")
	}
	s := logto.NewSessionStorage(a.store, httptest.NewRecorder(), request(cookie), "")
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Error("a copy of the cookie taken before sign-out still reads the session")
	}
}

// The session ID a browser had before sign-in (possibly planted by an
// attacker) is not the signed-in session's, and no longer names anything.
func TestWebSignInRotatesID(t *testing.T) {
	a := newWebApp(t)
	b := a.browser(t)
	resp, _ := b.get("/sign-in")
	planted := oneSetCookie(t, resp.Header, logto.DefaultSessionName)
	plantedID := onlySessionID(t, a.store)

	b.signIn()
	if !b.signedIn() {
		t.Fatal("not signed in")
	}
	if id := onlySessionID(t, a.store); id == plantedID {
		t.Error("the signed-in session kept the pre-sign-in ID")
	}
	s := logto.NewSessionStorage(a.store, httptest.NewRecorder(), request(planted), "")
	if v := get(t, s, logto.StorageKeyIDToken); v != "" {
		t.Error("the pre-sign-in cookie reads the signed-in session")
	}
}
