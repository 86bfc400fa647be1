package tokenendpoint

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto/internal/kind"
)

func TestClientAuthAndAnswers(t *testing.T) {
	var got *http.Request
	var gotForm url.Values
	answer, status := `{"access_token":"at","token_type":"bearer","expires_in":"3600","refresh_token":"rt"}`, 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_ = r.ParseForm()
		gotForm = r.PostForm
		w.WriteHeader(status)
		_, _ = w.Write([]byte(answer))
	}))
	defer srv.Close()
	ctx := context.Background()

	c := &Client{ClientID: "id:1", ClientSecret: "s&2", AuthMethod: AuthBasic}
	tok, _, err := c.Token(ctx, srv.URL, url.Values{"grant_type": {"refresh_token"}})
	if err != nil || tok.AccessToken != "at" || tok.ExpiresIn != 3600 || tok.RefreshToken != "rt" {
		t.Fatalf("%+v, %v", tok, err)
	}
	if u, p, ok := got.BasicAuth(); !ok || u != "id%3A1" || p != "s%262" || gotForm.Has("client_secret") {
		t.Errorf("basic auth: %q %q %v, form %v", u, p, ok, gotForm)
	}
	c.AuthMethod = AuthPost
	if _, _, err := c.Token(ctx, srv.URL, url.Values{}); err != nil || gotForm.Get("client_secret") != "s&2" {
		t.Errorf("post auth: form %v, %v", gotForm, err)
	}
	c.AuthMethod = AuthNone
	if _, _, err := c.Token(ctx, srv.URL, url.Values{}); err != nil || gotForm.Get("client_id") != "id:1" || gotForm.Has("client_secret") {
		t.Errorf("no auth: form %v, %v", gotForm, err)
	}

	answer, status = `{"error":"invalid_grant","error_description":"spent"}`, 400
	_, _, err = c.Token(ctx, srv.URL, url.Values{})
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" || oe.StatusCode != 400 || !errors.Is(err, kind.ErrProvider) {
		t.Fatalf("error answer: %v", err)
	}
	for _, a := range []string{`<html>`, `{"token_type":"Bearer"}`, `{"access_token":"x","token_type":"DPoP"}`, `{"access_token":"x","token_type":"Bearer","expires_in":-1}`} {
		answer, status = a, 200
		if _, _, err := c.Token(ctx, srv.URL, url.Values{}); !errors.Is(err, kind.ErrProvider) || errors.As(err, &oe) {
			t.Errorf("%s: %v, want a plain provider error", a, err)
		}
	}
	answer, status = `{"access_token":"`+strings.Repeat("a", 1<<20)+`","token_type":"Bearer"}`, 200
	if _, _, err := c.Token(ctx, srv.URL, url.Values{}); !errors.Is(err, kind.ErrProvider) {
		t.Errorf("oversized answer: %v", err)
	}
}

func TestPickAuthMethod(t *testing.T) {
	for _, c := range []struct {
		supported []string
		secret    bool
		want      string
	}{
		{nil, true, AuthBasic},
		{[]string{AuthPost}, true, AuthPost},
		{[]string{AuthPost, AuthBasic}, true, AuthBasic},
		{[]string{"private_key_jwt"}, false, AuthNone},
	} {
		if got, err := PickAuthMethod(c.supported, c.secret); err != nil || got != c.want {
			t.Errorf("%v %v: %q %v", c.supported, c.secret, got, err)
		}
	}
	if _, err := PickAuthMethod([]string{"private_key_jwt"}, true); err == nil {
		t.Error("no usable method accepted")
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":3600}`))
	f.Add([]byte(`{"access_token":"a","token_type":"Bearer","expires_in":"12"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseResponse(body)
		if err == nil && (r.AccessToken == "" || r.ExpiresIn < 0) {
			t.Fatalf("accepted %+v", r)
		}
	})
}
