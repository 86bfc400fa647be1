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
// Opaque (non-JWT) access tokens are refused unless Config.Introspection
// holds the API's client credentials: they are then checked at the
// provider's introspection endpoint (RFC 7662) and must pass what a JWT
// passes (active, token_type Bearer, aud holding Config.Audience, exp, iss
// when present). One request per token at a time, however many requests
// bring it; an active answer is remembered until the token's exp, at most
// Introspection.CacheTTL (5 minutes by default), a refusal for
// IntrospectionNegativeTTL; a provider that cannot answer is an outage
// (503), never the client's fault. A bearer value with the shape of a JWT
// is never sent to the provider.
//
// Several tenants: Config.Issuers adds Logto tenants whose tokens the API
// takes. A JWT goes to the issuer its iss claim names and is verified with
// that issuer's keys alone, so no tenant's key signs for another; each
// issuer has its own discovery, key set and outages (one tenant's keys
// down is 503 for its tokens only), and Claims.Issuer says which tenant
// vouched for a token. Opaque tokens name no issuer: one issuer at most
// may introspect them. Config.ProviderURL (IssuerConfig.ProviderURL for the
// others) reaches a provider at an internal URL, a container's say, while
// its metadata and tokens must still name the public issuer.
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
// Protected Resource Metadata (RFC 9728): ResourceMetadataHandler serves
// the API's metadata document, which names Logto as the authorization
// server for the API; with Config.Metadata.BaseURL set, every challenge
// (401, and 403 insufficient_scope) carries
// resource_metadata="<metadata URL>", so a client that knows only the
// API's URL can find where to get a token.
//
// # Protecting an MCP server
//
// The Model Context Protocol's authorization builds on exactly this: an
// AI client calls the MCP server's HTTP endpoint without a token, reads
// resource_metadata in the 401, fetches the metadata, finds Logto's issuer
// in authorization_servers, discovers Logto's endpoints from the issuer's
// /.well-known/openid-configuration, signs the user in with the MCP
// server's URL as the resource (RFC 8707), and calls again with the
// token. For that:
//
//   - register the MCP server in Logto as an API resource whose indicator
//     is the server's URL as clients call it, and make that
//     Config.Audience and Config.Metadata.BaseURL: a client checks that
//     the metadata's resource is the URL it called (RFC 9728 section 3.3);
//   - serve ResourceMetadataHandler at ResourceMetadataURL's path, without
//     Middleware;
//   - wrap the MCP endpoint with Middleware (and RequireScopes for the
//     scopes the server's tools need, listed in Config.Metadata.Scopes).
//
// How the AI client gets its client ID (an app registered in Logto
// beforehand, say) is between it and Logto. The package-level Example_mcp
// shows the wiring.
//
// Refused requests are answered in a few generic words; with
// Config.Logger set, the reason (never the token) goes to the server's log.
//
// Non-goals: revocation of JWTs (a revoked JWT stays valid until it
// expires; a revoked opaque token until its cached answer ends), DPoP and
// mTLS-bound tokens (an introspected token bound to a key is refused).
package apiauth
