// Command m2m gets an access token for a program that acts for no user (a
// Logto machine-to-machine app) through package m2m, and prints it as one
// JSON line.
//
//	go run ./examples/m2m -resource https://api.example.com
//	go run ./examples/m2m -organization org-1 -repeat 5
//	go run ./examples/m2m -subject-token "$PAT" -subject-token-type urn:logto:token-type:personal_access_token -resource https://api.example.com
//
// With no LOGTO_ENDPOINT it starts the in-process dev provider (logtotest)
// and uses its machine-to-machine app. The flags, variables and output are
// a contract that outside tests drive; see CONTRACT.md.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/m2m"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	resources                      listFlag
	organization, scope            string
	subjectToken, subjectTokenType string
	actorToken, actorTokenType     string
	repeat                         int
	get                            string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("m2m", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.resources, "resource", "API resource indicator (repeatable; Logto takes one per token)")
	fs.StringVar(&o.organization, "organization", "", "organization ID, for an organization token")
	fs.StringVar(&o.scope, "scope", "", `scopes, space-separated ("read:messages write:messages")`)
	fs.StringVar(&o.subjectToken, "subject-token", "", "exchange this token (RFC 8693) instead of client credentials")
	fs.StringVar(&o.subjectTokenType, "subject-token-type", "", "the subject token's type ("+m2m.PersonalAccessToken+", "+m2m.AccessToken+")")
	fs.StringVar(&o.actorToken, "actor-token", "", "the actor's token, for delegation")
	fs.StringVar(&o.actorTokenType, "actor-token-type", "", "the actor token's type")
	fs.IntVar(&o.repeat, "repeat", 1, "ask for the token this many times, through the cache and token source")
	fs.StringVar(&o.get, "get", "", "call this URL with the token as a bearer and print the status and body")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if (o.actorToken != "" || o.actorTokenType != "") && o.subjectToken == "" && o.subjectTokenType == "" {
		// Without a subject there is no exchange: the actor would be
		// dropped and the app's own token handed out instead.
		return nil, errors.New("-actor-token and -actor-token-type go with -subject-token and -subject-token-type")
	}
	if o.repeat < 1 {
		return nil, errors.New("-repeat must be at least 1")
	}
	return o, nil
}

func (o *options) grant() m2m.Grant {
	scopes := strings.Fields(o.scope)
	if o.subjectToken != "" || o.subjectTokenType != "" {
		return m2m.TokenExchange{
			SubjectToken: o.subjectToken, SubjectTokenType: o.subjectTokenType,
			ActorToken: o.actorToken, ActorTokenType: o.actorTokenType,
			Resources: o.resources, OrganizationID: o.organization, Scopes: scopes,
		}
	}
	return m2m.ClientCredentials{Resources: o.resources, OrganizationID: o.organization, Scopes: scopes}
}

// countingTransport counts the token requests sent to the provider.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
		t.n.Add(1)
	}
	return t.base.RoundTrip(r)
}

// output is the one JSON line the command prints.
type output struct {
	AccessToken      string         `json:"access_token"`
	TokenType        string         `json:"token_type"`
	ExpiresIn        int64          `json:"expires_in"`
	Scope            string         `json:"scope"`
	IssuedTokenType  string         `json:"issued_token_type,omitempty"`
	Claims           map[string]any `json:"claims,omitempty"`
	ProviderRequests int64          `json:"provider_requests"`
	Get              *getResult     `json:"get,omitempty"`
}

type getResult struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "m2m:", err)
		return 2
	}
	endpoint, appID, secret := getenv("LOGTO_ENDPOINT"), getenv("LOGTO_APP_ID"), getenv("LOGTO_APP_SECRET")
	if endpoint == "" {
		if err := logtotest.LocalOnly(appID != "" || secret != ""); err != nil {
			fmt.Fprintf(stderr, "m2m: %v: set LOGTO_ENDPOINT to your Logto endpoint\n", err)
			return 2
		}
		p, err := logtotest.Start(logtotest.Options{})
		if err != nil {
			fmt.Fprintln(stderr, "m2m: starting the dev provider:", err)
			return 1
		}
		defer p.Close()
		endpoint, appID, secret = p.Endpoint(), p.M2MClientID(), p.M2MClientSecret()
	}
	counter := &countingTransport{base: http.DefaultTransport}
	client, err := m2m.New(m2m.Config{
		Endpoint: endpoint, AppID: appID, AppSecret: secret,
		HTTPClient: &http.Client{Transport: counter, Timeout: 10 * time.Second},
	})
	if err != nil {
		fmt.Fprintln(stderr, "m2m:", err)
		return 2
	}
	g := o.grant()
	ts := client.TokenSource(ctx, g)
	var tok *m2m.Token
	for range o.repeat {
		if _, err := ts.Token(); err != nil {
			return fail(stderr, err)
		}
	}
	// The token the source handed out, with the details oauth2.Token lacks
	// (scope, issued_token_type): from the cache, no further request.
	if tok, err = client.Token(ctx, g); err != nil {
		return fail(stderr, err)
	}
	out := output{
		AccessToken:     tok.AccessToken,
		TokenType:       tok.TokenType,
		Scope:           tok.Scope,
		IssuedTokenType: tok.IssuedTokenType,
		Claims:          jwtClaims(tok.AccessToken),
	}
	if !tok.Expiry.IsZero() {
		out.ExpiresIn = int64(time.Until(tok.Expiry).Round(time.Second) / time.Second)
	}
	if o.get != "" {
		res, err := call(ctx, client.Transport(g, nil, o.get), o.get)
		if err != nil {
			return fail(stderr, err)
		}
		out.Get = res
	}
	out.ProviderRequests = counter.n.Load()
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		fmt.Fprintln(stderr, "m2m:", err)
		return 1
	}
	return 0
}

// call GETs url through rt and returns the status and the body, as JSON
// when it is JSON and as a JSON string otherwise.
func call(ctx context.Context, rt http.RoundTripper, url string) (*getResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: -get %q: %w", logto.ErrInvalidRequest, url, err)
	}
	resp, err := (&http.Client{Transport: rt, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(body)
	if !json.Valid(body) {
		raw, _ = json.Marshal(string(body))
	}
	return &getResult{Status: resp.StatusCode, Body: raw}, nil
}

// fail prints one line naming the provider's error code when there is one,
// and returns the exit status 1.
func fail(stderr io.Writer, err error) int {
	var oe *logto.OAuthError
	if errors.As(err, &oe) {
		fmt.Fprintf(stderr, "m2m: the provider refused: %s: %s\n", oe.Code, oe.Description)
		return 1
	}
	fmt.Fprintln(stderr, "m2m:", err)
	return 1
}

// jwtClaims decodes a JWT's payload for display; nil when tok is not a
// JWT. The API that receives the token verifies it; this only shows it.
func jwtClaims(tok string) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}
