// Command echo is the SDK's example for the Echo framework: web sign-in with
// logto.WebHandlers (sign-in, callback, sign-out and a page behind
// RequireAuth) and an API route protected by apiauth bearer tokens.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest),
// so `go run .` works with no account anywhere. It does so only for local
// development: with LOGTO_APP_ID or LOGTO_APP_SECRET set, or a BASE_URL that
// is not loopback, it refuses to start and asks for LOGTO_ENDPOINT.
//
// Environment: LOGTO_ENDPOINT, LOGTO_APP_ID, LOGTO_APP_SECRET, BASE_URL
// (default http://localhost:3002), ADDR (default the BASE_URL port),
// SESSION_SECRET (32 bytes or more; a shorter one is stretched with PBKDF2;
// default random per start) and API_AUDIENCE (default
// https://api.example.com, the dev provider's resource).
package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// settings are the example's environment, defaulted.
type settings struct {
	endpoint, appID, appSecret string
	baseURL, addr, audience    string
	sessionSecret              []byte
}

func loadSettings(getenv func(string) string) (*settings, error) {
	s := &settings{
		endpoint:  getenv("LOGTO_ENDPOINT"),
		appID:     getenv("LOGTO_APP_ID"),
		appSecret: getenv("LOGTO_APP_SECRET"),
		baseURL:   strings.TrimRight(getenv("BASE_URL"), "/"),
		addr:      getenv("ADDR"),
		audience:  getenv("API_AUDIENCE"),
	}
	if s.baseURL == "" {
		s.baseURL = "http://localhost:3002"
	}
	if s.audience == "" {
		s.audience = logtotest.DefaultResource
	}
	u, err := url.Parse(s.baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("BASE_URL %q is not an absolute http(s) URL", s.baseURL)
	}
	if s.endpoint == "" {
		// The dev provider signs anyone in: only for an app used here.
		if err := logtotest.LocalOnly(s.appID != "" || s.appSecret != "", s.baseURL); err != nil {
			return nil, fmt.Errorf("LOGTO_ENDPOINT is not set, and %w: set LOGTO_ENDPOINT to your Logto endpoint", err)
		}
	}
	if s.addr == "" {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		s.addr = ":" + port
	}
	if secret := getenv("SESSION_SECRET"); secret != "" {
		if s.sessionSecret, err = sessionKey(secret); err != nil {
			return nil, fmt.Errorf("SESSION_SECRET: %w", err)
		}
	} else {
		s.sessionSecret = make([]byte, 32)
		if _, err := rand.Read(s.sessionSecret); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// sessionKey turns SESSION_SECRET into the secret the session store derives
// its keys from, which must have at least 32 bytes. A secret that long is
// used as it is. A shorter one is taken for a passphrase and stretched with
// PBKDF2-HMAC-SHA256 (600 000 iterations, a fixed salt so that replicas
// agree), which slows guessing it down but cannot add what it lacks: give
// 32 random bytes, e.g. from `openssl rand -base64 32`.
func sessionKey(secret string) ([]byte, error) {
	if len(secret) >= 32 {
		return []byte(secret), nil
	}
	return pbkdf2.Key(sha256.New, secret, []byte("logto example SESSION_SECRET"), 600_000, 32)
}

// run serves the example until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	var dev *logtotest.Provider
	if s.endpoint == "" {
		dev, err = logtotest.Start(logtotest.Options{
			ClientID:               s.appID,
			ClientSecret:           s.appSecret,
			RedirectURIs:           []string{s.baseURL + "/callback"},
			PostLogoutRedirectURIs: []string{s.baseURL + "/"},
			Resources:              []string{s.audience},
		})
		if err != nil {
			return fmt.Errorf("starting the dev provider: %w", err)
		}
		defer dev.Close()
		s.endpoint, s.appID, s.appSecret = dev.Endpoint(), dev.ClientID(), dev.ClientSecret()
	}
	router, err := newRouter(s)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	fmt.Fprintf(stdout, "echo example listening on %s (open %s/)\n", ln.Addr(), s.baseURL)
	if dev != nil {
		fmt.Fprintf(stdout, "dev provider at %s (client %q); no LOGTO_ENDPOINT set\n", dev.Endpoint(), dev.ClientID())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newRouter builds the app's routes.
func newRouter(s *settings) (*echo.Echo, error) {
	app, err := logto.NewApp(logto.Config{
		Endpoint:              s.endpoint,
		AppID:                 s.appID,
		AppSecret:             s.appSecret,
		Resources:             []string{s.audience},
		RedirectURI:           s.baseURL + "/callback",
		PostLogoutRedirectURI: s.baseURL + "/",
		// Failures are answered in plain words; their details come here.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return nil, err
	}
	// The cookie holds the refresh token: it is sealed (encrypted and
	// authenticated) with a key derived from the secret.
	store, err := logto.NewCookieStore(s.baseURL+"/callback", s.sessionSecret)
	if err != nil {
		return nil, err
	}
	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}

	validator, err := apiauth.NewValidator(apiauth.Config{Endpoint: s.endpoint, Audience: s.audience})
	if err != nil {
		return nil, err
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(middleware.Recover())
	e.GET("/", func(c echo.Context) error {
		ok, err := web.Client(c.Response(), c.Request()).IsAuthenticated(c.Request().Context())
		if err != nil {
			web.WriteError(c.Response(), c.Request(), err)
			return nil
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		if ok {
			return c.HTML(http.StatusOK, `<!doctype html><title>Logto Echo example</title><h1>Authenticated</h1><p><a href="/protected">Protected page</a></p><form method="post" action="/sign-out"><button type="submit">Sign out</button></form>`)
		}
		return c.HTML(http.StatusOK, `<!doctype html><title>Logto Echo example</title><h1>Not authenticated</h1><p><a href="/sign-in">Sign in</a></p>`)
	})
	e.GET("/sign-in", echo.WrapHandler(web.SignIn()))
	e.GET("/callback", echo.WrapHandler(web.Callback()))
	// Signing out is a POST from the app's own form; GET is kept for links.
	// Either way SignOut refuses a request from another site.
	signOut := echo.WrapHandler(web.SignOut())
	e.POST("/sign-out", signOut)
	e.GET("/sign-out", signOut)
	e.GET("/protected", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.HTML(http.StatusOK, `<!doctype html><title>Protected</title><h1>Protected</h1><p>Only signed-in users see this. <a href="/">Home</a></p>`)
	}, echo.WrapMiddleware(web.RequireAuth))
	e.GET("/api/messages", func(c echo.Context) error {
		claims, _ := apiauth.ClaimsFrom(c.Request().Context())
		return c.JSON(http.StatusOK, map[string]any{"subject": claims.Subject, "messages": []string{"hello from the Echo API"}})
	}, echo.WrapMiddleware(validator.Middleware), echo.WrapMiddleware(apiauth.RequireScopes("read:messages")))
	return e, nil
}
