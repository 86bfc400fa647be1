package native

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seed098cf14d/logto"
)

// DeviceOptions configures a device sign-in.
type DeviceOptions struct {
	// Show tells the person where to go and what to enter
	// (VerificationURI and UserCode, or VerificationURIComplete). Required;
	// an error from it ends the sign-in.
	Show func(*logto.DeviceAuthorization) error
}

// slowDownStep is what a slow_down answer adds to the polling interval
// (RFC 8628 section 3.5).
const slowDownStep = 5 * time.Second

// LoginDevice signs a person in with the device authorization grant (RFC
// 8628): it asks for a device code, hands it to opts.Show and polls the
// provider as it asks: every interval, 5 s slower after each slow_down,
// until the person approves or denies, the code expires, or ctx ends. On
// approval the ID token is validated in full and the session replaces
// what the cache held.
//
// Errors: an *logto.OAuthError with Code access_denied (the person said
// no), expired_token (nobody answered in time) or whatever else the
// provider answered; ctx's error, wrapped, when it ends first.
func (c *Client) LoginDevice(ctx context.Context, opts DeviceOptions) (*logto.IDTokenClaims, error) {
	if opts.Show == nil {
		return nil, fmt.Errorf("%w: DeviceOptions.Show is required: it tells the person where to approve", logto.ErrInvalidRequest)
	}
	staging := NewMemoryCache()
	cl := c.app.Client(staging)
	da, err := cl.StartDeviceSignIn(ctx)
	if err != nil {
		return nil, err
	}
	if err := opts.Show(da); err != nil {
		return nil, fmt.Errorf("native: showing the device code: %w", err)
	}
	interval := da.Interval
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("native: waiting for the device sign-in: %w", ctx.Err())
		case <-timer.C:
		}
		res, err := cl.FinishDeviceSignIn(ctx, da.DeviceCode)
		var oe *logto.OAuthError
		switch {
		case err == nil:
			if err := c.keep(ctx, staging); err != nil {
				return nil, err
			}
			return res.Claims, nil
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
		case errors.As(err, &oe) && oe.Code == "slow_down":
			interval += slowDownStep
		default:
			return nil, err
		}
		if !c.now().Before(da.Expiry) {
			// The provider should have said expired_token; do not poll past
			// the code's life whatever it says.
			return nil, &logto.OAuthError{Code: "expired_token", Description: "the device code expired before anyone approved it", Endpoint: "token"}
		}
		timer.Reset(interval)
	}
}
