// Command api is the SDK's protected-API example: a JSON API whose routes
// take Logto bearer access tokens, checked with package apiauth.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest)
// and prints ready-to-use curl commands with valid tokens (one of them
// opaque, checked by introspection as the dev provider's M2M app), so
// `go run ./examples/api` works with no account anywhere. The routes and
// environment variables are a contract that outside tests drive; see
// CONTRACT.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
	"github.com/seed098cf14d/logto/logtotest"
)

// Scopes the routes ask for.
const (
	scopeReadMessages = "read:messages"
	scopeReadMembers  = "read:members"
	scopeReadReports  = "read:reports"
)

// devOrganization is the organization the dev provider's user belongs to.
const devOrganization = "org-1"

// acrMFA is Logto's Authentication Context Class Reference of a sign-in
// with multi-factor authentication.
const acrMFA = "urn:logto:acr:mfa"

func main() { exampleapp.Main(run) }

// settings are the example's environment, defaulted.
type settings struct {
	endpoint, resource, addr string
	// baseURL is API_BASE_URL; "" means http:// and the address listened on.
	baseURL string
	// appID and appSecret are the API's own client, to introspect opaque
	// tokens.
	appID, appSecret string
}

func loadSettings(getenv func(string) string) (*settings, error) {
	s := &settings{
		endpoint:  getenv("LOGTO_ENDPOINT"),
		resource:  getenv("API_RESOURCE"),
		addr:      getenv("ADDR"),
		baseURL:   getenv("API_BASE_URL"),
		appID:     getenv("LOGTO_APP_ID"),
		appSecret: getenv("LOGTO_APP_SECRET"),
	}
	if s.resource == "" {
		s.resource = logtotest.DefaultResource
	}
	if s.addr == "" {
		s.addr = "127.0.0.1:4000"
	}
	if s.endpoint == "" {
		// The dev provider signs anyone in: only for an API used here.
		reached := []string{s.addr}
		if base := getenv("API_BASE_URL"); base != "" {
			reached = append(reached, base)
		}
		creds := getenv("LOGTO_APP_ID") != "" || getenv("LOGTO_APP_SECRET") != ""
		if err := logtotest.LocalOnly(creds, reached...); err != nil {
			return nil, fmt.Errorf("LOGTO_ENDPOINT is not set, and %w: set LOGTO_ENDPOINT to your Logto endpoint", err)
		}
	}
	if s.endpoint != "" {
		u, err := url.Parse(s.endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("LOGTO_ENDPOINT %q is not an absolute http(s) URL", s.endpoint)
		}
	}
	return s, nil
}

