// Command echo is the SDK's example for the Echo framework: the example
// app's pages and routes (sign-in, sign-up, callback, sign-out, a page
// behind RequireAuth, the JSON routes) mounted on an Echo router, and an API
// route protected by apiauth bearer tokens. Its pages, settings and serving
// are shared with the other examples (examples/internal/exampleapp); this
// file shows the routing.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest),
// so `go run .` works with no account anywhere. It does so only for local
// development: with LOGTO_APP_ID or LOGTO_APP_SECRET set, or a BASE_URL that
// is not loopback, it refuses to start and asks for LOGTO_ENDPOINT.
//
// Environment: that of examples/nethttp (see the README), with BASE_URL
// defaulting to http://localhost:3002, and API_AUDIENCE, the resource
// /api/messages accepts tokens for (default the first of LOGTO_RESOURCES,
// with the dev provider https://api.example.com).
package main

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
)

func main() { exampleapp.Main(run) }

// run serves the example until ctx ends.
var run = exampleapp.Example{
	Name:           "echo example",
	Framework:      "echo",
	DefaultBaseURL: "http://localhost:3002",
	Routes:         newRouter,
}.Run

// newRouter mounts the app's routes on an Echo router.
func newRouter(app *exampleapp.App) (http.Handler, error) {
	validator, err := app.APIValidator()
	if err != nil {
		return nil, err
	}
	web := app.Web
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(middleware.Recover())
	e.GET("/", echo.WrapHandler(http.HandlerFunc(app.Home)))
	e.GET("/sign-in", echo.WrapHandler(web.SignIn())) // ?first_screen=register for sign-up
	e.GET("/callback", echo.WrapHandler(web.Callback()))
	// Signing out is a POST from the app's own form; GET is kept for links.
	// Either way SignOut refuses a request from another site.
	signOut := echo.WrapHandler(web.SignOut())
	e.POST("/sign-out", signOut)
	e.GET("/sign-out", signOut)
	e.GET("/protected", echo.WrapHandler(http.HandlerFunc(app.Protected)), echo.WrapMiddleware(web.RequireAuth))
	e.POST("/backchannel-logout", echo.WrapHandler(app.Backchannel))
	e.GET("/api/id-token-claims", echo.WrapHandler(http.HandlerFunc(app.IDTokenClaims)))
	e.GET("/api/userinfo", echo.WrapHandler(http.HandlerFunc(app.UserInfo)))
	e.GET("/api/access-token", echo.WrapHandler(http.HandlerFunc(app.AccessToken)))
	e.GET("/api/organization-token", echo.WrapHandler(http.HandlerFunc(app.OrganizationToken)))
	e.GET("/api/organization-resource-token", echo.WrapHandler(http.HandlerFunc(app.OrganizationResourceToken)))
	e.GET("/api/messages", func(c echo.Context) error {
		claims, _ := apiauth.ClaimsFrom(c.Request().Context())
		return c.JSON(http.StatusOK, map[string]any{"subject": claims.Subject, "messages": []string{"hello from the Echo API"}})
	}, echo.WrapMiddleware(validator.Middleware), echo.WrapMiddleware(apiauth.RequireScopes("read:messages")))
	return e, nil
}
