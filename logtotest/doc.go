// Package logtotest runs an in-process, Logto-compatible OpenID provider, so
// apps and tests can sign in with no account anywhere.
//
// The shortest use, in a test:
//
//	p := logtotest.NewTestProvider(t, logtotest.Options{})
//	// Point the SDK at p.Endpoint() with p.ClientID() and p.ClientSecret(),
//	// build its sign-in URL, then let the provider play the browser:
//	callback, err := p.Authorize(ctx, signInURL)
//	// ... hand callback to the SDK's callback handler.
//
// Outside tests, [Start] listens on Options.Addr and [Provider.Close] stops it;
// a [Provider] is also a plain [net/http.Handler] (see [New] and
// [Provider.SetBaseURL]) that serves everything under "/oidc".
//
// The provider mimics Logto and the node oidc-provider engine it is built on:
// discovery at <endpoint>/oidc/.well-known/openid-configuration, issuer
// <endpoint>/oidc, ES384 (P-384) signatures by default, PKCE (S256) required,
// opaque access tokens from the code exchange (good for /oidc/me only), JWT
// access tokens for API resources and organizations minted with the refresh
// token grant, refresh tokens only for offline_access with prompt=consent,
// refresh-token rotation where reuse revokes the whole grant, and the
// userinfo-only claims custom_data, identities and organization_data.
//
// Step-up authentication works as with Logto: acr_values (of [ACR1FA] and
// [ACRMFA]) make the ID token and the JWT access tokens of the sign-in say
// acr and amr, ACRMFA only for a user with User.MFA; auth_time is when the
// sign-in happened, and refreshes keep it. The provider keeps no sign-in of
// its own, so every sign-in authenticates the user afresh and any max_age
// is met.
//
// Pushed authorization requests (RFC 9126) work as with oidc-provider: a
// client posts its authorization request to <endpoint>/oidc/request,
// authenticated as at the token endpoint, and sends the browser to the
// authorization endpoint with only its client_id and the request_uri it
// got, single-use and good for 60 seconds. Options.RequirePAR refuses any
// other authorization request.
//
// By default there is no sign-in page: every valid authorization request is
// approved at once for the configured [User], which is what tests want.
// Counters ([Provider.Requests], [Provider.Grants]), recorded requests and
// [Faults] let tests check and break what the client sees.
//
// An app run by hand, whose user should see each step, sets
// Options.SignInPage: a valid authorization request then gets a plain HTML
// page (no password, no script) that offers the configured user, any
// Options.ExtraUsers (such as [SecondUser]) and Cancel, which sends
// access_denied back to the app; prompt=none gets login_required, since the
// provider keeps no sign-in of its own; and sign-out shows a "signed out"
// page with a link back to the app. The page's form posts only an opaque,
// single-use interaction ID, good for 10 minutes, and the choice; the
// validated request stays on the provider, and cross-origin posts are
// refused.
//
// Beyond the browser, the provider registers two more applications, as a
// Logto tenant would. The machine-to-machine one ([Provider.M2MClientID],
// [Provider.M2MClientSecret]) gets JWT access tokens for itself with the
// client_credentials grant, for an API resource its roles cover or an
// organization it belongs to (Options.M2MResourceScopes,
// Options.M2MOrganizations). The native one ([Provider.NativeClientID]) is
// a public client, as a command-line tool is: no secret, PKCE, redirect
// URIs http://127.0.0.1:<port>/callback and http://[::1]:<port>/callback
// whatever the port, refresh tokens that rotate; it alone may use the
// device authorization grant (RFC 8628). A device asks at
// <endpoint>/oidc/device/auth, a person enters the user code at the
// verification page <endpoint>/oidc/device (shown whether or not
// SignInPage is set) and picks a user or denies, and the device's polls get
// authorization_pending, slow_down, access_denied, expired_token or the
// tokens; in a test, [Provider.ApproveDevice] and [Provider.DenyDevice]
// play the person and [Provider.DevicePolls] tells when the device polled.
// Token exchange (RFC 8693), for the applications
// Options.TokenExchangeClients allows, trades a user's personal access
// token ([Provider.MintPersonalAccessToken]) or a single-use impersonation
// subject token ([Provider.MintSubjectToken]) for an access token of that
// user, with an act claim when an actor token is given.
//
// The introspection endpoint (RFC 7662, <endpoint>/oidc/token/introspection,
// in discovery) answers any confidential application that authenticates:
// opaque access tokens and refresh tokens still good are active, with sub,
// client_id, scope, exp, iss (and aud, iat, token_type Bearer for access
// tokens), anything else {"active": false}, and a JWT unsupported_token_type,
// as oidc-provider does. [Provider.MintOpaqueAccessToken] makes an opaque
// access token of an API resource, for an API that must introspect;
// Faults.IntrospectionStatus, IntrospectionDelay and IntrospectionClaims
// break or edit the answers.
//
// A Provider is safe for concurrent use.
package logtotest
