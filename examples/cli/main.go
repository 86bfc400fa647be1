// Command cli signs a person in from a terminal as a Logto native app (a
// public client: no secret, PKCE) through package native, and hands out
// their tokens:
//
//	go run ./examples/cli login --device     # approve on another device
//	go run ./examples/cli login --browser    # a loopback redirect
//	go run ./examples/cli whoami
//	go run ./examples/cli token -resource https://api.example.com
//	go run ./examples/cli logout
//
// With no LOGTO_ENDPOINT the in-process dev provider serves each command.
// It lives only as long as the command, so a later command uses what the
// cache holds (claims, unexpired tokens) and cannot refresh: point
// LOGTO_ENDPOINT at a real provider for that. The commands, variables and
// output are a contract that outside tests drive; see CONTRACT.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/native"
)

// devResource is the API resource the dev provider knows.
const devResource = "https://api.example.com"

const usage = `usage: cli COMMAND
  login --device | --browser   sign in
  whoami                       the signed-in person's ID-token claims
  token [-resource R] [-organization O]
                               an access token
  logout                       revoke the refresh token, delete the cache`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("cli "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var device, browser bool
	var resource, organization string
	switch cmd {
	case "login":
		fs.BoolVar(&device, "device", false, "the device authorization grant (RFC 8628)")
		fs.BoolVar(&browser, "browser", false, "the browser, with a loopback redirect (RFC 8252)")
	case "token":
		fs.StringVar(&resource, "resource", "", "API resource indicator")
		fs.StringVar(&organization, "organization", "", "organization ID")
	case "whoami", "logout":
	default:
		fmt.Fprintf(stderr, "cli: unknown command %q\n%s\n", cmd, usage)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (cmd == "login" && device == browser) {
		fmt.Fprintln(stderr, usage)
		return 2
	}

	client, dev, cleanup, err := newClient(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "cli:", err)
		return 2
	}
	defer cleanup()

	switch cmd {
	case "login":
		var claims *logto.IDTokenClaims
		if device {
			claims, err = client.LoginDevice(ctx, native.DeviceOptions{Show: func(d *logto.DeviceAuthorization) error {
				fmt.Fprintf(stderr, "visit %s and enter %s\n", d.VerificationURI, d.UserCode)
				if d.VerificationURIComplete != "" {
					fmt.Fprintf(stderr, "or open %s\n", d.VerificationURIComplete)
				}
				return nil
			}})
		} else {
			claims, err = client.LoginBrowser(ctx, native.BrowserOptions{Open: func(u string) error {
				_, err := fmt.Fprintf(stderr, "open %s\n", u)
				return err
			}})
		}
		if err != nil {
			return fail(stderr, err)
		}
		// With the dev provider, which ends with this command and its
		// refresh tokens with it, get the resource tokens now, so that
		// later commands find them in the cache (for their hour).
		for _, r := range dev {
			if _, err := client.AccessToken(ctx, r, ""); err != nil {
				return fail(stderr, err)
			}
		}
		fmt.Fprintf(stdout, "signed in as %s\n", claims.Subject)
	case "whoami":
		claims, err := client.IDTokenClaims(ctx)
		if err != nil {
			return fail(stderr, err)
		}
		raw, err := claims.Extra()
		if err != nil {
			return fail(stderr, err)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(raw); err != nil {
			return fail(stderr, err)
		}
	case "token":
		tok, err := client.AccessToken(ctx, resource, organization)
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintln(stdout, tok.Token)
	case "logout":
		if err := client.Logout(ctx); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintln(stdout, "signed out")
	}
	return 0
}

// newClient builds the native client from the environment, starting the
// dev provider when no endpoint is set; then dev lists the resources the
// client asks for.
func newClient(getenv func(string) string) (client *native.Client, dev []string, cleanup func(), err error) {
	endpoint, appID := getenv("LOGTO_ENDPOINT"), getenv("LOGTO_APP_ID")
	scopes, resources := list(getenv("LOGTO_SCOPES")), list(getenv("LOGTO_RESOURCES"))
	cleanup = func() {}
	cacheKey := endpoint
	if endpoint == "" {
		if err := logtotest.LocalOnly(appID != ""); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: set LOGTO_ENDPOINT to your Logto endpoint", err)
		}
		p, err := logtotest.Start(logtotest.Options{})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("starting the dev provider: %w", err)
		}
		cleanup = func() { _ = p.Close() }
		endpoint, appID = p.Endpoint(), p.NativeClientID()
		if len(resources) == 0 {
			// What the dev provider offers, so that token -resource and
			// -organization work out of the box.
			resources = []string{devResource}
			scopes = append(scopes, logto.ScopeOrganizations)
		}
		// The dev provider's port changes with every run: one cache for it.
		cacheKey = "logtotest"
		dev = resources
	}
	path := getenv("LOGTO_CLI_CACHE")
	if path == "" {
		var err error
		if path, err = native.DefaultCachePath(cacheKey, appID); err != nil {
			cleanup()
			return nil, nil, nil, err
		}
	}
	cache, err := native.NewFileCache(path)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	client, err = native.New(native.Config{
		Endpoint:  endpoint,
		AppID:     appID,
		Scopes:    scopes,
		Resources: resources,
		Cache:     cache,
	})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return client, dev, cleanup, nil
}

// list splits a space- or comma-separated list.
func list(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
}

// fail prints one line naming what went wrong (the provider's error code
// when there is one) and returns the exit status 1.
func fail(stderr io.Writer, err error) int {
	var oe *logto.OAuthError
	switch {
	case errors.As(err, &oe):
		fmt.Fprintf(stderr, "cli: %s: %s\n", oe.Code, oe.Description)
	case errors.Is(err, logto.ErrNotAuthenticated):
		fmt.Fprintln(stderr, "cli: not signed in: run `cli login --device` or `cli login --browser`")
	case errors.Is(err, logto.ErrInvalidRequest):
		fmt.Fprintf(stderr, "cli: %v (resources are asked for at sign-in: list them in LOGTO_RESOURCES)\n", err)
	default:
		fmt.Fprintln(stderr, "cli:", err)
	}
	return 1
}
