package exampleapp

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

// Settings are an example's environment, defaulted and checked.
type Settings struct {
	// Endpoint, AppID and AppSecret are LOGTO_ENDPOINT, LOGTO_APP_ID and
	// LOGTO_APP_SECRET; StartDevProvider fills them in when Endpoint is
	// empty.
	Endpoint, AppID, AppSecret string
	// Scopes and Resources are LOGTO_SCOPES and LOGTO_RESOURCES, split at
	// spaces and commas.
	Scopes, Resources []string
	// BaseURL is BASE_URL without a trailing slash: the app's public URL.
	BaseURL string
	// Addr is ADDR, the listen address; default the port of BaseURL on all
	// interfaces.
	Addr string
	// SessionName is the session cookie's name, from BaseURL (SessionName).
	SessionName string
	// SessionSecret is what the session store derives its keys from: from
	// SESSION_SECRET (see SessionKey), or random per process.
	SessionSecret []byte
	// RedisURL is REDIS_URL: sessions in Redis when set.
	RedisURL string
	// SessionStore is SESSION_STORE: "" (cookies, or Redis with RedisURL)
	// or "memory".
	SessionStore string
	// SessionMaxAge and SessionIdleTimeout are SESSION_MAX_AGE and
	// SESSION_IDLE_TIMEOUT; zero means the library's defaults.
	SessionMaxAge, SessionIdleTimeout time.Duration
	// APIAudience is API_AUDIENCE, the resource the framework examples'
	// /api/messages accepts; empty means the first of Resources.
	APIAudience string
	// DevAutoApprove is DEV_PROVIDER_AUTO_APPROVE=1: the embedded dev
	// provider approves every sign-in at once for its first user, with no
	// sign-in page to click through (for programs that drive the app).
	DevAutoApprove bool
}

// LoadSettings reads the environment through getenv. BASE_URL defaults to
// defaultBaseURL. With LOGTO_ENDPOINT unset, the embedded dev provider will
// stand in, so LoadSettings refuses, naming LOGTO_ENDPOINT, whenever it
// must not: with app credentials set (meant for a real tenant) or a BASE_URL
// that is not loopback (logtotest.LocalOnly). Every value is checked here,
// before anything starts.
func LoadSettings(getenv func(string) string, defaultBaseURL string) (*Settings, error) {
	s := &Settings{
		Endpoint:     getenv("LOGTO_ENDPOINT"),
		AppID:        getenv("LOGTO_APP_ID"),
		AppSecret:    getenv("LOGTO_APP_SECRET"),
		Scopes:       SplitList(getenv("LOGTO_SCOPES")),
		Resources:    SplitList(getenv("LOGTO_RESOURCES")),
		BaseURL:      strings.TrimRight(getenv("BASE_URL"), "/"),
		Addr:         getenv("ADDR"),
		RedisURL:     getenv("REDIS_URL"),
		SessionStore: getenv("SESSION_STORE"),
		APIAudience:  getenv("API_AUDIENCE"),
	}
	switch v := getenv("DEV_PROVIDER_AUTO_APPROVE"); v {
	case "", "0":
	case "1":
		s.DevAutoApprove = true
	default:
		return nil, fmt.Errorf("DEV_PROVIDER_AUTO_APPROVE=%q: set 1 to skip the dev provider's sign-in page, or leave it unset", v)
	}
	if s.BaseURL == "" {
		s.BaseURL = defaultBaseURL
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"SESSION_MAX_AGE", &s.SessionMaxAge}, {"SESSION_IDLE_TIMEOUT", &s.SessionIdleTimeout}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return nil, fmt.Errorf("%s %q is not a positive Go duration such as 8h or 30m", d.name, v)
			}
			*d.dst = t
		}
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("BASE_URL %q is not an absolute http(s) URL", s.BaseURL)
	}
	if s.Endpoint == "" {
		// The dev provider signs anyone in: only for an app used here.
		if err := logtotest.LocalOnly(s.AppID != "" || s.AppSecret != "", s.BaseURL); err != nil {
			return nil, fmt.Errorf("LOGTO_ENDPOINT is not set, and %w: set LOGTO_ENDPOINT to your Logto endpoint", err)
		}
	}
	if s.Addr == "" {
		s.Addr = ":" + urlPort(u)
	}
	s.SessionName = SessionName(u)
	if secret := getenv("SESSION_SECRET"); secret != "" {
		if s.SessionSecret, err = SessionKey(secret); err != nil {
			return nil, fmt.Errorf("SESSION_SECRET: %w", err)
		}
	} else {
		s.SessionSecret = make([]byte, 32)
		if _, err := rand.Read(s.SessionSecret); err != nil {
			return nil, err
		}
	}
	if s.RedisURL != "" {
		if _, err := redis.ParseURL(s.RedisURL); err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
	}
	switch s.SessionStore {
	case "":
	case "memory":
		if s.RedisURL != "" {
			return nil, errors.New("SESSION_STORE=memory and REDIS_URL are both set: sessions live in one place; unset one")
		}
	default:
		return nil, fmt.Errorf("SESSION_STORE=%q: the one value known is memory (unset: sessions in cookies, or in Redis with REDIS_URL)", s.SessionStore)
	}
	return s, nil
}

