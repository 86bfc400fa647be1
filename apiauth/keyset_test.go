package apiauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                        10 * time.Minute,
		"no-cache":                10 * time.Minute,
		"public, max-age=300":     5 * time.Minute,
		"max-age=5":               time.Minute,
		"MAX-AGE=999999999999999": 24 * time.Hour,
		"max-age=-1":              10 * time.Minute,
		"max-age=abc":             10 * time.Minute,
	} {
		if got := apiauth.MaxAge(cc); got != want {
			t.Errorf("MaxAge(%q) = %v, want %v", cc, got, want)
		}
	}
}

func TestJWKSBodyCapped(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, logtotest.Faults{})
	big, _ := json.Marshal(map[string]string{"kty": "foo", "pad": strings.Repeat("a", 1<<20)})
	e.p.AddRawJWK(big)
	_, err := e.v.Validate(context.Background(), tok)
	if !errors.Is(err, apiauth.ErrKeys) {
		t.Fatalf("err = %v, want ErrKeys", err)
	}
}
