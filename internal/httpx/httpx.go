// Package httpx holds the HTTP defaults every package of the SDK shares: the
// default client and its timeout, and capped reads of provider answers.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds every request to the provider when the caller gives
// no *http.Client of its own.
const DefaultTimeout = 10 * time.Second

// MaxBodyBytes caps every body read from the provider: discovery, key sets,
// token, userinfo and revocation answers.
const MaxBodyBytes = 1 << 20

// ErrTooLarge means an answer was larger than MaxBodyBytes.
var ErrTooLarge = errors.New("answer larger than 1 MiB")

// Client returns c, or a new client with DefaultTimeout when c is nil
// (never http.DefaultClient, which has no timeout).
func Client(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: DefaultTimeout}
}

// ReadBody reads r to its end, failing with ErrTooLarge past MaxBodyBytes
// rather than handing on a truncated document.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBodyBytes {
		return nil, ErrTooLarge
	}
	return b, nil
}

// GetJSON GETs uri with Accept: application/json and returns a 200 answer's
// body (capped) and headers. Any other status is an error naming it.
func GetJSON(ctx context.Context, client *http.Client, uri string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, nil, fmt.Errorf("GET %s answered HTTP %d", uri, resp.StatusCode)
	}
	body, err := ReadBody(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	return body, resp.Header, nil
}

// IsLoopbackHost reports whether host (without port) names this machine:
// "localhost", a name under ".localhost", or a loopback IP.
func IsLoopbackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsPrivateHost reports whether host (without port) is reached only over a
// private network: a loopback host, an IP address of a private range
// (RFC 1918, RFC 4193 unique local), or a single-label name that begins
// with a letter, such as a container's or a compose service's ("logto"),
// which only a local resolver answers. A name with a dot may be anywhere
// on the internet, and so may a bare number ("134744072" is 8.8.8.8 to
// some resolvers), hence the letter.
func IsPrivateHost(host string) bool {
	if IsLoopbackHost(host) {
		return true
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsPrivate()
	}
	host = strings.ToLower(host)
	if host == "" || host[0] < 'a' || host[0] > 'z' {
		return false
	}
	for _, c := range host {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// CheckEndpoint checks a provider base URL given in a configuration: an
// absolute http(s) URL with no query, fragment or user info, https unless
// the host is a loopback one or allowHTTP is set, and not a discovery or
// issuer URL by mistake: a path ending in /oidc or holding /.well-known/ is
// refused with the base URL to write instead. what names the setting in
// the messages ("Endpoint"). It returns the URL without a trailing slash.
func CheckEndpoint(what, raw string, allowHTTP bool) (string, error) {
	return checkBase(what, raw, func(host string) bool { return allowHTTP || IsLoopbackHost(host) },
		"http is accepted for loopback hosts, or with InsecureAllowHTTP")
}

// CheckProviderURL checks the URL a process reaches its provider at when
// that is not the public base URL (a container network's
// "http://logto:3001"), as CheckEndpoint does, except that http is also
// accepted for a private host (IsPrivateHost). what names the setting in
// the messages ("ProviderURL").
func CheckProviderURL(what, raw string, allowHTTP bool) (string, error) {
	return checkBase(what, raw, func(host string) bool { return allowHTTP || IsPrivateHost(host) },
		"http is accepted for loopback and private hosts: a private IP address, a single-label name such as a container's; elsewhere only with InsecureAllowHTTP")
}

// checkBase is CheckEndpoint with httpOK deciding which hosts may be
// reached over http, and why naming them in the message.
func checkBase(what, raw string, httpOK func(host string) bool, why string) (string, error) {
	endpoint := strings.TrimRight(raw, "/")
	if endpoint == "" {
		return "", fmt.Errorf("%s must be provided", what)
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return "", fmt.Errorf("%s %q must be an absolute http(s) URL", what, raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(raw, "?#"):
		return "", fmt.Errorf("%s %q must not carry a query, fragment or user info", what, raw)
	case u.Scheme == "http" && !httpOK(u.Hostname()):
		return "", fmt.Errorf("%s %q must be https (%s)", what, raw, why)
	}
	// The issuer and discovery URLs are what a newcomer copies from the
	// provider's console; name the base URL to write instead. The path is
	// the escaped one, so the base URL comes back as it was written.
	path := u.EscapedPath()
	origin := u.Scheme + "://" + u.Host
	if i := strings.Index(path+"/", "/.well-known/"); i >= 0 {
		base := origin + strings.TrimSuffix(path[:i], "/oidc")
		return "", fmt.Errorf("%s %q is a discovery URL, not the provider's base URL: write %q (the SDK adds /oidc/.well-known/...)", what, raw, base)
	}
	if base, ok := strings.CutSuffix(path, "/oidc"); ok {
		return "", fmt.Errorf("%s %q is the issuer, not the provider's base URL: write %q (the SDK adds /oidc)", what, raw, origin+base)
	}
	return endpoint, nil
}

// HostPort is u's lower-cased host and port, the scheme's default port
// made explicit (80 for http, 443 for https).
func HostPort(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port)
}

// Origin is u's scheme://host:port, lower-cased, the default port explicit
// (RFC 6454's origin, spelt one way).
func Origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + HostPort(u)
}
