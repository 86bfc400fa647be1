package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// DefaultIntrospectionCacheTTL is how long an active introspection answer
// is trusted when Introspection.CacheTTL is zero.
const DefaultIntrospectionCacheTTL = 5 * time.Minute

// IntrospectionNegativeTTL is how long a refused opaque token (inactive,
// or active but not acceptable anywhere) is refused without asking the
// provider again.
const IntrospectionNegativeTTL = 10 * time.Second

// maxOpaqueTokenBytes caps the opaque tokens sent to the provider. Logto's
// are 43 characters; other providers' stay within a few hundred.
const maxOpaqueTokenBytes = 4096

// Introspection holds the API's own client credentials, with which it asks
// the provider about opaque (non-JWT) access tokens at its
// introspection_endpoint (RFC 7662). In Logto, make the API a
// machine-to-machine or traditional web app and use its app ID and secret.
//
// Logto issues JWTs for API resources, which need no introspection; an
// opaque token it issues without a resource is meant for its userinfo
// endpoint and has no aud, so the API refuses it (wrong audience): an
// answer must name Config.Audience in its aud to pass, as a JWT must.
type Introspection struct {
	// ClientID and ClientSecret authenticate the API at the introspection
	// endpoint, by a method the provider's discovery lists (client_secret_basic
	// first). Both or neither: without them, opaque tokens are refused.
	ClientID, ClientSecret string
	// CacheTTL is the longest an active answer is trusted: a token revoked
	// at the provider may pass for that long. It never outlives the
	// token's exp. Zero means DefaultIntrospectionCacheTTL.
	CacheTTL time.Duration
}

// check reports what is wrong with in, for NewValidator; prefix
// ("Issuers[0].", say) goes before the setting's name in the problems.
func (in Introspection) check(prefix string) []error {
	var problems []error
	if (in.ClientID == "") != (in.ClientSecret == "") {
		problems = append(problems, fmt.Errorf("%sIntrospection.ClientID and ClientSecret must be given together", prefix))
	}
	if in.CacheTTL < 0 {
		problems = append(problems, fmt.Errorf("%sIntrospection.CacheTTL must not be negative", prefix))
	}
	if in.ClientID == "" && in.CacheTTL != 0 {
		problems = append(problems, fmt.Errorf("%sIntrospection.CacheTTL is set without ClientID and ClientSecret", prefix))
	}
	return problems
}

// introspector checks opaque tokens at the introspection endpoint of one
// issuer: one request at a time per token (a flight its waiters share),
// active answers in the Validator's cache, refusals in its own for
// IntrospectionNegativeTTL.
type introspector struct {
	iss                    *issuer // the one issuer asked
	clientID, clientSecret string
	ttl                    time.Duration

	refused *verifiedCache

	mu      sync.Mutex
	flights map[[32]byte]*introspection
}

// introspection is one request to the introspection endpoint, shared by
// every request that brings the same token meanwhile.
type introspection struct {
	done   chan struct{}
	claims *Claims // the shared form, as the cache holds it
	err    error
}

// newIntrospector returns the introspector of iss with in, nil when in
// holds no credentials.
func newIntrospector(in Introspection, iss *issuer) *introspector {
	if in.ClientID == "" {
		return nil
	}
	ttl := in.CacheTTL
	if ttl == 0 {
		ttl = DefaultIntrospectionCacheTTL
	}
	return &introspector{
		iss:          iss,
		clientID:     in.ClientID,
		clientSecret: in.ClientSecret,
		ttl:          ttl,
		refused:      newVerifiedCache(defaultCacheSize),
		flights:      make(map[[32]byte]*introspection),
	}
}

// client makes the client of the introspection endpoint doc names, or
// says why there is none.
func (in *introspector) client(doc *discovery.Document, hc *http.Client, now func() time.Time) (*tokenendpoint.Client, string, error) {
	if doc.IntrospectionEndpoint == "" {
		return nil, "", fmt.Errorf("%w: the provider's discovery has no introspection_endpoint, so opaque tokens cannot be checked", ErrProvider)
	}
	methods := doc.IntrospectionEndpointAuthMethods
	if len(methods) == 0 {
		methods = doc.TokenEndpointAuthMethods
	}
	method, err := tokenendpoint.PickAuthMethod(methods, true)
	if err != nil {
		return nil, "", fmt.Errorf("%w: introspection endpoint: %w", ErrProvider, err)
	}
	return &tokenendpoint.Client{HTTP: hc, ClientID: in.clientID, ClientSecret: in.clientSecret, AuthMethod: method, Now: now}, doc.IntrospectionEndpoint, nil
}

