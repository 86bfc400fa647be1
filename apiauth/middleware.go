package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

type claimsKey struct{}

// validatorKey finds the Validator in a request that Middleware admitted,
// for the handlers after it (RequireScopes, RequireUserAuthentication):
// its logger, clock and leeway.
type validatorKey struct{}

// ClaimsFrom returns the claims Middleware stored in ctx: the request's own
// copy.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// claimsContext is context.WithValue(parent, claimsKey{}, copy of claims)
// in one allocation: the request's copy of the claims lives in the context
// node itself, beside the Validator that checked them.
type claimsContext struct {
	context.Context
	claims Claims
	v      *Validator
}

func (c *claimsContext) Value(key any) any {
	switch key.(type) {
	case claimsKey:
		return &c.claims
	case validatorKey:
		return c.v
	}
	return c.Context.Value(key)
}

// withClaims returns r with a copy of c in its context.
func (v *Validator) withClaims(r *http.Request, c *Claims) *http.Request {
	return r.WithContext(&claimsContext{Context: r.Context(), claims: *c, v: v})
}

// errNoToken means the request carried no bearer token at all.
var errNoToken = errors.New("apiauth: no bearer token")

// errBadRequest is a malformed Authorization header (RFC 6750 3.1
// invalid_request).
type errBadRequest string

func (e errBadRequest) Error() string { return "apiauth: " + string(e) }

// middlewareMissing is the programming error of a handler that reads the
// claims Middleware stores (named by the string) running without
// Middleware before it: the server's fault, answered 500.
type middlewareMissing string

func (e middlewareMissing) Error() string {
	return "apiauth: " + string(e) + " ran without Middleware before it; wrap the handler with Validator.Middleware first" +
		" (or OrganizationMiddleware, OrganizationResourceMiddleware)"
}

// Middleware admits requests carrying a valid bearer access token of the
// API in the Authorization header (RFC 6750 section 2.1; tokens in forms or
// queries are ignored), as Validate judges it, and puts its claims in the
// request context, where ClaimsFrom finds them. Other requests get the
// answer WriteError gives, and are logged to Config.Logger with the reason
// (at the levels it lists). Organization-scoped tokens are refused: serve
// organization routes with OrganizationResourceMiddleware.
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return v.middleware(next, func(*http.Request) route { return v.resourceRoute() })
}

// OrganizationMiddleware is Middleware for organization tokens: the token's
// aud must hold "urn:logto:organization:<id>", where id is orgID(r), such as
// r.PathValue("id"). An empty id turns the request away.
func (v *Validator) OrganizationMiddleware(orgID func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return v.middleware(next, func(r *http.Request) route { return organizationTokenRoute(orgID(r)) })
	}
}

// OrganizationResourceMiddleware is Middleware for the API's organization
// routes, which take organization-scoped tokens of the API (Logto: asked
// for with both resource and organization_id): the token's aud must hold
// Config.Audience and its organization_id claim must be orgID(r), such as
// r.PathValue("id"). A token of another organization, or one without
// organization_id, gets 401 invalid_token; an empty id turns the request
// away. Check scopes with RequireScopes after it: they are what the user's
// roles in that organization give.
func (v *Validator) OrganizationResourceMiddleware(orgID func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return v.middleware(next, func(r *http.Request) route { return v.organizationResourceRoute(orgID(r)) })
	}
}

// middleware admits requests with a token the route routeOf(r) takes.
func (v *Validator) middleware(next http.Handler, routeOf func(*http.Request) route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := bearer(r)
		if err != nil {
			v.refuse(w, r, err)
			return
		}
		c, err := v.validate(r.Context(), raw, routeOf(r))
		if err != nil {
			v.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, v.withClaims(r, c))
	})
}

