package logtotest

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied by [New] to zero-valued [Options] fields.
const (
	DefaultClientID        = "dev-app"
	DefaultClientSecret    = "dev-secret"
	DefaultResource        = "https://api.example.com"
	DefaultResourceScope   = "read:messages"
	DefaultOrgScope        = "read:members"
	DefaultSigningAlg      = "ES384"
	DefaultAccessTokenTTL  = time.Hour
	DefaultIDTokenTTL      = time.Hour
	DefaultRefreshTokenTTL = 14 * 24 * time.Hour

	DefaultM2MClientID        = "dev-m2m"        // Options.M2MClientID
	DefaultM2MClientSecret    = "dev-m2m-secret" // Options.M2MClientSecret
	DefaultNativeClientID     = "dev-native"     // Options.NativeClientID
	DefaultDeviceCodeTTL      = 10 * time.Minute // Options.DeviceCodeTTL
	DefaultDevicePollInterval = 5 * time.Second  // Options.DevicePollInterval
)

// OrganizationsResource is the reserved resource indicator Logto wants in
// the authorization request whenever the scope urn:logto:scope:organizations
// is asked for. The provider always knows it, but never mints a token for it.
const OrganizationsResource = "urn:logto:resource:organizations"

// Logto's user scopes, which select claims in ID tokens and userinfo.
const (
	ScopeOpenID            = "openid"
	ScopeOfflineAccess     = "offline_access"
	ScopeProfile           = "profile"
	ScopeEmail             = "email"
	ScopePhone             = "phone"
	ScopeRoles             = "roles"
	ScopeCustomData        = "custom_data"
	ScopeIdentities        = "identities"
	ScopeOrganizations     = "urn:logto:scope:organizations"
	ScopeOrganizationRoles = "urn:logto:scope:organization_roles"
)

// User is the account the provider signs in. Fields map to Logto's claims.
type User struct {
	Subject             string // "sub"
	Name                string // "name" (scope profile)
	Username            string // "username" (scope profile)
	Picture             string // "picture" (scope profile)
	Email               string // "email" (scope email)
	EmailVerified       bool   // "email_verified" (scope email)
	PhoneNumber         string // "phone_number" (scope phone)
	PhoneNumberVerified bool   // "phone_number_verified" (scope phone)
	Roles               []string
	// Organizations lists the IDs of the organizations the user belongs to;
	// it decides who may get an organization token.
	Organizations []string
	// OrganizationRoles are "<orgId>:<role>" pairs.
	OrganizationRoles []string
	// OrganizationData is userinfo's organization_data, typically
	// [{"id":..., "name":..., "description":...}].
	OrganizationData []map[string]any
	// CustomData is userinfo's custom_data (scope custom_data).
	CustomData map[string]any
	// Identities is userinfo's identities (scope identities).
	Identities map[string]any
	// MFA says the user has a second factor (an authenticator app, say),
	// which a sign-in uses when its acr_values ask for [ACRMFA]: the
	// tokens then say acr ACRMFA and amr ["pwd","otp","mfa"] (as Logto). Without it such a
	// sign-in is [ACR1FA] with amr ["pwd"]: acr_values only ask, and the
	// tokens tell what happened. [DefaultUser] has it; [SecondUser] has not.
	MFA bool
}

// DefaultUser returns the user signed in when Options.User is nil.
func DefaultUser() User {
	return User{
		Subject:           "dev-user-1",
		Name:              "Dev User",
		Username:          "dev",
		Email:             "dev@example.com",
		EmailVerified:     true,
		Organizations:     []string{DefaultOrganization},
		OrganizationRoles: []string{DefaultOrganization + ":admin"},
		MFA:               true,
	}
}

// SecondUser returns a ready-made second account for Options.ExtraUsers:
// "Second User", subject "dev-user-2", in no organization. With
// Options.SignInPage, it lets a newcomer see that the app signs in whoever
// the provider says, not always the same account.
func SecondUser() User {
	return User{
		Subject:           "dev-user-2",
		Name:              "Second User",
		Username:          "second",
		Email:             "second@example.com",
		EmailVerified:     true,
		Organizations:     []string{},
		OrganizationRoles: []string{},
	}
}

// DefaultOrganization is the organization the DefaultUser belongs to, as
// an admin.
const DefaultOrganization = "org-1"

