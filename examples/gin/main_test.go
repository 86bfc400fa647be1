package main

import (
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/seed098cf14d/logto/examples/internal/exampletest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	m.Run()
}

// TestExample runs the checks every example passes
// (examples/internal/exampletest) on this one's router and program.
func TestExample(t *testing.T) { exampletest.Framework(t, newRouter, run) }
