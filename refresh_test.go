package logto_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// clock is a settable clock shared by the client and the provider.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func newClockEnv(t testing.TB) (*env, *clock) {
	clk := &clock{}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Now = clk.now
		p.Now = clk.now
	})
	return e, clk
}

func TestAccessTokenCachedThenRefreshed(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)
	rt0, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)

	first, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := first.Claims()
	if err != nil || claims["aud"] != testResource {
		t.Fatalf("claims = %v, %v", claims, err)
	}
	if e.p.LastTokenRequest().Get("resource") != testResource {
		t.Errorf("resource did not reach the provider: %v", e.p.LastTokenRequest())
	}
	e.p.ResetCounters()
	again, err := c.GetAccessToken(ctx, testResource)
	if err != nil || again.Token != first.Token {
		t.Fatalf("cached token not served: %v", err)
	}
	if n := e.p.Requests("token"); n != 0 {
		t.Errorf("a cached token cost %d token requests", n)
	}

	// Within the 30 s margin of expiry: refreshed.
	clk.advance(time.Until(first.ExpiresAt) - 10*time.Second)
	fresh, err := c.GetAccessToken(ctx, testResource)
	if err != nil || fresh.Token == first.Token {
		t.Fatalf("token near expiry not refreshed: %v", err)
	}
	if n := e.p.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	rt1, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
	if rt1 == rt0 || rt1 == "" {
		t.Error("the rotated refresh token was not stored")
	}
}

func TestUnknownResourceIsRefusedLocally(t *testing.T) {
	e := newEnv(t, nil)
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	e.p.ResetCounters()
	c := e.app.Client(storage)
	if _, err := c.GetAccessToken(context.Background(), "https://not-configured.example"); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.GetOrganizationToken(context.Background(), "org1"); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Fatalf("organization token without the scope: %v", err)
	}
	if n := e.p.Requests("token"); n != 0 {
		t.Errorf("%d token requests for refused calls", n)
	}
}

func TestRefreshFailuresKeepTokens(t *testing.T) {
	for name, faults := range map[string]logtotest.Faults{
		"500":     {TokenStatus: http.StatusInternalServerError, TokenBody: `{"error":"server_error"}`},
		"garbage": {TokenStatus: http.StatusOK, TokenBody: `<html>proxy error</html>`},
		"hang":    {TokenDelay: 3 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{}
			e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
				c.Now, p.Now = clk.now, clk.now
				c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			})
			ctx := context.Background()
			storage := logto.NewMemoryStorage()
			e.signIn(t, storage)
			before := snapshot(storage)
			clk.advance(2 * time.Hour)
			e.p.SetFaults(faults)
			c := e.app.Client(storage)
			start := time.Now()
			_, err := c.GetAccessToken(ctx, testResource)
			if !errors.Is(err, logto.ErrProvider) || errors.Is(err, logto.ErrNotAuthenticated) {
				t.Fatalf("err = %v, want a provider error", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v with a 300ms client timeout", d)
			}
			if after := snapshot(storage); after != before {
				t.Errorf("stored tokens changed on a transient failure")
			}
			e.p.SetFaults(logtotest.Faults{})
			if _, err := c.GetAccessToken(ctx, testResource); err != nil {
				t.Fatalf("after the provider recovered: %v", err)
			}
		})
	}
}

func snapshot(s logto.Storage) string {
	var out string
	for _, k := range sessionKeys(s) {
		v, _ := s.Get(context.Background(), k)
		out += k + "=" + v + "\n"
	}
	return out
}

func TestInvalidGrantEndsSession(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	// Someone else spends the refresh token (another copy of the session
	// refreshes), and the chain is no longer followed: presenting the
	// spent token makes the provider end the grant.
	c := e.app.Client(storage)
	clk.advance(2 * time.Hour)
	if _, err := e.app.Client(copyStorage(storage)).GetAccessToken(ctx, testResource); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	_, err := c.GetAccessToken(ctx, testResource)
	if !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Fatalf("err = %v, want ErrNotAuthenticated", err)
	}
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Errorf("err = %v, want the provider's invalid_grant inside", err)
	}
	if ok, _ := c.IsAuthenticated(ctx); ok {
		t.Error("session kept after invalid_grant")
	}
}

