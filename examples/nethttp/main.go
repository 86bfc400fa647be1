// Command nethttp is the SDK's example web app: sign-in, sign-up, callback,
// sign-out, a protected page and JSON routes for claims, userinfo and access
// tokens, with the standard library's router. Its pages, settings and
// serving are shared with the gin, echo and chi examples
// (examples/internal/exampleapp); this file shows the routing.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest), so
// `go run ./examples/nethttp` works with no account anywhere. It does so only
// for local development: with LOGTO_APP_ID or LOGTO_APP_SECRET set, or a
// BASE_URL that is not loopback, it refuses to start and asks for
// LOGTO_ENDPOINT. The routes and environment variables are a contract that
// outside tests drive; see the README.
package main

import (
	"net/http"

	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
)

func main() { exampleapp.Main(run) }

// run serves the example until ctx ends.
var run = exampleapp.Example{
	Name:           "example app",
	DefaultBaseURL: "http://localhost:3000",
	Routes:         newHandler,
}.Run

// newHandler mounts the app's routes on a ServeMux.
func newHandler(app *exampleapp.App) (http.Handler, error) {
	web := app.Web
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", app.Home)
	mux.Handle("GET /sign-in", web.SignIn()) // ?first_screen=register for sign-up
	mux.Handle("GET /callback", web.Callback())
	// Signing out is a POST from the app's own form; GET is kept for links.
	// Either way SignOut refuses a request from another site.
	signOut := web.SignOut()
	mux.Handle("POST /sign-out", signOut)
	mux.Handle("GET /sign-out", signOut)
	mux.Handle("GET /protected", web.RequireAuth(http.HandlerFunc(app.Protected)))
	mux.Handle("POST /backchannel-logout", app.Backchannel)
	mux.HandleFunc("GET /api/id-token-claims", app.IDTokenClaims)
	mux.HandleFunc("GET /api/userinfo", app.UserInfo)
	mux.HandleFunc("GET /api/access-token", app.AccessToken)
	mux.HandleFunc("GET /api/organization-token", app.OrganizationToken)
	mux.HandleFunc("GET /api/organization-resource-token", app.OrganizationResourceToken)
	return mux, nil
}
