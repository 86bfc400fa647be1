package discovery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/internal/kind"
)

const iss = "https://id.example.com/oidc"

func doc(extra string) []byte {
	return []byte(`{"issuer":"` + iss + `","jwks_uri":"https://id.example.com/oidc/jwks","token_endpoint":"https://id.example.com/oidc/token"` + extra + `}`)
}

func TestParse(t *testing.T) {
	d, err := Parse(doc(`,"authorization_response_iss_parameter_supported":true`), iss)
	if err != nil || !d.AuthorizationResponseISSParameter || d.TokenEndpoint == "" {
		t.Fatalf("%+v, %v", d, err)
	}
	for name, body := range map[string][]byte{
		"not JSON":          []byte(`<html>`),
		"other issuer":      []byte(`{"issuer":"https://evil.example/oidc","jwks_uri":"https://evil.example/jwks"}`),
		"no jwks_uri":       []byte(`{"issuer":"` + iss + `"}`),
		"relative endpoint": doc(`,"userinfo_endpoint":"/me"`),
		"http token":        []byte(`{"issuer":"` + iss + `","jwks_uri":"https://id.example.com/jwks","token_endpoint":"http://id.example.com/token"}`),
		"http jwks":         []byte(`{"issuer":"` + iss + `","jwks_uri":"http://id.example.com/jwks"}`),
		"http userinfo":     doc(`,"userinfo_endpoint":"http://id.example.com/me"`),
		"http revocation":   doc(`,"revocation_endpoint":"http://id.example.com/revoke"`),
		"javascript":        doc(`,"end_session_endpoint":"javascript:alert(1)"`),
		// The client secret is posted to the PAR endpoint.
		"http par":     doc(`,"pushed_authorization_request_endpoint":"http://id.example.com/oidc/request"`),
		"relative par": doc(`,"pushed_authorization_request_endpoint":"/oidc/request"`),
	} {
		if _, err := Parse(body, iss); !errors.Is(err, kind.ErrProvider) {
			t.Errorf("%s: err %v, want the provider kind", name, err)
		}
	}
	d, err = Parse(doc(`,"pushed_authorization_request_endpoint":"https://id.example.com/oidc/request","require_pushed_authorization_requests":true`), iss)
	if err != nil || d.PushedAuthorizationRequestEndpoint != "https://id.example.com/oidc/request" || !d.RequirePushedAuthorizationRequests {
		t.Errorf("PAR metadata: %+v, %v", d, err)
	}
	// An http issuer (a loopback dev provider) may have http endpoints.
	if _, err := Parse([]byte(`{"issuer":"http://127.0.0.1:1/oidc","jwks_uri":"http://127.0.0.1:1/oidc/jwks"}`), "http://127.0.0.1:1/oidc"); err != nil {
		t.Errorf("loopback http: %v", err)
	}
}

// An issuer other than the expected one is named beside it, with the
// Endpoint that would match when the provider calls itself by another URL.
func TestParseNamesBothIssuers(t *testing.T) {
	for got, want := range map[string][]string{
		"https://auth.example.org/oidc": {`issuer "https://auth.example.org/oidc", expected "` + iss + `"`, `write Endpoint "https://auth.example.org"`},
		"https://auth.example.org":      {`issuer "https://auth.example.org", expected "` + iss + `"`},
		"":                              {`issuer "", expected "` + iss + `"`},
	} {
		_, err := Parse([]byte(`{"issuer":"`+got+`","jwks_uri":"https://id.example.com/oidc/jwks"}`), iss)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("issuer %q: err %v, want it saying %s", got, err, w)
			}
		}
		if len(want) == 1 && err != nil && strings.Contains(err.Error(), "write Endpoint") {
			t.Errorf("issuer %q: %v suggests an Endpoint it cannot know", got, err)
		}
	}
}

func TestCacheSharesOneFetchAndCoolsDown(t *testing.T) {
	var hits atomic.Int64
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(20 * time.Millisecond)
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(strings.ReplaceAll(string(doc("")), iss, "http://"+r.Host+"/oidc")))
	}))
	defer srv.Close()
	issuer := srv.URL + "/oidc"
	clock := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c := &Cache[*Document]{
		Load: func(ctx context.Context) (*Document, error) { return Fetch(ctx, srv.Client(), issuer) },
		Now:  now,
	}
	fail.Store(true)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background()); !errors.Is(err, kind.ErrProvider) {
				t.Errorf("provider down: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := hits.Load(); n != 1 {
		t.Fatalf("%d fetches for 50 callers, want 1", n)
	}
	// Within the cooldown, no new fetch even though the provider is back.
	fail.Store(false)
	if _, err := c.Get(context.Background()); err == nil || hits.Load() != 1 {
		t.Fatalf("inside the cooldown: %v, %d fetches", err, hits.Load())
	}
	mu.Lock()
	clock = clock.Add(Cooldown)
	mu.Unlock()
	d, err := c.Get(context.Background())
	if err != nil || d.Issuer != issuer || hits.Load() != 2 {
		t.Fatalf("after the cooldown: %v, %v, %d fetches", d, err, hits.Load())
	}
	if _, err := c.Get(context.Background()); err != nil || hits.Load() != 2 {
		t.Fatalf("cached: %v, %d fetches", err, hits.Load())
	}
}

func TestCacheCallerCancellation(t *testing.T) {
	release := make(chan struct{})
	c := &Cache[int]{Load: func(ctx context.Context) (int, error) { <-release; return 7, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx); !errors.Is(err, context.Canceled) || !errors.Is(err, kind.ErrProvider) {
		t.Fatalf("canceled caller: %v", err)
	}
	close(release)
	if v, err := c.Get(context.Background()); err != nil || v != 7 {
		t.Fatalf("the detached load's result: %v, %v", v, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(doc(""), iss)
	f.Add([]byte(`{"issuer":"x","jwks_uri":"http://[::1]/"}`), "x")
	f.Fuzz(func(t *testing.T, body []byte, issuer string) {
		d, err := Parse(body, issuer)
		if err != nil {
			return
		}
		if d.Issuer != issuer || d.JWKSURI == "" {
			t.Fatalf("accepted %+v for %q", d, issuer)
		}
	})
}
