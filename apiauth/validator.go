package apiauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/jwks"
	"github.com/seed098cf14d/logto/internal/jwt"
)

// DefaultClockLeeway is the clock skew tolerated on exp, nbf and iat when
// Config.ClockLeeway is zero.
const DefaultClockLeeway = jwt.DefaultClockLeeway

// Config says which tokens a Validator accepts.
type Config struct {
	// Endpoint is the Logto base URL, such as "https://tenant.logto.app";
	// the issuer is Endpoint + "/oidc". The issuer itself (".../oidc") or a
	// discovery URL is refused, with the base URL to write instead. It must
	// be https unless the host is a loopback one (localhost, 127.0.0.1,
	// [::1]) or InsecureAllowHTTP is set.
	Endpoint string
	// ProviderURL is the URL this process reaches the provider at, when
	// that is not Endpoint: "http://logto:3001" in a container network,
	// say. Endpoint stays the public base URL: every token must name its
	// issuer, Endpoint + "/oidc", and the resource metadata names that
	// issuer to clients. Empty means Endpoint.
	//
	// The provider at ProviderURL is trusted to be the provider of
	// Endpoint: the keys it serves decide which tokens pass, and its
	// introspection answers are believed. What it says is checked all the
	// same: its metadata is read at
	// ProviderURL + "/oidc/.well-known/openid-configuration" and must name
	// the public issuer exactly (so a ProviderURL that reaches another
	// tenant fails, with 503, rather than vouching for its tokens), and its
	// tokens must name the public issuer too. The endpoints it names under
	// Endpoint that the Validator calls itself (keys, introspection) are
	// reached under ProviderURL instead; an endpoint on any other host is
	// used as named.
	//
	// It must be https, except on a loopback host, a private IP address or
	// a single-label name such as a container's (or anywhere with
	// InsecureAllowHTTP). Over http, the keys, and with Introspection the
	// API's client secret and the opaque tokens, cross that network in
	// clear: whoever can change them there can mint any token. Use http
	// only on a network that nobody else can read.
	ProviderURL string
	// Audience is the API's resource indicator, which a token's aud must
	// hold.
	Audience string
	// ClockLeeway is the clock skew tolerated on exp, nbf and iat; zero means
	// DefaultClockLeeway. It must not be negative.
	ClockLeeway time.Duration
	// Metadata describes the API in its OAuth 2.0 Protected Resource
	// Metadata (RFC 9728), which ResourceMetadataHandler serves; with its
	// BaseURL, every challenge names the document. Optional.
	Metadata ResourceMetadata

	// Introspection, with client credentials, lets opaque (non-JWT) access
	// tokens in: they are checked at the introspection endpoint (RFC 7662)
	// of Endpoint's provider and must pass the checks a JWT passes (aud
	// holding Audience, exp, iss when present). Without it, opaque tokens
	// are refused. Optional; with Issuers, see there.
	Introspection Introspection

	// Issuers are further Logto tenants (issuers) whose access tokens the
	// API takes, beside Endpoint's: an API serving the users of several
	// tenants, say. Each has its own discovery, key set and cache entries,
	// and each is checked as Endpoint is. A JWT goes to the issuer its iss
	// claim names, read before the signature only to pick the keys, and is
	// then verified with that issuer's keys alone: a token naming one
	// tenant passes with that tenant's keys or not at all, whatever key ID
	// it names. A token naming none of them is refused (invalid_token,
	// "wrong issuer"; the log names its iss and every issuer expected).
	// Audience is the same for all: register the API under that indicator
	// in each tenant. Users of two tenants are two users even with the
	// same Subject: tell them apart by Claims.Issuer.
	//
	// An opaque token names no issuer, so at most one issuer, Endpoint's
	// or one of these, may have Introspection: asking each in turn would
	// hand one tenant's tokens to the others, which could replay them here.
	// Opaque tokens of the other issuers are refused.
	Issuers []IssuerConfig

	// HTTPClient fetches discovery and keys, and asks the introspection
	// endpoint; nil means a client with a 10 s timeout, which also bounds
	// how long requests with one new opaque token wait for its answer.
	HTTPClient *http.Client
	// Now replaces time.Now, for tests.
	Now func() time.Time

	// Logger receives one record per request the middlewares turn away,
	// with the reason, and for a token of another issuer or audience the
	// value it holds and the one expected; never the token itself. Nil
	// means no logging.
	//
	// The levels are chosen so that a production API can keep Info on
	// while it is under attack, when invalid tokens come by the thousand:
	//   - Debug: no token, a malformed Authorization header, and a token
	//     that is invalid in any ordinary way (malformed, expired, badly
	//     signed, another organization's), all of which any client can send;
	//   - Info: a valid token lacking a scope (RequireScopes,
	//     RequireAnyScope) or from a sign-in too weak or too old
	//     (RequireUserAuthentication);
	//   - Warn: what looks like a setup mistake or an outage rather than a
	//     bad client: a token of another issuer, or for another audience
	//     than Audience, and a provider whose keys or introspection endpoint
	//     cannot be had (503);
	//   - Error: a programming error, answered 500 (RequireScopes without
	//     Middleware before it, logged to slog.Default, since no Validator
	//     is in reach there).
	Logger *slog.Logger

	// InsecureAllowHTTP accepts an http:// Endpoint on a non-loopback host,
	// and an http:// ProviderURL on a host that is not a private one.
	// The key set then crosses the network in clear text, and whoever sits
	// on the path can substitute their own keys and mint any token: use it
	// only inside a private test network. It also lets Config.Metadata
	// name http URLs, which clients would then send tokens to in clear.
	InsecureAllowHTTP bool
}

