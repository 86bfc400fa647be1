package logtotest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"regexp"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// A whole sign-in against the provider, with x/oauth2 and go-oidc.
func Example() {
	ctx := context.Background()
	p, err := logtotest.Start(logtotest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	op, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	cfg := oauth2.Config{
		ClientID:     p.ClientID(),
		ClientSecret: p.ClientSecret(),
		Endpoint:     op.Endpoint(),
		RedirectURL:  "http://localhost:8080/callback",
		Scopes:       []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "profile"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("prompt", "consent"))

	callback, err := p.Authorize(ctx, authURL) // the browser's part
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(callback)
	tok, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		log.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	id, err := op.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct{ Name string }
	_ = id.Claims(&claims)
	fmt.Println(id.Subject, claims.Name, tok.RefreshToken != "")
	// Output: dev-user-1 Dev User true
}

// An app run by hand lets its user see the provider at work: the sign-in
// URL shows a page offering each user, and Cancel.
func ExampleOptions_signInPage() {
	p, err := logtotest.Start(logtotest.Options{
		SignInPage: true,
		ExtraUsers: []logtotest.User{logtotest.SecondUser()},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	cfg := oauth2.Config{
		ClientID:    p.ClientID(),
		Endpoint:    oauth2.Endpoint{AuthURL: p.Issuer() + "/auth"},
		RedirectURL: "http://localhost:8080/callback",
		Scopes:      []string{oidc.ScopeOpenID},
	}
	resp, err := http.Get(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, m := range regexp.MustCompile(`<(?:title|button)[^>]*>([^<]*)<`).FindAllSubmatch(page, -1) {
		fmt.Println(string(m[1]))
	}
	// Output:
	// Sign in to the dev provider
	// Continue as Dev User
	// Continue as Second User
	// Cancel
}
