package logto_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto"
)

// decodings returns s and everything reachable from it by base64-decoding it
// or any of its "|"-separated parts, with any of the four alphabets, up to a
// few levels deep: every way a reader of the cookie could look at it.
func decodings(s []byte, depth int) [][]byte {
	out := [][]byte{s}
	if depth == 0 {
		return out
	}
	parts := append([][]byte{s}, bytes.Split(s, []byte("|"))...)
	for _, p := range parts {
		for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
			if d, err := enc.DecodeString(string(p)); err == nil && len(d) > 0 {
				out = append(out, decodings(d, depth-1)...)
			}
		}
	}
	return out
}

// wantSealed writes tokens into a session of store and fails the test when
// any decoding of the cookie shows one of them.
func wantSealed(t *testing.T, store sessions.Store) {
	t.Helper()
	ctx := context.Background()
	secrets := map[string]string{
		logto.StorageKeyRefreshToken: "refresh-token-Zq8mXc4TtL0pKs",
		logto.StorageKeyIDToken:      "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJl",
	}
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(store, w, ssRequest(), "")
	for k, v := range secrets {
		if err := s.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	for _, d := range decodings([]byte(c.Value), 4) {
		for k, v := range secrets {
			// Any 12 bytes of a token would do to recognise it.
			for _, part := range []string{v, v[:12], v[len(v)-12:]} {
				if bytes.Contains(d, []byte(part)) {
					t.Fatalf("the cookie shows %s (%q) once decoded: %q", k, part, d)
				}
			}
		}
	}
	// The store still reads what it wrote.
	if got := readSession(t, store, c, logto.StorageKeyRefreshToken)[logto.StorageKeyRefreshToken]; got != secrets[logto.StorageKeyRefreshToken] {
		t.Errorf("the store reads back %q", got)
	}
}

// Whoever sees the cookie (a log, a proxy, a shared machine) must not read
// the refresh token in it: a cookie store always encrypts.
func TestCookieStoreSealsTokens(t *testing.T) {
	k := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	builds := []struct {
		name  string
		build func() (*sessions.CookieStore, error)
	}{
		{"authentication key only", func() (*sessions.CookieStore, error) { return logto.NewCookieStore(ssRedirect, k('a', 32)) }},
		{"key pair", func() (*sessions.CookieStore, error) { return logto.NewCookieStore(ssRedirect, k('a', 32), k('e', 32)) }},
		{"secret", func() (*sessions.CookieStore, error) {
			return logto.NewCookieStoreFromSecret(ssRedirect, []byte("a secret of at least thirty-two bytes"))
		}},
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			store, err := b.build()
			if err != nil {
				if !errors.Is(err, logto.ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig", err)
				}
				return // refused: it writes no cookie at all
			}
			wantSealed(t, store)
		})
	}
}

func TestNewCookieStoreRequiresEncryption(t *testing.T) {
	k := func(n int) []byte { return bytes.Repeat([]byte{'k'}, n) }
	for _, tc := range []struct {
		name string
		keys [][]byte
	}{
		{"authentication key only", [][]byte{k(32)}},
		{"nil encryption key", [][]byte{k(32), nil}},
		{"older pair without one", [][]byte{k(32), k(32), k(32)}},
		{"older pair with a nil one", [][]byte{k(32), k(32), k(64), nil}},
	} {
		store, err := logto.NewCookieStore(ssRedirect, tc.keys...)
		if !errors.Is(err, logto.ErrInvalidConfig) || store != nil {
			t.Errorf("%s: got %v, %v; want nil and ErrInvalidConfig", tc.name, store, err)
		} else if !strings.Contains(err.Error(), "encryption key") {
			t.Errorf("%s: error %q does not name the encryption key", tc.name, err)
		}
	}
}

func TestNewCookieStoreFromSecret(t *testing.T) {
	long := bytes.Repeat([]byte{'s'}, 32)
	for _, tc := range []struct {
		name     string
		redirect string
		secrets  [][]byte
		want     []string // in the error
	}{
		{"no secret", ssRedirect, nil, []string{"secret"}},
		{"empty secret (an unset variable)", ssRedirect, [][]byte{{}}, []string{"secret 0"}},
		{"31-byte secret", ssRedirect, [][]byte{long[:31]}, []string{"secret 0", "32"}},
		{"short older secret", ssRedirect, [][]byte{long, []byte("old")}, []string{"secret 1"}},
		{"relative redirect URI, short secret", "/callback", [][]byte{long[:8]}, []string{"/callback", "secret 0"}},
	} {
		store, err := logto.NewCookieStoreFromSecret(tc.redirect, tc.secrets...)
		if !errors.Is(err, logto.ErrInvalidConfig) || store != nil {
			t.Errorf("%s: got %v, %v; want nil and ErrInvalidConfig", tc.name, store, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.name, err, w)
			}
		}
	}

	store, err := logto.NewCookieStoreFromSecret("https://app.example/callback", long)
	if err != nil {
		t.Fatal(err)
	}
	if *store.Options != *logto.CookieOptions("https://app.example/callback") {
		t.Errorf("Options = %+v, want CookieOptions", *store.Options)
	}
}

// A secret is rotated by putting the new one first: cookies sealed with the
// old one still open, new ones are sealed with the new one, and the old
// secret alone cannot open those.
func TestCookieStoreSecretRotation(t *testing.T) {
	ctx := context.Background()
	oldSecret := []byte("the old session secret, 32+ bytes long")
	newSecret := []byte("the new session secret, 32+ bytes long")
	fromSecrets := func(secrets ...[]byte) *sessions.CookieStore {
		t.Helper()
		s, err := logto.NewCookieStoreFromSecret(ssRedirect, secrets...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := fromSecrets(oldSecret)
	oldCookie := encodeSession(t, old, logto.DefaultSessionName, map[string]string{"k": "old"})

	rotated := fromSecrets(newSecret, oldSecret)
	if got := readSession(t, rotated, oldCookie, "k")["k"]; got != "old" {
		t.Fatalf("the rotated store reads %q from an old cookie, want old", got)
	}
	w := httptest.NewRecorder()
	s := logto.NewSessionStorage(rotated, w, ssRequest(oldCookie), "")
	if err := errors.Join(s.Set(ctx, "k", "new"), s.Flush(ctx)); err != nil {
		t.Fatal(err)
	}
	newCookie := oneSetCookie(t, w.Header(), logto.DefaultSessionName)
	if got := readSession(t, fromSecrets(newSecret), newCookie, "k")["k"]; got != "new" {
		t.Errorf("the new secret alone reads %q, want new", got)
	}
	if got := readSession(t, old, newCookie, "k")["k"]; got != "" {
		t.Errorf("the retired secret reads %q from a cookie sealed after rotation", got)
	}
	if got := readSession(t, fromSecrets([]byte("someone else's secret, 32+ bytes")), oldCookie, "k")["k"]; got != "" {
		t.Errorf("another secret reads %q", got)
	}
}
