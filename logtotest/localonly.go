package logtotest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrNotLocal means the dev provider was about to stand in for a real one.
var ErrNotLocal = errors.New("the dev provider serves only local development")

// LocalOnly reports, before an app starts the dev provider in place of a
// real one, why it must not, or nil. The dev provider signs anyone in as its
// configured user, so it may serve only an app used from this machine: it
// refuses when the app has client credentials (they are meant for a real
// tenant, whose endpoint is then missing) and when any of addrs, the URLs
// ("https://app.example.com") or listen addresses ("0.0.0.0:3000") the app
// is reached at, is not on a loopback host (localhost, 127.0.0.1, [::1]).
// The error wraps ErrNotLocal and says which of these it was.
func LocalOnly(hasAppCredentials bool, addrs ...string) error {
	if hasAppCredentials {
		return fmt.Errorf("%w, but app credentials are set", ErrNotLocal)
	}
	for _, a := range addrs {
		if !isLoopbackAddr(a) {
			return fmt.Errorf("%w, but the app is reached at %s, which is not a loopback address (localhost, 127.0.0.1, [::1])", ErrNotLocal, a)
		}
	}
	return nil
}

// isLoopbackAddr reports whether a URL or a host:port names a loopback host.
func isLoopbackAddr(a string) bool {
	host := a
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil {
			return false
		}
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(a); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
