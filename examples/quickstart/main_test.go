package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
	"github.com/seed098cf14d/logto/logtotest"
)

// TestMain lets a test run main in a child process: the test binary
// itself, with QUICKSTART_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("QUICKSTART_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// The program runs as pasted, with no SESSION_SECRET, prints its URL, and
// a browser signs in through the dev provider's sign-in page, sees its
// name, and signs out.
func TestQuickstartSignsIn(t *testing.T) {
	addr := exampletest.FreeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "QUICKSTART_MAIN=1", "ADDR="+addr, "SESSION_SECRET=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		first, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- first
	}()
	select {
	case got := <-line:
		if want := "open " + base + "/\n"; got != want {
			t.Fatalf("first line %q, want %q; stderr: %s", got, want, &stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no line after 20 s; stderr: %s", &stderr)
	}

	b := exampletest.NewBrowser(t)
	// The line is printed just before the server listens.
	for try := 0; ; try++ {
		resp, err := b.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if try == 50 {
			t.Fatalf("GET %s/: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		if strings.HasPrefix(u, "/") {
			u = base + u
		}
		return exampletest.Do(t, b, http.MethodGet, u, nil)
	}
	location := func(resp *http.Response) string {
		t.Helper()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("%s: %d, want a redirect", resp.Request.URL, resp.StatusCode)
		}
		return loc.String()
	}

	resp, _ := get("/")
	signIn := location(resp)
	if signIn != base+"/sign-in?return_to=%2F" {
		t.Fatalf("signed-out / went to %s, want /sign-in", signIn)
	}
	resp, _ = get(signIn)
	callback := exampletest.Approve(t, b, location(resp), 0)
	if !strings.HasPrefix(callback.String(), base+"/callback?") {
		t.Fatalf("the dev provider sent the browser to %s", callback)
	}
	resp, _ = get(callback.String())
	if loc := location(resp); loc != base+"/" {
		t.Fatalf("the callback went to %s", loc)
	}
	resp, body := get("/")
	if want := "Hello, " + logtotest.DefaultUser().Name + "!"; resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
		t.Fatalf("signed-in /: %d %q, want %q", resp.StatusCode, body, want)
	}

	resp, _ = exampletest.Do(t, b, http.MethodPost, base+"/sign-out", nil)
	if back := exampletest.EndSession(t, b, location(resp)); back.String() != base+"/" {
		t.Errorf("sign-out leads back to %s, want %s/", back, base)
	}
	if resp, _ = get("/"); resp.StatusCode != http.StatusFound {
		t.Errorf("/ after sign-out: %d, want a redirect to sign in", resp.StatusCode)
	}
}

// The README's first Go code block is this program, byte for byte, so
// that what a newcomer pastes is what this package tests.
func TestReadmeShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := bytes.Cut(readme, []byte("\n```go\n"))
	block, _, closed := bytes.Cut(after, []byte("\n```\n"))
	if !ok || !closed {
		t.Fatal("README.md has no ```go code block")
	}
	if block = append(block, '\n'); !bytes.Equal(block, program) {
		t.Errorf("README.md's first Go code block is not examples/quickstart/main.go; copy main.go there.\nREADME:\n%s", block)
	}
}
