package native

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/seed098cf14d/logto"
)

// BrowserOptions configures a loopback sign-in.
type BrowserOptions struct {
	// Open shows the person the sign-in URL: prints it, or opens a browser
	// (the package never does either by itself). Required. An error from
	// it ends the sign-in.
	Open func(authURL string) error
	// ListenAddr is the loopback address to listen on; empty means
	// "127.0.0.1:0", a free port. Only loopback addresses are accepted.
	ListenAddr string
	// SignIn holds further sign-in parameters (Prompt, LoginHint,
	// FirstScreen, ...); its RedirectURI and ReturnTo are ignored.
	SignIn logto.SignInOptions
}

// LoginBrowser signs a person in with the authorization code flow and a
// loopback redirect (RFC 8252 section 7.3): it listens on
// http://127.0.0.1:<port>/callback, hands the sign-in URL to opts.Open,
// and waits for the browser to come back. Every check of the web flow
// applies: state (a request without the sign-in's state is answered 400
// and the wait goes on, so another local program cannot end it), the
// redirect URI, iss, PKCE, and the ID token in full. The browser gets a
// short page saying how it went. The listener is closed before LoginBrowser
// returns, whatever the outcome. On success the session replaces what the
// cache held.
//
// Errors: logto.ErrInvalidRequest for bad options, an *logto.OAuthError
// when the provider or the person refused, ctx's error (wrapped) when it
// ends first, and the callback's errors (logto.ErrInvalidToken, ...).
func (c *Client) LoginBrowser(ctx context.Context, opts BrowserOptions) (*logto.IDTokenClaims, error) {
	if opts.Open == nil {
		return nil, fmt.Errorf("%w: BrowserOptions.Open is required: it shows the sign-in URL", logto.ErrInvalidRequest)
	}
	addr := opts.ListenAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%w: ListenAddr %q is not a loopback IP address and port", logto.ErrInvalidRequest, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: listening for the sign-in's redirect: %w", logto.ErrInvalidRequest, err)
	}
	redirect := (&url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/callback"}).String()

	staging := NewMemoryCache()
	cl := c.app.Client(staging)
	signIn := opts.SignIn
	signIn.RedirectURI, signIn.ReturnTo = redirect, ""
	authURL, err := cl.SignIn(ctx, signIn)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}

	type outcome struct {
		claims *logto.IDTokenClaims
		err    error
	}
	done := make(chan outcome, 1)
	var one sync.Mutex // one callback at a time: the state is spent once
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/callback" || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			u := &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: r.URL.Path, RawQuery: r.URL.RawQuery}
			one.Lock()
			res, err := cl.HandleSignInCallbackURL(r.Context(), u)
			one.Unlock()
			if errors.Is(err, logto.ErrInvalidState) {
				// Not this sign-in's redirect: refuse it, keep waiting.
				writePage(w, http.StatusBadRequest, "This is not the sign-in the program is waiting for.", "")
				return
			}
			if err != nil {
				writePage(w, http.StatusBadRequest, "Sign-in failed.", logto.ErrorMessage(err))
			} else {
				writePage(w, http.StatusOK, "You are signed in.", "You can close this window and go back to the terminal.")
			}
			select {
			case done <- outcome{claimsOf(res), err}:
			default:
			}
		}),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		// Let the browser's page go out, then close the port.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-served
	}()

	if err := opts.Open(authURL); err != nil {
		return nil, fmt.Errorf("native: showing the sign-in URL: %w", err)
	}
	select {
	case o := <-done:
		if o.err != nil {
			return nil, o.err
		}
		if err := c.keep(ctx, staging); err != nil {
			return nil, err
		}
		return o.claims, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("native: waiting for the browser to come back: %w", ctx.Err())
	}
}

func claimsOf(res *logto.SignInResult) *logto.IDTokenClaims {
	if res == nil {
		return nil
	}
	return res.Claims
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1d1d1f}</style>
</head><body><h1>{{.Title}}</h1>{{if .Detail}}<p>{{.Detail}}</p>{{end}}</body></html>
`))

// writePage answers the browser with a short page that loads nothing.
func writePage(w http.ResponseWriter, status int, title, detail string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = page.Execute(w, struct{ Title, Detail string }{title, detail})
}
