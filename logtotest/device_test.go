package logtotest_test

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/seed098cf14d/logto/logtotest"
)

var userCodeRE = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// startDevice asks the device authorization endpoint as the native
// application and returns the device code and the user code.
func startDevice(t *testing.T, p *logtotest.Provider, form url.Values) (deviceCode, userCode string) {
	t.Helper()
	status, body := postAs(t, p, "/device/auth", p.NativeClientID(), "", form)
	if status != 200 {
		t.Fatalf("device authorization: %d %v", status, body)
	}
	deviceCode, _ = body["device_code"].(string)
	userCode, _ = body["user_code"].(string)
	if len(deviceCode) < 22 || !userCodeRE.MatchString(userCode) {
		t.Fatalf("device authorization answer %v", body)
	}
	return deviceCode, userCode
}

// poll polls the token endpoint as the native application.
func poll(t *testing.T, p *logtotest.Provider, deviceCode string) (int, map[string]any) {
	t.Helper()
	return postAs(t, p, "/token", p.NativeClientID(), "", url.Values{
		"grant_type": {logtotest.GrantTypeDeviceCode}, "device_code": {deviceCode},
	})
}

// fakeClock is a provider clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestDeviceFlowApproved(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{
		DevicePollInterval: 1500 * time.Millisecond,
		ExtraUsers:         []logtotest.User{logtotest.SecondUser()},
	})
	status, body := postAs(t, p, "/device/auth", p.NativeClientID(), "", url.Values{
		"scope": {"openid offline_access profile"}, "resource": {logtotest.DefaultResource},
	})
	if status != 200 {
		t.Fatalf("device authorization: %d %v", status, body)
	}
	dc, uc := body["device_code"].(string), body["user_code"].(string)
	verify := p.Issuer() + "/device"
	if len(dc) < 22 || !userCodeRE.MatchString(uc) || body["verification_uri"] != verify ||
		body["verification_uri_complete"] != verify+"?user_code="+uc ||
		body["expires_in"] != 600.0 || body["interval"] != 2.0 {
		t.Fatalf("device authorization answer %v", body)
	}

	status, body = poll(t, p, dc)
	wantError(t, status, body, 400, "authorization_pending")
	// Any case, with or without the dash.
	if err := p.ApproveDevice(strings.ToLower(strings.ReplaceAll(uc, "-", "")), logtotest.SecondUser().Subject); err != nil {
		t.Fatal(err)
	}
	if err := p.ApproveDevice(uc, ""); err == nil {
		t.Error("approved twice")
	}
	if err := p.DenyDevice(uc); err == nil {
		t.Error("denied after approval")
	}
	// The approval is there on the next poll, however soon.
	status, body = poll(t, p, dc)
	if status != 200 {
		t.Fatalf("poll after approval: %d %v", status, body)
	}
	op, err := oidc.NewProvider(t.Context(), p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	id, err := op.Verifier(&oidc.Config{ClientID: p.NativeClientID()}).Verify(t.Context(), body["id_token"].(string))
	if err != nil || id.Subject != logtotest.SecondUser().Subject || id.Nonce != "" {
		t.Fatalf("id token %v: %v", id, err)
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" || body["scope"] != "openid offline_access profile" {
		t.Fatalf("answer %v", body)
	}
	// The refresh token gets resource tokens for the requested resource.
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "resource": {logtotest.DefaultResource},
	})
	if status != 200 {
		t.Fatalf("resource token: %d %v", status, body)
	}
	if _, claims := decodeJWT(t, body["access_token"].(string)); claims["sub"] != logtotest.SecondUser().Subject {
		t.Errorf("resource token claims %v", claims)
	}
	rt = body["refresh_token"].(string)

	// Spent: a second poll is refused and revokes what the first gave.
	status, body = poll(t, p, dc)
	wantError(t, status, body, 400, "invalid_grant")
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt},
	})
	wantError(t, status, body, 400, "invalid_grant")
	if n := p.Grants(logtotest.GrantTypeDeviceCode); n != 3 {
		t.Errorf("Grants(device_code) = %d, want 3", n)
	}
}

func TestDeviceFlowDenied(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	dc, uc := startDevice(t, p, url.Values{"scope": {"openid"}})
	if err := p.DenyDevice(uc); err != nil {
		t.Fatal(err)
	}
	if err := p.ApproveDevice(uc, ""); err == nil {
		t.Error("approved after a deny")
	}
	status, body := poll(t, p, dc)
	wantError(t, status, body, 400, "access_denied")
	// The device has heard it; the code is spent.
	status, body = poll(t, p, dc)
	wantError(t, status, body, 400, "invalid_grant")
}

