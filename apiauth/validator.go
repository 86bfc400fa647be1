package apiauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat when
// Config.Leeway is zero.
const DefaultLeeway = 60 * time.Second

// refetchCooldown is the least time between two fetches forced by a token
// (an unknown key ID, a failed fetch). Callers during it fail fast.
const refetchCooldown = 10 * time.Second

// Config says which tokens a Validator accepts.
type Config struct {
	// Endpoint is the Logto base URL; the issuer is Endpoint + "/oidc".
	Endpoint string
	// Audience is the API's resource indicator, which a token's aud must
	// hold.
	Audience string
	// Leeway is the clock skew tolerated on exp, nbf and iat; zero means
	// DefaultLeeway. It must not be negative.
	Leeway time.Duration
	// HTTPClient fetches discovery and keys; nil means a client with a 10 s
	// timeout.
	HTTPClient *http.Client
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// asymmetricAlgs are the only algorithms ever accepted, whatever discovery
// says: never "none", never an HMAC (whose key would be public).
var asymmetricAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// Validator checks bearer access tokens. It is safe for concurrent use; make
// one per API and keep it, since it caches keys and verified tokens.
type Validator struct {
	issuer   string
	audience string
	leeway   time.Duration
	client   *http.Client
	now      func() time.Time

	discMu    sync.Mutex
	disc      *discovery // nil until fetched
	discTried time.Time
	discErr   error

	keys  *keySet
	cache *verifiedCache

	verifies atomic.Int64 // signature checks done, for tests
}

// NewValidator checks cfg, reporting every problem at once, and returns a
// Validator. It does no I/O: discovery and keys are fetched on first use.
func NewValidator(cfg Config) (*Validator, error) {
	var errs []error
	if cfg.Endpoint == "" {
		errs = append(errs, errors.New("apiauth: Endpoint must be provided"))
	} else if u, err := url.Parse(cfg.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, errors.New("apiauth: Endpoint must be an absolute http(s) URL without query or fragment"))
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("apiauth: Audience must be provided"))
	}
	if cfg.Leeway < 0 {
		errs = append(errs, errors.New("apiauth: Leeway must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	v := &Validator{
		issuer:   strings.TrimRight(cfg.Endpoint, "/") + "/oidc",
		audience: cfg.Audience,
		leeway:   cfg.Leeway,
		client:   cfg.HTTPClient,
		now:      cfg.Now,
		cache:    newVerifiedCache(defaultCacheSize),
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.keys = &keySet{client: v.client, now: v.now}
	return v, nil
}

// Validate checks raw, a compact JWS access token, and returns its claims.
// Errors wrap ErrInvalidToken when the token is at fault and ErrKeys when the
// provider's keys cannot be had.
func (v *Validator) Validate(ctx context.Context, raw string) (*Claims, error) {
	return v.validate(ctx, raw, v.audience)
}

// ValidateOrganization is Validate for an organization token of
// organization orgID: its aud must hold "urn:logto:organization:<orgID>"
// instead of Config.Audience.
func (v *Validator) ValidateOrganization(ctx context.Context, raw, orgID string) (*Claims, error) {
	if orgID == "" {
		return nil, invalid("no organization")
	}
	return v.validate(ctx, raw, OrganizationAudiencePrefix+orgID)
}

func (v *Validator) validate(ctx context.Context, raw, aud string) (*Claims, error) {
	if raw == "" {
		return nil, invalid("empty token")
	}
	now := v.now()
	key := sha256.Sum256([]byte(raw))
	if c, ok := v.cache.get(key, now); ok {
		// The cache holds tokens that passed every check but audience,
		// which depends on the caller.
		if !slices.Contains(c.Audience, aud) {
			return nil, invalid("wrong audience")
		}
		return c, nil
	}

	// Checks without I/O first, so that junk never causes a fetch.
	jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
	if err != nil {
		return nil, invalidErr("malformed token or unsupported algorithm", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("want exactly one signature")
	}
	hdr := jws.Signatures[0].Header
	if typ, ok := hdr.ExtraHeaders[jose.HeaderType]; ok {
		s, _ := typ.(string)
		if !strings.EqualFold(s, "at+jwt") && !strings.EqualFold(s, "application/at+jwt") {
			return nil, invalid("token type is not at+jwt")
		}
	}
	body := jws.UnsafePayloadWithoutVerification()
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, invalidErr("malformed claims", err)
	}
	if p.Issuer != v.issuer {
		return nil, invalid("wrong issuer")
	}
	if !slices.Contains(p.Audience, aud) {
		return nil, invalid("wrong audience")
	}
	if p.Expiry == nil {
		return nil, invalid("no expiry")
	}
	if !now.Before(p.Expiry.t.Add(v.leeway)) {
		return nil, invalid("token expired")
	}
	if p.NotBefore != nil && p.NotBefore.t.After(now.Add(v.leeway)) {
		return nil, invalid("token not yet valid")
	}
	if p.IssuedAt != nil && p.IssuedAt.t.After(now.Add(v.leeway)) {
		return nil, invalid("token issued in the future")
	}

	d, err := v.discovery(ctx)
	if err != nil {
		return nil, err
	}
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	if !slices.Contains(d.algs, alg) {
		return nil, invalid("algorithm not advertised by the provider")
	}
	candidates, err := v.keys.get(ctx, d.jwksURI, hdr.KeyID)
	if err != nil {
		return nil, err
	}
	verified := false
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != string(alg) {
			continue
		}
		v.verifies.Add(1)
		out, err := jws.Verify(k.Key)
		if err == nil && bytes.Equal(out, body) {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalid("bad signature")
	}

	var rawClaims map[string]any
	if err := json.Unmarshal(body, &rawClaims); err != nil {
		return nil, invalidErr("malformed claims", err)
	}
	c := p.claims(rawClaims)
	v.cache.put(key, c, c.Expiry, now)
	return c, nil
}
