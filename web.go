package logto

import (
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/seed098cf14d/logto/internal/httpx"
)

// WebHandlers serves sign-in, callback and sign-out as http.Handlers and
// guards pages with RequireAuth, for any router that speaks net/http (chi
// directly; gin through gin.WrapH, echo through echo.WrapHandler). Every
// handler sends Cache-Control: no-store.
type WebHandlers struct {
	// App is the application. Required.
	App *App
	// Storage returns the session storage of a request. Required;
	// SessionStorageFunc builds one from a gorilla store.
	Storage func(w http.ResponseWriter, r *http.Request) Storage
	// SignInOptions are the defaults for every sign-in.
	SignInOptions SignInOptions
	// SignOutOptions are the defaults for every sign-out.
	SignOutOptions SignOutOptions
	// SignInPath is where RequireAuth sends the browser; default "/sign-in".
	SignInPath string
	// AfterSignIn is where the callback goes when the sign-in named no
	// return path; default "/".
	AfterSignIn string
	// ErrorHandler answers failures; nil means WriteErrorPage's small HTML
	// page (with SignInPath as its "Sign in again" link). Whichever answers,
	// the failure is logged first (App.Logger).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// SessionStorageFunc returns a WebHandlers.Storage keeping sessions in store
// under name (DefaultSessionName when empty).
func SessionStorageFunc(store sessions.Store, name string) func(http.ResponseWriter, *http.Request) Storage {
	return func(w http.ResponseWriter, r *http.Request) Storage {
		return NewSessionStorage(store, w, r, name)
	}
}

// Client returns the client for one request.
func (h *WebHandlers) Client(w http.ResponseWriter, r *http.Request) *Client {
	return h.App.Client(h.Storage(w, r))
}

// SignIn redirects to the provider. The query may carry return_to (honoured
// only when IsSafeReturnPath), interaction_mode and first_screen (honoured
// when they are values Logto knows), and, for step-up authentication,
// acr_values and max_age, which are passed on to the provider and then
// checked at the callback (SignInOptions.ACRValues and MaxAge):
//   - max_age is a whole number of seconds, 0 or more, in decimal digits;
//     a larger one than SignInOptions.MaxAge gives way to it;
//   - acr_values are space-separated, each printable ASCII without quotes
//     or backslashes, all of them at most 256 bytes; with
//     SignInOptions.ACRValues set, each must be one of those.
//
// A link can so ask for a fresher or stronger sign-in than the defaults,
// never a weaker one. Either parameter given more than once, or a value
// that does not fit, is answered 400 (ErrInvalidRequest, through
// WriteError); an empty one counts as absent.
func (h *WebHandlers) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		opts := h.SignInOptions
		q := r.URL.Query()
		if err := stepUpFromQuery(q, &opts); err != nil {
			h.WriteError(w, r, err)
			return
		}
		if rt := q.Get("return_to"); IsSafeReturnPath(rt) {
			opts.ReturnTo = rt
		}
		if m := q.Get("interaction_mode"); m == InteractionModeSignIn || m == InteractionModeSignUp {
			opts.InteractionMode = m
			if m == InteractionModeSignUp && opts.FirstScreen == "" {
				opts.FirstScreen = FirstScreenRegister
			}
		}
		for _, fs := range knownFirstScreens {
			if q.Get("first_screen") == fs {
				opts.FirstScreen = fs
			}
		}
		authURL, err := h.Client(w, r).SignIn(r.Context(), opts)
		if err != nil {
			h.WriteError(w, r, err)
			return
		}
		http.Redirect(w, r, authURL, http.StatusFound)
	})
}

// stepUpFromQuery sets opts' ACRValues and MaxAge from a sign-in link's
// acr_values and max_age, narrowing the defaults opts holds.
func stepUpFromQuery(q url.Values, opts *SignInOptions) error {
	for _, k := range []string{"acr_values", "max_age"} {
		if len(q[k]) > 1 {
			return wrapErr(ErrInvalidRequest, k+" is given more than once", nil)
		}
	}
	if v := q.Get("max_age"); v != "" {
		secs, ok := parseMaxAge(v)
		if !ok {
			return wrapErr(ErrInvalidRequest, fmt.Sprintf("max_age %q is not a whole number of seconds, 0 or more", v), nil)
		}
		if d := time.Duration(secs) * time.Second; opts.MaxAge == nil || d < *opts.MaxAge {
			opts.MaxAge = &d
		}
	}
	if v := q.Get("acr_values"); v != "" {
		values := strings.Fields(v)
		if err := checkACRValues(values); err != nil {
			return wrapErr(ErrInvalidRequest, "acr_values", err)
		}
		for _, a := range values {
			if len(opts.ACRValues) > 0 && !slices.Contains(opts.ACRValues, a) {
				return wrapErr(ErrInvalidRequest, fmt.Sprintf("acr_values: %q is not one of the app's %q", a, opts.ACRValues), nil)
			}
		}
		opts.ACRValues = values
	}
	return nil
}

