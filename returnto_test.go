package logto_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// longestReturnPath is the longest return path IsSafeReturnPath accepts,
// repeating pattern.
func longestReturnPath(t *testing.T, pattern string) string {
	t.Helper()
	path := func(n int) string { return "/" + strings.Repeat(pattern, n)[:n-1] }
	n := 1
	for n < 1<<16 && logto.IsSafeReturnPath(path(n+1)) {
		n++
	}
	if n < 2 {
		t.Fatalf("IsSafeReturnPath accepts no path of %q", pattern)
	}
	return path(n)
}

// wantCookiesFit fails the test for any Set-Cookie of resp over the 4096
// bytes a browser keeps of a cookie.
func wantCookiesFit(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for _, line := range resp.Header.Values("Set-Cookie") {
		if len(line) > 4096 {
			t.Errorf("%s: a %d-byte Set-Cookie (> 4096)", what, len(line))
		}
	}
}

// One cross-site navigation per sign-in can plant pending sign-ins with the
// longest return path there is. They must not make the victim's own sign-in
// fail (or its cookie outgrow a browser) while they live.
func TestWebPlantedSignInsDoNotBreakSignIn(t *testing.T) {
	resources := []string{"https://api.example.com", "https://api2.example.com", "https://api3.example.com", "https://api4.example.com"}
	a := newWebAppWith(t, func(c *logto.Config, p *logtotest.Options) {
		c.Resources = resources
		p.Resources = resources
	}, nil)
	type variant struct {
		name     string
		long     string
		signedIn bool
	}
	// A path of 1.5 KB: today one fits in a pending sign-in's cookie.
	mid := "/" + strings.Repeat("a", 1499)
	variants := []variant{{"1.5 KB, signed out", mid, false}}
	// Plain letters, and the characters that grow most when the pending
	// sign-in is encoded.
	for _, pattern := range []string{"a", `<"`} {
		long := longestReturnPath(t, pattern)
		t.Logf("longest return path of %q: %d bytes", pattern, len(long))
		variants = append(variants,
			variant{pattern + ", signed out", long, false},
			variant{pattern + ", signed in with cached tokens", long, true})
	}
	for _, v := range variants {
		long, signedIn := v.long, v.signedIn
		t.Run(v.name, func(t *testing.T) {
			b := a.browser(t)
			if signedIn {
				wantCookiesFit(t, "first sign-in", b.signIn(""))
				for _, r := range resources {
					resp, body := b.get("/token?resource=" + url.QueryEscape(r))
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("token for %s: %d %s", r, resp.StatusCode, body)
					}
					wantCookiesFit(t, "token for "+r, resp)
				}
			}
			for i := range 3 {
				resp, body := b.get("/sign-in?return_to=" + url.QueryEscape(long))
				if resp.StatusCode != http.StatusFound {
					t.Errorf("planted sign-in %d: %d %.200s, want 302", i, resp.StatusCode, body)
				}
				wantCookiesFit(t, "planted sign-in", resp)
			}

			// The victim's own sign-in, then its callback.
			resp, body := b.get("/sign-in?return_to=%2Faccount")
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("the victim's sign-in: %d %.300s", resp.StatusCode, body)
			}
			wantCookiesFit(t, "the victim's sign-in", resp)
			resp, body = b.get(b.authorize(resp))
			wantRedirect(t, resp, http.StatusSeeOther, "/account")
			if t.Failed() {
				t.Fatalf("the victim's callback: %.300s", body)
			}
			wantCookiesFit(t, "the victim's callback", resp)
			if resp, body := b.get("/protected"); resp.StatusCode != http.StatusOK {
				t.Fatalf("/protected after the victim's sign-in: %d %s", resp.StatusCode, body)
			}
			resp, body = b.get("/token?resource=" + url.QueryEscape(resources[0]))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("token after the victim's sign-in: %d %s", resp.StatusCode, body)
			}
			wantCookiesFit(t, "token after the victim's sign-in", resp)

			// The user's own sign-in with the longest return path, while
			// signed in with a cached token, completes too: if nothing else
			// is left to give up, the return path goes and the callback
			// lands on the default page.
			resp, body = b.get("/sign-in?return_to=" + url.QueryEscape(long))
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("sign-in with the longest return path: %d %.300s", resp.StatusCode, body)
			}
			wantCookiesFit(t, "sign-in with the longest return path", resp)
			resp, body = b.get(b.authorize(resp))
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || (loc != long && loc != "/") {
				t.Fatalf("callback of the sign-in with the longest return path: %d to %.80q: %.300s", resp.StatusCode, loc, body)
			}
			wantCookiesFit(t, "callback of the sign-in with the longest return path", resp)
			t.Logf("the sign-in with the longest return path went back to %.40q", resp.Header.Get("Location"))
		})
	}
}

// When a session's identity leaves little room, pending sign-ins give way,
// oldest first; the newest is kept, at worst without its return path.
func TestSessionStorageKeepsNewestSignIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	h := newSessionStorageHarness(t, ssStore(t))
	// An identity of 5.3 KB that no codec can shrink (no JWS to unwrap),
	// leaving a few hundred bytes of the cookie budget.
	blob := make([]byte, 4000)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	s := h.cur
	for k, v := range map[string]string{
		logto.StorageKeyIDToken:      base64.RawURLEncoding.EncodeToString(blob),
		logto.StorageKeyRefreshToken: "refresh-token",
	} {
		if err := s.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	long := longestReturnPath(t, `"`)
	var states []string
	for i := range 4 {
		s = h.next()
		path := long
		if i < 3 {
			path = "/" + strings.Repeat("b", 100+i)
		}
		authURL, err := e.app.Client(s).SignIn(ctx, logto.SignInOptions{ReturnTo: path})
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		u, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, u.Query().Get("state"))
	}
	h.next() // checks every Set-Cookie line against the budget
	got := readAll(t, h.store, jarCookies(h.jar), "", logto.StorageKeySignIn, logto.StorageKeyIDToken, logto.StorageKeyRefreshToken)
	if got[logto.StorageKeyRefreshToken] != "refresh-token" || got[logto.StorageKeyIDToken] == "" {
		t.Fatal("the identity was dropped")
	}
	pending := got[logto.StorageKeySignIn]
	if !strings.Contains(pending, states[3]) {
		t.Fatalf("the newest sign-in was dropped: %s", pending)
	}
	if strings.Contains(pending, states[0]) {
		t.Errorf("the oldest sign-in was kept before the newest's return path: %s", pending)
	}
	if strings.Contains(pending, long[:100]) {
		t.Errorf("the newest sign-in's return path should have made room: %s", pending)
	}
}
