package testskip

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	Main(m)
}

// fakeTB stands in for a test whose Fatalf and Skip are to be seen rather
// than obeyed: unlike testing.T's, they return.
type fakeTB struct {
	testing.TB
	name        string
	fatal, skip string
}

func (f *fakeTB) Helper()      {}
func (f *fakeTB) Name() string { return f.name }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Skip(args ...any) { f.skip = fmt.Sprint(args...) }

func TestSkipfSkipsAndRecords(t *testing.T) {
	var r recorder
	var inner *testing.T
	t.Run("inner", func(t *testing.T) {
		inner = t
		r.skipf(t, "no %s here", "Redis")
		t.Error("skipf returned")
	})
	if !inner.Skipped() {
		t.Error("the test did not skip")
	}
	if want := []skip{{"TestSkipfSkipsAndRecords/inner", "no Redis here"}}; fmt.Sprint(r.skips) != fmt.Sprint(want) {
		t.Errorf("recorded %q, want %q", r.skips, want)
	}
}

func TestUnavailablef(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		var r recorder
		f := &fakeTB{name: "TestRedis"}
		r.unavailablef(f, false, "LOGTO_REDIS_REQUIRED", "no Redis at %s", "127.0.0.1:6379")
		want := "no Redis at 127.0.0.1:6379 (LOGTO_REDIS_REQUIRED=1 makes this a failure)"
		if f.skip != want || f.fatal != "" {
			t.Errorf("skip %q, fatal %q; want skip %q", f.skip, f.fatal, want)
		}
		if len(r.skips) != 1 || r.skips[0] != (skip{"TestRedis", want}) {
			t.Errorf("recorded %q", r.skips)
		}
	})
	t.Run("required", func(t *testing.T) {
		var r recorder
		f := &fakeTB{name: "TestRedis"}
		r.unavailablef(f, true, "LOGTO_REDIS_REQUIRED", "no Redis at %s", "127.0.0.1:6379")
		want := "no Redis at 127.0.0.1:6379 (LOGTO_REDIS_REQUIRED=1, so this is a failure, not a skip)"
		if f.fatal != want || f.skip != "" {
			t.Errorf("fatal %q, skip %q; want fatal %q", f.fatal, f.skip, want)
		}
		if len(r.skips) != 0 {
			t.Errorf("a failure was recorded as a skip: %q", r.skips)
		}
	})
	t.Run("required by the environment", func(t *testing.T) {
		t.Setenv("LOGTO_TESTSKIP_REQUIRED", "1")
		f := &fakeTB{name: "TestNode"}
		Unavailablef(f, "LOGTO_TESTSKIP_REQUIRED", "node not found")
		if f.fatal == "" || f.skip != "" {
			t.Errorf("with LOGTO_TESTSKIP_REQUIRED=1: fatal %q, skip %q; want a failure", f.fatal, f.skip)
		}
	})
}

func TestSummary(t *testing.T) {
	const pkg = "example.com/p"
	for _, tc := range []struct {
		name  string
		skips []skip
		want  string
	}{
		{"none", nil, ""},
		{"one", []skip{{"TestA", "no Redis"}}, "SKIPPED in example.com/p: 1 test (TestA): no Redis\n"},
		{
			"few named, in order",
			[]skip{{"TestA", "no Redis"}, {"TestB/sub", "no Redis"}, {"TestC", "no Redis"}},
			"SKIPPED in example.com/p: 3 tests (TestA, TestB/sub, TestC): no Redis\n",
		},
		{
			"many counted",
			[]skip{{"TestA", "no node"}, {"TestB", "no node"}, {"TestC", "no node"}, {"TestD", "no node"}},
			"SKIPPED in example.com/p: 4 tests: no node\n",
		},
		{
			"a line per reason, by first skip",
			[]skip{{"TestA", "no node"}, {"TestBrowser", "no chromium"}, {"TestB", "no node"}},
			"SKIPPED in example.com/p: 2 tests (TestA, TestB): no node\n" +
				"SKIPPED in example.com/p: 1 test (TestBrowser): no chromium\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := recorder{skips: tc.skips}
			if got := r.summary(pkg); got != tc.want {
				t.Errorf("summary:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// childEnv makes this test binary, run again, a child of TestMainReports.
const childEnv = "LOGTO_TESTSKIP_CHILD"

// TestChildSkips and TestChildFails are what the child runs; in the
// parent they do nothing.
func TestChildSkips(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		Skipf(t, "the child's %s", "reason")
	}
}

func TestChildFails(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		t.Error("the child fails, as asked")
	}
}

const childSummary = "SKIPPED in github.com/seed098cf14d/logto/internal/testskip: 1 test (TestChildSkips): the child's reason\n"

// runChild runs this test binary with args and returns its exit code,
// standard output and standard error.
func runChild(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running the test binary: %v", err)
	}
	return code, stdout.String(), stderr.String()
}

// With -v (and so with -json) go test shows the binary's standard output:
// the summary is there, after the tests' own lines.
func TestMainReportsVerbose(t *testing.T) {
	code, stdout, stderr := runChild(t, exec.Command(os.Args[0], "-test.run=^TestChildSkips$", "-test.v"))
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.HasSuffix(stdout, "PASS\n"+childSummary) {
		t.Errorf("stdout does not end with PASS and the summary %q:\n%s", childSummary, stdout)
	}
	if strings.Contains(stderr, "SKIPPED") {
		t.Errorf("the summary is on stderr too:\n%s", stderr)
	}
}
