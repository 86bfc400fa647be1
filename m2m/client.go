package m2m

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/discovery"
	"github.com/seed098cf14d/logto/internal/httpx"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// DefaultExpiryMargin is how long before its expiry a cached token is
// replaced, as in the root package.
const DefaultExpiryMargin = logto.DefaultExpiryMargin

// Config configures a [Client].
type Config struct {
	// Endpoint is the provider's base URL, such as
	// "https://your-tenant.logto.app"; the issuer is Endpoint + "/oidc".
	// Required. https unless the host is a loopback one or
	// InsecureAllowHTTP is set.
	Endpoint string
	// ProviderURL is the URL this process reaches the provider at, when
	// that is not Endpoint ("http://logto:3001" in a container network), as
	// in logto.Config: the provider there is trusted to be the provider of
	// Endpoint, its metadata must name the public issuer, and the token
	// endpoint it names under Endpoint is reached under ProviderURL. https
	// unless the host is a loopback or private one (a private IP address, a
	// single-label name such as a container's), or InsecureAllowHTTP is set;
	// over http the secret and the tokens cross that network in clear.
	ProviderURL string
	// AppID and AppSecret are the machine-to-machine app's credentials.
	// Required.
	AppID, AppSecret string
	// PreviousAppSecrets are the app's other secrets during a secret
	// rotation, as in logto.Config: AppSecret is presented first, and when
	// the provider refuses it as invalid_client each of these in turn; the
	// one that works is presented first from then on.
	PreviousAppSecrets []string
	// HTTPClient makes every request to the provider (and is the base of
	// Transport's requests when none is given). Nil means a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// ExpiryMargin: a cached token is replaced once it has less than this
	// left (capped at half its lifetime); zero means DefaultExpiryMargin.
	ExpiryMargin time.Duration
	// InsecureAllowHTTP accepts an http Endpoint and ProviderURL, and lets
	// Transport send tokens over http, on any host. For tests on a private network only:
	// a token sent in clear is anyone's.
	InsecureAllowHTTP bool
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Client gets and caches tokens for one app. Create it with [New].
type Client struct {
	issuer     string
	route      *discovery.Route // nil without ProviderURL
	http       *http.Client
	appID      string
	secret     string
	oldSecrets []string // Config.PreviousAppSecrets
	margin     time.Duration
	allowHTTP  bool
	now        func() time.Time
	disc       discovery.Cache[*provider]

	mu      sync.Mutex
	entries map[string]*entry
}

// provider is what the client knows of the provider after discovery.
type provider struct {
	tokenEndpoint string
	tokens        *tokenendpoint.Client
}

// New checks cfg and returns a Client; every problem is reported at once,
// wrapped in logto.ErrInvalidConfig. Nothing is fetched before the first
// token is asked for.
func New(cfg Config) (*Client, error) {
	var problems []error
	endpoint, err := httpx.CheckEndpoint("Endpoint", cfg.Endpoint, cfg.InsecureAllowHTTP)
	if err != nil {
		problems = append(problems, err)
	}
	var route *discovery.Route
	if cfg.ProviderURL != "" {
		internal, err := httpx.CheckProviderURL("ProviderURL", cfg.ProviderURL, cfg.InsecureAllowHTTP)
		if err != nil {
			problems = append(problems, err)
		} else if endpoint != "" {
			if route, err = discovery.NewRoute(endpoint, internal); err != nil {
				problems = append(problems, err)
			}
		}
	}
	if cfg.AppID == "" {
		problems = append(problems, errors.New("AppID must be provided"))
	}
	if cfg.AppSecret == "" {
		problems = append(problems, errors.New("AppSecret must be provided: a machine-to-machine app is a confidential client"))
	}
	var oldSecrets []string
	for _, s := range cfg.PreviousAppSecrets {
		switch {
		case s == "":
			problems = append(problems, errors.New("PreviousAppSecrets holds an empty secret"))
		case s != cfg.AppSecret && !slices.Contains(oldSecrets, s):
			oldSecrets = append(oldSecrets, s)
		}
	}
	if cfg.ExpiryMargin < 0 {
		problems = append(problems, fmt.Errorf("ExpiryMargin %v is negative", cfg.ExpiryMargin))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: m2m: %w", logto.ErrInvalidConfig, errors.Join(problems...))
	}
	c := &Client{
		issuer:     endpoint + "/oidc",
		route:      route,
		http:       httpx.Client(cfg.HTTPClient),
		appID:      cfg.AppID,
		secret:     cfg.AppSecret,
		oldSecrets: oldSecrets,
		margin:     cfg.ExpiryMargin,
		allowHTTP:  cfg.InsecureAllowHTTP,
		now:        cfg.Now,
		entries:    make(map[string]*entry),
	}
	if c.margin == 0 {
		c.margin = DefaultExpiryMargin
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.disc = discovery.Cache[*provider]{Load: c.discover, Now: c.now}
	return c, nil
}

func (c *Client) discover(ctx context.Context) (*provider, error) {
	d, err := discovery.FetchVia(ctx, c.http, c.issuer, c.route)
	if err != nil {
		return nil, err
	}
	if d.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: metadata has no token_endpoint", logto.ErrProvider)
	}
	method, err := tokenendpoint.PickAuthMethod(d.TokenEndpointAuthMethods, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", logto.ErrProvider, err)
	}
	return &provider{
		tokenEndpoint: d.TokenEndpoint,
		tokens: &tokenendpoint.Client{
			HTTP:         c.http,
			ClientID:     c.appID,
			ClientSecret: c.secret,
			OtherSecrets: c.oldSecrets,
			AuthMethod:   method,
			Now:          c.now,
		},
	}, nil
}
