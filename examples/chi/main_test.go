package main

import (
	"testing"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
)

// TestExample runs the checks every example passes
// (examples/internal/exampletest) on this one's router and program.
func TestExample(t *testing.T) { exampletest.Framework(t, newRouter, run) }
