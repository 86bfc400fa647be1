package logto_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/cookiekeys"
	"github.com/seed098cf14d/logto/logtotest"
)

// logtoIDs returns n organization IDs shaped like Logto's: 12 characters
// of [0-9a-z], the same every run.
func logtoIDs(n int) []string {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	ids := make([]string, n)
	for i := range ids {
		b := make([]byte, 12)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		ids[i] = string(b)
	}
	return ids
}

// orgEnv is an in-process provider whose user belongs to n organizations,
// with a role in each, and an app asking for both organization scopes and
// for resources.
func orgEnv(t testing.TB, n int, resources ...string) *env {
	t.Helper()
	orgs := logtoIDs(n)
	return newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Resources, p.Resources = resources, resources
		c.Scopes = []string{logto.ScopeOrganizations, logto.ScopeOrganizationRoles}
		u := logtotest.DefaultUser()
		u.Organizations, u.OrganizationRoles = orgs, nil
		for _, o := range orgs {
			u.OrganizationRoles = append(u.OrganizationRoles, o+":member")
		}
		p.User = &u
	})
}

// cookieBrowser is a browser's cookies for one app with a CookieStore, and
// what the app sent it: every response is checked against the budget.
type cookieBrowser struct {
	t       testing.TB
	e       *env
	store   *logto.CookieStore
	jar     map[string]string
	setSize int // the bytes of Set-Cookie lines of the last response that set any
}

func newCookieBrowser(t testing.TB, e *env) *cookieBrowser {
	t.Helper()
	store, err := logto.NewCookieStore(testRedirect, benchSecret)
	if err != nil {
		t.Fatal(err)
	}
	return &cookieBrowser{t: t, e: e, store: store, jar: map[string]string{}}
}

// do runs f as one request of the browser and takes the response's cookies.
func (b *cookieBrowser) do(f func(c *logto.Client)) {
	b.t.Helper()
	w := httptest.NewRecorder()
	f(b.e.app.Client(logto.NewSessionStorage(b.store, w, requestWith(jarCookies(b.jar)), "")))
	applySetCookies(b.t, b.jar, w.Header(), logto.DefaultSessionName)
	if n := setCookieBytes(w.Header()); n > 0 {
		b.setSize = n
	}
}

func setCookieBytes(h http.Header) int {
	n := 0
	for _, l := range h.Values("Set-Cookie") {
		n += len(l)
	}
	return n
}

// cookieHeader is the Cookie header the browser sends the app.
func (b *cookieBrowser) cookieHeader() string {
	var parts []string
	for _, c := range jarCookies(b.jar) {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, "; ")
}

