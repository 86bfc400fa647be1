//go:build linux || darwin

package testskip

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// noTTY runs the child in a session of its own, without a controlling
// terminal, as in CI: /dev/tty does not open there.
func noTTY(cmd *exec.Cmd) *exec.Cmd {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}

// Without -v and without a terminal the summary is on standard error, for
// whoever runs the binary itself; go test drops a passing package's output.
func TestMainReportsWithoutTerminal(t *testing.T) {
	code, stdout, stderr := runChild(t, noTTY(exec.Command(os.Args[0], "-test.run=^TestChildSkips$")))
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if stderr != childSummary {
		t.Errorf("stderr %q, want the summary %q", stderr, childSummary)
	}
	if strings.Contains(stdout, "SKIPPED") {
		t.Errorf("the summary is on stdout too:\n%s", stdout)
	}
}

// A failed package's output is what go test prints of it: the summary goes
// there, even without -v, and the exit code stays the tests'.
func TestMainReportsFailure(t *testing.T) {
	code, stdout, stderr := runChild(t, noTTY(exec.Command(os.Args[0], "-test.run=^TestChild")))
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.HasSuffix(stdout, "FAIL\n"+childSummary) {
		t.Errorf("stdout does not end with FAIL and the summary %q:\n%s", childSummary, stdout)
	}
	if strings.Contains(stderr, "SKIPPED") {
		t.Errorf("the summary is on stderr too:\n%s", stderr)
	}
}
