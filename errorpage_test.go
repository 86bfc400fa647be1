package logto_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// closedAddr returns a loopback address whose listener is already closed:
// a provider that is down.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// An error page shows what went wrong in plain words, never the addresses
// of the infrastructure behind the app; the details go to the log.
func TestWebErrorPageHidesInfrastructure(t *testing.T) {
	addr := closedAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	logs := &syncBuffer{}
	app, err := logto.NewApp(logto.Config{
		Endpoint:    "http://" + addr,
		AppID:       "app",
		RedirectURI: "http://app.test/callback",
		Logger:      slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := logto.NewCookieStore("http://app.test/callback", webSecret)
	if err != nil {
		t.Fatal(err)
	}
	h := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
	w := httptest.NewRecorder()
	h.SignIn().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/sign-in?return_to=%2Fx", nil))

	body := w.Body.String()
	if w.Code != http.StatusBadGateway {
		t.Errorf("status %d, want 502", w.Code)
	}
	for _, leak := range []string{"dial", "127.0.0.1", port, "connection refused", "well-known"} {
		if strings.Contains(body, leak) {
			t.Errorf("error page holds %q: %s", leak, body)
		}
	}
	for _, want := range []string{
		"discovery_failed",
		"The identity provider could not be reached. Please try again in a moment.",
		`<a href="/">Home</a>`,
		`<a href="/sign-in">Sign in again</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("error page lacks %q: %s", want, body)
		}
	}

	got := logs.String()
	// The provider out of reach is its outage, not the app's fault: Warn.
	for _, want := range []string{"level=WARN", "method=GET", "path=/sign-in", "dial", port, "status=502", "code=discovery_failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q: %s", want, got)
		}
	}
}

// Every kind of failure has its own plain sentence, and none of them is
// the error's text.
func TestErrorMessage(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{logto.ErrInvalidState, "The sign-in link has expired or was already used."},
		{logto.ErrNotAuthenticated, "You are not signed in, or your session has ended."},
		{errors.Join(logto.ErrDiscovery, errors.New("dial tcp 127.0.0.1:1: connection refused")),
			"The identity provider could not be reached. Please try again in a moment."},
		{&logto.OAuthError{Code: "access_denied", Description: "<script>", Endpoint: "authorize"},
			"The sign-in was cancelled or refused."},
		{errors.New("secret internals"), "Something went wrong. Please try again."},
	}
	for _, tc := range cases {
		if got := logto.ErrorMessage(tc.err); got != tc.want {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
