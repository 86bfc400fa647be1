package main

import (
	"testing"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
)

// The checks every example passes (examples/internal/exampletest), on this
// one's ServeMux.

func TestWeb(t *testing.T) {
	t.Parallel()
	exampletest.Web(t, newHandler)
}

func TestPages(t *testing.T) {
	t.Parallel()
	exampletest.Pages(t, newHandler)
}

func TestRunsWithDevProvider(t *testing.T) {
	t.Parallel()
	exampletest.RunsWithDevProvider(t, run)
}