func TestRefreshedIDTokenForAnotherSubjectIsRefused(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	clk.advance(2 * time.Hour)
	e.p.SetFaults(logtotest.Faults{IDTokenClaims: func(c map[string]any) { c["sub"] = "someone-else" }})
	_, err := e.app.Client(storage).GetAccessToken(ctx, "")
	if !errors.Is(err, logto.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	if v, _ := storage.Get(ctx, logto.StorageKeyIDToken); v != "" {
		t.Error("session kept after a refresh answered for another subject")
	}
}

// A browser's parallel requests carry the same cookie, hence the same refresh
// token: 100 callers share one refresh grant and all get the token.
func TestConcurrentRefreshIsSingleFlight(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	seed := logto.NewMemoryStorage()
	e.signIn(t, seed)
	clk.advance(2 * time.Hour)
	e.p.ResetCounters()

	var wg sync.WaitGroup
	tokens := make([]string, 100)
	errs := make([]error, 100)
	for i := range 100 {
		wg.Go(func() {
			// Each request reads its own copy of the session, as with cookies.
			s := copyStorage(seed)
			at, err := e.app.Client(s).GetAccessToken(ctx, testResource)
			errs[i] = err
			if err == nil {
				tokens[i] = at.Token
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got another token", i)
		}
	}
	if n := e.p.Grants("refresh_token"); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
}

// Callers asking for different tokens of one session are serialized along
// the rotation chain: with rotation and reuse detection on, nobody presents a
// spent refresh token.
func TestConcurrentRefreshOfDifferentTokensKeepsSession(t *testing.T) {
	resources := []string{testResource, "https://b.example.com", "https://c.example.com"}
	clk := &clock{}
	e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
		c.Now, p.Now = clk.now, clk.now
		c.Resources, p.Resources = resources, resources
	})
	ctx := context.Background()
	seed := logto.NewMemoryStorage()
	e.signIn(t, seed)
	clk.advance(2 * time.Hour)

	var wg sync.WaitGroup
	var failures atomic.Int32
	var newest rtWrites
	for i := range 60 {
		wg.Go(func() {
			s := newest.track(copyStorage(seed))
			if _, err := e.app.Client(s).GetAccessToken(ctx, resources[i%3]); err != nil {
				failures.Add(1)
				t.Errorf("caller %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if failures.Load() > 0 {
		return
	}
	if n := e.p.Grants("refresh_token"); n != 3 {
		t.Errorf("refresh grants = %d, want 3 (one per resource)", n)
	}
	// The session still works: the newest refresh token is usable.
	latest := logto.NewMemoryStorage()
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeySession} {
		v, _ := newest.last().Get(ctx, k)
		_ = latest.Set(ctx, k, v)
	}
	clk.advance(2 * time.Hour)
	if _, err := e.app.Client(latest).GetAccessToken(ctx, ""); err != nil {
		t.Fatalf("session lost: %v", err)
	}
}

// staleStorage answers its first reads as they were before another process
// refreshed the shared session, then reads through.
type staleStorage struct {
	logto.Storage
	mu    sync.Mutex
	stale map[string]string
}

func (s *staleStorage) Get(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	v, ok := s.stale[key]
	delete(s.stale, key)
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	return s.Storage.Get(ctx, key)
}

// Two processes share one session store. The second read the session just
// before the first refreshed it; before spending the refresh token it read,
// it reads the store again and uses what the first left there.
func TestRefreshRereadsSharedStorage(t *testing.T) {
	for _, other := range []bool{false, true} {
		name := map[bool]string{false: "same token", true: "another resource"}[other]
		t.Run(name, func(t *testing.T) {
			clk := &clock{}
			resources := []string{testResource, "https://b.example.com"}
			e := newEnv(t, func(c *logto.Config, p *logtotest.Options) {
				c.Now, p.Now = clk.now, clk.now
				c.Resources, p.Resources = resources, resources
			})
			second, err := logto.NewApp(e.cfg) // another process: its own memory
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			shared := logto.NewMemoryStorage()
			e.signIn(t, shared)
			clk.advance(2 * time.Hour)
			rt0, _ := shared.Get(ctx, logto.StorageKeyRefreshToken)
			if _, err := e.app.Client(shared).GetAccessToken(ctx, testResource); err != nil {
				t.Fatal(err)
			}

			want := testResource
			if other {
				want = resources[1]
			}
			stale := &staleStorage{Storage: shared, stale: map[string]string{
				logto.StorageKeyRefreshToken:              rt0,
				logto.StorageKeyAccessTokens + ":" + want: "",
			}}
			at, err := second.Client(stale).GetAccessToken(ctx, want)
			if err != nil {
				t.Fatalf("second process: %v", err)
			}
			if claims, _ := at.Claims(); claims["aud"] != want {
				t.Errorf("aud = %v", claims["aud"])
			}
			wantGrants := map[bool]int{false: 1, true: 2}[other]
			if n := e.p.Grants("refresh_token"); n != wantGrants {
				t.Errorf("refresh grants = %d, want %d", n, wantGrants)
			}
			clk.advance(2 * time.Hour)
			if _, err := e.app.Client(shared).GetAccessToken(ctx, ""); err != nil {
				t.Fatalf("session lost: %v", err)
			}
		})
	}
}

// A refresh answer without a refresh token keeps the stored one, and one
// without an ID token keeps the stored ID token.
func TestRefreshAnswerWithoutNewTokensKeepsOld(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	rt, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
	idt, _ := storage.Get(ctx, logto.StorageKeyIDToken)
	clk.advance(2 * time.Hour)
	e.p.SetFaults(logtotest.Faults{TokenStatus: http.StatusOK,
		TokenBody: `{"access_token":"minted-without-rotation","token_type":"Bearer","expires_in":3600,"scope":"openid"}`})
	at, err := e.app.Client(storage).GetAccessToken(ctx, "")
	if err != nil || at.Token != "minted-without-rotation" {
		t.Fatalf("GetAccessToken = %v, %v", at, err)
	}
	if got, _ := storage.Get(ctx, logto.StorageKeyRefreshToken); got != rt {
		t.Error("the refresh token changed though none came back")
	}
	if got, _ := storage.Get(ctx, logto.StorageKeyIDToken); got != idt {
		t.Error("the ID token changed though none came back")
	}
}

// A refresh token that was spent must never buy tokens: not the successor
// tokens the App remembers from the rotation, not after the victim signed
// out. Attack: copy a session (a stolen cookie), let the victim refresh,
// then use the copy.
func TestSpentRefreshTokenBuysNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after runs between the victim's refresh and the attacker's try.
		after func(t *testing.T, e *env, clk *clock, victim *logto.Client)
	}{
		{"after the race window", func(t *testing.T, e *env, clk *clock, victim *logto.Client) {
			clk.advance(time.Minute)
		}},
		{"right after the victim signed out", func(t *testing.T, e *env, clk *clock, victim *logto.Client) {
			if _, err := victim.SignOut(context.Background(), logto.SignOutOptions{}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, clk := newClockEnv(t)
			ctx := context.Background()
			vs := logto.NewMemoryStorage()
			e.signIn(t, vs)
			victim := e.app.Client(vs)
			stolen := copyStorage(vs)
			spent, _ := stolen.Get(ctx, logto.StorageKeyRefreshToken)

			clk.advance(2 * time.Hour) // every access token has expired
			got, err := victim.GetAccessToken(ctx, testResource)
			if err != nil {
				t.Fatal(err)
			}
			tc.after(t, e, clk, victim)

			attacker := e.app.Client(stolen)
			tok, err := attacker.GetAccessToken(ctx, testResource)
			if err == nil {
				t.Fatalf("the spent refresh token bought a token (the victim's own: %v)", tok.Token == got.Token)
			}
			if rt, _ := stolen.Get(ctx, logto.StorageKeyRefreshToken); rt != "" && rt != spent {
				t.Fatalf("the attacker's copy now holds a newer refresh token")
			}
		})
	}
}

// lockedStorage is a MemoryStorage with a real lock, as a server-side
// session shared by processes has: no rotation is remembered for it.
type lockedStorage struct {
	*logto.MemoryStorage
	mu sync.Mutex
}

func (s *lockedStorage) Lock(context.Context) (func(), error) {
	s.mu.Lock()
	return s.mu.Unlock, nil
}

func TestRefreshUnderLockStoresRotatedToken(t *testing.T) {
	e, clk := newClockEnv(t)
	ctx := context.Background()
	storage := &lockedStorage{MemoryStorage: logto.NewMemoryStorage()}
	e.signIn(t, storage)
	c := e.app.Client(storage)
	for i := range 3 {
		rt0, _ := storage.Get(ctx, logto.StorageKeyRefreshToken)
		clk.advance(2 * time.Hour)
		if _, err := c.GetAccessToken(ctx, testResource); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if rt1, _ := storage.Get(ctx, logto.StorageKeyRefreshToken); rt1 == rt0 || rt1 == "" {
			t.Fatalf("refresh %d: the rotated refresh token was not stored", i)
		}
	}
}
