package apiauth

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
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
	Issuer         string       `json:"iss"`
	Subject        string       `json:"sub"`
	Audience       audience     `json:"aud"`
	Expiry         *numericDate `json:"exp"`
	NotBefore      *numericDate `json:"nbf"`
	IssuedAt       *numericDate `json:"iat"`
	ClientID       string       `json:"client_id"`
	OrganizationID string       `json:"organization_id"`
	Scope          string       `json:"scope"`
	Roles          []string     `json:"roles"`
}

// audience is "aud": one string or an array of strings (RFC 7519 4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = ss
	return nil
}

// numericDate is seconds since the epoch, possibly fractional (RFC 7519 2).
type numericDate struct{ t time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("a date claim is not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return errors.New("a date claim is out of range")
	}
	sec, frac := math.Modf(f)
	d.t = time.Unix(int64(sec), int64(frac*1e9))
	return nil
}

func (p *payload) claims(raw map[string]any) *Claims {
	c := &Claims{
		Subject:        p.Subject,
		ClientID:       p.ClientID,
		OrganizationID: p.OrganizationID,
		Scopes:         map[string]struct{}{},
		Roles:          p.Roles,
		Audience:       p.Audience,
		Expiry:         p.Expiry.t,
		Raw:            raw,
	}
	for _, s := range strings.Fields(p.Scope) {
		c.Scopes[s] = struct{}{}
	}
	return c
}
