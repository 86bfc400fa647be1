package exampleapp

import (
	"bytes"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadSettings(t *testing.T) {
	cases := []struct {
		name                 string
		env                  map[string]string
		scopes, resources    []string
		baseURL, addr        string
		sessionName          string
		wantErr              bool
		wantSecret           string
		wantStretched        string // a short secret, stretched
		wantSecretRandomized bool
	}{
		{
			name:    "defaults",
			env:     map[string]string{},
			baseURL: "http://localhost:3000", addr: ":3000", sessionName: "logto_3000", wantSecretRandomized: true,
		},
		{
			name: "spaces",
			env: map[string]string{
				"LOGTO_SCOPES":    "email  phone",
				"LOGTO_RESOURCES": " https://a.example https://b.example ",
			},
			scopes: []string{"email", "phone"}, resources: []string{"https://a.example", "https://b.example"},
			baseURL: "http://localhost:3000", addr: ":3000", wantSecretRandomized: true,
		},
		{
			name: "commas",
			env: map[string]string{
				"LOGTO_SCOPES":    "email,phone,,roles",
				"LOGTO_RESOURCES": "https://a.example, https://b.example",
			},
			scopes: []string{"email", "phone", "roles"}, resources: []string{"https://a.example", "https://b.example"},
			baseURL: "http://localhost:3000", addr: ":3000", wantSecretRandomized: true,
		},
		{
			name:    "port of BASE_URL",
			env:     map[string]string{"BASE_URL": "http://127.0.0.1:8123/", "SESSION_SECRET": "a session secret of 32 bytes, ok"},
			baseURL: "http://127.0.0.1:8123", addr: ":8123", sessionName: "logto_8123", wantSecret: "a session secret of 32 bytes, ok",
		},
		{
			name:    "short SESSION_SECRET, stretched",
			env:     map[string]string{"BASE_URL": "http://127.0.0.1:8123/", "SESSION_SECRET": "s3cret"},
			baseURL: "http://127.0.0.1:8123", addr: ":8123", wantStretched: "s3cret",
		},
		{
			name:    "http default port",
			env:     map[string]string{"BASE_URL": "http://app.example", "LOGTO_ENDPOINT": "https://tenant.logto.app"},
			baseURL: "http://app.example", addr: ":80", sessionName: "logto", wantSecretRandomized: true,
		},
		{
			name:    "https default port",
			env:     map[string]string{"BASE_URL": "https://app.example", "LOGTO_ENDPOINT": "https://tenant.logto.app"},
			baseURL: "https://app.example", addr: ":443", wantSecretRandomized: true,
		},
		{
			name:    "explicit ADDR",
			env:     map[string]string{"BASE_URL": "https://app.example", "ADDR": "127.0.0.1:9000", "LOGTO_ENDPOINT": "https://tenant.logto.app"},
			baseURL: "https://app.example", addr: "127.0.0.1:9000", sessionName: "logto", wantSecretRandomized: true,
		},
		{
			name:    "replica of a local app: the cookie follows BASE_URL, not ADDR",
			env:     map[string]string{"BASE_URL": "http://localhost:3000", "ADDR": "127.0.0.1:3999"},
			baseURL: "http://localhost:3000", addr: "127.0.0.1:3999", sessionName: "logto_3000", wantSecretRandomized: true,
		},
		{name: "no scheme", env: map[string]string{"BASE_URL": "localhost:3000"}, wantErr: true},
		{name: "relative", env: map[string]string{"BASE_URL": "/app"}, wantErr: true},
		{name: "no host", env: map[string]string{"BASE_URL": "http://"}, wantErr: true},
		{name: "other scheme", env: map[string]string{"BASE_URL": "ftp://app.example"}, wantErr: true},
		{name: "not a URL", env: map[string]string{"BASE_URL": "http://a b:3000"}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := LoadSettings(func(k string) string { return c.env[k] }, "http://localhost:3000")
			if c.wantErr {
				if err == nil {
					t.Fatalf("BASE_URL %q: no error", c.env["BASE_URL"])
				}
				if !strings.Contains(err.Error(), "BASE_URL") {
					t.Errorf("error %q does not name BASE_URL", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Scopes, c.scopes) {
				t.Errorf("scopes = %q, want %q", s.Scopes, c.scopes)
			}
			if !slices.Equal(s.Resources, c.resources) {
				t.Errorf("resources = %q, want %q", s.Resources, c.resources)
			}
			if s.BaseURL != c.baseURL || s.Addr != c.addr {
				t.Errorf("baseURL, addr = %q, %q; want %q, %q", s.BaseURL, s.Addr, c.baseURL, c.addr)
			}
			if c.sessionName != "" && s.SessionName != c.sessionName {
				t.Errorf("session name = %q, want %q", s.SessionName, c.sessionName)
			}
			switch {
			case c.wantSecretRandomized && len(s.SessionSecret) < 32:
				t.Errorf("random session secret of %d bytes, want >= 32", len(s.SessionSecret))
			case c.wantSecret != "" && string(s.SessionSecret) != c.wantSecret:
				t.Errorf("session secret = %q, want %q", s.SessionSecret, c.wantSecret)
			case c.wantStretched != "":
				again, err := SessionKey(c.wantStretched)
				if len(s.SessionSecret) != 32 || bytes.Contains(s.SessionSecret, []byte(c.wantStretched)) || err != nil || !bytes.Equal(again, s.SessionSecret) {
					t.Errorf("session secret %q from %q: want 32 bytes derived the same way every time", s.SessionSecret, c.wantStretched)
				}
			}
		})
	}
}

func TestSessionStoreSetting(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // in the error; "" for none
	}{
		{"unset", map[string]string{}, ""},
		{"memory", map[string]string{"SESSION_STORE": "memory"}, ""},
		{"unknown", map[string]string{"SESSION_STORE": "disk"}, "SESSION_STORE"},
		{"memory and Redis", map[string]string{"SESSION_STORE": "memory", "REDIS_URL": "redis://127.0.0.1:6379/0"}, "REDIS_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := LoadSettings(func(k string) string { return tc.env[k] }, "http://localhost:3000")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.SessionStore != tc.env["SESSION_STORE"] {
					t.Errorf("sessionStore = %q", s.SessionStore)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

// Two local apps on different ports get different cookies; a real host
// keeps the library's name.
func TestSessionName(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"http://localhost:3000", "logto_3000"},
		{"http://LOCALHOST:3001", "logto_3001"},
		{"http://127.0.0.1:8080", "logto_8080"},
		{"http://127.1.2.3:8081", "logto_8081"},
		{"http://[::1]:3002", "logto_3002"},
		{"http://localhost", "logto_80"},
		{"https://localhost", "logto_443"},
		{"https://app.example.com", "logto"},
		{"http://app.example.com:3000", "logto"},
		{"http://192.168.1.20:3000", "logto"},
		{"http://localhost.evil.example:3000", "logto"},
	} {
		u, err := url.Parse(tc.base)
		if err != nil {
			t.Fatal(err)
		}
		if got := SessionName(u); got != tc.want {
			t.Errorf("SessionName(%s) = %q, want %q", tc.base, got, tc.want)
		}
	}
}

func TestSessionDurations(t *testing.T) {
	env := map[string]string{"SESSION_MAX_AGE": "8h", "SESSION_IDLE_TIMEOUT": "30m"}
	s, err := LoadSettings(func(k string) string { return env[k] }, "http://localhost:3000")
	if err != nil {
		t.Fatal(err)
	}
	if s.SessionMaxAge != 8*time.Hour || s.SessionIdleTimeout != 30*time.Minute {
		t.Errorf("durations %v, %v; want 8h, 30m", s.SessionMaxAge, s.SessionIdleTimeout)
	}
	for _, bad := range []map[string]string{{"SESSION_MAX_AGE": "8"}, {"SESSION_IDLE_TIMEOUT": "-1m"}, {"SESSION_MAX_AGE": "0s"}} {
		_, err := LoadSettings(func(k string) string { return bad[k] }, "http://localhost:3000")
		for name := range bad {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%v: error %v, want one naming %s", bad, err, name)
			}
		}
	}
	if _, err := LoadSettings(func(k string) string { return map[string]string{"REDIS_URL": "mysql://x"}[k] }, "http://localhost:3000"); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("a bad REDIS_URL: %v, want an error naming it", err)
	}
}

func TestDevAutoApproveSetting(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "1": true} {
		s, err := LoadSettings(func(k string) string { return map[string]string{"DEV_PROVIDER_AUTO_APPROVE": v}[k] }, "http://localhost:3000")
		if err != nil || s.DevAutoApprove != want {
			t.Errorf("DEV_PROVIDER_AUTO_APPROVE=%q: %v, %v; want %v", v, s, err, want)
		}
	}
	_, err := LoadSettings(func(k string) string { return map[string]string{"DEV_PROVIDER_AUTO_APPROVE": "yes"}[k] }, "http://localhost:3000")
	if err == nil || !strings.Contains(err.Error(), "DEV_PROVIDER_AUTO_APPROVE") {
		t.Errorf("DEV_PROVIDER_AUTO_APPROVE=yes: %v, want an error naming it", err)
	}
}
