package logto_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// returnToAttacks are return paths that try to leave the site, or look as if
// they might.
var returnToAttacks = []string{
	"//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)",
	"/%0d%0aSet-Cookie:x", "\t/evil", "", "evil", "/ok?x=1",
	"///evil.example", "\\/evil.example", "/\t/evil.example", "/\r\n/evil.example",
	"/.//evil.example", "/..//evil.example", "/%2f%2fevil.example", "/%5cevil.example",
	"/@evil.example", "/evil.example:443", "http:/evil.example", " /evil", "/\x00/evil",
	"/a?next=//evil.example#//evil.example",
}

// browserView approximates how a browser reads a Location value (WHATWG URL):
// ASCII tab and newline are dropped, a backslash is a slash, and leading C0
// controls and spaces are stripped.
func browserView(loc string) string {
	loc = strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"+
		"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
	return loc
}

func FuzzSafeReturnPath(f *testing.F) {
	for _, s := range returnToAttacks {
		f.Add(s)
	}
	base, err := url.Parse("https://app.example/base")
	if err != nil {
		f.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "https://app.example/callback", nil)
	sameSite := func(t *testing.T, what, loc string) {
		t.Helper()
		ref, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("%s %q does not parse: %v", what, loc, err)
		}
		if ref.Scheme != "" || ref.Host != "" || ref.User != nil {
			t.Fatalf("%s %q names a scheme or host", what, loc)
		}
		u := base.ResolveReference(ref)
		if u.Scheme != "https" || u.Host != "app.example" || u.User != nil {
			t.Fatalf("%s %q resolves to %s", what, loc, u)
		}
		// Serialized and read again, it still stays.
		if again, err := url.Parse(u.String()); err != nil || again.Host != "app.example" || again.Scheme != "https" {
			t.Fatalf("%s %q resolves to %s, read back as %v (%v)", what, loc, u, again, err)
		}
		if v := browserView(loc); !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") {
			t.Fatalf("%s %q reads as %q to a browser: another origin", what, loc, v)
		}
	}
	f.Fuzz(func(t *testing.T, p string) {
		if !logto.IsSafeReturnPath(p) {
			return
		}
		sameSite(t, "return path", p)

		// As the callback answers it.
		w := httptest.NewRecorder()
		http.Redirect(w, req, p, http.StatusSeeOther)
		loc := w.Header().Get("Location")
		if strings.ContainsAny(loc, "\r\n") {
			t.Fatalf("Location %q splits the header", loc)
		}
		sameSite(t, "Location", loc)
	})
}