// run serves the API until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	var dev *logtotest.Provider
	if s.endpoint == "" {
		user := logtotest.DefaultUser()
		user.Organizations = []string{devOrganization}
		dev, err = logtotest.Start(logtotest.Options{
			User:      &user,
			Resources: []string{s.resource},
			ResourceScopes: map[string][]string{
				s.resource: {scopeReadMessages, scopeReadReports},
			},
		})
		if err != nil {
			return fmt.Errorf("starting the dev provider: %w", err)
		}
		defer dev.Close()
		s.endpoint = dev.Endpoint()
		// The dev provider's M2M app introspects opaque tokens.
		s.appID, s.appSecret = dev.M2MClientID(), dev.M2MClientSecret()
	}

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	if s.baseURL == "" {
		s.baseURL = "http://" + hostForURL(s.addr, ln.Addr())
	}
	v, err := apiauth.NewValidator(apiauth.Config{
		Endpoint: s.endpoint,
		Audience: s.resource,
		// The RFC 9728 metadata, named in every challenge.
		Metadata: apiauth.ResourceMetadata{
			BaseURL: s.baseURL,
			Scopes:  []string{scopeReadMessages, scopeReadReports},
		},
		// Opaque tokens, checked at the provider (both or neither).
		Introspection: apiauth.Introspection{ClientID: s.appID, ClientSecret: s.appSecret},
		// Refused requests, with the reason: Info and above (a missing
		// scope, a token of another issuer or API, the provider down).
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{Handler: newHandler(v), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "API listening on %s (try %s/api/public)\n", ln.Addr(), base)
	if dev != nil {
		if err := printDevCommands(ctx, stdout, dev, s.resource, base); err != nil {
			_ = srv.Close()
			<-serveErr
			return err
		}
	}

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printDevCommands signs the dev user in and prints curl commands with a
// resource token, an organization token and an organization-scoped token
// of the API.
func printDevCommands(ctx context.Context, stdout io.Writer, dev *logtotest.Provider, resource, base string) error {
	c, err := signIn(ctx, dev, resource, []string{logto.ScopeOrganizations, scopeReadMessages, scopeReadMembers, scopeReadReports})
	if err != nil {
		return fmt.Errorf("signing in the dev user: %w", err)
	}
	at, err := c.GetAccessToken(ctx, resource)
	if err != nil {
		return fmt.Errorf("getting a token for %s: %w", resource, err)
	}
	org, err := c.GetOrganizationToken(ctx, devOrganization)
	if err != nil {
		return fmt.Errorf("getting an organization token: %w", err)
	}
	orgRes, err := c.GetOrganizationResourceToken(ctx, resource, devOrganization)
	if err != nil {
		return fmt.Errorf("getting an organization-scoped token for %s: %w", resource, err)
	}
	fmt.Fprintf(stdout, "dev provider at %s; no LOGTO_ENDPOINT set. Try:\n", dev.Endpoint())
	fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' %s/api/private-scoped\n", at.Token, base)
	fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' %s/api/organizations/%s/members\n", org.Token, base, devOrganization)
	fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' %s/api/organizations/%s/reports\n", orgRes.Token, base, devOrganization)
	// An opaque token, which the API checks at the provider's
	// introspection endpoint.
	opaque, err := dev.MintOpaqueAccessToken("", resource, scopeReadMessages)
	if err != nil {
		return fmt.Errorf("minting an opaque token: %w", err)
	}
	fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' %s/api/private-scoped\n", opaque, base)
	return nil
}

// hostForURL is the host:port of a URL to this API: the host of addr (as
// asked; "localhost" for an empty or unspecified one) and the port bound.
func hostForURL(addr string, bound net.Addr) string {
	_, port, err := net.SplitHostPort(bound.String())
	if err != nil {
		return bound.String()
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// signIn signs the provider's user in with the SDK, asking for resource and
// scopes, and returns the signed-in client.
func signIn(ctx context.Context, p *logtotest.Provider, resource string, scopes []string) (*logto.Client, error) {
	app, err := logto.NewApp(logto.Config{
		Endpoint:    p.Endpoint(),
		AppID:       p.ClientID(),
		AppSecret:   p.ClientSecret(),
		Scopes:      scopes,
		Resources:   []string{resource},
		RedirectURI: "http://localhost/callback",
	})
	if err != nil {
		return nil, err
	}
	c := app.Client(logto.NewMemoryStorage())
	authURL, err := c.SignIn(ctx, logto.SignInOptions{})
	if err != nil {
		return nil, err
	}
	callback, err := p.Authorize(ctx, authURL)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(callback)
	if err != nil {
		return nil, err
	}
	if _, err := c.HandleSignInCallbackURL(ctx, u); err != nil {
		return nil, err
	}
	return c, nil
}

// newHandler builds the API's routes.
func newHandler(v *apiauth.Validator) http.Handler {
	mux := http.NewServeMux()
	get := func(pattern string, h http.Handler) { mux.Handle(pattern, onlyGET(h)) }

	get("/api/public", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "Hello from a public endpoint: no token needed."})
	}))
	// Middleware refuses tokens scoped to an organization (with an
	// organization_id claim): their scopes hold only in that organization.
	get("/api/private", v.Middleware(http.HandlerFunc(serveClaims)))
	get("/api/private-scoped", v.Middleware(apiauth.RequireScopes(scopeReadMessages)(http.HandlerFunc(serveClaims))))
	// Step-up (RFC 9470): a token from a sign-in with MFA only.
	get("/api/private-mfa", v.Middleware(apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
		ACRValues: []string{acrMFA},
	})(http.HandlerFunc(serveClaims))))
	// RFC 9728 metadata, at the well-known path and, for an API_BASE_URL
	// with a path, at the one its URL has.
	get(apiauth.ResourceMetadataPath, v.ResourceMetadataHandler())
	if u, err := url.Parse(v.ResourceMetadataURL()); err == nil && u.Path != apiauth.ResourceMetadataPath {
		get(u.Path, v.ResourceMetadataHandler())
	}
	orgID := func(r *http.Request) string { return r.PathValue("id") }
	// An organization-scoped token of this API, for organization {id} only.
	get("/api/organizations/{id}/reports", v.OrganizationResourceMiddleware(orgID)(apiauth.RequireScopes(scopeReadReports)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := apiauth.ClaimsFrom(r.Context())
			writeJSON(w, http.StatusOK, map[string]any{
				"organization_id": c.OrganizationID,
				"reports":         []map[string]string{{"id": "report-1", "author": c.Subject}},
			})
		}))))
	get("/api/organizations/{id}/members", v.OrganizationMiddleware(orgID)(apiauth.RequireScopes(scopeReadMembers)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := apiauth.ClaimsFrom(r.Context())
			writeJSON(w, http.StatusOK, map[string]any{
				"organization_id": r.PathValue("id"),
				"members":         []map[string]string{{"id": c.Subject}},
			})
		}))))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
	})
	return mux
}

// onlyGET answers methods other than GET and HEAD with 405 and a JSON body.
func onlyGET(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "only GET is allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveClaims answers with every claim of the request's access token.
func serveClaims(w http.ResponseWriter, r *http.Request) {
	c, _ := apiauth.ClaimsFrom(r.Context())
	var all map[string]any
	if err := c.Unmarshal(&all); err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "the token's claims cannot be read")
		return
	}
	writeJSON(w, http.StatusOK, all)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
