package m2m

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/seed098cf14d/logto"
)

// A Grant is what a token is asked for with: [ClientCredentials] or
// [TokenExchange].
type Grant interface {
	// form is the token request's grant parameters; key names the token
	// in the cache: grants with equal keys get the same token.
	form() (url.Values, error)
	key() string
}

var errNoGrant = errors.New("m2m: no grant: give a ClientCredentials or a TokenExchange")

// ClientCredentials asks for a token for the app itself (RFC 6749 section
// 4.4).
//
// Logto gives a token one audience: name one API resource (RFC 8707), or
// an organization the app belongs to (the token's audience is then
// urn:logto:organization:<id>). Resources is a list because other
// providers accept several; Logto refuses a request naming more than one
// with invalid_target, and so the request fails: a resource is never
// dropped silently.
type ClientCredentials struct {
	Resources      []string
	OrganizationID string
	// Scopes narrow what the app's roles grant; none means all of them.
	Scopes []string
}

func (g ClientCredentials) form() (url.Values, error) {
	f := url.Values{"grant_type": {"client_credentials"}}
	if err := target(f, g.Resources, g.OrganizationID, g.Scopes); err != nil {
		return nil, err
	}
	return f, nil
}

func (g ClientCredentials) key() string {
	return keyOf("cc", g.Resources, g.OrganizationID, g.Scopes)
}

// Subject and actor token types Logto accepts in a token exchange.
const (
	// PersonalAccessToken is a user's personal access token (Logto), for
	// scripts and CI acting as that user.
	PersonalAccessToken = "urn:logto:token-type:personal_access_token"
	// AccessToken is an access token (RFC 8693 section 3): with Logto, an
	// impersonation subject token minted through the Management API, or an
	// actor's access token.
	AccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

const grantTypeExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// TokenExchange asks for a token in exchange for another (RFC 8693): a
// personal access token, or an impersonation subject token, with an
// optional actor token for delegation (the new token then says who acts
// in its act claim). Logto only exchanges for apps with token exchange
// switched on; others are refused (its engine answers invalid_request,
// "requested grant type is not allowed for this client"; RFC 8693
// providers may say unauthorized_client).
type TokenExchange struct {
	SubjectToken     string
	SubjectTokenType string // PersonalAccessToken or AccessToken, say
	// ActorToken and ActorTokenType, both or neither: who acts for the
	// subject.
	ActorToken     string
	ActorTokenType string

	Resources      []string
	OrganizationID string
	Scopes         []string
}

func (g TokenExchange) form() (url.Values, error) {
	var problems []error
	if g.SubjectToken == "" || g.SubjectTokenType == "" {
		problems = append(problems, errors.New("a token exchange needs SubjectToken and SubjectTokenType"))
	}
	if (g.ActorToken == "") != (g.ActorTokenType == "") {
		problems = append(problems, errors.New("ActorToken and ActorTokenType go together"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", logto.ErrInvalidRequest, errors.Join(problems...))
	}
	f := url.Values{
		"grant_type":         {grantTypeExchange},
		"subject_token":      {g.SubjectToken},
		"subject_token_type": {g.SubjectTokenType},
	}
	if g.ActorToken != "" {
		f.Set("actor_token", g.ActorToken)
		f.Set("actor_token_type", g.ActorTokenType)
	}
	if err := target(f, g.Resources, g.OrganizationID, g.Scopes); err != nil {
		return nil, err
	}
	return f, nil
}

// key holds a digest of the tokens, not the tokens: a cache key may end up
// in a profile or a dump.
func (g TokenExchange) key() string {
	h := sha256.New()
	for _, s := range []string{g.SubjectTokenType, g.SubjectToken, g.ActorTokenType, g.ActorToken} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return keyOf("te:"+hex.EncodeToString(h.Sum(nil)), g.Resources, g.OrganizationID, g.Scopes)
}

// target adds the resources, organization and scopes to f.
func target(f url.Values, resources []string, organizationID string, scopes []string) error {
	for _, r := range resources {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			// RFC 8707 section 2.
			return fmt.Errorf("%w: resource %q is not an absolute URI without a fragment", logto.ErrInvalidRequest, r)
		}
		f.Add("resource", r)
	}
	if organizationID != "" {
		f.Set("organization_id", organizationID)
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\n") {
			return fmt.Errorf("%w: scope %q is empty or holds a space", logto.ErrInvalidRequest, s)
		}
	}
	if len(scopes) > 0 {
		f.Set("scope", strings.Join(scopes, " "))
	}
	return nil
}

// keyOf spells a cache key: resources in order (the provider may care),
// scopes as a set.
func keyOf(kind string, resources []string, organizationID string, scopes []string) string {
	s := slices.Clone(scopes)
	slices.Sort(s)
	s = slices.Compact(s)
	var b strings.Builder
	b.WriteString(kind)
	for _, part := range [][]string{resources, {organizationID}, s} {
		b.WriteByte(0)
		for _, p := range part {
			fmt.Fprintf(&b, "%d:%s", len(p), p)
		}
	}
	return b.String()
}
