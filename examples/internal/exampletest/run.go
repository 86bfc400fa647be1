package exampletest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/logtotest"
)

// lineWaiter is a program's stdout: it closes ready at the first whole
// line that holds want.
type lineWaiter struct {
	want  string
	ready chan struct{}

	mu   sync.Mutex
	buf  bytes.Buffer
	seen bool
}

func (l *lineWaiter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.seen {
		for line := range strings.Lines(l.buf.String()) {
			if strings.HasSuffix(line, "\n") && strings.Contains(line, l.want) {
				l.seen = true
				close(l.ready)
				break
			}
		}
	}
	return len(p), nil
}

func (l *lineWaiter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// FreeAddr returns a 127.0.0.1 address nobody listens on right now.
func FreeAddr(t testing.TB) string {
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

// Running is an example started with its run, as `go run` starts it.
type Running struct {
	// Base is its BASE_URL; Output what it printed so far.
	Base   string
	Output func() string
}

// StartRun runs run with env (BASE_URL and ADDR on a free loopback port
// unless set), waits for the first line of its output, which must hold
// BASE_URL, and at the end of the test ends run's context and wants it to
// return nil within ShutdownTimeout and a second. A port it picked that
// another test took first is picked again.
func StartRun(t *testing.T, run RunFunc, env map[string]string) *Running {
	t.Helper()
	for try := 1; ; try++ {
		r, err := startRun(t, run, env)
		if err == nil {
			return r
		}
		if _, fixed := env["ADDR"]; fixed || !errors.Is(err, syscall.EADDRINUSE) || try == 5 {
			t.Fatal(err)
		}
	}
}

// startRun is StartRun's one try; it fails only when run returns before
// printing its URL.
func startRun(t *testing.T, run RunFunc, env map[string]string) (*Running, error) {
	t.Helper()
	addr := FreeAddr(t)
	full := map[string]string{"BASE_URL": "http://" + addr, "ADDR": addr}
	for k, v := range env {
		full[k] = v
	}
	out := &lineWaiter{want: full["BASE_URL"], ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return full[k] }, out) }()
	select {
	case <-out.ready:
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("run returned before printing its URL: %w; output:\n%s", err, out)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("no line with %s after 10 s; output:\n%s", full["BASE_URL"], out)
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); !strings.Contains(first, full["BASE_URL"]) {
		t.Errorf("the first line %q does not hold the app's URL %s", first, full["BASE_URL"])
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v after its context ended", err)
			}
		case <-time.After(6 * time.Second):
			t.Error("run did not return 6 s after its context ended")
		}
	})
	return &Running{Base: full["BASE_URL"], Output: out.String}, nil
}

// RunsWithDevProvider starts run with no LOGTO_ENDPOINT and signs in
// through the embedded dev provider it starts, as a person would: on the
// provider's sign-in page, as its second user (logtotest.SecondUser, in no
// organization). It checks that the session cookie carries BASE_URL's
// port, that the home page shows that user, that sign-out goes through the
// provider's signed-out page back to the app, and that run shuts down
// gracefully.
func RunsWithDevProvider(t *testing.T, run RunFunc) {
	r := StartRun(t, run, nil)
	if !strings.Contains(r.Output(), "dev provider at ") {
		t.Errorf("output %q does not say the dev provider started", r.Output())
	}
	b := NewBrowser(t)
	defer b.CloseIdleConnections()
	resp, _ := Do(t, b, http.MethodGet, r.Base+"/sign-in", nil)
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(authURL, "/oidc/auth") {
		t.Fatalf("/sign-in: %d to %q", resp.StatusCode, authURL)
	}
	if resp, page := Do(t, b, http.MethodGet, authURL, nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Continue as Second User") {
		t.Fatalf("the dev provider answered %d, want its sign-in page offering Second User: %.300s", resp.StatusCode, page)
	}
	callback := Approve(t, b, authURL, 1)
	if !strings.HasPrefix(callback.String(), r.Base+"/callback?") {
		t.Fatalf("the dev provider sent the browser to %s, want the app's callback", callback)
	}
	resp, body := Do(t, b, http.MethodGet, callback.String(), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d %.300s", resp.StatusCode, body)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.Base, "http://"))
	if sc := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "logto_"+port+"=") {
		t.Errorf("the session cookie %.40q..., want one named logto_%s", sc, port)
	}
	_, body = Do(t, b, http.MethodGet, r.Base+"/", nil)
	second := logtotest.SecondUser()
	for _, want := range []string{"<h1>Authenticated</h1>", second.Name, second.Email, "member of no organization"} {
		if !strings.Contains(body, want) {
			t.Errorf("home after signing in as the second user: no %q in %.2000s", want, body)
		}
	}

	resp, body = Do(t, b, http.MethodPost, r.Base+"/sign-out", nil)
	end, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil {
		t.Fatalf("POST /sign-out: %d (%v) %.300s", resp.StatusCode, err, body)
	}
	if back := EndSession(t, b, end.String()); back.String() != r.Base+"/" {
		t.Errorf("the dev provider's signed-out page leads to %s, want %s/", back, r.Base)
	}
	if _, body = Do(t, b, http.MethodGet, r.Base+"/", nil); !strings.Contains(body, "<h1>Not authenticated</h1>") {
		t.Errorf("home after sign-out: %.300s", body)
	}
}
