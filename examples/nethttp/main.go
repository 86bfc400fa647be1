// Command nethttp is the SDK's example web app: sign-in, callback, sign-out,
// a protected page and JSON routes for claims, userinfo and access tokens,
// with the standard library only.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest), so
// `go run ./examples/nethttp` works with no account anywhere. It does so only
// for local development: with LOGTO_APP_ID or LOGTO_APP_SECRET set, or a
// BASE_URL that is not loopback, it refuses to start and asks for
// LOGTO_ENDPOINT. The routes and
// environment variables are a contract that outside tests drive; see the
// README.
package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/memstore"
	"github.com/seed098cf14d/logto/redisstore"
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
	scopes, resources          []string
	baseURL, addr              string
	sessionSecret              []byte
	redisURL                   string
	maxAge, idleTimeout        time.Duration
	sessionStore               string
}

func loadSettings(getenv func(string) string) (*settings, error) {
	s := &settings{
		endpoint:  getenv("LOGTO_ENDPOINT"),
		appID:     getenv("LOGTO_APP_ID"),
		appSecret: getenv("LOGTO_APP_SECRET"),
		scopes:    splitList(getenv("LOGTO_SCOPES")),
		resources: splitList(getenv("LOGTO_RESOURCES")),
		baseURL:   strings.TrimRight(getenv("BASE_URL"), "/"),
		addr:      getenv("ADDR"),
	}
	if s.baseURL == "" {
		s.baseURL = "http://localhost:3000"
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"SESSION_MAX_AGE", &s.maxAge}, {"SESSION_IDLE_TIMEOUT", &s.idleTimeout}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return nil, fmt.Errorf("%s %q is not a positive Go duration such as 8h or 30m", d.name, v)
			}
			*d.dst = t
		}
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
	if s.redisURL = getenv("REDIS_URL"); s.redisURL != "" {
		if _, err := redis.ParseURL(s.redisURL); err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
	}
	switch s.sessionStore = getenv("SESSION_STORE"); s.sessionStore {
	case "":
	case "memory":
		if s.redisURL != "" {
			return nil, errors.New("SESSION_STORE=memory and REDIS_URL are both set: sessions live in one place; unset one")
		}
	default:
		return nil, fmt.Errorf("SESSION_STORE=%q: the one value known is memory (unset: sessions in cookies, or in Redis with REDIS_URL)", s.sessionStore)
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

// splitList splits a space- or comma-separated list.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// run serves the example until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	var dev *logtotest.Provider
	if s.endpoint == "" {
		if dev, err = startDevProvider(s); err != nil {
			return err
		}
		defer dev.Close()
	}
	handler, err := newHandler(s)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	// The app's URL comes first, so whoever waits for "the line with the URL"
	// never picks the dev provider's.
	fmt.Fprintf(stdout, "example app listening on %s (open %s/)\n", ln.Addr(), s.baseURL)
	if dev != nil {
		fmt.Fprintf(stdout, "dev provider at %s (client %q); no LOGTO_ENDPOINT set\n", dev.Endpoint(), dev.ClientID())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startDevProvider starts logtotest for s and points s at it. The app asks
// for the dev provider's API resource and the organizations scope too, so
// /api/access-token and the organization routes work for its user (a member
// of logtotest.DefaultOrganization) out of the box: a resource token needs
// its resource in the sign-in request, an organization token that scope.
func startDevProvider(s *settings) (*logtotest.Provider, error) {
	if !slices.Contains(s.resources, logtotest.DefaultResource) {
		s.resources = append([]string{logtotest.DefaultResource}, s.resources...)
	}
	if !slices.Contains(s.scopes, logto.ScopeOrganizations) {
		s.scopes = append(s.scopes, logto.ScopeOrganizations)
	}
	dev, err := logtotest.Start(logtotest.Options{
		ClientID:               s.appID,
		ClientSecret:           s.appSecret,
		RedirectURIs:           []string{s.baseURL + "/callback"},
		PostLogoutRedirectURIs: []string{s.baseURL + "/"},
		Resources:              s.resources,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the dev provider: %w", err)
	}
	s.endpoint, s.appID, s.appSecret = dev.Endpoint(), dev.ClientID(), dev.ClientSecret()
	return dev, nil
}

// newHandler builds the app's routes.
func newHandler(s *settings) (http.Handler, error) {
	app, err := logto.NewApp(logto.Config{
		Endpoint:              s.endpoint,
		AppID:                 s.appID,
		AppSecret:             s.appSecret,
		Scopes:                s.scopes,
		Resources:             s.resources,
		RedirectURI:           s.baseURL + "/callback",
		PostLogoutRedirectURI: s.baseURL + "/",
		// Zero means the library's defaults: 7 days, and 24 hours idle.
		SessionAbsoluteTimeout: s.maxAge,
		SessionIdleTimeout:     s.idleTimeout,
		// Failures are answered in plain words; their details come here.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		return nil, err
	}
	// Sessions live in the cookie; with REDIS_URL in Redis under an ID the
	// cookie carries, shared by every process with the same SESSION_SECRET;
	// with SESSION_STORE=memory in this process's memory, under an ID too.
	var store sessions.Store
	var backchannel http.Handler
	switch {
	case s.sessionStore == "memory":
		var ms *memstore.Store
		ms, err = memstore.New(s.baseURL+"/callback", s.sessionSecret)
		if err == nil {
			store, backchannel = ms, app.BackchannelLogoutHandler(ms)
		}
	case s.redisURL == "":
		// The cookie holds the refresh token: it is sealed (encrypted and
		// authenticated) with a key derived from the secret.
		store, err = logto.NewCookieStore(s.baseURL+"/callback", s.sessionSecret)
		// A cookie session lives in the browser: the App records the
		// sessions a logout names and refuses them from their next request.
		backchannel = app.BackchannelLogoutHandler(nil)
	default:
		opts, _ := redis.ParseURL(s.redisURL) // checked in loadSettings
		var rs *redisstore.Store
		rs, err = redisstore.NewFromSecret(redis.NewClient(opts), s.baseURL+"/callback", s.sessionSecret)
		if err == nil {
			store, backchannel = rs, app.BackchannelLogoutHandler(rs)
		}
	}
	if err != nil {
		return nil, err
	}
	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { home(w, r, web) })
	mux.Handle("GET /sign-in", web.SignIn())
	mux.Handle("GET /callback", web.Callback())
	// Signing out is a POST from the app's own form; GET is kept for links.
	// Either way SignOut refuses a request from another site.
	signOut := web.SignOut()
	mux.Handle("POST /sign-out", signOut)
	mux.Handle("GET /sign-out", signOut)
	mux.Handle("GET /protected", web.RequireAuth(http.HandlerFunc(protected)))
	mux.Handle("POST /backchannel-logout", backchannel)
	mux.Handle("GET /api/id-token-claims", apiRoute(web, func(w http.ResponseWriter, r *http.Request, c *logto.Client) {
		claims, err := c.IDTokenClaims(r.Context())
		if err != nil {
			writeJSONError(w, r, web, err)
			return
		}
		writeJSON(w, http.StatusOK, claims.Raw)
	}))
	mux.Handle("GET /api/userinfo", apiRoute(web, func(w http.ResponseWriter, r *http.Request, c *logto.Client) {
		info, err := c.FetchUserInfo(r.Context())
		if err != nil {
			writeJSONError(w, r, web, err)
			return
		}
		writeJSON(w, http.StatusOK, info.Raw)
	}))
	mux.Handle("GET /api/access-token", apiRoute(web, func(w http.ResponseWriter, r *http.Request, c *logto.Client) {
		tokenAnswer(w, r, web, func(ctx context.Context) (*logto.AccessToken, error) {
			return c.GetAccessToken(ctx, r.URL.Query().Get("resource"))
		})
	}))
	mux.Handle("GET /api/organization-token", apiRoute(web, func(w http.ResponseWriter, r *http.Request, c *logto.Client) {
		tokenAnswer(w, r, web, func(ctx context.Context) (*logto.AccessToken, error) {
			return c.GetOrganizationToken(ctx, r.URL.Query().Get("organization_id"))
		})
	}))
	mux.Handle("GET /api/organization-resource-token", apiRoute(web, func(w http.ResponseWriter, r *http.Request, c *logto.Client) {
		tokenAnswer(w, r, web, func(ctx context.Context) (*logto.AccessToken, error) {
			q := r.URL.Query()
			return c.GetOrganizationResourceToken(ctx, q.Get("resource"), q.Get("organization_id"))
		})
	}))
	return mux, nil
}

// apiRoute answers 401 {"error": "not_authenticated"} when nobody is signed
// in, before anything else: the SDK checks its configuration first (a resource
// not in Config.Resources, a missing organizations scope), and a signed-out
// caller must still learn that it is signed out.
func apiRoute(web *logto.WebHandlers, serve func(http.ResponseWriter, *http.Request, *logto.Client)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := web.Client(w, r)
		ok, err := c.IsAuthenticated(r.Context())
		if err == nil && !ok {
			err = logto.ErrNotAuthenticated
		}
		if err != nil {
			writeJSONError(w, r, web, err)
			return
		}
		serve(w, r, c)
	})
}

func home(w http.ResponseWriter, r *http.Request, web *logto.WebHandlers) {
	c := web.Client(w, r)
	ok, err := c.IsAuthenticated(r.Context())
	if err != nil {
		web.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	b.WriteString("<!doctype html><title>Logto Go example</title>")
	if !ok {
		b.WriteString(`<h1>Not authenticated</h1><p><a href="/sign-in">Sign in</a> · <a href="/sign-in?interaction_mode=signUp">Sign up</a></p>`)
	} else {
		b.WriteString("<h1>Authenticated</h1>")
		if claims, err := c.IDTokenClaims(r.Context()); err == nil {
			name := claims.Name
			if name == "" {
				name = claims.Username
			}
			fmt.Fprintf(&b, "<p>Signed in as <b>%s</b> (sub %s)</p>", html.EscapeString(name), html.EscapeString(claims.Subject))
		}
		b.WriteString(`<p><a href="/protected">Protected page</a> · <a href="/api/id-token-claims">ID token claims</a> · <a href="/api/userinfo">User info</a></p>`)
		b.WriteString(`<form method="post" action="/sign-out"><button type="submit">Sign out</button></form>`)
	}
	_, _ = io.WriteString(w, b.String())
}

func protected(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, `<!doctype html><title>Protected</title><h1>Protected</h1><p>Only signed-in users see this. <a href="/">Home</a></p>`)
}

// tokenAnswer writes {"access_token": ..., "claims": ...}; claims are null for
// an opaque token.
func tokenAnswer(w http.ResponseWriter, r *http.Request, web *logto.WebHandlers, get func(context.Context) (*logto.AccessToken, error)) {
	at, err := get(r.Context())
	if err != nil {
		writeJSONError(w, r, web, err)
		return
	}
	claims, _ := at.Claims()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at.Token, "claims": claims, "expires_at": at.ExpiresAt.Unix()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError answers {"error": code, "error_description": sentence}:
// the error's code and a plain sentence about it, never its text, which may
// name internal hosts and addresses. The details go to the app's log
// (LogError skips a failure the library logged already, a refresh's).
func writeJSONError(w http.ResponseWriter, r *http.Request, web *logto.WebHandlers, err error) {
	web.LogError(r, err)
	writeJSON(w, logto.ErrorStatus(err), map[string]string{"error": logto.ErrorCode(err), "error_description": logto.ErrorMessage(err)})
}
