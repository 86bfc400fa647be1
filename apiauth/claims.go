package apiauth

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed098cf14d/logto/internal/jwt"
	"github.com/seed098cf14d/logto/internal/urn"
)

// OrganizationAudiencePrefix prefixes the organization ID in the audience of
// a Logto organization token.
const OrganizationAudiencePrefix = urn.OrganizationAudiencePrefix

// Claims are the checked claims of an access token.
//
// Each request gets its own copy of the fields, so a handler may change
// them without affecting another request. The token's lists and its whole
// claims set are behind methods that hand out copies: the Validator keeps
// one checked form per token and shares it between requests, and nothing a
// handler does can change it.
type Claims struct {
	// Subject is "sub": the user (or, for a machine-to-machine token, the
	// app) the token speaks for.
	Subject string
	// ClientID is "client_id": the app the token was issued to.
	ClientID string
	// OrganizationID is "organization_id", which an organization-scoped
	// token of an API resource carries; "" when absent (an organization
	// token names its organization in aud instead).
	OrganizationID string
	// Expiry is "exp".
	Expiry time.Time

	token *tokenData // shared by every copy, never written
}

// tokenData is the part of a checked token that copies of its Claims share.
// It is read-only once made.
type tokenData struct {
	issuer   string
	scopes   []string
	roles    []string
	audience []string
	org      orgClaim
	acr      string
	amr      []string
	authTime time.Time
	payload  []byte
}

// orgClaim is the organization_id claim. Its presence matters, whatever
// its value: a token with "organization_id": null or "" is not a token
// outside organizations either.
type orgClaim struct {
	present bool   // the claim is in the token
	valid   bool   // and it is a string
	id      string // its value when valid
}

// UnmarshalJSON is called for any value of the claim, null included.
func (o *orgClaim) UnmarshalJSON(b []byte) error {
	o.present = true
	o.valid = json.Unmarshal(b, &o.id) == nil && len(b) > 0 && b[0] == '"'
	if !o.valid {
		o.id = ""
	}
	return nil
}

// String describes the claim for error messages.
func (o orgClaim) String() string {
	switch {
	case !o.present:
		return "absent"
	case !o.valid:
		return "not a string"
	}
	return fmt.Sprintf("%q", o.id)
}

// noToken stands in for the token of a zero Claims, which grants nothing.
var noToken tokenData

func (c *Claims) data() *tokenData {
	if c.token == nil {
		return &noToken
	}
	return c.token
}

// Issuer returns the issuer that vouched for the token: a JWT's "iss",
// whose keys verified it, or, for an opaque token, the issuer whose
// introspection endpoint found it active.
func (c *Claims) Issuer() string { return c.data().issuer }

// HasScope reports whether the token grants scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.data().scopes, s) }

// Scopes returns the scopes the token grants (the space-separated "scope"
// claim), in a new slice.
func (c *Claims) Scopes() []string { return slices.Clone(c.data().scopes) }

// Roles returns the "roles" claim, in a new slice.
func (c *Claims) Roles() []string { return slices.Clone(c.data().roles) }

// Audience returns the "aud" claim, in a new slice.
func (c *Claims) Audience() []string { return slices.Clone(c.data().audience) }

// ACR returns the "acr" claim: the Authentication Context Class Reference
// the user's sign-in satisfied, such as Logto's "urn:logto:acr:mfa"
// (RFC 9470 section 4); "" when absent or not a string.
// RequireUserAuthentication checks it.
func (c *Claims) ACR() string { return c.data().acr }

// AMR returns the "amr" claim, the methods the user signed in with (RFC
// 8176 values such as "pwd", "otp"), in a new slice; nil when absent or
// not an array of strings.
func (c *Claims) AMR() []string { return slices.Clone(c.data().amr) }

// AuthTime returns the "auth_time" claim, when the user last signed in
// actively (a refresh keeps it); the zero time when absent or malformed.
func (c *Claims) AuthTime() time.Time { return c.data().authTime }

// Unmarshal decodes the token's whole claims set (a JWT's payload, or an
// opaque token's introspection answer, as checked) into v with
// encoding/json, for claims this type has no field for. Each call decodes afresh: v is the caller's own.
func (c *Claims) Unmarshal(v any) error { return json.Unmarshal(c.data().payload, v) }

// RequireOrganization checks that the token belongs to organization id.
// Two kinds of tokens do:
//
//   - an organization token (OrganizationMiddleware) whose aud holds
//     "urn:logto:organization:<id>" and which names no other organization
//     in an organization_id claim;
//   - an organization-scoped token of an API resource
//     (OrganizationResourceMiddleware) whose organization_id claim is id.
//
// The error wraps ErrInvalidToken, since the token is not meant for this
// resource (RFC 6750 section 3.1).
func (c *Claims) RequireOrganization(id string) error {
	t := c.data()
	switch {
	case id == "":
	case t.org.present:
		if t.org.valid && t.org.id == id {
			return nil
		}
	case slices.Contains(t.audience, OrganizationAudiencePrefix+id):
		return nil
	}
	return notThisOrganization(t.org, id)
}

// payload is the part of the JWT claims set the validator checks.
type payload struct {
	Issuer         string          `json:"iss"`
	Subject        string          `json:"sub"`
	Audience       jwt.Audience    `json:"aud"`
	Expiry         jwt.NumericDate `json:"exp"`
	NotBefore      jwt.NumericDate `json:"nbf"`
	IssuedAt       jwt.NumericDate `json:"iat"`
	ClientID       string          `json:"client_id"`
	OrganizationID orgClaim        `json:"organization_id"`
	Scope          string          `json:"scope"`
	Roles          []string        `json:"roles"`
	// The step-up claims read as absent when malformed: see jwt.LaxString.
	ACR      jwt.LaxString  `json:"acr"`
	AMR      jwt.LaxStrings `json:"amr"`
	AuthTime jwt.LaxDate    `json:"auth_time"`
}

// checkTimes checks the token's exp (required), nbf and iat at now, with
// leeway for clock skew.
func (p *payload) checkTimes(now time.Time, leeway time.Duration) error {
	switch {
	case p.Expiry.IsZero():
		return invalid("no expiry")
	case !now.Before(p.Expiry.Add(leeway)):
		return invalid("token expired")
	case !p.NotBefore.IsZero() && p.NotBefore.After(now.Add(leeway)):
		return invalid("token not yet valid")
	case !p.IssuedAt.IsZero() && p.IssuedAt.After(now.Add(leeway)):
		return invalid("token issued in the future")
	}
	return nil
}

// claims makes the shared, read-only form of a checked token of issuer
// whose JWT payload (or introspection answer) is body.
func (p *payload) claims(body []byte, issuer string) *Claims {
	return &Claims{
		Subject:        p.Subject,
		ClientID:       p.ClientID,
		OrganizationID: p.OrganizationID.id,
		Expiry:         p.Expiry.Time,
		token: &tokenData{
			issuer:   issuer,
			scopes:   strings.Fields(p.Scope),
			roles:    p.Roles,
			audience: p.Audience,
			org:      p.OrganizationID,
			acr:      string(p.ACR),
			amr:      p.AMR,
			authTime: p.AuthTime.Time,
			payload:  body,
		},
	}
}
