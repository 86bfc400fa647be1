// Package testskip makes skipped tests visible in plain `go test` output.
//
// `go test` over several packages shows nothing but "ok" for a package that
// passed, so a test that skipped because Node.js, Chromium or Redis is
// missing goes unnoticed without -v. Tests skip through Skipf or
// Unavailablef instead of t.Skip, and the package's TestMain is Main, which
// prints after the run one line per package and reason:
//
//	SKIPPED in github.com/seed098cf14d/logto/e2e: 31 tests: node not found: ...
//
//	func TestMain(m *testing.M) { testskip.Main(m) }
//
// The line goes where `go test` does not swallow it: to standard output with
// -v or -json and when the package failed (go test prints a failed package's
// output), otherwise to the terminal (/dev/tty). Without a terminal, as in
// CI, it goes to standard error, which go test shows only for a failed
// package or with -v; CI makes a missing Node.js or Redis a failure instead
// (the required variable of Unavailablef).
package testskip

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// skip is one skipped test and why.
type skip struct{ test, reason string }

// recorder holds the skips of one test binary; safe for concurrent use, as
// parallel tests skip at once.
type recorder struct {
	mu    sync.Mutex
	skips []skip
}

func (r *recorder) add(test, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skips = append(r.skips, skip{test, reason})
}

// skipped is this test binary's recorder.
var skipped recorder

// Skipf skips t as t.Skipf does, and records the test and the reason for
// Main's summary. It suits a skip that says nothing is wrong (a case that
// does not apply); use Unavailablef when something the test needs is
// missing.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	skipped.skipf(t, format, args...)
}

func (r *recorder) skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	r.add(t.Name(), reason)
	t.Skip(reason)
}

// Unavailablef is for a test that needs something not installed or not
// running (Node.js, Chromium, Redis): it skips t, recording the reason for
// Main's summary, unless the environment variable named required is "1",
// when it fails t instead. CI sets the variable, so that a part it means to
// run cannot pass by skipping.
func Unavailablef(t testing.TB, required, format string, args ...any) {
	t.Helper()
	skipped.unavailablef(t, os.Getenv(required) == "1", required, format, args...)
}

func (r *recorder) unavailablef(t testing.TB, isRequired bool, required, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if isRequired {
		t.Fatalf("%s (%s=1, so this is a failure, not a skip)", reason, required)
		return // a fake testing.TB may return from Fatalf
	}
	r.skipf(t, "%s (%s=1 makes this a failure)", reason, required)
}

// Main runs the tests, prints the summary of what skipped (see the package
// doc for where it goes) and exits with the tests' exit code. Call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if s := skipped.summary(packagePath()); s != "" {
		w, done := destination(testing.Verbose() || code != 0)
		_, _ = io.WriteString(w, s)
		done()
	}
	os.Exit(code)
}

// summary is one line per reason the tests of pkg skipped for, in the order
// of their first skip, naming the tests when there are few; "" when none
// skipped.
func (r *recorder) summary(pkg string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var reasons []string
	tests := map[string][]string{}
	for _, s := range r.skips {
		if _, seen := tests[s.reason]; !seen {
			reasons = append(reasons, s.reason)
		}
		tests[s.reason] = append(tests[s.reason], s.test)
	}
	var b strings.Builder
	for _, reason := range reasons {
		names := tests[reason]
		fmt.Fprintf(&b, "SKIPPED in %s: %d test", pkg, len(names))
		if len(names) > 1 {
			b.WriteString("s")
		}
		if len(names) <= 3 {
			fmt.Fprintf(&b, " (%s)", strings.Join(names, ", "))
		}
		fmt.Fprintf(&b, ": %s\n", reason)
	}
	return b.String()
}

// packagePath is the import path of the package under test: go test
// records it as the test binary's main package, with ".test" after it
// unless the package is a command.
func packagePath() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
		return strings.TrimSuffix(bi.Path, ".test")
	}
	return "this package"
}

// destination is where the summary shows: standard output when go test
// shows it (onStdout: -v, -json or a failed package), else the terminal,
// else standard error. done releases it.
func destination(onStdout bool) (w io.Writer, done func()) {
	if onStdout {
		return os.Stdout, func() {}
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		return tty, func() { _ = tty.Close() }
	}
	return os.Stderr, func() {}
}