// Validator checks bearer access tokens. It is safe for concurrent use; make
// one per API and keep it, since it caches keys and verified tokens.
type Validator struct {
	issuers  []*issuer // Endpoint's, then Config.Issuers'; never empty
	audience string
	leeway   time.Duration
	client   *http.Client
	now      func() time.Time
	logger   *slog.Logger // never nil

	metadataURL string // resource_metadata of every challenge; "" for none
	metadataDoc []byte // what ResourceMetadataHandler serves

	cache *verifiedCache

	introspection *introspector // nil when no issuer has Introspection

	verifies atomic.Int64 // signature checks done, for tests
}

// NewValidator checks cfg, reporting every problem at once in an error
// matching ErrInvalidConfig, and returns a Validator. It does no I/O:
// discovery and keys are fetched on first use.
func NewValidator(cfg Config) (*Validator, error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	issuers, introspecting, issProblems := newIssuers(cfg)
	problems = append(problems, issProblems...)
	switch {
	case cfg.Audience == "":
		bad("Audience must be provided")
	case strings.HasPrefix(cfg.Audience, OrganizationAudiencePrefix):
		bad("Audience %q is an organization token's audience, not an API's: protect organization routes with OrganizationMiddleware", cfg.Audience)
	}
	if cfg.ClockLeeway < 0 {
		bad("ClockLeeway must not be negative")
	}
	metadataURL, mdProblems := checkMetadata(cfg.Metadata, cfg.InsecureAllowHTTP)
	problems = append(problems, mdProblems...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(problems...))
	}
	v := &Validator{
		issuers:  issuers,
		audience: cfg.Audience,
		leeway:   cfg.ClockLeeway,
		client:   httpx.Client(cfg.HTTPClient),
		now:      cfg.Now,
		cache:    newVerifiedCache(defaultCacheSize),
		logger:   cfg.Logger,

		metadataURL: metadataURL,

		introspection: introspecting,
	}
	v.metadataDoc = encodeMetadata(cfg.Metadata, v.audience, v.issuers)
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	if v.leeway == 0 {
		v.leeway = DefaultClockLeeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	for _, iss := range v.issuers {
		iss.provider.Load = func(ctx context.Context) (*providerInfo, error) { return v.loadProvider(ctx, iss) }
		iss.provider.Now = v.now
	}
	return v, nil
}

// Validate checks raw, an access token of the API (aud holding
// Config.Audience), and returns its claims. A JWT (RFC 9068) is checked
// here, with the keys of the issuer it names (Endpoint's, or one of
// Config.Issuers); an opaque token, with Introspection, at the
// introspection endpoint of the one issuer that has it. A token scoped to an
// organization (with an organization_id claim) is refused: its scopes are
// what the user may do in that organization; ValidateOrganizationResource
// takes it. Errors wrap ErrInvalidToken when the token is at fault and
// ErrProvider when the provider's keys or its introspection endpoint
// cannot be had.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	return own(v.validate(ctx, raw, v.resourceRoute()))
}

