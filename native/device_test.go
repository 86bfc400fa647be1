package native_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/native"
)

func deviceProvider(t *testing.T, edit func(*logtotest.Options)) *logtotest.Provider {
	t.Helper()
	opts := logtotest.Options{DevicePollInterval: time.Second}
	if edit != nil {
		edit(&opts)
	}
	return logtotest.NewTestProvider(t, opts)
}

func TestLoginDeviceApproved(t *testing.T) {
	p := deviceProvider(t, nil)
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second := logtotest.DefaultUser().Subject
	claims, err := c.LoginDevice(ctx, native.DeviceOptions{Show: func(d *logto.DeviceAuthorization) error {
		if d.UserCode == "" || d.VerificationURI == "" || d.Interval != time.Second {
			t.Errorf("device authorization %+v", d)
		}
		go func() {
			time.Sleep(1500 * time.Millisecond) // a poll or two while pending
			if err := p.ApproveDevice(d.UserCode, second); err != nil {
				t.Error(err)
			}
		}()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != second {
		t.Errorf("signed in as %q", claims.Subject)
	}
	if tok, err := c.AccessToken(ctx, apiResource, ""); err != nil || tok.Token == "" {
		t.Errorf("access token: %v", err)
	}
}

func TestLoginDeviceDenied(t *testing.T) {
	p := deviceProvider(t, nil)
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.LoginDevice(ctx, native.DeviceOptions{Show: func(d *logto.DeviceAuthorization) error {
		return p.DenyDevice(d.UserCode)
	}})
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || oe.Code != "access_denied" {
		t.Fatalf("err = %v, want access_denied", err)
	}
	if _, err := c.IDTokenClaims(ctx); !errors.Is(err, logto.ErrNotAuthenticated) {
		t.Errorf("after a denial: %v", err)
	}
}

func TestLoginDeviceExpired(t *testing.T) {
	p := deviceProvider(t, func(o *logtotest.Options) { o.DeviceCodeTTL = 2 * time.Second })
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.LoginDevice(ctx, native.DeviceOptions{Show: func(*logto.DeviceAuthorization) error { return nil }})
	var oe *logto.OAuthError
	if !errors.As(err, &oe) || oe.Code != "expired_token" {
		t.Fatalf("err = %v, want expired_token", err)
	}
}

func TestLoginDeviceCanceled(t *testing.T) {
	p := deviceProvider(t, nil)
	c := newClient(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.LoginDevice(ctx, native.DeviceOptions{Show: func(*logto.DeviceAuthorization) error {
		time.AfterFunc(300*time.Millisecond, cancel)
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := c.LoginDevice(context.Background(), native.DeviceOptions{}); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("no Show: %v", err)
	}
}

// After a slow_down the client waits 5 s more between polls, as the
// provider measures it.
func TestLoginDeviceSlowDown(t *testing.T) {
	p := deviceProvider(t, nil)
	p.SetFaults(logtotest.Faults{DeviceSlowDown: 1})
	c := newClient(t, p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var code string
	_, err := c.LoginDevice(ctx, native.DeviceOptions{Show: func(d *logto.DeviceAuthorization) error {
		code = d.DeviceCode
		go func() {
			// Approve once the provider has seen the first poll.
			for len(p.DevicePolls(d.DeviceCode)) < 1 {
				time.Sleep(50 * time.Millisecond)
			}
			if err := p.ApproveDevice(d.UserCode, ""); err != nil {
				t.Error(err)
			}
		}()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	polls := p.DevicePolls(code)
	if len(polls) != 2 {
		t.Fatalf("%d polls, want 2 (slow_down, then the tokens)", len(polls))
	}
	if gap := polls[1].Sub(polls[0]); gap < 6*time.Second {
		t.Errorf("after slow_down the next poll came %v later, want at least 6 s (1 s + 5 s)", gap)
	}
}