// maxMaxAgeDigits bounds the digits of a max_age read from a link: 18
// always fit an int64, and 10 already make three centuries.
const maxMaxAgeDigits = 10

// parseMaxAge reads a max_age: decimal digits only (no sign, no space),
// small enough that its seconds make a time.Duration.
func parseMaxAge(v string) (int64, bool) {
	if v == "" || len(v) > maxMaxAgeDigits {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, n <= int64(math.MaxInt64/time.Second)
}

// Callback completes the sign-in and redirects to the saved return path or
// AfterSignIn. On any failure it answers through ErrorHandler and no session
// is established.
//
// One callback is answered otherwise: the very callback that started the
// browser's signed-in session, reloaded or opened again from the history,
// redirects to AfterSignIn, as the first visit did (the session keeps a
// digest of its state to recognise it). Its state is spent, so it is
// refused before anything is written to the session, which stays as it
// was. Any other callback with an unknown state (forged, say: login CSRF),
// a signed-out browser, and any other failure still get the error page.
func (h *WebHandlers) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		c := h.Client(w, r)
		res, err := c.HandleSignInCallback(r.Context(), r)
		if err != nil {
			if errors.Is(err, ErrInvalidState) && c.isSessionCallback(r.Context(), RequestURL(r, h.App.s.trustForwarded)) {
				http.Redirect(w, r, h.afterSignIn(), http.StatusSeeOther)
				return
			}
			h.WriteError(w, r, err)
			return
		}
		to := res.ReturnTo
		if to == "" {
			to = h.afterSignIn()
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

func (h *WebHandlers) afterSignIn() string {
	if h.AfterSignIn == "" {
		return "/"
	}
	return h.AfterSignIn
}

// SignOut revokes the refresh token, clears the session and redirects to the
// provider's end-session endpoint. A failed revocation does not stop it (it
// is logged).
//
// Only the app's own pages may sign a user out, so that another site cannot
// do it with a link, an image or a form. Route it for POST (a form button on
// the app's pages) and, if links must work, for GET:
//   - POST (and any method but GET and HEAD) passes http.CrossOriginProtection,
//     with the origin of the redirect URI trusted;
//   - GET and HEAD are refused when the browser marks the request as coming
//     from elsewhere: Sec-Fetch-Site other than same-origin or none (a typed
//     URL), or an Origin other than the app's. A request with neither header
//     (not a browser) passes.
//
// A refused request is answered 403 (ErrCrossSiteRequest, through
// WriteError) before the session is read: it stays as it was, tokens and all.
func (h *WebHandlers) SignOut() http.Handler {
	cop := http.NewCrossOriginProtection()
	if origin := h.appOrigin(); origin != nil {
		// The Origin header holds the public origin, which differs from the
		// Host header behind a proxy.
		_ = cop.AddTrustedOrigin(origin.Scheme + "://" + origin.Host)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		if err := h.checkSameOrigin(cop, r); err != nil {
			h.WriteError(w, r, err)
			return
		}
		res, err := h.Client(w, r).SignOut(r.Context(), h.SignOutOptions)
		if err != nil {
			h.WriteError(w, r, err)
			return
		}
		if res.RevocationErr != nil {
			h.App.Logger().LogAttrs(r.Context(), slog.LevelWarn, "logto: revoking the refresh token at sign-out failed",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Any("error", res.RevocationErr))
		}
		to := res.URL
		if to == "" {
			to = "/"
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// appOrigin is the app's public origin: that of the sign-in's redirect URI
// (SignInOptions, else Config), or nil when neither is set.
func (h *WebHandlers) appOrigin() *url.URL {
	raw := h.SignInOptions.RedirectURI
	if raw == "" {
		raw = h.App.s.redirectURI
	}
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		return nil
	}
	return &url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host)}
}

// checkSameOrigin refuses a request the browser marks as sent from another
// site. Unsafe methods get http.CrossOriginProtection's check; GET and HEAD,
// which it lets through, get the same test made strict.
func (h *WebHandlers) checkSameOrigin(cop *http.CrossOriginProtection, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := cop.Check(r); err != nil {
			return fmt.Errorf("%w: %w", ErrCrossSiteRequest, err)
		}
		return nil
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return fmt.Errorf("%w: Sec-Fetch-Site is %q", ErrCrossSiteRequest, site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	own := h.appOrigin()
	if own == nil {
		own = RequestURL(r, h.App.s.trustForwarded)
	}
	if o, err := url.Parse(origin); err != nil || !sameOrigin(o, own) {
		return fmt.Errorf("%w: Origin %q is not the app's", ErrCrossSiteRequest, origin)
	}
	return nil
}

// sameOrigin compares scheme, host and port (default ports made explicit).
func sameOrigin(a, b *url.URL) bool {
	return a.Host != "" && strings.EqualFold(a.Scheme, b.Scheme) && httpx.HostPort(a) == httpx.HostPort(b)
}

// RequireAuth lets signed-in requests through. Others are redirected to
// SignInPath with a return_to of the page they asked for when the method is
// GET or HEAD, and answered 401 otherwise.
func (h *WebHandlers) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, err := h.Client(w, r).IsAuthenticated(r.Context())
		if err != nil {
			h.WriteError(w, r, err)
			return
		}
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.WriteError(w, r, ErrNotAuthenticated)
			return
		}
		path := h.signInPath()
		if rt := r.URL.RequestURI(); IsSafeReturnPath(rt) {
			path += "?return_to=" + url.QueryEscape(rt)
		}
		noStore(w)
		http.Redirect(w, r, path, http.StatusFound)
	})
}