func TestDeviceFlowExpires(t *testing.T) {
	clock := newFakeClock()
	p := logtotest.NewTestProvider(t, logtotest.Options{Now: clock.Now, DeviceCodeTTL: 3 * time.Minute})
	dc, uc := startDevice(t, p, url.Values{"scope": {"openid"}})
	dc2, uc2 := startDevice(t, p, url.Values{"scope": {"openid"}})
	if err := p.ApproveDevice(uc2, ""); err != nil {
		t.Fatal(err)
	}
	clock.Add(3*time.Minute + time.Second)
	status, body := poll(t, p, dc)
	wantError(t, status, body, 400, "expired_token")
	// Approved but not fetched in time: expired as well.
	status, body = poll(t, p, dc2)
	wantError(t, status, body, 400, "expired_token")
	if err := p.ApproveDevice(uc, ""); err == nil {
		t.Error("approved an expired code")
	}
}

func TestDeviceFlowSlowDown(t *testing.T) {
	clock := newFakeClock()
	p := logtotest.NewTestProvider(t, logtotest.Options{Now: clock.Now}) // interval 5 s
	dc, uc := startDevice(t, p, url.Values{"scope": {"openid"}})
	start := clock.Now()

	steps := []struct {
		wait time.Duration
		code string
	}{
		{0, "authorization_pending"},               // the first poll: nothing to compare with
		{5 * time.Second, "authorization_pending"}, // on time
		{time.Second, "slow_down"},                 // 1 s < 5 s: the interval becomes 10 s
		{6 * time.Second, "slow_down"},             // 6 s < 10 s: 15 s
		{14 * time.Second, "slow_down"},            // 14 s < 15 s: 20 s
		{20 * time.Second, "authorization_pending"},
		{20 * time.Second, "authorization_pending"},
	}
	var want []time.Time
	for i, s := range steps {
		clock.Add(s.wait)
		want = append(want, clock.Now())
		status, body := poll(t, p, dc)
		if status != 400 || body["error"] != s.code {
			t.Fatalf("poll %d after %v: %d %v, want %s", i, s.wait, status, body, s.code)
		}
	}
	polls := p.DevicePolls(dc)
	if len(polls) != len(want) {
		t.Fatalf("DevicePolls = %v", polls)
	}
	for i := range polls {
		if !polls[i].Equal(want[i]) {
			t.Errorf("poll %d at %v, want %v", i, polls[i].Sub(start), want[i].Sub(start))
		}
	}
	// A slow_down never stands in for the tokens once approved.
	if err := p.ApproveDevice(uc, ""); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if status, body := poll(t, p, dc); status != 200 {
		t.Errorf("poll after approval: %d %v", status, body)
	}
	if p.DevicePolls("unknown") != nil {
		t.Error("polls of an unknown device code")
	}
}

func TestDeviceFlowRefused(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	dc, uc := startDevice(t, p, nil)

	// Only the native application does the device flow.
	status, body := post(t, p, "/device/auth", url.Values{"scope": {"openid"}})
	wantError(t, status, body, 400, "unauthorized_client")
	status, body = postAs(t, p, "/device/auth", p.M2MClientID(), p.M2MClientSecret(), url.Values{"scope": {"openid"}})
	wantError(t, status, body, 400, "unauthorized_client")
	status, body = post(t, p, "/token", url.Values{"grant_type": {logtotest.GrantTypeDeviceCode}, "device_code": {dc}})
	wantError(t, status, body, 400, "unauthorized_client")
	// Its requests are checked.
	status, body = postAs(t, p, "/device/auth", p.NativeClientID(), "", url.Values{"resource": {"https://unknown.example.com"}})
	wantError(t, status, body, 400, "invalid_target")
	status, body = postAs(t, p, "/device/auth", p.NativeClientID(), "", url.Values{"scope": {"a", "b"}})
	wantError(t, status, body, 400, "invalid_request")
	status, body = postAs(t, p, "/device/auth", "nobody", "", nil)
	wantError(t, status, body, 401, "invalid_client")
	status, body = postAs(t, p, "/device/auth", p.NativeClientID(), "a-secret", nil)
	wantError(t, status, body, 401, "invalid_client")
	// Polls.
	status, body = poll(t, p, "unknown")
	wantError(t, status, body, 400, "invalid_grant")
	status, body = postAs(t, p, "/token", p.NativeClientID(), "", url.Values{"grant_type": {logtotest.GrantTypeDeviceCode}})
	wantError(t, status, body, 400, "invalid_request")
	// The hooks.
	for name, err := range map[string]error{
		"malformed code": p.ApproveDevice("BCDF-GHJ", ""),
		"vowels":         p.ApproveDevice("BCDA-GHJK", ""),
		"unknown code":   p.DenyDevice(otherUserCode(uc)),
		"unknown user":   p.ApproveDevice(uc, "nobody"),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// None of that touched the request.
	status, body = poll(t, p, dc)
	wantError(t, status, body, 400, "authorization_pending")
}

// otherUserCode returns a well-formed user code that differs from uc.
func otherUserCode(uc string) string {
	first := "B"
	if uc[0] == 'B' {
		first = "C"
	}
	return first + uc[1:]
}