// bearer extracts the token of the one Authorization header.
func bearer(r *http.Request) (string, error) {
	hs := r.Header.Values("Authorization")
	switch {
	case len(hs) == 0:
		return "", errNoToken
	case len(hs) > 1:
		return "", errBadRequest("more than one Authorization header")
	}
	scheme, tok, _ := strings.Cut(hs[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errNoToken // another scheme: no bearer credentials
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", errBadRequest("malformed bearer credentials")
	}
	return tok, nil
}

// RequireScopes admits requests whose token (from Middleware, which must
// run first) grants every one of scopes; others get 403 insufficient_scope.
// Without Middleware before it, every request gets 500 server_error and
// the mistake is logged at Error to slog.Default: a programming error, not
// the client's, and never taken for a missing token.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes("RequireScopes", scopes, false)
}

// RequireAnyScope admits requests whose token grants at least one of
// scopes; it is RequireScopes otherwise, Middleware first included.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes("RequireAnyScope", scopes, true)
}

func requireScopes(name string, scopes []string, anyOf bool) func(http.Handler) http.Handler {
	scopes = append([]string(nil), scopes...)
	return requireClaims(name, func(_ *Validator, c *Claims) error {
		if !hasScopes(c, scopes, anyOf) {
			return &scopeError{scopes: scopes, any: anyOf}
		}
		return nil
	})
}

