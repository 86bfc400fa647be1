package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/seed098cf14d/logto/internal/jwt"
)

// Audience is the aud claim: one string or a list (RFC 7519 section 4.1.3).
type Audience []string

// UnmarshalJSON accepts both forms.
func (a *Audience) UnmarshalJSON(b []byte) error {
	return (*jwt.Audience)(a).UnmarshalJSON(b)
}

// Contains reports whether aud holds s.
func (a Audience) Contains(s string) bool { return slices.Contains(a, s) }

// IDTokenClaims are the claims of a verified ID token: the standard ones,
// Logto's, and Raw, the whole payload, for anything else.
type IDTokenClaims struct {
	Issuer   string    `json:"iss"`
	Subject  string    `json:"sub"`
	Audience Audience  `json:"aud"`
	Expiry   time.Time `json:"exp"`
	IssuedAt time.Time `json:"iat"`
	// AuthTime is when the user last authenticated; zero when the token
	// does not say. A refresh keeps it (see AuthenticatedWithin).
	AuthTime time.Time `json:"auth_time,omitzero"`
	// ACR is the authentication context class the sign-in met (ACR1FA,
	// ACRMFA); empty when the token does not say, which Logto's do not
	// unless the sign-in asked for acr_values (SignInOptions.ACRValues).
	ACR string `json:"acr,omitempty"`
	// AMR are the authentication methods used, such as "pwd" and "otp"
	// (RFC 8176); nil when the token does not say.
	AMR             []string `json:"amr,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	AuthorizedParty string   `json:"azp,omitempty"`
	AtHash          string   `json:"at_hash,omitempty"`
	SessionID       string   `json:"sid,omitempty"`

	// UserClaims are the user's claims, by scope.
	UserClaims

	// Raw is the token's whole payload.
	Raw json.RawMessage `json:"-"`
}

// Extra returns every claim, including those without a field above.
func (c *IDTokenClaims) Extra() (map[string]any, error) {
	m := map[string]any{}
	if err := json.Unmarshal(c.Raw, &m); err != nil {
		return nil, fmt.Errorf("logto: decoding claims: %w", err)
	}
	return m, nil
}

// UnmarshalJSON reads the claims of a token payload: aud as a string or a
// list, and the JWT's times (NumericDate seconds, Logto's created_at and
// updated_at in milliseconds) into time.Time.
func (c *IDTokenClaims) UnmarshalJSON(b []byte) error {
	type plain IDTokenClaims
	aux := struct {
		*plain
		Audience  jwt.Audience      `json:"aud"`
		Expiry    jwt.NumericDate   `json:"exp"`
		IssuedAt  jwt.NumericDate   `json:"iat"`
		AuthTime  jwt.NumericDate   `json:"auth_time"`
		CreatedAt jwt.UnixMilliDate `json:"created_at"`
		UpdatedAt jwt.UnixMilliDate `json:"updated_at"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c.Audience = Audience(aux.Audience)
	c.Expiry, c.IssuedAt, c.AuthTime = aux.Expiry.Time, aux.IssuedAt.Time, aux.AuthTime.Time
	c.CreatedAt, c.UpdatedAt = aux.CreatedAt.Time, aux.UpdatedAt.Time
	return nil
}

// parseIDTokenClaims decodes a JWT's payload without checking its signature:
// callers either verified it just before or read it back from their own
// storage, where it was stored only after verification.
func parseIDTokenClaims(raw string) (*IDTokenClaims, error) {
	payload, err := jwtPayload(raw)
	if err != nil {
		return nil, err
	}
	c := &IDTokenClaims{Raw: payload}
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, wrapErr(ErrInvalidToken, "claims are not a JSON object", err)
	}
	return c, nil
}

// jwtPayload returns the decoded payload of a compact JWS.
func jwtPayload(raw string) ([]byte, error) {
	parts, err := jwt.Split(raw)
	if err != nil {
		return nil, wrapErr(ErrInvalidToken, "", err)
	}
	return parts.Payload, nil
}

// IsAuthenticated reports whether the storage holds a signed-in session (an
// ID token stored after a verified sign-in). It does no network I/O.
func (c *Client) IsAuthenticated(ctx context.Context) (bool, error) {
	_, _, err := c.activeSession(ctx)
	if errors.Is(err, ErrNotAuthenticated) {
		return false, nil
	}
	return err == nil, err
}

// IDToken returns the raw ID token of the signed-in user, or an error
// wrapping ErrNotAuthenticated.
func (c *Client) IDToken(ctx context.Context) (string, error) {
	raw, _, err := c.activeSession(ctx)
	return raw, err
}

