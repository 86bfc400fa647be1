package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/seed098cf14d/logto/internal/kind"
)

var _ oidc.KeySet = (*Set)(nil)

type keyServer struct {
	mu    sync.Mutex
	keys  []jose.JSONWebKey
	body  []byte // when set, served instead of keys
	cc    string
	hits  atomic.Int64
	fail  atomic.Bool
	srv   *httptest.Server
	clock time.Time
}

func newKeyServer(t *testing.T) *keyServer {
	ks := &keyServer{clock: time.Unix(1_700_000_000, 0)}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.hits.Add(1)
		if ks.fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		ks.mu.Lock()
		defer ks.mu.Unlock()
		if ks.cc != "" {
			w.Header().Set("Cache-Control", ks.cc)
		}
		if ks.body != nil {
			_, _ = w.Write(ks.body)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: ks.keys})
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keyServer) now() time.Time { ks.mu.Lock(); defer ks.mu.Unlock(); return ks.clock }
func (ks *keyServer) advance(d time.Duration) {
	ks.mu.Lock()
	ks.clock = ks.clock.Add(d)
	ks.mu.Unlock()
}

type signer struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newSigner(t *testing.T, kid string) *signer {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{priv: k, kid: kid}
}

func (s *signer) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &s.priv.PublicKey, KeyID: s.kid, Algorithm: "ES384", Use: "sig"}
}

func (s *signer) sign(t *testing.T, kid string) string {
	sg, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: s.priv},
		(&jose.SignerOptions{}).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sg.Sign([]byte(`{"sub":"u"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := jws.CompactSerialize()
	return raw
}

func TestVerifyAndRotation(t *testing.T) {
	ks := newKeyServer(t)
	a, b := newSigner(t, "a"), newSigner(t, "b")
	ks.keys = []jose.JSONWebKey{a.public()}
	set := New(ks.srv.URL, nil, ks.now, []string{"ES384", "HS256", "none"})
	ctx := context.Background()

	if out, err := set.VerifySignature(ctx, a.sign(t, "a")); err != nil || string(out) != `{"sub":"u"}` {
		t.Fatalf("verify: %s, %v", out, err)
	}
	// A token signed by b but naming a's kid fails as a bad signature.
	if _, err := set.VerifySignature(ctx, b.sign(t, "a")); !errors.Is(err, ErrBadSignature) || !errors.Is(err, kind.ErrInvalidToken) {
		t.Fatalf("wrong key: %v", err)
	}
	// The provider rotates to b: within the cooldown, b's tokens fail fast
	// without a fetch; after it, one refetch picks b up.
	ks.mu.Lock()
	ks.keys = []jose.JSONWebKey{b.public()}
	ks.mu.Unlock()
	before := ks.hits.Load()
	if _, err := set.VerifySignature(ctx, b.sign(t, "b")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("inside the cooldown: %v", err)
	}
	if ks.hits.Load() != before {
		t.Fatalf("a fetch inside the cooldown")
	}
	ks.advance(Cooldown + time.Second)
	if _, err := set.VerifySignature(ctx, b.sign(t, "b")); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if got := ks.hits.Load() - before; got != 1 {
		t.Fatalf("%d fetches for the rotation, want 1", got)
	}
	th := set.keys[0].Thumbprint
	if !set.Holds(th) {
		t.Fatal("Holds is false for the current key")
	}
	if set.Holds("nope") {
		t.Fatal("Holds is true for an unknown key")
	}
}

// An attacker's flood of tokens with made-up key IDs, in parallel, costs
// one fetch per cooldown, not one per token.
func TestRandomKidFloodIsRationed(t *testing.T) {
	ks := newKeyServer(t)
	a := newSigner(t, "a")
	ks.keys = []jose.JSONWebKey{a.public()}
	set := New(ks.srv.URL, nil, ks.now, nil)
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := set.VerifySignature(context.Background(), a.sign(t, "forged-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))))
			if err == nil || !errors.Is(err, kind.ErrInvalidToken) {
				t.Errorf("forged kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := ks.hits.Load(); n > 2 {
		t.Fatalf("%d key fetches for 500 forged tokens, want at most 2", n)
	}
}

func TestOutageKeepsLastGoodSet(t *testing.T) {
	ks := newKeyServer(t)
	a := newSigner(t, "a")
	ks.keys = []jose.JSONWebKey{a.public()}
	ks.cc = "max-age=60"
	set := New(ks.srv.URL, nil, ks.now, nil)
	ctx := context.Background()
	if _, err := set.VerifySignature(ctx, a.sign(t, "a")); err != nil {
		t.Fatal(err)
	}
	ks.fail.Store(true)
	ks.advance(2 * time.Minute) // stale now, and the refresh fails
	if _, err := set.VerifySignature(ctx, a.sign(t, "a")); err != nil {
		t.Fatalf("stale set during an outage: %v", err)
	}
}

func TestFirstFetchFailureIsProvider(t *testing.T) {
	ks := newKeyServer(t)
	ks.fail.Store(true)
	set := New(ks.srv.URL, nil, ks.now, nil)
	a := newSigner(t, "a")
	_, err := set.VerifySignature(context.Background(), a.sign(t, "a"))
	if !errors.Is(err, kind.ErrProvider) || errors.Is(err, kind.ErrInvalidToken) {
		t.Fatalf("err %v, want the provider kind only", err)
	}
}

func TestBodyCapped(t *testing.T) {
	ks := newKeyServer(t)
	a := newSigner(t, "a")
	pub, _ := json.Marshal(a.public())
	ks.body = []byte(`{"keys":[` + string(pub) + `],"pad":"` + strings.Repeat("a", 1<<20) + `"}`)
	set := New(ks.srv.URL, nil, ks.now, nil)
	if _, err := set.VerifySignature(context.Background(), a.sign(t, "a")); !errors.Is(err, kind.ErrProvider) {
		t.Fatalf("oversized JWKS: %v, want the provider kind", err)
	}
}

func TestAlgorithmsLimited(t *testing.T) {
	ks := newKeyServer(t)
	a := newSigner(t, "a")
	ks.keys = []jose.JSONWebKey{a.public()}
	set := New(ks.srv.URL, nil, ks.now, []string{"RS256"})
	if _, err := set.VerifySignature(context.Background(), a.sign(t, "a")); err == nil {
		t.Fatal("an ES384 token passed a set limited to RS256")
	}
}

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                        10 * time.Minute,
		"no-cache":                10 * time.Minute,
		"public, max-age=300":     5 * time.Minute,
		"max-age=5":               time.Minute,
		"MAX-AGE=999999999999999": 24 * time.Hour,
		"max-age=-1":              10 * time.Minute,
		"max-age=abc":             10 * time.Minute,
	} {
		if got := MaxAge(cc); got != want {
			t.Errorf("MaxAge(%q) = %v, want %v", cc, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := Parse(body)
		if err != nil {
			return
		}
		for _, k := range keys {
			if !k.IsPublic() || k.Thumbprint == "" {
				t.Fatalf("Parse kept %+v", k)
			}
		}
	})
}