// requireClaims is a middleware named name that admits requests whose
// claims, stored by Middleware, pass check (given the Validator that
// checked them), and refuses the others with check's error. Without
// Middleware before it, every request gets 500 server_error and the
// mistake is logged at Error to slog.Default.
func requireClaims(name string, check func(*Validator, *Claims) error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			v, _ := r.Context().Value(validatorKey{}).(*Validator)
			if !ok || v == nil {
				// Fail closed. No Validator is in reach to say whose logger
				// to use; the default one is seen by whoever runs the app.
				refuse(slog.Default(), "", w, r, middlewareMissing(name))
				return
			}
			if err := check(v, c); err != nil {
				v.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refuse logs why r is turned away to v's logger and answers it as
// v.WriteError does.
func (v *Validator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	refuse(v.logger, v.metadataURL, w, r, err)
}

// refuse logs why r is turned away (Config.Logger describes the levels),
// then answers it as WriteError does, naming the resource metadata at
// metadataURL, if any, in the challenge. The record holds the method, the
// path (not the query), the status and the error, whose text never holds
// the token.
func refuse(l *slog.Logger, metadataURL string, w http.ResponseWriter, r *http.Request, err error) {
	a := answerFor(err)
	a.metadata = metadataURL
	ctx := r.Context()
	if level := logLevel(err); l.Enabled(ctx, level) {
		var mm middlewareMissing
		if errors.As(err, &mm) {
			l.LogAttrs(ctx, level, mm.Error(), slog.String("method", r.Method), slog.String("path", r.URL.Path))
		} else {
			l.LogAttrs(ctx, level, "apiauth: request refused",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", a.status),
				slog.String("error", err.Error()))
		}
	}
	a.write(w)
}

// logLevel is the level a refusal for err is logged at; Config.Logger
// says why.
func logLevel(err error) slog.Level {
	var (
		mm middlewareMissing
		te *tokenError
	)
	switch {
	case errors.As(err, &mm):
		return slog.LevelError
	case errors.Is(err, context.Canceled):
		return slog.LevelDebug // the client went away
	case errors.Is(err, ErrProvider):
		return slog.LevelWarn
	case errors.Is(err, ErrInsufficientScope), errors.Is(err, ErrInsufficientUserAuthentication):
		return slog.LevelInfo
	case errors.As(err, &te):
		if te.setup {
			return slog.LevelWarn
		}
		return slog.LevelDebug
	case errors.Is(err, errNoToken), errors.As(err, new(errBadRequest)):
		return slog.LevelDebug
	default:
		return slog.LevelWarn // not a refusal this package knows
	}
}

func hasScopes(c *Claims, scopes []string, anyOf bool) bool {
	for _, s := range scopes {
		if c.HasScope(s) == anyOf {
			return anyOf
		}
	}
	return !anyOf || len(scopes) == 0
}

// WriteError answers a request that err, from this package, turned away.
// It is the one place errors map to RFC 6750 section 3 answers, with JSON
// bodies {"error", "error_description"}:
//
//   - no bearer token: 401 with the bare challenge Bearer realm="api";
//   - a malformed Authorization header: 400 invalid_request;
//   - an invalid token (ErrInvalidToken, and any error it does not know):
//     401 invalid_token, with the reason in a few words ("wrong issuer"),
//     never the values the error names;
//   - ErrInsufficientScope: 403 insufficient_scope naming the scopes;
//   - ErrInsufficientUserAuthentication: 401
//     insufficient_user_authentication with the acr_values and max_age the
//     route wants (RFC 9470 section 3);
//   - ErrProvider: 503 temporarily_unavailable. The provider's keys, or
//     its introspection endpoint, cannot be had, so the token cannot be
//     judged; this is an outage, not the client's fault, and the client
//     may retry.
//   - a handler that needs Middleware running without it (RequireScopes
//     alone): 500 server_error, with no challenge: the server's fault.
//
// It logs nothing; the middlewares log before they call it.
// Validator.WriteError adds the resource metadata to the challenge.
func WriteError(w http.ResponseWriter, err error) {
	answerFor(err).write(w)
}

// WriteError is the package's WriteError with, when Config.Metadata has a
// BaseURL, resource_metadata in every challenge (RFC 9728 section 5.1), as
// the middlewares answer: for an app that calls Validate itself.
func (v *Validator) WriteError(w http.ResponseWriter, err error) {
	a := answerFor(err)
	a.metadata = v.metadataURL
	a.write(w)
}

// answer is the HTTP answer to a refusal.
type answer struct {
	status    int
	code      string
	desc      string
	challenge string // WWW-Authenticate; "" for none
	retry     bool   // Retry-After: 10
	metadata  string // the resource metadata's URL, for the challenge; "" for none
}

// answerFor maps err to its answer, as WriteError describes.
func answerFor(err error) answer {
	var (
		te *tokenError
		se *scopeError
		ue *userAuthError
		br errBadRequest
		mm middlewareMissing
	)
	challenge := func(code, desc, extra string) string {
		return `Bearer realm="api", error="` + code + `", error_description="` + quote(desc) + `"` + extra
	}
	switch {
	case errors.As(err, &mm):
		return answer{status: http.StatusInternalServerError, code: "server_error", desc: "the server could not process the request"}
	case errors.Is(err, errNoToken):
		return answer{status: http.StatusUnauthorized, code: "invalid_request", desc: "a bearer access token is required", challenge: `Bearer realm="api"`}
	case errors.As(err, &br):
		return answer{status: http.StatusBadRequest, code: "invalid_request", desc: string(br), challenge: challenge("invalid_request", string(br), "")}
	case errors.As(err, &se):
		const desc = "the access token lacks a required scope"
		return answer{status: http.StatusForbidden, code: "insufficient_scope", desc: desc,
			challenge: challenge("insufficient_scope", desc, `, scope="`+quote(strings.Join(se.scopes, " "))+`"`)}
	case errors.As(err, &ue):
		const code = "insufficient_user_authentication"
		return answer{status: http.StatusUnauthorized, code: code, desc: ue.description(),
			challenge: challenge(code, ue.description(), ", "+ue.req.params())}
	case errors.Is(err, ErrProvider):
		return answer{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "the authorization server cannot be reached to check the token", retry: true}
	case errors.As(err, &te):
		return answer{status: http.StatusUnauthorized, code: "invalid_token", desc: te.reason, challenge: challenge("invalid_token", te.reason, "")}
	default:
		const desc = "the access token is invalid"
		return answer{status: http.StatusUnauthorized, code: "invalid_token", desc: desc, challenge: challenge("invalid_token", desc, "")}
	}
}

func (a answer) write(w http.ResponseWriter) {
	if a.challenge != "" {
		c := a.challenge
		if a.metadata != "" {
			c += `, resource_metadata="` + quote(a.metadata) + `"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	if a.retry {
		w.Header().Set("Retry-After", "10")
	}
	writeJSON(w, a.status, a.code, a.desc)
}

// quote makes s safe inside a quoted-string: printable ASCII only, with
// quotes and backslashes escaped.
func quote(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