// IDTokenClaims returns the claims of the signed-in user's ID token, or an
// error wrapping ErrNotAuthenticated. It does no network I/O: the token was
// verified when it was stored.
func (c *Client) IDTokenClaims(ctx context.Context) (*IDTokenClaims, error) {
	raw, err := c.IDToken(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := c.parsedClaims(raw)
	if err != nil {
		return nil, err
	}
	return claims.clone(), nil
}

// parsedClaims returns the App's shared, parsed claims of a stored ID token:
// read-only, for the client's own use.
func (c *Client) parsedClaims(raw string) (*IDTokenClaims, error) {
	if cached := c.app.claims.get(raw); cached != nil {
		return cached, nil
	}
	claims, err := parseIDTokenClaims(raw)
	if err != nil {
		// Storage can only hold a verified token; anything else was not
		// written by us.
		return nil, fmt.Errorf("%w: stored ID token is unreadable: %w", ErrNotAuthenticated, err)
	}
	c.app.claims.put(raw, claims)
	return claims, nil
}

// clone copies c deeply enough that a caller changing it cannot change the
// cached original.
func (c *IDTokenClaims) clone() *IDTokenClaims {
	cp := *c
	cp.Audience = slices.Clone(c.Audience)
	cp.AMR = slices.Clone(c.AMR)
	cp.Roles = slices.Clone(c.Roles)
	cp.Organizations = slices.Clone(c.Organizations)
	cp.OrganizationRoles = slices.Clone(c.OrganizationRoles)
	cp.Raw = slices.Clone(c.Raw)
	return &cp
}

// maxCachedClaims bounds the parsed ID-token claims an App keeps.
const maxCachedClaims = 1024

// claimsCache keeps the parsed claims of recently seen ID tokens, so the
// per-request "who is this" check decodes no JSON for a user seen before.
// The key is the whole raw token, which was verified before it was stored.
type claimsCache struct {
	mu sync.RWMutex
	m  map[string]*IDTokenClaims
}

func (cc *claimsCache) get(raw string) *IDTokenClaims {
	cc.mu.RLock()
	defer cc.mu.RUnlock()
	return cc.m[raw]
}

func (cc *claimsCache) put(raw string, c *IDTokenClaims) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= maxCachedClaims {
		// Simple and bounded: start over rather than track recency.
		cc.m = make(map[string]*IDTokenClaims, 64)
	}
	cc.m[raw] = c
}

// verifyIDToken validates an ID token from the token endpoint (OpenID Connect
// Core 3.1.3.7): signature with an algorithm from discovery against the
// provider's keys, iss, aud, azp, exp, iat, auth_time (not in the future),
// sub, nonce and at_hash. nonce is
// skipped when empty (a refresh answer carries none). iss and aud are
// checked first (checkIssuerAudience), so that a token of another tenant or
// app is named as such.
func (a *App) verifyIDToken(ctx context.Context, m *metadata, raw, nonce, accessToken string) (*IDTokenClaims, error) {
	if raw == "" {
		return nil, wrapErr(ErrInvalidToken, "the token endpoint answered no id_token", nil)
	}
	s := a.s
	claims, err := parseIDTokenClaims(raw)
	if err != nil {
		return nil, err
	}
	if err := checkIssuerAudience("ID token", claims.Issuer, claims.Audience, m.Issuer, s.appID); err != nil {
		return nil, err
	}
	tok, err := verify(ctx, m.verifier, raw, "ID token")
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case claims.Subject == "":
		return nil, wrapErr(ErrInvalidToken, "no sub claim", nil)
	case claims.IssuedAt.IsZero():
		return nil, wrapErr(ErrInvalidToken, "no iat claim", nil)
	case claims.IssuedAt.After(now.Add(s.leeway)):
		return nil, wrapErr(ErrInvalidToken, "iat is in the future", nil)
	case claims.AuthTime.After(now.Add(s.leeway)):
		// It would pass every max_age, and look recent for ever.
		return nil, wrapErr(ErrInvalidToken, "auth_time is in the future", nil)
	case len(claims.Audience) > 1 && claims.AuthorizedParty == "":
		return nil, wrapErr(ErrInvalidToken, "several audiences but no azp claim", nil)
	case claims.AuthorizedParty != "" && claims.AuthorizedParty != s.appID:
		return nil, wrapErr(ErrInvalidToken, fmt.Sprintf("azp %q is not this app", claims.AuthorizedParty), nil)
	case nonce != "" && claims.Nonce != nonce:
		return nil, wrapErr(ErrInvalidToken, "nonce does not match the sign-in's", nil)
	}
	if tok.AccessTokenHash != "" && accessToken != "" {
		if err := tok.VerifyAccessToken(accessToken); err != nil {
			return nil, wrapErr(ErrInvalidToken, "at_hash", err)
		}
	}
	return claims, nil
}

// mismatchError says that a token's iss or aud is not this app's, naming
// what came and what was expected. Such a token looks like a setup mistake
// (an Endpoint of another tenant, an AppID of another app) more than an
// attack, so it is logged at Warn whoever sent it.
type mismatchError struct{ msg string }

func (e *mismatchError) Error() string { return e.msg }

// checkIssuerAudience refuses a token (what: "ID token") whose iss is not
// issuer or whose aud does not hold clientID, with an error wrapping
// ErrInvalidToken that names both values. It reads claims whose signature
// is not checked yet, and decides nothing but a refusal: the verifier
// checks iss and aud again with the signature. Run before it, it names a
// token of another tenant as such rather than as signed by an unknown key.
func checkIssuerAudience(what, iss string, aud []string, issuer, clientID string) error {
	switch {
	case iss != issuer:
		return wrapErr(ErrInvalidToken, what, &mismatchError{fmt.Sprintf("wrong issuer: iss %q, expected %q (Endpoint + /oidc)", iss, issuer)})
	case !slices.Contains(aud, clientID):
		return wrapErr(ErrInvalidToken, what, &mismatchError{fmt.Sprintf("wrong audience: aud %q, expected it to hold %q (AppID)", aud, clientID)})
	}
	return nil
}
