package main

import (
	"fmt"
	"net"
	"net/url"
)

// devProviderAllowed reports why the embedded dev provider must not stand in
// for a real one, if it must not: it is for trying the API on this machine,
// so the API's own client credentials (meant for a real tenant), or an API
// reachable from elsewhere (API_BASE_URL, or ADDR listening beyond
// loopback) without LOGTO_ENDPOINT, are a deployment missing its provider,
// not a demo.
func devProviderAllowed(getenv func(string) string, addr string) error {
	var why string
	if getenv("LOGTO_APP_ID") != "" || getenv("LOGTO_APP_SECRET") != "" {
		why = "LOGTO_APP_ID or LOGTO_APP_SECRET is set"
	} else if base := getenv("API_BASE_URL"); base != "" {
		if u, err := url.Parse(base); err != nil || !isLoopbackHost(u.Hostname()) {
			why = fmt.Sprintf("API_BASE_URL %s is not a loopback URL (localhost, 127.0.0.1, [::1])", base)
		}
	}
	if why == "" {
		if host, _, err := net.SplitHostPort(addr); err != nil || !isLoopbackHost(host) {
			why = fmt.Sprintf("ADDR %s does not listen on loopback only (localhost, 127.0.0.1, [::1])", addr)
		}
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("LOGTO_ENDPOINT is not set, and the embedded dev provider serves only local development, but %s: set LOGTO_ENDPOINT to your Logto endpoint", why)
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
