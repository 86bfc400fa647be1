package logto

import "github.com/seed098cf14d/logto/internal/urn"

// Scopes Logto understands for user data. Each one adds claims to the ID token
// or to the userinfo answer; see the claim fields of IDTokenClaims and UserInfo.
const (
	// ScopeOpenID is required for OpenID Connect; always requested.
	ScopeOpenID = "openid"
	// ScopeOfflineAccess asks for a refresh token; always requested unless
	// Config.NoReservedScopes is set.
	ScopeOfflineAccess = "offline_access"
	// ScopeProfile adds name, username and picture; always requested unless
	// Config.NoReservedScopes is set.
	ScopeProfile = "profile"
	// ScopeEmail adds email and email_verified.
	ScopeEmail = "email"
	// ScopePhone adds phone_number and phone_number_verified.
	ScopePhone = "phone"
	// ScopeAddress adds address.
	ScopeAddress = "address"
	// ScopeCustomData adds custom_data to the userinfo answer (not the ID token).
	ScopeCustomData = "custom_data"
	// ScopeIdentities adds identities and sso_identities to the userinfo answer.
	ScopeIdentities = "identities"
	// ScopeRoles adds the user's global roles.
	ScopeRoles = "roles"
	// ScopeOrganizations adds the IDs of the user's organizations and allows
	// organization tokens. Asking for it also adds ResourceOrganizations.
	ScopeOrganizations = urn.ScopeOrganizations
	// ScopeOrganizationRoles adds organization roles as "<orgId>:<roleName>".
	ScopeOrganizationRoles = "urn:logto:scope:organization_roles"
)

// ResourceOrganizations is the resource indicator Logto requires in the
// authorization request whenever ScopeOrganizations is asked for.
const ResourceOrganizations = urn.ResourceOrganizations

// ReservedScopes returns the scopes added to every authorization request,
// once each, unless Config.NoReservedScopes is set (openid is always sent):
// openid, offline_access and profile. Each call returns a fresh slice, so a
// caller may change it freely without changing what any App asks for.
func ReservedScopes() []string {
	return []string{ScopeOpenID, ScopeOfflineAccess, ScopeProfile}
}

// Prompt values (OpenID Connect Core 3.1.2.1). Logto issues a refresh token
// only with PromptConsent, which is why it is the default.
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// FirstScreen values for SignInOptions.FirstScreen: which page of Logto's
// sign-in experience opens first.
const (
	FirstScreenSignIn             = "sign_in"
	FirstScreenRegister           = "register"
	FirstScreenResetPassword      = "reset_password"
	FirstScreenIdentifierSignIn   = "identifier:sign_in"
	FirstScreenIdentifierRegister = "identifier:register"
	FirstScreenSingleSignOn       = "single_sign_on"
)

// InteractionMode values for SignInOptions.InteractionMode. Logto has
// deprecated the parameter in favour of first_screen but still honours it.
const (
	InteractionModeSignIn = "signIn"
	InteractionModeSignUp = "signUp"
)

// Identifier values for SignInOptions.Identifiers.
const (
	IdentifierEmail    = "email"
	IdentifierPhone    = "phone"
	IdentifierUsername = "username"
)

// OrganizationAudience returns the audience Logto puts in an organization
// token for organization id: "urn:logto:organization:<id>".
func OrganizationAudience(id string) string { return urn.OrganizationAudience(id) }
