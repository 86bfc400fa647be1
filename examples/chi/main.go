// Command chi is the SDK's example for the chi router: the example app's
// pages and routes (sign-in, sign-up, callback, sign-out, a page behind
// RequireAuth, the JSON routes) and an API route protected by apiauth bearer
// tokens. chi takes net/http handlers and middleware as they are, so the
// SDK's handlers mount with no adapter. Its pages, settings and serving are
// shared with the other examples (examples/internal/exampleapp); this file
// shows the routing.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest),
// so `go run .` works with no account anywhere. It does so only for local
// development: with LOGTO_APP_ID or LOGTO_APP_SECRET set, or a BASE_URL that
// is not loopback, it refuses to start and asks for LOGTO_ENDPOINT.
//
// Environment: that of examples/nethttp (see the README), with BASE_URL
// defaulting to http://localhost:3003, and API_AUDIENCE, the resource
// /api/messages accepts tokens for (default the first of LOGTO_RESOURCES,
// with the dev provider https://api.example.com).
package main

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
)

func main() { exampleapp.Main(run) }

// run serves the example until ctx ends.
var run = exampleapp.Example{
	Name:           "chi example",
	Framework:      "chi",
	DefaultBaseURL: "http://localhost:3003",
	Routes:         newRouter,
}.Run

// newRouter mounts the app's routes on a chi router.
func newRouter(app *exampleapp.App) (http.Handler, error) {
	validator, err := app.APIValidator()
	if err != nil {
		return nil, err
	}
	web := app.Web
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/", app.Home)
	r.Method(http.MethodGet, "/sign-in", web.SignIn()) // ?first_screen=register for sign-up
	r.Method(http.MethodGet, "/callback", web.Callback())
	// Signing out is a POST from the app's own form; GET is kept for links.
	// Either way SignOut refuses a request from another site.
	signOut := web.SignOut()
	r.Method(http.MethodPost, "/sign-out", signOut)
	r.Method(http.MethodGet, "/sign-out", signOut)
	r.With(web.RequireAuth).Get("/protected", app.Protected)
	r.Method(http.MethodPost, "/backchannel-logout", app.Backchannel)
	r.Route("/api", func(r chi.Router) {
		r.Get("/id-token-claims", app.IDTokenClaims)
		r.Get("/userinfo", app.UserInfo)
		r.Get("/access-token", app.AccessToken)
		r.Get("/organization-token", app.OrganizationToken)
		r.Get("/organization-resource-token", app.OrganizationResourceToken)
		r.With(validator.Middleware, apiauth.RequireScopes("read:messages")).Get("/messages", messages)
	})
	return r, nil
}

// messages answers a valid bearer token holding read:messages.
func messages(w http.ResponseWriter, r *http.Request) {
	claims, _ := apiauth.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"subject": claims.Subject, "messages": []string{"hello from the chi API"}})
}
