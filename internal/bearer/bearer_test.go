package bearer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seed098cf14d/logto/internal/kind"
)

// tokens hands out "t1", "t2", ... and drops on request.
type tokens struct {
	n       atomic.Int64
	current atomic.Value
}

func (s *tokens) token(context.Context) (string, error) {
	if v, _ := s.current.Load().(string); v != "" {
		return v, nil
	}
	v := "t" + string(rune('0'+s.n.Add(1)))
	s.current.Store(v)
	return v, nil
}

func (s *tokens) drop(tok string) { s.current.CompareAndSwap(tok, "") }

func TestTokenGoesOnlyToItsOrigins(t *testing.T) {
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
	}))
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/away" {
			http.Redirect(w, r, elsewhere.URL, http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, r.Header.Get("Authorization"))
	}))
	defer api.Close()

	src := &tokens{}
	tr := New(api.URL)
	tr.What, tr.Token = "the test token", src.token
	hc := &http.Client{Transport: tr}

	resp, err := hc.Get(api.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "Bearer t1" {
		t.Errorf("the API got %q", b)
	}
	if _, err := hc.Get(elsewhere.URL); !errors.Is(err, kind.ErrInvalidRequest) || !strings.Contains(err.Error(), "the test token goes only to") {
		t.Errorf("request to another origin: %v", err)
	}
	resp, err = hc.Get(api.URL + "/away")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if leaked.Load() {
		t.Error("a redirect carried the token to another origin")
	}
}

func TestTokenNeverInClear(t *testing.T) {
	tr := New("http://api.example.com")
	tr.Token = (&tokens{}).token
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/x", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, kind.ErrInvalidRequest) {
		t.Errorf("http to a remote host: %v", err)
	}
	if _, err := Failing(errors.New("no origin")).RoundTrip(req); !errors.Is(err, kind.ErrInvalidRequest) {
		t.Errorf("failing transport: %v", err)
	}
	if _, err := New("not a url").RoundTrip(req); !errors.Is(err, kind.ErrInvalidRequest) {
		t.Errorf("bad origin: %v", err)
	}
}

// A 401 buys one retry with a fresh token, body and all; a body that
// cannot be sent again gets the 401.
func TestRetryAfter401(t *testing.T) {
	var got []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Header.Get("Authorization")+" "+string(b))
		if r.Header.Get("Authorization") == "Bearer t1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()
	src := &tokens{}
	tr := New(api.URL)
	tr.Token, tr.Drop = src.token, src.drop
	hc := &http.Client{Transport: tr}

	resp, err := hc.Post(api.URL, "text/plain", strings.NewReader("hello")) // GetBody set
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(got) != 2 || got[1] != "Bearer t2 hello" {
		t.Errorf("status %d, API saw %q", resp.StatusCode, got)
	}

	got = nil
	src.current.Store("t1")
	req, _ := http.NewRequest(http.MethodPost, api.URL, io.NopCloser(strings.NewReader("once")))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(got) != 1 {
		t.Errorf("unreplayable body: status %d, API saw %q", resp.StatusCode, got)
	}
}
