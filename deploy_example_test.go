package logto_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// In a container network the app reaches the provider at an internal URL,
// while browsers and tokens use the public one.
func ExampleConfig_providerURL() {
	p := devProvider()
	defer p.Close()
	internal := p.Endpoint()                 // e.g. http://logto:3001
	p.SetBaseURL("https://auth.example.com") // what the provider calls itself

	app, err := logto.NewApp(logto.Config{
		Endpoint:    "https://auth.example.com",
		ProviderURL: internal,
		AppID:       p.ClientID(),
		AppSecret:   p.ClientSecret(),
		RedirectURI: "http://localhost:3000/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	// Discovery is read at the internal URL; the browser goes to the public one.
	authURL, err := app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(authURL, "https://auth.example.com/oidc/auth?"))
	// Output: true
}

// Logto reads organization membership and roles again on every refresh: a
// forced refresh hears of a change at once, where the cached token would
// not.
func ExampleClient_RefreshOrganizationToken() {
	p := devProvider()
	defer p.Close()
	ctx := context.Background()
	client, err := logto.NewClient(logto.Config{
		Endpoint: p.Endpoint(), AppID: p.ClientID(), AppSecret: p.ClientSecret(),
		RedirectURI: "http://localhost:3000/callback",
		Scopes:      []string{logto.ScopeOrganizations},
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
	at, err := client.GetOrganizationToken(ctx, logtotest.DefaultOrganization)
	if err != nil {
		log.Fatal(err)
	}
	claims, _ := at.Claims()
	fmt.Println(claims["aud"])

	// The user leaves the organization.
	left := logtotest.DefaultUser()
	left.Organizations = nil
	p.SetUser(left)
	_, err = client.RefreshOrganizationToken(ctx, logtotest.DefaultOrganization)
	var oe *logto.OAuthError
	fmt.Println(errors.As(err, &oe) && oe.Code == "access_denied")
	// Output:
	// urn:logto:organization:org-1
	// true
}
