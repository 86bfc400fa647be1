package apiauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto/apiauth"
	"github.com/seed098cf14d/logto/logtotest"
)

// BenchmarkMiddleware measures a request through Middleware with a token
// seen for the first time (full check with signature), with a repeated token
// (verification cache hit), and the floor: go-jose parsing and verifying
// the same token alone.
func BenchmarkMiddleware(b *testing.B) {
	e := newEnv(b)
	const pool = 64
	toks := make([]string, pool)
	for i := range toks {
		toks[i] = e.token(b, logtotest.Faults{})
	}
	h := e.v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serve := func(b *testing.B, tok string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	serve(b, toks[0]) // fetch discovery and keys

	b.Run("first-sight", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%pool == 0 {
				// Every token of the pool is new to the validator again.
				b.StopTimer()
				apiauth.ResetCache(e.v)
				b.StartTimer()
			}
			serve(b, toks[i%pool])
			i++
		}
	})
	b.Run("repeated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, toks[0])
		}
	})
	b.Run("floor-go-jose", func(b *testing.B) {
		resp, err := http.Get(e.p.Endpoint() + "/oidc/jwks")
		if err != nil {
			b.Fatal(err)
		}
		var set jose.JSONWebKeySet
		err = decodeJSON(resp, &set)
		if err != nil || len(set.Keys) == 0 {
			b.Fatalf("jwks: %v", err)
		}
		key := set.Keys[0].Key
		algs := []jose.SignatureAlgorithm{jose.ES384}
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(toks[0], algs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := jws.Verify(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// BenchmarkValidate measures Validate alone: a token seen for the first
// time (full check with signature) and a repeated one (cache hit).
func BenchmarkValidate(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	const pool = 64
	toks := make([]string, pool)
	for i := range toks {
		toks[i] = e.token(b, logtotest.Faults{})
	}
	if _, err := e.v.Validate(ctx, toks[0]); err != nil { // fetch discovery and keys
		b.Fatal(err)
	}
	b.Run("first-sight", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i%pool == 0 {
				b.StopTimer()
				apiauth.ResetCache(e.v)
				b.StartTimer()
			}
			if _, err := e.v.Validate(ctx, toks[i%pool]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("repeated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.v.Validate(ctx, toks[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRepeatedToken compares, side by side, a repeated JWT
// (verification cache hit) and a repeated opaque token (introspection
// answer cached), through Middleware and through Validate alone: the
// opaque token should cost no more.
func BenchmarkRepeatedToken(b *testing.B) {
	e := newEnv(b)
	v := e.introspecting(b)
	h := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tc := range []struct {
		name, tok string
	}{
		{"jwt", e.token(b, noFaults)},
		{"opaque", e.opaque(b)},
	} {
		serve := func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+tc.tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		serve(b) // the first sight: keys fetched, or the provider asked
		e.p.ResetCounters()
		b.Run("middleware/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b)
			}
		})
		b.Run("validate/"+tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(ctx, tc.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		if n := e.p.Requests("introspection") + e.p.Requests("jwks"); n != 0 {
			b.Errorf("%s: %d provider requests while repeating", tc.name, n)
		}
	}
}