// ValidateOrganization is Validate for an organization token of
// organization orgID: its aud must hold "urn:logto:organization:<orgID>"
// instead of Config.Audience, and an organization_id claim, if it has one,
// must be orgID.
func (v *Validator) ValidateOrganization(ctx context.Context, raw, orgID string) (*Claims, error) {
	return own(v.validate(ctx, raw, organizationTokenRoute(orgID)))
}

// ValidateOrganizationResource is Validate for an organization-scoped token
// of the API for organization orgID (Logto: a token asked for with both
// resource and organization_id): its aud must hold Config.Audience and its
// organization_id claim must be orgID.
func (v *Validator) ValidateOrganizationResource(ctx context.Context, raw, orgID string) (*Claims, error) {
	return own(v.validate(ctx, raw, v.organizationResourceRoute(orgID)))
}

// tokenKey is the cache key of raw: its SHA-256, so that the cache holds no
// usable token. The bytes are read in place: sha256.Sum256 neither keeps
// nor changes its input, and copying a token of a kilobyte on every
// request would cost as much as hashing it.
func tokenKey(raw string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// own gives the caller a copy of the shared claims validate returns.
func own(c *Claims, err error) (*Claims, error) {
	if err != nil {
		return nil, err
	}
	cp := *c
	return &cp, nil
}

// validate checks raw for route rt and returns its claims in the form the
// cache shares: callers hand out copies (own, claimsContext), never this
// pointer.
func (v *Validator) validate(ctx context.Context, raw string, rt route) (*Claims, error) {
	if rt.kind != resourceRoute && rt.org == "" {
		return nil, invalid("no organization")
	}
	if raw == "" {
		return nil, invalid("empty token")
	}
	if len(raw) > jwt.MaxTokenBytes {
		return nil, invalid("token too large")
	}
	now := v.now()
	key := tokenKey(raw)
	if e, ok := v.cache.get(key, now); ok {
		// A JWT's entry lives as long as its issuer's key set, and no
		// other issuer's, holds the key that verified it.
		if e.introspected || e.iss.holds(e.thumb) {
			// The cache holds tokens that passed every check but the
			// route's, which depend on the request.
			if err := rt.accept(e.claims.token.audience, e.claims.token.org); err != nil {
				return nil, err
			}
			return e.claims, nil
		}
		// The key that signed the token has left the provider's key set
		// (retired, maybe compromised): judge the token afresh.
		v.cache.drop(key)
	}
	if v.introspection != nil && !jwt.IsStructured(raw) {
		c, err := v.introspect(ctx, raw, key, now)
		if err != nil {
			return nil, err
		}
		if err := rt.accept(c.token.audience, c.token.org); err != nil {
			return nil, err
		}
		return c, nil
	}

	// Checks without I/O first, so that junk never causes a fetch.
	jws, err := jose.ParseSignedCompact(raw, jwks.AsymmetricAlgs)
	if err != nil {
		return nil, invalidErr("malformed token or unsupported algorithm", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("want exactly one signature")
	}
	hdr := jws.Signatures[0].Header
	// RFC 9068 section 4 and RFC 8725 section 3.11: without this, an ID
	// token or a logout token the provider signed, with the API in its aud,
	// would pass for an access token.
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); !jwt.TypIs(typ, "at+jwt") {
		return nil, invalid("token type is not at+jwt")
	}
	body := jws.UnsafePayloadWithoutVerification()
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, invalidErr("malformed claims", err)
	}
	// iss, read before the signature is checked, only picks the keys to
	// check it with: a token naming one issuer passes with that issuer's
	// keys or not at all.
	iss, err := v.issuerNamed(p.Issuer)
	if err != nil {
		return nil, err
	}
	if err := rt.accept(p.Audience, p.OrganizationID); err != nil {
		return nil, err
	}
	if err := p.checkTimes(now, v.leeway); err != nil {
		return nil, err
	}

	signer, err := v.verify(ctx, iss, jws)
	if err != nil {
		return nil, err
	}

	c := p.claims(body, iss.name)
	v.cache.put(key, cacheEntry{claims: c, exp: c.Expiry, iss: iss, thumb: signer.Thumbprint}, now)
	return c, nil
}