func (b *cookieBrowser) signIn() {
	b.t.Helper()
	ctx := context.Background()
	var authURL string
	b.do(func(c *logto.Client) {
		var err error
		if authURL, err = c.SignIn(ctx, logto.SignInOptions{}); err != nil {
			b.t.Fatal(err)
		}
	})
	cb, err := b.e.p.Authorize(ctx, authURL)
	if err != nil {
		b.t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	b.do(func(c *logto.Client) {
		if _, err := c.HandleSignInCallbackURL(ctx, u); err != nil {
			b.t.Fatalf("callback: %v", err)
		}
	})
}

// gorillaSize is the Set-Cookie line gorilla's CookieStore (as this SDK
// built it before: HKDF keys from the same secret, gob, AES-CTR, HMAC,
// base64 twice) would write for the session the browser holds; past 4096
// bytes it refused to write it.
// fullIDToken, when not empty, stands for the session's ID token: the one
// the provider sent, before any reduction.
func (b *cookieBrowser) gorillaSize(fullIDToken string) int {
	b.t.Helper()
	sess, err := b.store.New(requestWith(jarCookies(b.jar)), logto.DefaultSessionName)
	if err != nil || sess.IsNew {
		b.t.Fatalf("the browser's session does not read: %v", err)
	}
	if fullIDToken != "" {
		sess.Values[logto.StorageKeyIDToken] = fullIDToken
	}
	pairs, err := cookiekeys.FromSecrets([][]byte{benchSecret})
	if err != nil {
		b.t.Fatal(err)
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		c.(*securecookie.SecureCookie).MaxLength(0) // measure, whatever the size
	}
	encoded, err := securecookie.EncodeMulti(logto.DefaultSessionName, sess.Values, codecs...)
	if err != nil {
		b.t.Fatal(err)
	}
	return len(sessions.NewCookie(logto.DefaultSessionName, encoded, b.store.Options).String())
}

// A user in many organizations signs in with a cookie session whatever the
// size of their ID token, reads their claims, gets organization tokens and
// signs out. Past what the cookie holds the ID token is kept as a reduced
// record: claims essential to the session stay, and sign-out sends no
// id_token_hint (the record is unsigned, and the provider would refuse it).
func TestCookieSessionLargeIdentity(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		orgs    int
		reduced bool // whether the ID token's raw form must give way
		roles   bool // whether organization_roles are kept
		ids     bool // whether organizations are kept
	}{
		{1, false, true, true},
		{60, false, true, true},
		{120, false, true, true},
		{200, true, false, true},
		{1000, true, false, false},
	} {
		t.Run(fmt.Sprintf("%d organizations", tc.orgs), func(t *testing.T) {
			e := orgEnv(t, tc.orgs)
			b := newCookieBrowser(t, e)
			b.signIn()
			var claims *logto.IDTokenClaims
			var raw string
			b.do(func(c *logto.Client) {
				ok, err := c.IsAuthenticated(ctx)
				if err != nil || !ok {
					t.Fatalf("signed in = %v, %v", ok, err)
				}
				if claims, err = c.IDTokenClaims(ctx); err != nil {
					t.Fatal(err)
				}
				raw, _ = c.IDToken(ctx)
			})
			if claims.Subject != "dev-user-1" || claims.Issuer != e.p.Issuer() || !claims.Audience.Contains(e.p.ClientID()) ||
				claims.SessionID == "" || claims.Expiry.IsZero() || claims.IssuedAt.IsZero() || claims.AuthTime.IsZero() {
				t.Errorf("claims %+v", claims)
			}
			if got := len(claims.Organizations) == tc.orgs; got != tc.ids {
				t.Errorf("%d of %d organizations in the claims", len(claims.Organizations), tc.orgs)
			}
			if got := len(claims.OrganizationRoles) == tc.orgs; got != tc.roles {
				t.Errorf("%d of %d organization roles in the claims", len(claims.OrganizationRoles), tc.orgs)
			}
			if claims.Name != "Dev User" {
				t.Errorf("name %q", claims.Name)
			}
			if reduced := strings.HasPrefix(raw, "eyJhbGciOiJub25lIn0."); reduced != tc.reduced {
				t.Errorf("ID token reduced = %v, want %v", reduced, tc.reduced)
			}
			t.Logf("%d organizations: ID token %d bytes; after sign-in, Cookie header %d bytes, Set-Cookie %d bytes", tc.orgs, len(raw), len(b.cookieHeader()), b.setSize)

			// Organization tokens: minted from the refresh token (the
			// provider's refresh answer carries a new, full ID token,
			// reduced again as it is stored), and the one just minted is
			// kept.
			for _, org := range logtoIDs(tc.orgs)[:min(5, tc.orgs)] {
				var first string
				b.do(func(c *logto.Client) {
					at, err := c.GetOrganizationToken(ctx, org)
					if err != nil {
						t.Fatalf("organization %s: %v", org, err)
					}
					first = at.Token
				})
				grants := e.p.Grants("refresh_token")
				b.do(func(c *logto.Client) {
					at, err := c.GetOrganizationToken(ctx, org)
					if err != nil || at.Token != first {
						t.Fatalf("organization %s again: %v", org, err)
					}
					if n := e.p.Grants("refresh_token"); n != grants {
						t.Errorf("organization %s: the token just minted was not kept", org)
					}
					if got, err := c.IDTokenClaims(ctx); err != nil || got.Subject != claims.Subject {
						t.Fatalf("claims after a refresh: %v, %v", got, err)
					}
				})
			}
			t.Logf("%d organizations, 5 organization tokens: Cookie header %d bytes", tc.orgs, len(b.cookieHeader()))

			var end *url.URL
			b.do(func(c *logto.Client) {
				res, err := c.SignOut(ctx, logto.SignOutOptions{})
				if err != nil || res.RevocationErr != nil {
					t.Fatalf("sign-out: %v, %+v", err, res)
				}
				end, _ = url.Parse(res.URL)
			})
			if hint := end.Query().Get("id_token_hint"); (hint == "") != tc.reduced || (hint != "" && strings.HasPrefix(hint, "eyJhbGciOiJub25lIn0.")) {
				t.Errorf("id_token_hint = %.40q (reduced ID token: %v)", hint, tc.reduced)
			}
			if len(b.jar) != 0 {
				t.Errorf("after sign-out the browser keeps %v", slices.Collect(mapKeys(b.jar)))
			}
		})
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCookieBudgetTable measures the cookie a session takes (README,
// "Cookie budget"): with 0, 1, 3 and 10 resource tokens asked for, and for
// users in 1, 10, 60 and 200 organizations just signed in; beside it, the
// cookie gorilla's CookieStore (this SDK's store before CookieStore) writes
// for the same values. Run with -v to see the table.
func TestCookieBudgetTable(t *testing.T) {
	ctx := context.Background()
	type row struct {
		what           string
		idToken, kept  int // the ID token's bytes, and what the cookie keeps of it
		reduced        bool
		cached         int // access tokens in the cookie
		header, setCk  int // CookieStore: Cookie header, Set-Cookie lines of the last write
		gorilla, ratio int // gorilla's Set-Cookie line (0: refused), CookieStore's Cookie header in % of it
	}
	var rows []row
	measure := func(what string, b *cookieBrowser) {
		t.Helper()
		var r row
		r.what, r.header, r.setCk = what, len(b.cookieHeader()), b.setSize
		sess, err := b.store.New(requestWith(jarCookies(b.jar)), logto.DefaultSessionName)
		if err != nil || sess.IsNew {
			t.Fatalf("%s: the session does not read: %v", what, err)
		}
		// The ID token as the provider sends it: a sign-in of the same
		// user into memory.
		mem := logto.NewMemoryStorage()
		b.e.signIn(t, mem)
		full, _ := mem.Get(ctx, logto.StorageKeyIDToken)
		kept := sess.Values[logto.StorageKeyIDToken].(string)
		r.idToken, r.kept, r.reduced = len(full), len(kept), strings.HasPrefix(kept, "eyJhbGciOiJub25lIn0.")
		for k := range sess.Values {
			if strings.HasPrefix(k.(string), logto.StorageKeyAccessTokens+":") {
				r.cached++
			}
		}
		if r.gorilla = b.gorillaSize(full); r.gorilla > 0 {
			r.ratio = 100 * r.header / r.gorilla
			if r.gorilla <= 4096 && r.ratio > 60 {
				t.Errorf("%s: the cookie takes %d%% of gorilla's, want at most 60%%", what, r.ratio)
			}
		}
		rows = append(rows, r)
	}

	resources := make([]string, 10)
	for i := range resources {
		resources[i] = fmt.Sprintf("https://api%d.example.com", i)
	}
	for _, n := range []int{0, 1, 3, 10} {
		b := newCookieBrowser(t, orgEnv(t, 0, resources...))
		b.signIn()
		for _, res := range resources[:n] {
			b.do(func(c *logto.Client) {
				if _, err := c.GetAccessToken(ctx, res); err != nil {
					t.Fatal(err)
				}
			})
		}
		measure(fmt.Sprintf("%d resource tokens", n), b)
	}
	for _, n := range []int{1, 10, 60, 200} {
		b := newCookieBrowser(t, orgEnv(t, n))
		b.signIn()
		measure(fmt.Sprintf("%d organizations", n), b)
	}

	var out strings.Builder
	out.WriteString("\n| session | ID token | kept of it | access tokens kept | Cookie header | Set-Cookie | gorilla's Set-Cookie | ratio |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		g, ratio, kept := fmt.Sprint(r.gorilla), fmt.Sprintf("%d%%", r.ratio), "all"
		if r.gorilla > 4096 {
			g, ratio = fmt.Sprintf("%d (over 4096)", r.gorilla), "-"
		}
		if r.reduced {
			kept = fmt.Sprintf("a %d-byte record", r.kept)
		}
		fmt.Fprintf(&out, "| %s | %d | %s | %d | %d | %d | %s | %s |\n", r.what, r.idToken, kept, r.cached, r.header, r.setCk, g, ratio)
	}
	t.Log(out.String())
}