// Options configures a [Provider]. The zero value is a working provider with
// three applications (a web app, a machine-to-machine app and a native
// app, see [Provider.ClientID], [Provider.M2MClientID] and
// [Provider.NativeClientID]), the [DefaultUser] and one API resource.
//
// For the slice and map fields, nil means "use the default"; a non-nil empty
// value means "none".
type Options struct {
	// ClientID and ClientSecret are the web application's, a confidential
	// client that signs users in (authorization_code and refresh_token
	// grants); defaults "dev-app" and "dev-secret".
	ClientID, ClientSecret string
	// RedirectURIs are the web application's registered redirect URIs,
	// compared exactly. Empty accepts any absolute http or https URI.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the registered post-logout redirect URIs.
	// Empty accepts any absolute http or https URI.
	PostLogoutRedirectURIs []string
	// User is the account signed in; nil means [DefaultUser]. A given User
	// is used as is, except that an empty Subject becomes "dev-user-1".
	// Without SignInPage, every authorization is approved for this user.
	User *User
	// ExtraUsers are further accounts the sign-in page (see SignInPage)
	// offers after User, in order; [SecondUser] is a ready-made one. Each
	// needs a non-empty Subject that differs from User's and from every
	// other's, or [New] fails. Tokens and userinfo answers of a grant carry
	// the claims of the user it was approved for. Without SignInPage
	// nobody can pick them.
	ExtraUsers []User
	// SignInPage, when true, makes the provider show a person what happens:
	// the authorization endpoint answers a valid request with a sign-in
	// page (pick User or one of ExtraUsers, no password, or cancel, which
	// returns access_denied to the client) instead of approving it at
	// once, prompt=none gets login_required as the provider keeps no
	// sign-in of its own, and the end-session endpoint shows a "signed
	// out" page with a link back to the app instead of redirecting
	// silently. Meant for apps run by hand; tests that let
	// [Provider.Authorize] play the browser leave it off.
	SignInPage bool
	// RequirePAR makes the authorization endpoint take only requests pushed
	// before to the PAR endpoint (RFC 9126, <endpoint>/oidc/request, which
	// is always there): a plain authorization request gets invalid_request
	// at its redirect URI, and discovery says
	// require_pushed_authorization_requests: true.
	RequirePAR bool
	// Resources are the API resources the provider knows; default
	// ["https://api.example.com"]. A resource indicator not listed here (nor
	// [OrganizationsResource]) gets invalid_target.
	Resources []string
	// ResourceScopes are the scopes a resource token may carry, per
	// resource; a resource missing from the map gets "read:messages". When
	// the authorization request's scope names some of them, only those are
	// granted; a scope parameter on the refresh request narrows further.
	ResourceScopes map[string][]string
	// OrganizationScopes are the scopes an organization token may carry;
	// default ["read:members"]. Narrowed like ResourceScopes.
	OrganizationScopes []string
	// SigningAlg is the signature algorithm of ID tokens and JWT access
	// tokens: "ES384" (default, a P-384 key like Logto), "ES256" or "RS256".
	SigningAlg string
	// Token lifetimes; defaults 1 h, 1 h and 14 days.
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL time.Duration
	// Now is the provider's clock; default time.Now.
	Now func() time.Time
	// TokenEndpointAuthMethods are how the web application may
	// authenticate at the token, revocation and device authorization
	// endpoints: any of "client_secret_basic", "client_secret_post" and
	// "none" (a public client, identified by client_id alone). Default:
	// client_secret_basic and client_secret_post. The M2M application
	// uses the secret methods listed here; the native application always
	// uses "none". Discovery advertises these and "none".
	TokenEndpointAuthMethods []string

	// M2MClientID and M2MClientSecret are the machine-to-machine
	// application's, a confidential client that gets tokens for itself
	// with the client_credentials grant and no user; defaults "dev-m2m" and
	// "dev-m2m-secret".
	M2MClientID, M2MClientSecret string
	// M2MOrganizations are the organizations the M2M application belongs
	// to, the only ones it gets organization tokens for (with the scopes of
	// OrganizationScopes); default [DefaultOrganization].
	M2MOrganizations []string
	// M2MResourceScopes are the scopes the M2M application's roles give it,
	// per API resource, and so the only resources it gets tokens for. The
	// default is every resource of Resources with its ResourceScopes. Each
	// key must be one of Resources, or [New] fails.
	M2MResourceScopes map[string][]string
	// NativeClientID is the native application's, a public client (RFC 8252)
	// such as a command-line tool: it never authenticates (a secret is
	// refused), it must use PKCE like every client, and its redirect URIs are
	// http://127.0.0.1:<port>/callback and http://[::1]:<port>/callback
	// with any port (RFC 8252 section 7.3); it alone may use the device
	// authorization grant (RFC 8628). Its refresh tokens rotate on every
	// use, like everyone's. Default "dev-native".
	NativeClientID string
	// TokenExchangeClients are the client IDs allowed to use token
	// exchange (RFC 8693), which Logto allows per application and not by
	// default. The default is the web and M2M applications; an empty
	// non-nil list allows no one. Each must be one of the three client IDs,
	// or [New] fails.
	TokenExchangeClients []string
	// DeviceCodeTTL is how long a device code of the device authorization
	// grant stays good; default 10 minutes.
	DeviceCodeTTL time.Duration
	// DevicePollInterval is the least time a device must wait between two
	// polls of the token endpoint, announced rounded up to whole seconds;
	// default 5 s. Polling sooner (by more than 250 ms, for the jitter of
	// clients that poll on a ticker) while the request is pending gets
	// slow_down, and 5 s more to wait from then on (RFC 8628 section 3.5).
	DevicePollInterval time.Duration

	// Addr is the listen address used by [Start]; "" means 127.0.0.1:0.
	// The base URL keeps the host given ("localhost" for an empty or
	// unspecified one) with the port actually bound.
	Addr string
}

