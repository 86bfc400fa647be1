// Command gin is the SDK's example for the Gin framework: the example app's
// pages and routes (sign-in, sign-up, callback, sign-out, a page behind
// RequireAuth, the JSON routes) mounted on a Gin router, and an API route
// protected by apiauth bearer tokens. Its pages, settings and serving are
// shared with the other examples (examples/internal/exampleapp); this file
// shows the routing.
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest),
// so `go run .` works with no account anywhere. It does so only for local
// development: with LOGTO_APP_ID or LOGTO_APP_SECRET set, or a BASE_URL that
// is not loopback, it refuses to start and asks for LOGTO_ENDPOINT.
//
// Environment: that of examples/nethttp (see the README), with BASE_URL
// defaulting to http://localhost:3001, and API_AUDIENCE, the resource
// /api/messages accepts tokens for (default the first of LOGTO_RESOURCES,
// with the dev provider https://api.example.com).
package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/examples/internal/exampleapp"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	exampleapp.Main(run)
}

// run serves the example until ctx ends.
var run = exampleapp.Example{
	Name:           "gin example",
	Framework:      "gin",
	DefaultBaseURL: "http://localhost:3001",
	Routes:         newRouter,
}.Run

// newRouter mounts the app's routes on a Gin engine.
func newRouter(app *exampleapp.App) (http.Handler, error) {
	validator, err := app.APIValidator()
	if err != nil {
		return nil, err
	}
	web := app.Web
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/", gin.WrapF(app.Home))
	r.GET("/sign-in", gin.WrapH(web.SignIn())) // ?first_screen=register for sign-up
	r.GET("/callback", gin.WrapH(web.Callback()))
	// Signing out is a POST from the app's own form; GET is kept for links.
	// Either way SignOut refuses a request from another site.
	signOut := gin.WrapH(web.SignOut())
	r.POST("/sign-out", signOut)
	r.GET("/sign-out", signOut)
	r.GET("/protected", wrapMiddleware(web.RequireAuth), gin.WrapF(app.Protected))
	r.POST("/backchannel-logout", gin.WrapH(app.Backchannel))
	r.GET("/api/id-token-claims", gin.WrapF(app.IDTokenClaims))
	r.GET("/api/userinfo", gin.WrapF(app.UserInfo))
	r.GET("/api/access-token", gin.WrapF(app.AccessToken))
	r.GET("/api/organization-token", gin.WrapF(app.OrganizationToken))
	r.GET("/api/organization-resource-token", gin.WrapF(app.OrganizationResourceToken))
	r.GET("/api/messages",
		wrapMiddleware(validator.Middleware),
		wrapMiddleware(apiauth.RequireScopes("read:messages")),
		func(c *gin.Context) {
			claims, _ := apiauth.ClaimsFrom(c.Request.Context())
			c.JSON(http.StatusOK, gin.H{"subject": claims.Subject, "messages": []string{"hello from the Gin API"}})
		})
	return r, nil
}

// wrapMiddleware adapts a net/http middleware to Gin: the chain goes on only
// when the middleware calls its next handler, with the request it passed
// (carrying, for apiauth, the token's claims in its context).
func wrapMiddleware(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		next := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			next = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !next {
			c.Abort()
		}
	}
}
