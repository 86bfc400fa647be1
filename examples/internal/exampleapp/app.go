// Package exampleapp is what the SDK's example web apps (examples/nethttp,
// examples/gin, examples/echo, examples/chi) have in common, so that each of
// them shows only its router: the settings from the environment, the
// logto.App with its session store and WebHandlers, the embedded dev
// provider, the pages and JSON routes as net/http handlers, and serving
// with a graceful shutdown.
//
// An example's main is
//
//	func main() { exampleapp.Main(run) }
//
//	// run serves the example until ctx ends.
//	var run = exampleapp.Example{
//		Name: "chi example", DefaultBaseURL: "http://localhost:3003", Routes: newRouter,
//	}.Run
//
// with newRouter mounting App's handlers on the framework's router.
package exampleapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/memstore"
	"github.com/seed098cf14d/logto/redisstore"
)

// ShutdownTimeout bounds how long Serve waits for requests in flight once
// its context ends.
const ShutdownTimeout = 5 * time.Second

// App is one example app's parts that do not depend on its router.
type App struct {
	// Settings are the app's, after StartDevProvider when it ran.
	Settings *Settings
	// Logto is the SDK's application.
	Logto *logto.App
	// Web serves sign-in, callback and sign-out and guards pages with
	// RequireAuth. Its ErrorHandler answers JSON on /api/ paths and the
	// example's error page elsewhere.
	Web *logto.WebHandlers
	// Backchannel is the OpenID Connect back-channel logout endpoint for
	// the session store in use (POST /backchannel-logout).
	Backchannel http.Handler
	// Title names the app on its pages ("Logto Go example (gin)").
	Title string
	// Dev is the embedded dev provider the app signs in with, or nil.
	Dev *logtotest.Provider
}

// New builds the App for s. Its failures and sign-outs whose revocation
// failed are logged, as text at Info and above, to logs (os.Stderr when
// nil). Sessions live in cookies sealed with keys derived from
// s.SessionSecret; with s.RedisURL in Redis, and with s.SessionStore
// "memory" in this process, under an ID the cookie carries.
func New(s *Settings, logs io.Writer) (*App, error) {
	if logs == nil {
		logs = os.Stderr
	}
	la, err := logto.NewApp(logto.Config{
		Endpoint:              s.Endpoint,
		AppID:                 s.AppID,
		AppSecret:             s.AppSecret,
		Scopes:                s.Scopes,
		Resources:             s.Resources,
		RedirectURI:           s.BaseURL + "/callback",
		PostLogoutRedirectURI: s.BaseURL + "/",
		// Zero means the library's defaults: 7 days, and 24 hours idle.
		SessionAbsoluteTimeout: s.SessionMaxAge,
		SessionIdleTimeout:     s.SessionIdleTimeout,
		// Failures are answered in plain words; their details come here.
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		return nil, err
	}
	a := &App{Settings: s, Logto: la, Title: "Logto Go example"}
	var store sessions.Store
	switch {
	case s.SessionStore == "memory":
		var ms *memstore.Store
		if ms, err = memstore.New(s.BaseURL+"/callback", s.SessionSecret); err == nil {
			store, a.Backchannel = ms, la.BackchannelLogoutHandler(ms)
		}
	case s.RedisURL != "":
		opts, _ := redis.ParseURL(s.RedisURL) // checked in LoadSettings
		var rs *redisstore.Store
		if rs, err = redisstore.NewFromSecret(redis.NewClient(opts), s.BaseURL+"/callback", s.SessionSecret); err == nil {
			store, a.Backchannel = rs, la.BackchannelLogoutHandler(rs)
		}
	default:
		// The cookie holds the refresh token: it is sealed (encrypted and
		// authenticated) with a key derived from the secret. A cookie
		// session lives in the browser: the App records the sessions a
		// logout names and refuses them from their next request on.
		store, err = logto.NewCookieStore(s.BaseURL+"/callback", s.SessionSecret)
		a.Backchannel = la.BackchannelLogoutHandler(nil)
	}
	if err != nil {
		return nil, err
	}
	a.Web = &logto.WebHandlers{
		App:          la,
		Storage:      logto.SessionStorageFunc(store, s.SessionName),
		ErrorHandler: a.writeError,
	}
	return a, nil
}

// APIValidator checks the bearer tokens of an API route: access tokens for
// Settings.APIAudience, or the first of Settings.Resources. Refused
// requests are logged with the app's failures.
func (a *App) APIValidator() (*apiauth.Validator, error) {
	audience := a.Settings.APIAudience
	if audience == "" && len(a.Settings.Resources) > 0 {
		audience = a.Settings.Resources[0]
	}
	return apiauth.NewValidator(apiauth.Config{Endpoint: a.Settings.Endpoint, Audience: audience, Logger: a.Logto.Logger()})
}

// Example is an example program: its name and router.
type Example struct {
	// Name starts the line Run prints once it serves ("gin example").
	Name string
	// Framework is shown beside the title of every page ("gin"); empty
	// for net/http.
	Framework string
	// DefaultBaseURL is BASE_URL when it is unset.
	DefaultBaseURL string
	// Routes mounts the App's handlers on the example's router.
	Routes func(*App) (http.Handler, error)
}

// Run serves the example until ctx ends: it loads the settings from
// getenv, starts the dev provider when LOGTO_ENDPOINT is unset, builds the
// App and its routes, and prints to stdout a first line holding the app's
// URL once it accepts connections, then one about the dev provider.
func (ex Example) Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := LoadSettings(getenv, ex.DefaultBaseURL)
	if err != nil {
		return err
	}
	var dev *logtotest.Provider
	if s.Endpoint == "" {
		if dev, err = s.StartDevProvider(); err != nil {
			return err
		}
		defer dev.Close()
	}
	a, err := New(s, nil)
	if err != nil {
		return err
	}
	a.Dev = dev
	if ex.Framework != "" {
		a.Title += " (" + ex.Framework + ")"
	}
	if dev != nil && s.RedisURL != "" {
		a.Logto.Logger().Warn("REDIS_URL is set, but each process started its own dev provider: " +
			"processes share sessions only with one provider, through LOGTO_ENDPOINT")
	}
	handler, err := ex.Routes(a)
	if err != nil {
		return err
	}
	return Serve(ctx, s.Addr, handler, func(addr net.Addr) {
		// The app's URL comes first, so whoever waits for "the line with
		// the URL" never picks the dev provider's; both lines go in one
		// write, so whoever saw the first has the second.
		msg := fmt.Sprintf("%s listening on %s (open %s/)\n", cmp.Or(ex.Name, "example app"), addr, s.BaseURL)
		if dev != nil {
			msg += fmt.Sprintf("dev provider at %s (client %q); no LOGTO_ENDPOINT set; resource %s and organization %s work with it\n",
				dev.Endpoint(), dev.ClientID(), logtotest.DefaultResource, logtotest.DefaultOrganization)
		}
		_, _ = io.WriteString(stdout, msg)
	})
}

// Serve serves handler on addr until ctx ends, then shuts down gracefully:
// no new connections, and up to ShutdownTimeout for the requests in flight.
// It calls listening with the bound address once connections are accepted.
func Serve(ctx context.Context, addr string, handler http.Handler, listening func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	shutdown := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		shutdown <- srv.Shutdown(shutdownCtx)
	}()
	if listening != nil {
		listening(ln.Addr())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := <-shutdown; err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}

// Main runs run with a context that ends on SIGINT or SIGTERM, the
// process's environment and stdout, and exits non-zero with run's error.
func Main(run func(ctx context.Context, getenv func(string) string, stdout io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}
