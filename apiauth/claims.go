package apiauth

import (
	"slices"
	"strings"
	"time"

	"github.com/seed098cf14d/logto/internal/jwt"
)

// OrganizationAudiencePrefix prefixes the organization ID in the audience of
// a Logto organization token.
const OrganizationAudiencePrefix = "urn:logto:organization:"

// Claims are the checked claims of an access token. A Validator may hand the
// same *Claims to several requests carrying the same token: treat it, and
// Raw in particular, as read-only.
type Claims struct {
	Subject        string
	ClientID       string
	OrganizationID string
	// Scopes holds the space-separated "scope" claim.
	Scopes   map[string]struct{}
	Roles    []string
	Audience []string
	Expiry   time.Time
	// Raw holds every claim as decoded by encoding/json.
	Raw map[string]any
}

// HasScope reports whether the token grants scope s.
func (c *Claims) HasScope(s string) bool {
	_, ok := c.Scopes[s]
	return ok
}

// RequireOrganization checks that the token is an organization token for
// organization id: that its audience holds "urn:logto:organization:<id>".
// The error wraps ErrInvalidToken, since the token is not meant for this
// resource (RFC 6750 section 3.1).
func (c *Claims) RequireOrganization(id string) error {
	if id != "" && slices.Contains(c.Audience, OrganizationAudiencePrefix+id) {
		return nil
	}
	return invalid("the token is not for this organization")
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
	OrganizationID string          `json:"organization_id"`
	Scope          string          `json:"scope"`
	Roles          []string        `json:"roles"`
}

func (p *payload) claims(raw map[string]any) *Claims {
	c := &Claims{
		Subject:        p.Subject,
		ClientID:       p.ClientID,
		OrganizationID: p.OrganizationID,
		Scopes:         map[string]struct{}{},
		Roles:          p.Roles,
		Audience:       p.Audience,
		Expiry:         p.Expiry.Time,
		Raw:            raw,
	}
	for _, s := range strings.Fields(p.Scope) {
		c.Scopes[s] = struct{}{}
	}
	return c
}