// FuzzCallbackURL feeds arbitrary queries to the callback of a client that
// has one sign-in pending. The real sign-in's code has been redeemed already,
// so no input can complete it: every input must be refused with an error of
// a documented kind, and none may leave a session behind.
//
// The query is the fuzz input with $STATE, $CODE and $ISS replaced by the
// pending sign-in's values: those are random per process, and fuzz workers
// are separate processes, so literal values in the corpus would never match.
func FuzzCallbackURL(f *testing.F) {
	start := time.Now()
	e := newEnv(f, func(c *logto.Config, _ *logtotest.Options) {
		// A fixed clock keeps the sign-in pending however long fuzzing runs.
		c.Now = func() time.Time { return start }
	})
	ctx := context.Background()
	setup := logto.NewMemoryStorage()
	cb := e.startSignIn(f, e.app.Client(setup), logto.SignInOptions{ReturnTo: "/after"})
	pending, err := setup.Get(ctx, logto.StorageKeySignIn)
	if err != nil || pending == "" {
		f.Fatalf("no pending sign-in: %q %v", pending, err)
	}
	// Redeem the code from a copy of the storage, so it is spent at the
	// provider while the fuzzed client still holds the sign-in.
	spend := logto.NewMemoryStorage()
	if err := spend.Set(ctx, logto.StorageKeySignIn, pending); err != nil {
		f.Fatal(err)
	}
	if _, err := e.app.Client(spend).HandleSignInCallbackURL(ctx, cb); err != nil {
		f.Fatalf("setup sign-in: %v", err)
	}

	q := cb.Query()
	expand := strings.NewReplacer(
		"$STATE", url.QueryEscape(q.Get("state")),
		"$CODE", url.QueryEscape(q.Get("code")),
		"$ISS", url.QueryEscape(q.Get("iss")),
	)
	redirect, err := url.Parse(e.cfg.RedirectURI)
	if err != nil {
		f.Fatal(err)
	}

	f.Add(cb.RawQuery) // the real callback, literally (this process only)
	for _, s := range []string{
		"code=$CODE&state=$STATE&iss=$ISS",
		"state=$STATE&code=$CODE",
		"state=$STATE&code=forged&iss=$ISS",
		"state=$STATE&state=$STATE&code=$CODE",
		"code=$CODE&code=$CODE&state=$STATE",
		"state=$STATE&iss=$ISS&iss=$ISS&code=$CODE",
		"state=$STATE&iss=https%3A%2F%2Fevil.example%2Foidc&code=$CODE",
		"state=$STATE&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&iss=$ISS",
		"state=$STATE&error=&code=$CODE",
		"state=$STATE",
		"state=$STATE&code=",
		"state=$STATE&code=" + strings.Repeat("A", 4096),
		"state=forged&code=$CODE&iss=$ISS",
		"state=&code=$CODE",
		"STATE=$STATE&code=$CODE",
		"state=%20$STATE&code=$CODE",
		"state=$STATE%00&code=$CODE",
		"state=$STATE;code=$CODE",
		"state=%zz&code=%",
		"%", "%%", "%00", ";", "&&&", "=", "state", "state=", "code=$CODE", "",
		"state=$STATE&code=$CODE&state=",
		"state[]=$STATE&code=$CODE",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		storage := logto.NewMemoryStorage()
		if err := storage.Set(ctx, logto.StorageKeySignIn, pending); err != nil {
			t.Fatal(err)
		}
		c := e.app.Client(storage)
		u := *redirect
		u.RawQuery = expand.Replace(raw)
		res, err := c.HandleSignInCallbackURL(ctx, &u)
		if err == nil || res != nil {
			t.Fatalf("query %q accepted: %+v, %v", u.RawQuery, res, err)
		}
		var oe *logto.OAuthError
		if !errors.Is(err, logto.ErrInvalidState) && !errors.Is(err, logto.ErrInvalidCallback) &&
			!errors.Is(err, logto.ErrProvider) && !errors.Is(err, logto.ErrInvalidToken) && !errors.As(err, &oe) {
			t.Fatalf("query %q: error of no documented kind: %v", u.RawQuery, err)
		}
		if ok, err := c.IsAuthenticated(ctx); ok || err != nil {
			t.Fatalf("query %q left IsAuthenticated = %v, %v", u.RawQuery, ok, err)
		}
		for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens} {
			if v, _ := storage.Get(ctx, k); v != "" {
				t.Fatalf("query %q stored %s", u.RawQuery, k)
			}
		}
	})
}

// FuzzSessionCookie feeds arbitrary session cookies to the cookie storage:
// never a panic or an error, never a session the attacker could make
// without the keys.
func FuzzSessionCookie(f *testing.F) {
	store, err := logto.NewCookieStore(testRedirect, []byte(strings.Repeat("a", 32)))
	if err != nil {
		f.Fatal(err)
	}
	// A real cookie as a seed, so mutations start from the right shape.
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, httptest.NewRequest(http.MethodGet, testRedirect, nil), "")
	_ = s.Set(context.Background(), logto.StorageKeyIDToken, "x.y.z")
	_ = s.Flush(context.Background())
	for _, c := range w.Result().Cookies() {
		f.Add(c.Value)
	}
	f.Add("")
	f.Add("MTcwMDAwMDAwMHxhYmN8ZGVm")
	app, err := logto.NewApp(logto.Config{Endpoint: "http://127.0.0.1:1", AppID: "a", RedirectURI: testRedirect})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, testRedirect, nil)
		r.Header.Set("Cookie", logto.DefaultSessionName+"="+value)
		c := app.Client(logto.NewSessionStorage(store, httptest.NewRecorder(), r, ""))
		ok, err := c.IsAuthenticated(context.Background())
		if err != nil {
			t.Fatalf("an unreadable cookie is an error: %v", err)
		}
		// Only a cookie the store sealed opens, and the only one it ever
		// sealed holds "x.y.z" (fuzz workers seal their own copy).
		if tok, _ := c.IDToken(context.Background()); ok && tok != "x.y.z" {
			t.Fatalf("cookie %q opens to a session nobody sealed: %q", value, tok)
		}
		_, _ = c.IDTokenClaims(context.Background())
	})
}

// FuzzIDTokenClaims parses arbitrary token payloads as ID-token claims.
func FuzzIDTokenClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"i","sub":"s","aud":["a"],"exp":1700000000,"iat":1.5,"auth_time":3,"created_at":1700000000123}`))
	f.Add([]byte(`{"aud":"a","exp":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var c logto.IDTokenClaims
		if err := c.UnmarshalJSON(payload); err != nil {
			return
		}
		if !c.Expiry.IsZero() && c.Expiry.Year() > 40000 {
			t.Fatalf("exp out of range: %v", c.Expiry)
		}
	})
}