// SessionKey turns SESSION_SECRET into the secret the session stores derive
// their keys from with HKDF (logto.NewCookieStore, redisstore.NewFromSecret,
// memstore.New), which must have at least 32 bytes. A secret that long is
// used as it is. A shorter one is taken for a passphrase and stretched with
// PBKDF2-HMAC-SHA256 (600 000 iterations, a fixed salt so that replicas
// agree), which slows guessing it down but cannot add what it lacks: give
// 32 random bytes, e.g. from `openssl rand -base64 32`.
func SessionKey(secret string) ([]byte, error) {
	if len(secret) >= 32 {
		return []byte(secret), nil
	}
	return pbkdf2.Key(sha256.New, secret, []byte("logto example SESSION_SECRET"), 600_000, 32)
}

// SplitList splits a space- or comma-separated list.
func SplitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// SessionName is the session cookie's name for an app at base. Browsers
// keep cookies per host, whatever the port, so two apps on one loopback
// host (localhost:3000 and localhost:3001 in development) would overwrite
// each other's "logto" cookie and sign each other out: on a loopback host
// the name carries base's port ("logto_3000"). It is the public URL's port,
// never the listen address's, so replicas behind one URL share the cookie.
// Elsewhere it is logto.DefaultSessionName.
func SessionName(base *url.URL) string {
	if !isLoopback(base.Hostname()) {
		return logto.DefaultSessionName
	}
	return logto.DefaultSessionName + "_" + urlPort(base)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// urlPort is u's port, or its scheme's default.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// StartDevProvider starts the embedded dev provider (logtotest) for s and
// points s at it. The app then asks for what makes every route of the home
// page work for the dev user: the dev provider's API resource
// (logtotest.DefaultResource), the organizations scope (the user is a member
// of logtotest.DefaultOrganization) and the email scope. The provider shows
// its sign-in page, where a person continues as the dev user or as
// logtotest.SecondUser (in no organization), and a page after sign-out;
// with s.DevAutoApprove it approves every sign-in for the dev user at once
// and redirects straight back after sign-out. Call it only when s.Endpoint
// is empty; LoadSettings has checked that the app is local.
func (s *Settings) StartDevProvider() (*logtotest.Provider, error) {
	if !slices.Contains(s.Resources, logtotest.DefaultResource) {
		s.Resources = append([]string{logtotest.DefaultResource}, s.Resources...)
	}
	for _, scope := range []string{logto.ScopeEmail, logto.ScopeOrganizations} {
		if !slices.Contains(s.Scopes, scope) {
			s.Scopes = append(s.Scopes, scope)
		}
	}
	dev, err := logtotest.Start(logtotest.Options{
		ClientID:               s.AppID,
		ClientSecret:           s.AppSecret,
		RedirectURIs:           []string{s.BaseURL + "/callback"},
		PostLogoutRedirectURIs: []string{s.BaseURL + "/"},
		Resources:              s.Resources,
		SignInPage:             !s.DevAutoApprove,
		ExtraUsers:             []logtotest.User{logtotest.SecondUser()},
	})
	if err != nil {
		return nil, fmt.Errorf("starting the dev provider: %w", err)
	}
	s.Endpoint, s.AppID, s.AppSecret = dev.Endpoint(), dev.ClientID(), dev.ClientSecret()
	return dev, nil
}
