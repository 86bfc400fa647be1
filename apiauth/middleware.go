package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

type claimsKey struct{}

// ClaimsFrom returns the claims Middleware stored in ctx: the request's own
// copy.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// claimsContext is context.WithValue(parent, claimsKey{}, copy of claims)
// in one allocation: the request's copy of the claims lives in the context
// node itself.
type claimsContext struct {
	context.Context
	claims Claims
}

func (c *claimsContext) Value(key any) any {
	if _, ok := key.(claimsKey); ok {
		return &c.claims
	}
	return c.Context.Value(key)
}

// withClaims returns r with a copy of c in its context.
func withClaims(r *http.Request, c *Claims) *http.Request {
	return r.WithContext(&claimsContext{Context: r.Context(), claims: *c})
}

// errNoToken means the request carried no bearer token at all.
var errNoToken = errors.New("apiauth: no bearer token")

// errBadRequest is a malformed Authorization header (RFC 6750 3.1
// invalid_request).
type errBadRequest string

func (e errBadRequest) Error() string { return "apiauth: " + string(e) }

// Middleware admits requests carrying a valid bearer access token of the
// API in the Authorization header (RFC 6750 section 2.1; tokens in forms or
// queries are ignored), as Validate judges it, and puts its claims in the
// request context, where ClaimsFrom finds them. Other requests get the
// answer WriteError gives. Organization-scoped tokens are refused: serve
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
			WriteError(w, err)
			return
		}
		c, err := v.validate(r.Context(), raw, routeOf(r))
		if err != nil {
			WriteError(w, err)
			return
		}
		next.ServeHTTP(w, withClaims(r, c))
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
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(scopes, false)
}

// RequireAnyScope admits requests whose token grants at least one of scopes.
func RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	return requireScopes(scopes, true)
}

func requireScopes(scopes []string, anyOf bool) func(http.Handler) http.Handler {
	scopes = append([]string(nil), scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				WriteError(w, errNoToken) // Middleware missing: fail closed
				return
			}
			if !hasScopes(c, scopes, anyOf) {
				WriteError(w, &scopeError{scopes: scopes, any: anyOf})
				return
			}
			next.ServeHTTP(w, r)
		})
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
//     401 invalid_token;
//   - ErrInsufficientScope: 403 insufficient_scope naming the scopes;
//   - ErrProvider: 503 temporarily_unavailable. The provider's keys cannot
//     be had, so no token can be judged; this is an outage, not the
//     client's fault, and the client may retry.
func WriteError(w http.ResponseWriter, err error) {
	var (
		status      = http.StatusUnauthorized
		code        string
		desc        string
		extraParams string
		te          *tokenError
		se          *scopeError
		br          errBadRequest
	)
	switch {
	case errors.Is(err, errNoToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		writeJSON(w, status, "invalid_request", "a bearer access token is required")
		return
	case errors.As(err, &br):
		status, code, desc = http.StatusBadRequest, "invalid_request", string(br)
	case errors.As(err, &se):
		status, code, desc = http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope"
		extraParams = `, scope="` + quote(strings.Join(se.scopes, " ")) + `"`
	case errors.Is(err, ErrProvider):
		w.Header().Set("Retry-After", "10")
		writeJSON(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the token signing keys are unavailable")
		return
	case errors.As(err, &te):
		code, desc = "invalid_token", te.reason
	default:
		code, desc = "invalid_token", "the access token is invalid"
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="api", error="`+code+`", error_description="`+quote(desc)+`"`+extraParams)
	writeJSON(w, status, code, desc)
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
