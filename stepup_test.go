package logto_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

func TestSignInStepUpParameters(t *testing.T) {
	e := newEnv(t, nil)
	c := e.app.Client(logto.NewMemoryStorage())
	for _, tc := range []struct {
		name      string
		opts      logto.SignInOptions
		acrValues string // "" means absent
		maxAge    string // "" means absent
	}{
		{"neither", logto.SignInOptions{}, "", ""},
		{"acr values in order", logto.SignInOptions{ACRValues: []string{logto.ACRMFA, logto.ACR1FA}}, "urn:logto:acr:mfa urn:logto:acr:1fa", ""},
		{"max_age in seconds", logto.SignInOptions{MaxAge: new(5 * time.Minute)}, "", "300"},
		{"max_age rounded down", logto.SignInOptions{MaxAge: new(90*time.Second + 900*time.Millisecond)}, "", "90"},
		{"max_age zero is sent", logto.SignInOptions{MaxAge: new(time.Duration(0))}, "", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			authURL, err := c.SignIn(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(authURL)
			q := u.Query()
			for k, want := range map[string]string{"acr_values": tc.acrValues, "max_age": tc.maxAge} {
				switch got, ok := q[k]; {
				case want == "" && ok:
					t.Errorf("%s = %q, want none", k, got)
				case want != "" && !slices.Equal(got, []string{want}):
					t.Errorf("%s = %q, want [%q]", k, got, want)
				}
			}
		})
	}
}

// A magic link's one-time token goes with the email it was issued for.
func TestSignInOneTimeToken(t *testing.T) {
	e := newEnv(t, nil)
	c := e.app.Client(logto.NewMemoryStorage())
	authURL, err := c.SignIn(context.Background(), logto.SignInOptions{OneTimeToken: "ott-1", LoginHint: "dev@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	if q := u.Query(); q.Get("one_time_token") != "ott-1" || q.Get("login_hint") != "dev@example.com" {
		t.Errorf("one_time_token = %q, login_hint = %q", q.Get("one_time_token"), q.Get("login_hint"))
	}
	_, err = c.SignIn(context.Background(), logto.SignInOptions{OneTimeToken: "ott-1"})
	if !errors.Is(err, logto.ErrInvalidRequest) || !strings.Contains(err.Error(), "LoginHint") {
		t.Errorf("one-time token without LoginHint: err = %v, want ErrInvalidRequest naming LoginHint", err)
	}
}

func TestSignInRejectsBadStepUpOptions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.app.Client(logto.NewMemoryStorage())
	for name, opts := range map[string]logto.SignInOptions{
		"acr_values in ExtraParams":     {ExtraParams: url.Values{"acr_values": {logto.ACR1FA}}},
		"max_age in ExtraParams":        {ExtraParams: url.Values{"max_age": {"86400"}}},
		"one_time_token in ExtraParams": {LoginHint: "dev@example.com", ExtraParams: url.Values{"one_time_token": {"x"}}},
		"negative max_age":              {MaxAge: new(-time.Second)},
		"empty acr value":               {ACRValues: []string{""}},
		"acr value with a space":        {ACRValues: []string{"urn:logto:acr:mfa urn:logto:acr:1fa"}},
		"acr value with a quote":        {ACRValues: []string{`urn:"x"`}},
		"acr value not ASCII":           {ACRValues: []string{"urn:logto:acr:mfä"}},
		"acr values too long":           {ACRValues: slices.Repeat([]string{strings.Repeat("a", 100)}, 3)},
	} {
		authURL, err := c.SignIn(context.Background(), opts)
		if !errors.Is(err, logto.ErrInvalidRequest) {
			t.Errorf("%s: err = %v (URL %q), want ErrInvalidRequest", name, err, authURL)
		}
	}
}