func (o *Options) normalize() error {
	switch o.SigningAlg {
	case "":
		o.SigningAlg = DefaultSigningAlg
	case "ES384", "ES256", "RS256":
	default:
		return fmt.Errorf("logtotest: unsupported SigningAlg %q (want ES384, ES256 or RS256)", o.SigningAlg)
	}
	for _, m := range o.TokenEndpointAuthMethods {
		switch m {
		case "client_secret_basic", "client_secret_post", "none":
		default:
			return fmt.Errorf("logtotest: unsupported token endpoint auth method %q", m)
		}
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.User == nil {
		u := DefaultUser()
		o.User = &u
	} else {
		u := *o.User
		if u.Subject == "" {
			u.Subject = DefaultUser().Subject
		}
		o.User = &u
	}
	if err := checkExtraUsers(o.User.Subject, o.ExtraUsers); err != nil {
		return err
	}
	if o.Resources == nil {
		o.Resources = []string{DefaultResource}
	}
	if o.OrganizationScopes == nil {
		o.OrganizationScopes = []string{DefaultOrgScope}
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if o.IDTokenTTL <= 0 {
		o.IDTokenTTL = DefaultIDTokenTTL
	}
	if o.RefreshTokenTTL <= 0 {
		o.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenEndpointAuthMethods == nil {
		o.TokenEndpointAuthMethods = []string{"client_secret_basic", "client_secret_post"}
	}
	// Copy caller-owned slices so later changes by the caller do not race.
	o.RedirectURIs = append([]string(nil), o.RedirectURIs...)
	o.ExtraUsers = append([]User(nil), o.ExtraUsers...)
	o.PostLogoutRedirectURIs = append([]string(nil), o.PostLogoutRedirectURIs...)
	o.Resources = append([]string{}, o.Resources...)
	o.OrganizationScopes = append([]string{}, o.OrganizationScopes...)
	o.TokenEndpointAuthMethods = append([]string{}, o.TokenEndpointAuthMethods...)
	o.ResourceScopes = cloneScopeMap(o.ResourceScopes)
	return o.normalizeClients()
}

// checkExtraUsers reports every extra user whose Subject is empty or
// already taken, by the main user (subject main) or an earlier extra user.
func checkExtraUsers(main string, extra []User) error {
	seen := map[string]int{main: -1}
	var errs []error
	for i, u := range extra {
		if u.Subject == "" {
			errs = append(errs, fmt.Errorf("logtotest: ExtraUsers[%d] has no Subject", i))
			continue
		}
		switch j, dup := seen[u.Subject]; {
		case dup && j < 0:
			errs = append(errs, fmt.Errorf("logtotest: ExtraUsers[%d] has the Subject %q of Options.User", i, u.Subject))
		case dup:
			errs = append(errs, fmt.Errorf("logtotest: ExtraUsers[%d] has the Subject %q of ExtraUsers[%d]", i, u.Subject, j))
		default:
			seen[u.Subject] = i
		}
	}
	return errors.Join(errs...)
}
