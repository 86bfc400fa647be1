package apiauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/apiauth"
)

// A verification remembered in the cache dies with the key that made it:
// once the provider dropped the key (compromised, revoked) and the key set
// was fetched again, tokens it signed are refused, cached or not.
func TestCachedVerificationDiesWithItsKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait time.Duration
	}{
		{"refetch for a new kid", 11 * time.Second},
		{"refetch past the TTL", 11 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			old := e.token(t, noFaults)
			if _, err := e.v.Validate(ctx, old); err != nil {
				t.Fatal(err)
			}
			e.p.RotateKeys()
			e.p.RetireOldKeys()
			e.clock.advance(tc.wait)
			if _, err := e.v.Validate(ctx, e.token(t, noFaults)); err != nil {
				t.Fatalf("token of the new key: %v", err)
			}
			if _, err := e.v.Validate(ctx, old); !errors.Is(err, apiauth.ErrInvalidToken) {
				t.Fatalf("cached token of the retired key: err = %v, want ErrInvalidToken", err)
			}
		})
	}
}
