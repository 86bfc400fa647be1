package logto_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// devProvider starts the in-process provider the examples sign in with.
func devProvider() *logtotest.Provider {
	p, err := logtotest.Start(logtotest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	return p
}

// A web app builds one App at start-up and a Client per request.
func ExampleNewApp() {
	p := devProvider()
	defer p.Close()

	app, err := logto.NewApp(logto.Config{
		Endpoint:    p.Endpoint(), // e.g. https://your-tenant.logto.app
		AppID:       p.ClientID(),
		AppSecret:   p.ClientSecret(),
		Scopes:      []string{logto.ScopeEmail},
		Resources:   []string{"https://api.example.com"},
		RedirectURI: "http://localhost:3000/callback",
	})
	if err != nil {
		log.Fatal(err)
	}

	// Per request: bind the app to the request's session storage.
	client := app.Client(logto.NewMemoryStorage())
	authURL, err := client.SignIn(context.Background(), logto.SignInOptions{})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	fmt.Println(strings.HasPrefix(authURL, p.Issuer()+"/auth?"))
	fmt.Println(u.Query().Get("scope"))
	fmt.Println(u.Query().Get("code_challenge_method"))
	// Output:
	// true
	// openid offline_access profile email
	// S256
}

// The whole sign-in: redirect, callback, claims.
func ExampleClient_HandleSignInCallbackURL() {
	p := devProvider()
	defer p.Close()
	ctx := context.Background()

	client, err := logto.NewClient(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI: "http://localhost:3000/callback",
	}, logto.NewMemoryStorage())
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := client.SignIn(ctx, logto.SignInOptions{ReturnTo: "/account"})
	if err != nil {
		log.Fatal(err)
	}
	// A browser would follow authURL; the dev provider approves at once.
	callback, err := p.Authorize(ctx, authURL)
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(callback)
	res, err := client.HandleSignInCallbackURL(ctx, u)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ReturnTo, res.Claims.Subject, res.Claims.Name)

	info, err := client.FetchUserInfo(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Subject == res.Claims.Subject)
	// Output:
	// /account dev-user-1 Dev User
	// true
}

// Step-up authentication: before a sensitive action, sign the user in
// again with a second factor, now. The callback refuses an ID token that
// does not say so (acr) or whose auth_time is too old; an API that
// answers insufficient_user_authentication (RFC 9470) names what to ask.
func ExampleClient_SignIn_stepUp() {
	p := devProvider()
	defer p.Close()
	ctx := context.Background()
	client, err := logto.NewClient(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI: "http://localhost:3000/callback",
	}, logto.NewMemoryStorage())
	if err != nil {
		log.Fatal(err)
	}
	authURL, err := client.SignIn(ctx, logto.SignInOptions{
		ACRValues: []string{logto.ACRMFA},
		MaxAge:    new(time.Duration(0)), // authenticate now, whatever the provider's session
		ReturnTo:  "/settings/delete-account",
	})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	fmt.Println(u.Query().Get("acr_values"), u.Query().Get("max_age"))

	callback, _ := p.Authorize(ctx, authURL)
	cb, _ := url.Parse(callback)
	res, err := client.HandleSignInCallbackURL(ctx, cb)
	if err != nil {
		log.Fatal(err) // ErrInvalidToken: not the acr asked for, or too old a sign-in
	}
	fmt.Println(res.ReturnTo, res.Claims.ACR, res.Claims.AMR)
	fmt.Println(res.Claims.AuthenticatedWithin(5*time.Minute, time.Now()))
	// Output:
	// urn:logto:acr:mfa 0
	// /settings/delete-account urn:logto:acr:mfa [pwd otp mfa]
	// true
}