// WriteError answers a failure the way the handlers do: it logs err with
// LogError (the request's method and path, at the level Config.Logger
// describes, unless the package logged it already), then answers through
// ErrorHandler, or with the page of WriteErrorPage. The page never shows
// err's text, which may name internal hosts and addresses, or the issuer
// and audience of a refused token; the log has it.
func (h *WebHandlers) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	h.LogError(r, err)
	if h.ErrorHandler != nil {
		h.ErrorHandler(w, r, err)
		return
	}
	writeErrorPage(w, err, h.signInPath())
}

func (h *WebHandlers) signInPath() string {
	if h.SignInPath == "" {
		return "/sign-in"
	}
	return h.SignInPath
}

// WriteErrorPage answers a small HTML page with status ErrorStatus(err): the
// error's code (ErrorCode), a plain sentence about it (ErrorMessage) and
// links to "/" and "/sign-in". It never shows err's text; log that where
// only operators see it (WebHandlers.WriteError does).
func WriteErrorPage(w http.ResponseWriter, err error) {
	writeErrorPage(w, err, "/sign-in")
}

func writeErrorPage(w http.ResponseWriter, err error, signInPath string) {
	noStore(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ErrorStatus(err))
	_, _ = io.WriteString(w, `<!doctype html><meta charset="utf-8"><title>Sign-in error</title><h1>`+
		html.EscapeString(ErrorCode(err))+"</h1><p>"+html.EscapeString(ErrorMessage(err))+
		`</p><p><a href="/">Home</a> · <a href="`+html.EscapeString(signInPath)+`">Sign in again</a></p>`)
}

// ErrorMessage is a plain sentence about err's kind, fit to show a user: it
// never holds err's text (which may name internal hosts, addresses or the
// provider's own description).
func ErrorMessage(err error) string {
	var oe *OAuthError
	switch {
	case errors.Is(err, ErrNotAuthenticated):
		return "You are not signed in, or your session has ended."
	case errors.Is(err, ErrCrossSiteRequest):
		return "This request came from another site and was refused. Please use the app's own pages."
	case errors.As(err, &oe):
		switch {
		case oe.Endpoint == "authorize" && (oe.Code == "access_denied" || oe.Code == "consent_required" || oe.Code == "login_required" || oe.Code == "interaction_required"):
			return "The sign-in was cancelled or refused."
		case oe.Endpoint == "authorize":
			return "The identity provider could not complete the sign-in."
		case oe.Code == "invalid_grant":
			return "The sign-in has expired or was already used. Please sign in again."
		case oe.Code == "access_denied" || oe.Code == "insufficient_scope":
			return "You do not have access to this."
		case oe.Code == "invalid_target":
			return "This app may not ask for that resource."
		default:
			return "The identity provider could not complete the request. Please try again in a moment."
		}
	case errors.Is(err, ErrInvalidState):
		return "The sign-in link has expired or was already used."
	case errors.Is(err, ErrInvalidCallback):
		return "The answer from the identity provider was not valid. Please sign in again."
	case errors.Is(err, ErrInvalidRequest):
		return "The request was not valid."
	case errors.Is(err, ErrInsufficientUserAuthentication):
		return "This page asks for a stronger or more recent sign-in (a second factor, say) than the one just made. Sign in again."
	case errors.Is(err, ErrInvalidToken):
		return "The identity provider sent a token that could not be verified."
	case errors.Is(err, ErrDiscovery), errors.Is(err, ErrProvider):
		return "The identity provider could not be reached. Please try again in a moment."
	case errors.Is(err, ErrStorage):
		return "Your session could not be read or saved. Please try again."
	case errors.Is(err, ErrInvalidConfig):
		return "The app is not set up correctly."
	default:
		return "Something went wrong. Please try again."
	}
}