// stepUpCase is one sign-in asking for acr_values and max_age, against a
// provider that may lie about how the user signed in.
type stepUpCase struct {
	name   string
	opts   logto.SignInOptions
	user   *logtotest.User
	claims func(c map[string]any) // edits the ID token, as a lying provider
	// refused is what the error must say; "" means the sign-in succeeds.
	refused []string
}

func TestCallbackStepUp(t *testing.T) {
	noMFA := logtotest.DefaultUser()
	noMFA.MFA = false
	ago := func(d time.Duration) func(map[string]any) {
		return func(c map[string]any) { c["auth_time"] = time.Now().Add(-d).Unix() }
	}
	mfa := []string{logto.ACRMFA}
	cases := []stepUpCase{
		// max_age: OpenID Connect Core 3.1.2.1 and 3.1.3.7.
		{name: "auth_time older than max_age", opts: logto.SignInOptions{MaxAge: new(5 * time.Minute)},
			claims: ago(10 * time.Minute), refused: []string{"auth_time", "max_age=300"}},
		{name: "auth_time older than max_age=0", opts: logto.SignInOptions{MaxAge: new(time.Duration(0))},
			claims: ago(5 * time.Minute), refused: []string{"auth_time", "max_age=0"}},
		{name: "no auth_time with max_age", opts: logto.SignInOptions{MaxAge: new(5 * time.Minute)},
			claims: func(c map[string]any) { delete(c, "auth_time") }, refused: []string{"no auth_time", "max_age=300"}},
		{name: "fresh auth_time with max_age=0", opts: logto.SignInOptions{MaxAge: new(time.Duration(0))}},
		{name: "auth_time within max_age", opts: logto.SignInOptions{MaxAge: new(time.Hour)}, claims: ago(50 * time.Minute)},
		{name: "auth_time within the clock leeway of max_age", opts: logto.SignInOptions{MaxAge: new(5 * time.Minute)},
			claims: ago(5*time.Minute + 30*time.Second)},
		{name: "old auth_time without max_age", claims: ago(24 * time.Hour)},

		// acr: OpenID Connect Core 3.1.3.7 item 12.
		{name: "acr asked for, another given", opts: logto.SignInOptions{ACRValues: mfa},
			claims: func(c map[string]any) { c["acr"] = logto.ACR1FA }, refused: []string{`acr "urn:logto:acr:1fa"`, `"urn:logto:acr:mfa"`}},
		{name: "acr asked for, none given", opts: logto.SignInOptions{ACRValues: mfa},
			claims: func(c map[string]any) { delete(c, "acr") }, refused: []string{`acr ""`, `"urn:logto:acr:mfa"`}},
		{name: "mfa asked for, the user has no second factor", opts: logto.SignInOptions{ACRValues: mfa}, user: &noMFA,
			refused: []string{`acr "urn:logto:acr:1fa"`, `"urn:logto:acr:mfa"`}},
		{name: "mfa asked for and given", opts: logto.SignInOptions{ACRValues: mfa}},
		{name: "either asked for, the second given", opts: logto.SignInOptions{ACRValues: []string{logto.ACRMFA, logto.ACR1FA}}, user: &noMFA},
		{name: "acr asked for as optional", opts: logto.SignInOptions{ACRValues: mfa, ACROptional: true}, user: &noMFA},
		// Logto answers a one-factor request on a session with a second
		// factor with mfa: stronger than asked, and accepted.
		{name: "1fa asked for, mfa given", opts: logto.SignInOptions{ACRValues: []string{logto.ACR1FA}},
			claims: func(c map[string]any) { c["acr"] = logto.ACRMFA }},
		{name: "1fa asked for, an unknown class given", opts: logto.SignInOptions{ACRValues: []string{logto.ACR1FA}},
			claims: func(c map[string]any) { c["acr"] = "urn:example:other" }, refused: []string{`acr "urn:example:other"`}},
		{name: "acr not asked for", claims: func(c map[string]any) { c["acr"] = "urn:example:anything" }},
		{name: "both asked for, acr wrong", opts: logto.SignInOptions{ACRValues: mfa, MaxAge: new(time.Minute)},
			claims: func(c map[string]any) { c["acr"] = "urn:example:weak" }, refused: []string{`acr "urn:example:weak"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(_ *logto.Config, p *logtotest.Options) { p.User = tc.user })
			ctx := context.Background()
			storage := logto.NewMemoryStorage()
			c := e.app.Client(storage)
			cb := e.startSignIn(t, c, tc.opts)
			e.p.SetFaults(logtotest.Faults{IDTokenClaims: tc.claims})
			res, err := c.HandleSignInCallbackURL(ctx, cb)
			if tc.refused == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if ok, _ := c.IsAuthenticated(ctx); !ok {
					t.Error("no session after the sign-in")
				}
				if len(tc.opts.ACRValues) > 0 && !tc.opts.ACROptional && !slices.Contains(tc.opts.ACRValues, res.Claims.ACR) && res.Claims.ACR != logto.ACRMFA {
					t.Errorf("acr %q accepted, asked for %q", res.Claims.ACR, tc.opts.ACRValues)
				}
				return
			}
			if !errors.Is(err, logto.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			if !errors.Is(err, logto.ErrInsufficientUserAuthentication) {
				t.Errorf("err = %v, want ErrInsufficientUserAuthentication too", err)
			}
			for _, want := range tc.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
			if ok, _ := c.IsAuthenticated(ctx); ok {
				t.Fatal("a session was established")
			}
			for _, k := range sessionKeys(storage) {
				if v, _ := storage.Get(ctx, k); v != "" {
					t.Errorf("%s stored after a refused sign-in", k)
				}
			}
		})
	}
}

// The provider ignored max_age: it let the user in on a sign-in older than
// max_age allows, without a fault, as a provider with its own session does.
func TestCallbackRefusesStaleSignInByTheClock(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	c := e.app.Client(logto.NewMemoryStorage())
	cb := e.startSignIn(t, c, logto.SignInOptions{MaxAge: new(2 * time.Minute)})
	clk.advance(4 * time.Minute) // past max_age and the minute of leeway
	if _, err := c.HandleSignInCallbackURL(ctx, cb); !errors.Is(err, logto.ErrInvalidToken) || !strings.Contains(err.Error(), "max_age=120") {
		t.Fatalf("err = %v, want ErrInvalidToken naming max_age=120", err)
	}
}

// The typed claims say how the user signed in.
func TestIDTokenClaimsACRAndAMR(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c := e.app.Client(logto.NewMemoryStorage())
	before := time.Now().Truncate(time.Second)
	res, err := c.HandleSignInCallbackURL(ctx, e.startSignIn(t, c, logto.SignInOptions{ACRValues: []string{logto.ACRMFA}}))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := c.IDTokenClaims(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*logto.IDTokenClaims{res.Claims, claims} {
		if cl.ACR != logto.ACRMFA || !slices.Equal(cl.AMR, []string{"pwd", "otp", "mfa"}) || cl.AuthTime.Before(before) {
			t.Errorf("acr %q amr %q auth_time %v", cl.ACR, cl.AMR, cl.AuthTime)
		}
	}
	// A copy: changing it changes nothing stored.
	claims.AMR[0] = "changed"
	if again, _ := c.IDTokenClaims(ctx); again.AMR[0] != "pwd" {
		t.Errorf("amr changed through a copy: %q", again.AMR)
	}
}

func TestAuthenticatedWithin(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		authTime time.Time
		d        time.Duration
		want     bool
	}{
		{now.Add(-time.Minute), 5 * time.Minute, true},
		{now.Add(-5 * time.Minute), 5 * time.Minute, true},
		{now.Add(-5*time.Minute - time.Second), 5 * time.Minute, false},
		{now, 0, true},
		{now.Add(-time.Second), 0, false},
		{time.Time{}, 100 * 365 * 24 * time.Hour, false}, // no auth_time: unknown, never recent
	} {
		c := &logto.IDTokenClaims{AuthTime: tc.authTime}
		if got := c.AuthenticatedWithin(tc.d, now); got != tc.want {
			t.Errorf("auth_time %v, within %v: %v, want %v", tc.authTime, tc.d, got, tc.want)
		}
	}
}

// A refresh is no new authentication (OpenID Connect Core 12.2): a
// refreshed ID token that claims a later auth_time, or another acr or amr,
// is refused, and the session, which would otherwise look fresh or
// stronger, ends.
func TestRefreshCannotMakeTheSessionLookFresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims func(c map[string]any, now time.Time)
	}{
		{"later auth_time", func(c map[string]any, now time.Time) { c["auth_time"] = now.Unix() }},
		{"stronger acr", func(c map[string]any, _ time.Time) { c["acr"] = logto.ACRMFA; c["amr"] = []string{"pwd", "otp"} }},
		{"other amr", func(c map[string]any, _ time.Time) { c["amr"] = []string{"pwd", "otp"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, clk := newClockEnv(t)
			ctx := context.Background()
			storage := logto.NewMemoryStorage()
			c := e.app.Client(storage)
			if _, err := c.HandleSignInCallbackURL(ctx, e.startSignIn(t, c, logto.SignInOptions{ACRValues: []string{logto.ACR1FA}})); err != nil {
				t.Fatal(err)
			}
			signedIn, _ := c.IDTokenClaims(ctx)
			clk.advance(2 * time.Hour) // the access token has expired
			e.p.SetFaults(logtotest.Faults{IDTokenClaims: func(c map[string]any) { tc.claims(c, clk.now()) }})
			_, err := c.GetAccessToken(ctx, "")
			if !errors.Is(err, logto.ErrInvalidToken) || !errors.Is(err, logto.ErrNotAuthenticated) {
				t.Fatalf("err = %v, want ErrInvalidToken and ErrNotAuthenticated", err)
			}
			if claims, err := c.IDTokenClaims(ctx); err == nil && claims.AuthenticatedWithin(time.Hour, clk.now()) {
				t.Fatalf("the session looks fresh after a refresh: auth_time %v, signed in at %v", claims.AuthTime, signedIn.AuthTime)
			}
			if ok, _ := c.IsAuthenticated(ctx); ok {
				t.Error("the session survived a refresh that contradicts its sign-in")
			}
		})
	}
}

// An honest refresh keeps the sign-in's auth_time, acr and amr, and the
// session: the check above refuses only what contradicts the sign-in.
func TestRefreshKeepsAuthTime(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	c := e.app.Client(storage)
	if _, err := c.HandleSignInCallbackURL(ctx, e.startSignIn(t, c, logto.SignInOptions{ACRValues: []string{logto.ACRMFA}})); err != nil {
		t.Fatal(err)
	}
	signedIn, _ := c.IDTokenClaims(ctx)
	rawBefore, _ := storage.Get(ctx, logto.StorageKeyIDToken)
	clk.advance(2 * time.Hour)
	if _, err := c.GetAccessToken(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if raw, _ := storage.Get(ctx, logto.StorageKeyIDToken); raw == rawBefore {
		t.Fatal("the refresh stored no new ID token; the test proves nothing")
	}
	claims, err := c.IDTokenClaims(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !claims.AuthTime.Equal(signedIn.AuthTime) || claims.ACR != logto.ACRMFA || !slices.Equal(claims.AMR, signedIn.AMR) {
		t.Errorf("after refresh: auth_time %v acr %q amr %q; signed in %v %q %q",
			claims.AuthTime, claims.ACR, claims.AMR, signedIn.AuthTime, signedIn.ACR, signedIn.AMR)
	}
	if claims.AuthenticatedWithin(time.Hour, clk.now()) {
		t.Error("two hours after sign-in, the session says it authenticated within the hour")
	}
}