// Access tokens for an API resource come from the cache or a refresh grant.
func ExampleClient_GetAccessToken() {
	p := devProvider()
	defer p.Close()
	ctx := context.Background()
	client, err := logto.NewClient(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI: "http://localhost:3000/callback",
		Resources:   []string{"https://api.example.com"},
	}, logto.NewMemoryStorage())
	if err != nil {
		log.Fatal(err)
	}
	authURL, _ := client.SignIn(ctx, logto.SignInOptions{})
	callback, _ := p.Authorize(ctx, authURL)
	u, _ := url.Parse(callback)
	if _, err := client.HandleSignInCallbackURL(ctx, u); err != nil {
		log.Fatal(err)
	}

	at, err := client.GetAccessToken(ctx, "https://api.example.com")
	if err != nil {
		log.Fatal(err)
	}
	claims, _ := at.Claims()
	fmt.Println(claims["aud"], claims["scope"])
	// Output: https://api.example.com read:messages
}

// Sign-out revokes the refresh token and returns the provider's end-session
// URL.
func ExampleClient_SignOut() {
	p := devProvider()
	defer p.Close()
	ctx := context.Background()
	client, err := logto.NewClient(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI: "http://localhost:3000/callback",
	}, logto.NewMemoryStorage())
	if err != nil {
		log.Fatal(err)
	}
	authURL, _ := client.SignIn(ctx, logto.SignInOptions{})
	callback, _ := p.Authorize(ctx, authURL)
	u, _ := url.Parse(callback)
	if _, err := client.HandleSignInCallbackURL(ctx, u); err != nil {
		log.Fatal(err)
	}

	res, err := client.SignOut(ctx, logto.SignOutOptions{PostLogoutRedirectURI: "http://localhost:3000/"})
	if err != nil {
		log.Fatal(err)
	}
	end, _ := url.Parse(res.URL)
	fmt.Println(end.Path, end.Query().Get("post_logout_redirect_uri"), res.RevocationErr)
	ok, _ := client.IsAuthenticated(ctx)
	fmt.Println(ok)
	// Output:
	// /oidc/session/end http://localhost:3000/ <nil>
	// false
}

// A cookie store whose keys come from one secret: the cookie is encrypted
// and authenticated, and holds a signed-in session in a few hundred bytes.
// To rotate the secret, put the new one first.
func ExampleNewCookieStore() {
	// 32 random bytes or more, from your secret store (openssl rand -base64 32).
	secret := []byte("9v4T6pZ2yQeX1mB8sK3nR7wL0aJ5hC2d")
	store, err := logto.NewCookieStore("https://app.example.com/callback", secret)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Options.Secure, store.Options.HttpOnly)

	_, err = logto.NewCookieStore("https://app.example.com/callback", []byte("too short"))
	fmt.Println(errors.Is(err, logto.ErrInvalidConfig))
	// Output:
	// true true
	// true
}

// WebHandlers gives any net/http router sign-in, callback and sign-out
// routes and a RequireAuth middleware.
func ExampleWebHandlers() {
	app, err := logto.NewApp(logto.Config{
		Endpoint:              "https://tenant.logto.app",
		AppID:                 "app-id",
		AppSecret:             "app-secret",
		RedirectURI:           "https://app.example.com/callback",
		PostLogoutRedirectURI: "https://app.example.com/",
	})
	if err != nil {
		log.Fatal(err)
	}
	// A secret of 32 random bytes or more, from your secret store.
	store, err := logto.NewCookieStore("https://app.example.com/callback",
		[]byte("session-secret-of-32-bytes-or-more"))
	if err != nil {
		log.Fatal(err)
	}
	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}

	mux := http.NewServeMux()
	mux.Handle("GET /sign-in", web.SignIn())
	mux.Handle("GET /callback", web.Callback())
	// A sign-out button posts <form method="post" action="/sign-out">;
	// requests from other sites are refused.
	mux.Handle("POST /sign-out", web.SignOut())
	mux.Handle("GET /account", web.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := web.Client(w, r).IDTokenClaims(r.Context())
		if err != nil {
			web.WriteError(w, r, err) // logged; the page shows a plain sentence
			return
		}
		fmt.Fprintf(w, "hello %s", claims.Name)
	})))
	fmt.Println("routes ready")
	// Output: routes ready
}