// ErrorStatus maps an error of this package to an HTTP status: 401 for
// ErrNotAuthenticated, 400 for a bad request or callback (including an error
// the provider sent back through the browser), 403 when the provider refused
// a token the user may not have (access_denied, insufficient_scope) and for
// ErrCrossSiteRequest, 401 for a sign-in weaker or older than it asked
// (ErrInsufficientUserAuthentication), 502 for
// a provider that failed or sent an invalid token, 500 for anything else.
func ErrorStatus(err error) int {
	var oe *OAuthError
	switch {
	case errors.Is(err, ErrNotAuthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrCrossSiteRequest):
		return http.StatusForbidden
	case errors.Is(err, ErrInvalidState), errors.Is(err, ErrInvalidCallback), errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.As(err, &oe) && (oe.Endpoint == "authorize" || oe.Code == "invalid_grant" || oe.Code == "invalid_target"):
		// An error the browser brought back, a code that is forged,
		// replayed or expired, or a resource the grant does not cover: the
		// request was bad, not the provider.
		return http.StatusBadRequest
	case errors.As(err, &oe) && (oe.Code == "access_denied" || oe.Code == "insufficient_scope"):
		// The user may not have this token (not a member of the
		// organization, say).
		return http.StatusForbidden
	case errors.Is(err, ErrInsufficientUserAuthentication):
		// The user's sign-in fell short: theirs to do again, as an API's
		// 401 insufficient_user_authentication asks (RFC 9470).
		return http.StatusUnauthorized
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrProvider), errors.Is(err, ErrDiscovery):
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// ErrorCode names an error's kind in snake case, for error pages and JSON
// bodies: the provider's own code for an *OAuthError, else one of
// not_authenticated, cross_site_request, invalid_state, invalid_callback, invalid_request,
// insufficient_user_authentication, invalid_token, discovery_failed, provider_error, storage_error,
// invalid_config, internal_error.
func ErrorCode(err error) string {
	var oe *OAuthError
	switch {
	case errors.Is(err, ErrNotAuthenticated):
		return "not_authenticated"
	case errors.Is(err, ErrCrossSiteRequest):
		return "cross_site_request"
	case errors.As(err, &oe):
		return oe.Code
	case errors.Is(err, ErrInvalidState):
		return "invalid_state"
	case errors.Is(err, ErrInvalidCallback):
		return "invalid_callback"
	case errors.Is(err, ErrInvalidRequest):
		return "invalid_request"
	case errors.Is(err, ErrInsufficientUserAuthentication):
		return "insufficient_user_authentication"
	case errors.Is(err, ErrInvalidToken):
		return "invalid_token"
	case errors.Is(err, ErrDiscovery):
		return "discovery_failed"
	case errors.Is(err, ErrProvider):
		return "provider_error"
	case errors.Is(err, ErrStorage):
		return "storage_error"
	case errors.Is(err, ErrInvalidConfig):
		return "invalid_config"
	default:
		return "internal_error"
	}
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// RequestURL rebuilds the absolute URL a request was sent to. The scheme is
// https under TLS, else http; the host is the Host header. With
// trustForwarded, a proxy's X-Forwarded-Proto (http or https) and
// X-Forwarded-Host (the first value of each) take precedence. Pass true only
// when every request reaches the server through a proxy that sets or strips
// these headers: any client can send them (Config.TrustForwardedHeaders).
func RequestURL(r *http.Request, trustForwarded bool) *url.URL {
	u := *r.URL
	if u.Scheme == "" {
		u.Scheme = "http"
		if r.TLS != nil {
			u.Scheme = "https"
		}
		if p := firstHeaderValue(r.Header.Get("X-Forwarded-Proto")); trustForwarded && (p == "https" || p == "http") {
			u.Scheme = p
		}
	}
	if u.Host == "" {
		u.Host = r.Host
		if h := firstHeaderValue(r.Header.Get("X-Forwarded-Host")); trustForwarded && h != "" {
			u.Host = h
		}
	}
	return &u
}

func firstHeaderValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(v))
}
