package logtotest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

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

// A machine-to-machine app gets a token for an API with x/oauth2's
// clientcredentials: resource names the API, scope narrows.
func ExampleProvider_M2MClientID() {
	ctx := context.Background()
	p, err := logtotest.Start(logtotest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	cfg := clientcredentials.Config{
		ClientID:       p.M2MClientID(),
		ClientSecret:   p.M2MClientSecret(),
		TokenURL:       p.Issuer() + "/token",
		Scopes:         []string{logtotest.DefaultResourceScope},
		EndpointParams: url.Values{"resource": {logtotest.DefaultResource}},
	}
	tok, err := cfg.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Extra("scope"), tok.RefreshToken == "", p.Grants("client_credentials"))
	// Output: read:messages true 1
}

// A script trades a user's personal access token for an API token of
// that user (RFC 8693 token exchange).
func ExampleProvider_MintPersonalAccessToken() {
	p, err := logtotest.Start(logtotest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	pat, err := p.MintPersonalAccessToken(logtotest.DefaultUser().Subject)
	if err != nil {
		log.Fatal(err)
	}

	form := url.Values{
		"grant_type":         {logtotest.GrantTypeTokenExchange},
		"subject_token":      {pat},
		"subject_token_type": {logtotest.TokenTypePersonalAccessToken},
		"resource":           {logtotest.DefaultResource},
	}
	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID(), p.ClientSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Scope           string `json:"scope"`
		IssuedTokenType string `json:"issued_token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, answer.Scope, answer.IssuedTokenType)
	// Output: 200 read:messages urn:ietf:params:oauth:token-type:access_token
}

// A command-line tool signs in with the device authorization grant and
// x/oauth2; ApproveDevice plays the person who enters the code in a
// browser at verification_uri.
func ExampleProvider_ApproveDevice() {
	ctx := context.Background()
	p, err := logtotest.Start(logtotest.Options{DevicePollInterval: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	op, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	ep := op.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // a public client: client_id, no secret
	cfg := oauth2.Config{
		ClientID: p.NativeClientID(),
		Endpoint: ep,
		Scopes:   []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess},
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Visit", strings.TrimPrefix(da.VerificationURI, p.Endpoint()), "and enter the code")

	if err := p.ApproveDevice(da.UserCode, ""); err != nil {
		log.Fatal(err)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		log.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	id, err := op.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, rawID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id.Subject, tok.RefreshToken != "")
	// Output:
	// Visit /oidc/device and enter the code
	// dev-user-1 true
}

// An API checks an opaque access token at the introspection endpoint
// (RFC 7662), authenticating as a confidential app.
func ExampleProvider_MintOpaqueAccessToken() {
	p, err := logtotest.Start(logtotest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	tok, err := p.MintOpaqueAccessToken("", logtotest.DefaultResource, logtotest.DefaultResourceScope)
	if err != nil {
		log.Fatal(err)
	}

	form := url.Values{"token": {tok}}
	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token/introspection", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.M2MClientID(), p.M2MClientSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Active bool   `json:"active"`
		Aud    string `json:"aud"`
		Scope  string `json:"scope"`
		Sub    string `json:"sub"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer.Active, answer.Aud, answer.Scope, answer.Sub)
	// Output: true https://api.example.com read:messages dev-user-1
}
