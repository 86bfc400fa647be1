package tokenendpoint

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// secretServer is a token endpoint that knows one secret at a time and
// answers a wrong one as oidc-provider does.
type secretServer struct {
	*httptest.Server
	known    atomic.Value // string
	requests atomic.Int64
	mu       sync.Mutex
	refusal  refusal  // the answer to a wrong secret
	used     []string // the secrets presented, in order
}

type refusal struct {
	status int
	body   string
}

func (s *secretServer) refuseWith(r refusal) {
	s.mu.Lock()
	s.refusal = r
	s.mu.Unlock()
}

func newSecretServer(t *testing.T, known string) *secretServer {
	s := &secretServer{}
	s.known.Store(known)
	s.refusal = refusal{401, `{"error":"invalid_client","error_description":"client authentication failed"}`}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		_ = r.ParseForm()
		secret := r.PostForm.Get("client_secret")
		if _, p, ok := r.BasicAuth(); ok {
			secret, _ = url.QueryUnescape(p)
		}
		s.mu.Lock()
		s.used = append(s.used, secret)
		no := s.refusal
		s.mu.Unlock()
		if secret != s.known.Load().(string) {
			w.WriteHeader(no.status)
			_, _ = w.Write([]byte(no.body))
			return
		}
		if r.PostForm.Get("grant_type") == "refresh_token" {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *secretServer) presented() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.used
	s.used = nil
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// During a secret rotation the client tries its other secret once when the
// provider refuses the first as invalid_client, and keeps the one that
// worked, whichever side of the rotation the provider is on.
func TestSecretRotation(t *testing.T) {
	for _, method := range []string{AuthBasic, AuthPost} {
		t.Run(method, func(t *testing.T) {
			srv := newSecretServer(t, "old")
			c := &Client{ClientID: "app", ClientSecret: "new", OtherSecrets: []string{"old"}, AuthMethod: method}
			ctx := context.Background()
			grant := url.Values{"grant_type": {"client_credentials"}}
			steps := []struct {
				known string
				want  []string
			}{
				{"old", []string{"new", "old"}}, // the new secret is not known yet
				{"old", []string{"old"}},        // the one that worked comes first
				{"new", []string{"old", "new"}}, // the provider has moved on
				{"new", []string{"new"}},
			}
			for i, s := range steps {
				srv.known.Store(s.known)
				if _, _, err := c.Token(ctx, srv.URL, grant); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got := srv.presented(); !eq(got, s.want) {
					t.Errorf("step %d: presented %v, want %v", i, got, s.want)
				}
			}
			// Revocation and the other endpoints go through the same client.
			srv.known.Store("old")
			if err := c.Revoke(ctx, srv.URL, "rt", ""); err != nil {
				t.Fatal(err)
			}
			if got := srv.presented(); !eq(got, []string{"new", "old"}) {
				t.Errorf("revocation presented %v", got)
			}
		})
	}
}

func TestSecretRotationRefusals(t *testing.T) {
	ctx := context.Background()
	grant := url.Values{"grant_type": {"client_credentials"}}

	// Neither secret is known: each is presented once, and the provider's
	// answer comes back typed.
	srv := newSecretServer(t, "other")
	c := &Client{ClientID: "app", ClientSecret: "new", OtherSecrets: []string{"old"}, AuthMethod: AuthBasic}
	_, _, err := c.Token(ctx, srv.URL, grant)
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.StatusCode != 401 {
		t.Fatalf("err %v, want invalid_client", err)
	}
	if got := srv.presented(); !eq(got, []string{"new", "old"}) {
		t.Errorf("presented %v", got)
	}

	// invalid_client in a 400 answer is the same refusal.
	srv.refuseWith(refusal{400, `{"error":"invalid_client"}`})
	srv.known.Store("old")
	if _, _, err := c.Token(ctx, srv.URL, grant); err != nil {
		t.Fatal(err)
	}
	if got := srv.presented(); !eq(got, []string{"new", "old"}) {
		t.Errorf("400 invalid_client: presented %v", got)
	}

	// Any other answer is not about the secret: no second request.
	for _, no := range []refusal{
		{400, `{"error":"invalid_grant"}`},
		{401, `{"error":"invalid_token"}`},
		{401, `not json`},
		{500, `{"error":"invalid_client"}`},
		{403, `{"error":"invalid_client"}`},
	} {
		srv := newSecretServer(t, "other")
		srv.refuseWith(no)
		c := &Client{ClientID: "app", ClientSecret: "new", OtherSecrets: []string{"old"}, AuthMethod: AuthPost}
		if _, _, err := c.Token(ctx, srv.URL, grant); err == nil {
			t.Errorf("%v: accepted", no)
		}
		if n := srv.requests.Load(); n != 1 {
			t.Errorf("%v: %d requests, want 1", no, n)
		}
	}

	// A refused grant is the secret working: it is kept.
	srv = newSecretServer(t, "old")
	c = &Client{ClientID: "app", ClientSecret: "new", OtherSecrets: []string{"old"}, AuthMethod: AuthBasic}
	_, _, err = c.Token(ctx, srv.URL, url.Values{"grant_type": {"refresh_token"}})
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Fatalf("err %v, want invalid_grant", err)
	}
	srv.presented()
	if _, _, err := c.Token(ctx, srv.URL, grant); err != nil {
		t.Fatal(err)
	}
	if got := srv.presented(); !eq(got, []string{"old"}) {
		t.Errorf("after invalid_grant: presented %v", got)
	}

	// Without other secrets, or for a public client, nothing is retried.
	for _, c := range []*Client{
		{ClientID: "app", ClientSecret: "new", AuthMethod: AuthBasic},
		{ClientID: "app", OtherSecrets: []string{"old"}, AuthMethod: AuthNone},
	} {
		srv := newSecretServer(t, "old")
		if _, _, err := c.Token(ctx, srv.URL, grant); err == nil {
			t.Errorf("%s: accepted", c.AuthMethod)
		}
		if n := srv.requests.Load(); n != 1 {
			t.Errorf("%s: %d requests, want 1", c.AuthMethod, n)
		}
	}
}

// Concurrent requests across a rotation all succeed, each presenting
// every secret at most once.
func TestSecretRotationConcurrent(t *testing.T) {
	srv := newSecretServer(t, "old")
	c := &Client{ClientID: "app", ClientSecret: "new", OtherSecrets: []string{"old"}, AuthMethod: AuthBasic}
	grant := url.Values{"grant_type": {"client_credentials"}}
	var wg sync.WaitGroup
	for i := range 40 {
		if i == 20 {
			srv.known.Store("new")
		}
		wg.Go(func() {
			if _, _, err := c.Token(context.Background(), srv.URL, grant); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := srv.requests.Load(); n > 80 {
		t.Errorf("%d requests for 40 callers", n)
	}
}
