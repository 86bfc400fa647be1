package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/redisstore"
)

// redisProc is a redis-server of the test's own, on a free port, that the
// test stops and starts. Its data survives a stop (SHUTDOWN SAVE writes it
// to the test's directory and the next start loads it).
type redisProc struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	log  bytes.Buffer
}

func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server not found (apt-get install redis-server): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p := &redisProc{t: t, bin: bin, dir: t.TempDir(), addr: addr}
	t.Cleanup(func() {
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
	})
	p.start()
	return p
}

func (p *redisProc) start() {
	p.t.Helper()
	_, port, _ := net.SplitHostPort(p.addr)
	p.cmd = exec.Command(p.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", p.dir, "--dbfilename", "dump.rdb", "--daemonize", "no")
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			p.t.Fatalf("redis-server on %s did not answer within 10s:\n%s", p.addr, p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop saves the data and ends the server: connections are refused until
// start.
func (p *redisProc) stop() {
	p.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
	defer c.Close()
	_ = c.ShutdownSave(context.Background()).Err() // the server hangs up: no answer
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("redis-server: %v\n%s", err, p.log.String())
	}
	p.cmd = nil
}

// pause makes the server hold every command for d, so clients time out.
func (p *redisProc) pause(d time.Duration) {
	p.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: p.addr, MaxRetries: -1})
	defer c.Close()
	if err := c.Do(context.Background(), "CLIENT", "PAUSE", strconv.FormatInt(d.Milliseconds(), 10), "ALL").Err(); err != nil {
		p.t.Fatal(err)
	}
}

// Redis failing (refusing connections, or timing out) is a storage error
// everywhere, never a signed-out session; once Redis is back, so is the
// session written before.
func TestRedisOutage(t *testing.T) {
	ctx := context.Background()
	p := startRedisProc(t)
	client := redis.NewClient(&redis.Options{
		Addr:          p.addr,
		MaxRetries:    -1, // fail at once: the test waits for the failure
		DialerRetries: 1,
		// Short timeouts, so that a paused server fails fast.
		DialTimeout:  500 * time.Millisecond,
		ReadTimeout:  300 * time.Millisecond,
		WriteTimeout: 300 * time.Millisecond,
	})
	t.Cleanup(func() { _ = client.Close() })
	redis.SetLogger(quietLogger{p.addr})
	var store *redisstore.Store
	rs := newReplicas(t, 1, func(redirect string) *redisstore.Store {
		st, err := redisstore.New(client, redirect, authKey)
		must(t, err)
		store = st
		return st
	})
	app := rs.apps[0]
	b := rs.browser(t)
	b.signIn()
	b.wantSignedIn()
	appURL, _ := url.Parse(rs.srv.URL)
	var cookie *http.Cookie
	for _, c := range b.c.Jar.Cookies(appURL) {
		if c.Name == logto.DefaultSessionName {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie after sign-in")
	}

	// Everything a request does with its session, while Redis is failing.
	wantDown := func(t *testing.T) {
		t.Helper()
		// A read: a storage error, not "not signed in".
		s := logto.NewSessionStorage(store, httptest.NewRecorder(), request(cookie), "")
		ok, err := app.Client(s).IsAuthenticated(ctx)
		if ok || !errors.Is(err, logto.ErrStorage) {
			t.Errorf("IsAuthenticated = %v, %v; want ErrStorage", ok, err)
		}
		var netErr net.Error
		if !errors.As(err, &netErr) {
			t.Errorf("the cause is lost: %v", err)
		}
		t.Logf("read: %v", err)

		// A write: a new visitor's sign-in cannot save its pending state.
		s = logto.NewSessionStorage(store, httptest.NewRecorder(), request(), "")
		if _, err := app.Client(s).SignIn(ctx, logto.SignInOptions{}); !errors.Is(err, logto.ErrStorage) {
			t.Errorf("SignIn = %v; want ErrStorage", err)
		} else {
			t.Logf("write: %v", err)
		}

		// Through the handlers: an error page, not a redirect to sign-in
		// (which would look like a sign-out) or a page served as anonymous.
		for _, target := range []string{"/protected", "/sign-in"} {
			resp, body := b.get(target)
			if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "<h1>storage_error</h1>") {
				t.Errorf("GET %s: %d %s", target, resp.StatusCode, body)
			}
			if n := len(resp.Header.Values("Set-Cookie")); n != 0 {
				t.Errorf("GET %s set %d cookies while failing", target, n)
			}
		}
	}
	// Redis is back: the session from before the outage is still signed
	// in (the client reconnects within a second or so).
	wantBack := func(t *testing.T) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s := logto.NewSessionStorage(store, httptest.NewRecorder(), request(cookie), "")
			ok, err := app.Client(s).IsAuthenticated(ctx)
			if err == nil {
				if !ok {
					t.Fatal("after the outage the session is gone")
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Redis is back but reads still fail: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		b.wantSignedIn()
	}

	t.Run("connection refused", func(t *testing.T) {
		p.stop()
		wantDown(t)
		p.start()
		wantBack(t)
	})
	t.Run("timeout", func(t *testing.T) {
		p.pause(3 * time.Second)
		wantDown(t)
		wantBack(t)
	})
	t.Run("DeleteSession", func(t *testing.T) {
		p.stop()
		if err := store.DeleteSession(ctx, "x"); err == nil {
			t.Error("DeleteSession with Redis down succeeded")
		}
		p.start()
		wantBack(t)
	})
}

// quietLogger drops go-redis's log lines about the server the test stops on
// purpose.
type quietLogger struct{ addr string }

func (l quietLogger) Printf(_ context.Context, format string, v ...any) {
	if msg := fmt.Sprintf(format, v...); !strings.Contains(msg, l.addr) {
		log.Print(msg)
	}
}
