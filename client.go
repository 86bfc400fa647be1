// Package logto signs users of a Go web app in with Logto, or with any
// standard OpenID Connect provider, and gets them access tokens for APIs.
//
// Build one App per application and bind it to each request's Storage:
//
//	app, err := logto.NewApp(logto.Config{
//		Endpoint:    "https://tenant.logto.app",
//		AppID:       "...",
//		AppSecret:   "...",
//		RedirectURI: "https://app.example.com/callback",
//	})
//	...
//	client := app.Client(logto.NewSessionStorage(store, w, r, ""))
//	authURL, err := client.SignIn(ctx, logto.SignInOptions{})
//
// The App caches discovery and signing keys and is safe for concurrent use;
// a Client is a cheap, per-request handle. WebHandlers wires both into
// net/http with sign-in, callback and sign-out handlers.
package logto

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/seed098cf14d/logto/internal/discovery"
)

// App is an application registered at the provider. It holds the validated
// configuration, the provider's metadata and its signing keys, fetched on
// first use and then cached. Build one per application with NewApp; it is
// safe for concurrent use.
type App struct {
	s            *settings
	disc         discovery.Cache[*metadata]
	refresher    refresher
	logoutReplay replayCache
	claims       claimsCache
}

// NewApp validates cfg and returns an App. It does no network I/O: discovery
// happens on first use and is retried after a failure, so an app can start
// while the provider is down. cfg is copied; the caller may reuse it.
func NewApp(cfg Config) (*App, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	a := &App{s: s}
	a.disc.Load = a.loadMetadata
	a.disc.Now = s.now
	return a, nil
}

// Client is one request's (or one user session's) view of an App: it reads
// and writes that session's Storage. It is cheap to create and meant to be
// dropped after the request; it is not safe for concurrent use unless its
// Storage is.
type Client struct {
	app     *App
	storage Storage
}

// Client binds the App to a session's storage. It does no I/O.
func (a *App) Client(storage Storage) *Client {
	return &Client{app: a, storage: storage}
}

// NewClient is NewApp followed by App.Client, for programs that handle one
// session (command-line tools, jobs). A server should build one App and call
// App.Client per request, so discovery and keys are fetched once.
func NewClient(cfg Config, storage Storage) (*Client, error) {
	app, err := NewApp(cfg)
	if err != nil {
		return nil, err
	}
	return app.Client(storage), nil
}

// App returns the App this client belongs to.
func (c *Client) App() *App { return c.app }

func (c *Client) flush(ctx context.Context) error {
	if f, ok := c.storage.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			return storageErr("flush", "session", err)
		}
	}
	return nil
}

// randomString returns n random bytes, base64url-encoded without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("logto: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