// introspect returns the shared claims of the opaque token raw (whose
// cache key is key) when the provider says it is active and it passes
// every check that does not depend on the route; refusals wrap
// ErrInvalidToken, and an outage ErrProvider.
func (v *Validator) introspect(ctx context.Context, raw string, key [32]byte, now time.Time) (*Claims, error) {
	in := v.introspection
	if len(raw) > maxOpaqueTokenBytes {
		return nil, invalid("token too large")
	}
	if !isB64Token(raw) {
		// Nothing a provider issues: not worth a request.
		return nil, invalid("malformed token")
	}
	if e, ok := in.refused.get(key, now); ok {
		return nil, e.err
	}
	in.mu.Lock()
	f := in.flights[key]
	if f == nil {
		// A flight may have ended since the caller looked at the caches;
		// it stored its answer before leaving flights.
		if e, ok := v.cache.get(key, now); ok {
			in.mu.Unlock()
			return e.claims, nil
		}
		if e, ok := in.refused.get(key, now); ok {
			in.mu.Unlock()
			return nil, e.err
		}
		f = &introspection{done: make(chan struct{})}
		in.flights[key] = f
		// Detached from this caller's cancellation, so that one caller
		// giving up does not fail the others; the HTTP client's timeout
		// bounds it.
		go v.runIntrospection(context.WithoutCancel(ctx), raw, key, f)
	}
	in.mu.Unlock()
	select {
	case <-f.done:
		return f.claims, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for the introspection answer: %w", ErrProvider, ctx.Err())
	}
}

// runIntrospection asks the provider about raw, remembers the answer
// (an active one until the token's exp, at most the cache TTL; a refusal
// for IntrospectionNegativeTTL; an outage not at all) and hands it to the
// flight's waiters.
func (v *Validator) runIntrospection(ctx context.Context, raw string, key [32]byte, f *introspection) {
	in := v.introspection
	f.claims, f.err = v.askProvider(ctx, raw)
	now := v.now()
	switch {
	case f.err == nil:
		v.cache.put(key, cacheEntry{claims: f.claims, exp: earliest(f.claims.Expiry, now.Add(in.ttl)), iss: in.iss, introspected: true}, now)
	case errors.Is(f.err, ErrInvalidToken):
		in.refused.put(key, cacheEntry{err: f.err, exp: now.Add(IntrospectionNegativeTTL)}, now)
	}
	in.mu.Lock()
	delete(in.flights, key)
	in.mu.Unlock()
	close(f.done)
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// askProvider posts raw to the introspection endpoint and judges the
// answer.
func (v *Validator) askProvider(ctx context.Context, raw string) (*Claims, error) {
	info, err := v.introspection.iss.provider.Get(ctx)
	if err != nil {
		return nil, err
	}
	if info.introspectionErr != nil {
		return nil, info.introspectionErr
	}
	body, status, err := info.introspection.PostForm(ctx, info.introspectionURL, url.Values{
		"token":           {raw},
		"token_type_hint": {"access_token"},
	})
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		err := tokenendpoint.ErrorFrom("introspection", status, body)
		var oe *tokenendpoint.Error
		if errors.As(err, &oe) && status == http.StatusBadRequest && oe.Code == "unsupported_token_type" {
			// oidc-provider's answer for a structured token: the token's
			// fault, not the provider's (so not wrapped: *Error is
			// ErrProvider).
			return nil, &tokenError{reason: "the token cannot be introspected", detail: err.Error()}
		}
		return nil, err
	}
	return v.judgeIntrospection(body, v.now())
}

// introspectionAnswer is an RFC 7662 section 2.2 answer: the claims a JWT
// access token would carry, and the introspection members.
type introspectionAnswer struct {
	payload
	Active    *bool           `json:"active"`
	TokenType string          `json:"token_type"`
	Cnf       json.RawMessage `json:"cnf"`
}

// judgeIntrospection checks an introspection answer at now as validate
// checks a JWT's claims, route checks aside, and returns the shared claims
// of the token. An answer that is not one is ErrProvider; a token the API
// must not take, ErrInvalidToken.
func (v *Validator) judgeIntrospection(body []byte, now time.Time) (*Claims, error) {
	var a introspectionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: malformed introspection answer: %w", ErrProvider, err)
	}
	if a.Active == nil {
		return nil, fmt.Errorf("%w: malformed introspection answer: no active member", ErrProvider)
	}
	if !*a.Active {
		return nil, invalid("the token is not active")
	}
	// A refresh token introspects as active too (oidc-provider gives it no
	// token_type), and a DPoP-bound token is no bearer token.
	if !strings.EqualFold(a.TokenType, "Bearer") {
		return nil, &tokenError{reason: "not a bearer access token", detail: fmt.Sprintf("token_type %q", a.TokenType)}
	}
	if len(a.Cnf) > 0 && string(a.Cnf) != "null" {
		return nil, invalid("the token is bound to a key")
	}
	// RFC 7662 makes iss optional; when present it must be that of the
	// issuer asked.
	iss := v.introspection.iss
	if a.Issuer != "" && a.Issuer != iss.name {
		return nil, &tokenError{reason: "wrong issuer", detail: fmt.Sprintf("iss %q, expected %q, the issuer asked", a.Issuer, iss.name), setup: true}
	}
	if err := a.checkTimes(now, v.leeway); err != nil {
		return nil, err
	}
	return a.claims(body, iss.name), nil
}

// isB64Token reports whether s is an RFC 6750 section 2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
