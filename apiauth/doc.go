// Package apiauth protects a Go API with Logto access tokens: bearer-token
// validation and net/http middleware.
//
// The shortest use:
//
//	v, err := apiauth.NewValidator(apiauth.Config{
//		Endpoint: "https://tenant.logto.app",
//		Audience: "https://api.example.com",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle("GET /api/private", v.Middleware(apiauth.RequireScopes("read:messages")(h)))
//
// Tokens are JWT access tokens (RFC 9068: the typ header at+jwt is
// required, so no other JWT the provider signs passes for one) signed with
// an asymmetric algorithm the provider advertises in its discovery
// document; the keys come from the discovery's jwks_uri, fetched lazily and
// cached (internal/jwks: a TTL from Cache-Control, a rationed refetch for an
// unknown key ID). Every check that needs no I/O (form, type, algorithm,
// issuer, audience, lifetime) runs before any key lookup, so a bad token
// never causes a fetch. A token that passed once is remembered, keyed by
// its SHA-256, until it expires or the key that signed it leaves the
// provider's key set (as last fetched), so repeated requests with the same
// token skip the signature check.
//
// Organizations: Logto issues two kinds of tokens for them. An organization
// token has aud "urn:logto:organization:<id>" (OrganizationMiddleware); an
// organization-scoped token of an API resource has the API as aud and an
// organization_id claim (OrganizationResourceMiddleware). The scopes of the
// latter are what the user's roles in that one organization give, so
// Middleware and Validate refuse any token with organization_id: a route
// that knows no organization would grant them everywhere.
//
// Step-up authentication (RFC 9470): RequireUserAuthentication, after
// Middleware, asks for a token from a sign-in of a given strength (acr,
// such as Logto's "urn:logto:acr:mfa") or recentness (auth_time), and
// answers the others 401 insufficient_user_authentication with the
// acr_values and max_age a client needs to sign the user in again:
//
//	mfa := apiauth.RequireUserAuthentication(apiauth.AuthenticationRequirement{
//		ACRValues: []string{"urn:logto:acr:mfa"},
//	})
//	mux.Handle("POST /api/transfers", v.Middleware(mfa(h)))
//
// Refused requests are answered in a few generic words; with
// Config.Logger set, the reason (never the token) goes to the server's log.
//
// Non-goals: opaque tokens and token introspection, revocation (a revoked
// JWT stays valid until it expires), DPoP and mTLS-bound tokens.
package apiauth
