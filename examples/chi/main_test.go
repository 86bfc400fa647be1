package main

import (
	"testing"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
)

// The checks every example passes (examples/internal/exampletest), on this
// one's chi router.

func TestWeb(t *testing.T) { exampletest.Web(t, newRouter) }

func TestPages(t *testing.T) { exampletest.Pages(t, newRouter) }

func TestAPI(t *testing.T) { exampletest.MessagesAPI(t, newRouter) }

func TestDevProviderNeverStandsIn(t *testing.T) { exampletest.DevProviderNeverStandsIn(t, run) }

func TestRunsWithDevProvider(t *testing.T) { exampletest.RunsWithDevProvider(t, run) }
