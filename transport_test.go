package logto_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/seed098cf14d/logto"
)

// The bearer token goes to the resource's origin only: not to another
// origin a response redirects to, and never in clear over http to a host
// that is not this machine.
func TestTransportKeepsTheTokenAtHome(t *testing.T) {
	e := newEnv(t, nil)
	storage := logto.NewMemoryStorage()
	e.signIn(t, storage)
	c := e.app.Client(storage)

	var mu sync.Mutex
	leaked := ""
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		leaked = r.Header.Get("Authorization")
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer evil.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, evil.URL+"/steal", http.StatusFound)
	}))
	defer api.Close()

	hc := &http.Client{Transport: c.Transport(testResource, nil, api.URL)}
	resp, err := hc.Get(api.URL + "/data")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d: the redirect was not followed", resp.StatusCode)
	}
	if leaked != "" {
		t.Fatalf("the token went to another origin after a redirect: %q", leaked)
	}

	// A request to another origin from the start is refused, typed.
	if _, err := hc.Get(evil.URL + "/x"); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Fatalf("request to another origin: err = %v, want ErrInvalidRequest", err)
	}
	if leaked != "" {
		t.Fatal("the token went to another origin")
	}

	// Without extra origins the resource indicator is the origin; an http
	// resource on a real host is refused before anything is sent.
	sent := 0
	count := roundTripFunc(func(*http.Request) (*http.Response, error) { sent++; return nil, errors.New("unreachable") })
	for _, u := range []string{"https://other.example.com/", "http://api.example.com/"} {
		hc := &http.Client{Transport: c.Transport(testResource, count)}
		if _, err := hc.Get(u); !errors.Is(err, logto.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", u, err)
		}
	}
	hc = &http.Client{Transport: c.Transport(testResource, count, "http://api.example.com")}
	if _, err := hc.Get("http://api.example.com/"); !errors.Is(err, logto.ErrInvalidRequest) {
		t.Errorf("http origin on a real host: err = %v, want ErrInvalidRequest", err)
	}
	if sent != 0 {
		t.Fatalf("%d requests reached the network", sent)
	}
	hc = &http.Client{Transport: c.Transport(testResource, count)}
	if _, err := hc.Get(testResource + "/v1/x"); err == nil || errors.Is(err, logto.ErrInvalidRequest) || sent != 1 {
		t.Errorf("the resource's own https origin: err = %v, %d sent", err, sent)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// oauth2.TokenSource promises safety for concurrent use; a Client over a
// per-request SessionStorage is not safe by itself.
func TestTokenSourceConcurrentUse(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	store, err := logto.NewCookieStore(testRedirect, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, testRedirect, nil)
	storage := logto.NewSessionStorage(store, w, r, "")
	e.signIn(t, storage)
	ts := e.app.Client(storage).TokenSource(ctx, testResource)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := ts.Token(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
