package logto_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// A secret rotation at the provider, whichever comes first: the app
// deployed with the new secret while the provider knows only the old one,
// then the provider dropping the old one. Every request succeeds, with one
// more request at each switch, and nothing is spent by a refused one.
func TestSecretRotation(t *testing.T) {
	e := newEnv(t, nil)
	old := e.p.ClientSecret()
	cfg := e.cfg
	cfg.AppSecret, cfg.PreviousAppSecrets = "new-secret", []string{old}
	app, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	ctx := context.Background()
	storage := logto.NewMemoryStorage()

	e.p.ResetCounters()
	e.signIn(t, storage) // the code survives the refused request
	if n := e.p.Requests("token"); n != 2 {
		t.Errorf("code exchange: %d token requests, want 2 (new refused, old)", n)
	}
	c := app.Client(storage)
	e.p.ResetCounters()
	if _, err := c.GetAccessToken(ctx, testResource); err != nil {
		t.Fatal(err)
	}
	if n := e.p.Requests("token"); n != 1 {
		t.Errorf("with the secret that worked: %d token requests, want 1", n)
	}

	if err := e.p.SetClientSecret(e.p.ClientID(), "new-secret"); err != nil {
		t.Fatal(err)
	}
	e.p.ResetCounters()
	res, err := c.SignOut(ctx, logto.SignOutOptions{})
	if err != nil || res.RevocationErr != nil {
		t.Fatalf("SignOut: %v, %v", err, res.RevocationErr)
	}
	if n := e.p.Requests("revocation"); n != 2 {
		t.Errorf("revocation after the provider dropped the old secret: %d requests, want 2", n)
	}
}

func TestSecretRotationRefreshKeepsTheGrant(t *testing.T) {
	e, clk := newClockEnv(t)
	cfg := e.cfg
	cfg.AppSecret, cfg.PreviousAppSecrets = e.p.ClientSecret(), []string{"next-secret"}
	app, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	ctx := context.Background()
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := app.Client(storage)
	first, err := c.GetAccessToken(ctx, testResource)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.p.SetClientSecret(e.p.ClientID(), "next-secret"); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * first.ExpiresAt.Sub(first.IssuedAt))
	e.p.ResetCounters()
	second, err := c.GetAccessToken(ctx, testResource)
	if err != nil || second.Token == first.Token {
		t.Fatalf("refresh across the rotation: %v", err)
	}
	if n := e.p.Grants("refresh_token"); n != 2 {
		t.Errorf("%d refresh grants, want 2 (the old secret refused, the next one)", n)
	}
	if ok, err := c.IsAuthenticated(ctx); !ok || err != nil {
		t.Errorf("the session ended across the rotation: %v", err)
	}
}

// Neither secret is the provider's: its invalid_client comes back typed,
// after one request per secret; any other failure is not retried.
func TestSecretRotationRefusals(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.cfg
	cfg.AppSecret, cfg.PreviousAppSecrets = "wrong-1", []string{"wrong-2"}
	app, err := logto.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := app.Client(logto.NewMemoryStorage())
	cb := e.startSignIn(t, c, logto.SignInOptions{})
	e.p.ResetCounters()
	_, err = c.HandleSignInCallbackURL(ctx, cb)
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client" {
		t.Fatalf("err %v, want an *OAuthError invalid_client", err)
	}
	if n := e.p.Requests("token"); n != 2 {
		t.Errorf("%d token requests, want one per secret", n)
	}

	e.p.SetFaults(logtotest.Faults{TokenStatus: http.StatusBadRequest, TokenBody: `{"error":"invalid_grant"}`})
	cb = e.startSignIn(t, c, logto.SignInOptions{})
	e.p.ResetCounters()
	if _, err := c.HandleSignInCallbackURL(ctx, cb); !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Fatalf("err %v, want invalid_grant", err)
	}
	if n := e.p.Requests("token"); n != 1 {
		t.Errorf("invalid_grant: %d token requests, want 1", n)
	}
}

func TestPreviousAppSecretsConfig(t *testing.T) {
	for name, cfg := range map[string]logto.Config{
		"empty secret": {AppSecret: "s", PreviousAppSecrets: []string{""}},
		"no AppSecret": {PreviousAppSecrets: []string{"old"}},
	} {
		cfg.Endpoint, cfg.AppID = "https://auth.example.com", "app"
		_, err := logto.NewApp(cfg)
		if !errors.Is(err, logto.ErrInvalidConfig) || !strings.Contains(err.Error(), "PreviousAppSecrets") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
