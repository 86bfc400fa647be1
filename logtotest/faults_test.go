package logtotest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

func TestSigningFaults(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	for _, mode := range []logtotest.Signing{
		logtotest.SignNormal, logtotest.SignNone, logtotest.SignHS256PublicKey,
		logtotest.SignUnknownKey, logtotest.SignWrongKey,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			p.SetFaults(logtotest.Faults{IDTokenSigning: mode})
			tok, _ := f.login(t)
			raw := idToken(t, tok)
			_, err := f.verifyID(t, raw)
			if (err == nil) != (mode == logtotest.SignNormal) {
				t.Fatalf("verify: %v", err)
			}
			hdr, _ := decodeJWT(t, raw)
			switch mode {
			case logtotest.SignNone:
				if hdr["alg"] != "none" || !strings.HasSuffix(raw, ".") {
					t.Errorf("none token %v", hdr)
				}
			case logtotest.SignHS256PublicKey:
				// The HMAC secret is the published key's PEM.
				i := strings.LastIndex(raw, ".")
				m := hmac.New(sha256.New, p.SigningKeyPEM())
				m.Write([]byte(raw[:i]))
				if hdr["alg"] != "HS256" || raw[i+1:] != base64.RawURLEncoding.EncodeToString(m.Sum(nil)) ||
					!strings.HasPrefix(string(p.SigningKeyPEM()), "-----BEGIN PUBLIC KEY-----") {
					t.Errorf("HS256 token %v", hdr)
				}
			case logtotest.SignUnknownKey:
				if hdr["kid"] == p.SigningKeyID() {
					t.Error("unknown key uses the published kid")
				}
			case logtotest.SignWrongKey:
				if hdr["kid"] != p.SigningKeyID() {
					t.Error("wrong key does not name the published kid")
				}
			}
		})
	}
	p.SetFaults(logtotest.Faults{IDTokenClaims: func(c map[string]any) { delete(c, "nonce"); c["aud"] = "other" }})
	tok, _ := f.login(t)
	if _, err := f.verifyID(t, idToken(t, tok)); err == nil {
		t.Error("token with edited aud verified")
	}
}

func TestRotateKeysAndRS256(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{SigningAlg: "RS256"})
	f := newFlow(t, p)
	old := p.SigningKeyID()
	tok, _ := f.login(t)
	if _, err := f.verifyID(t, idToken(t, tok)); err != nil {
		t.Fatal(err)
	}
	p.RotateKeys()
	if p.SigningKeyID() == old || p.SigningKeyID() == "" {
		t.Fatal("RotateKeys kept the kid")
	}
	tok2, _ := f.login(t)
	hdr, _ := decodeJWT(t, idToken(t, tok2))
	if hdr["kid"] != p.SigningKeyID() || hdr["alg"] != "RS256" {
		t.Errorf("header %v", hdr)
	}
	// Both the old and the new token verify: the old key stays published.
	for _, tk := range []*oauth2.Token{tok, tok2} {
		id, err := f.verifyID(t, idToken(t, tk))
		if err != nil {
			t.Fatal(err)
		}
		if err := id.VerifyAccessToken(tk.AccessToken); err != nil {
			t.Errorf("at_hash: %v", err)
		}
	}
}

func TestRetireOldKeys(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	tok, _ := f.login(t)
	p.RotateKeys()
	tok2, _ := f.login(t)
	p.RetireOldKeys()
	if _, err := f.verifyID(t, idToken(t, tok)); err == nil {
		t.Error("a token of a retired key verified")
	}
	if _, err := f.verifyID(t, idToken(t, tok2)); err != nil {
		t.Errorf("a token of the current key: %v", err)
	}
}

func TestAccessTokenType(t *testing.T) {
	const api = "https://api.example.com"
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	for typ, want := range map[string]any{"": "at+jwt", "-": nil, "JWT": "JWT"} {
		p.SetFaults(logtotest.Faults{AccessTokenType: typ})
		tok, _ := f.login(t, oauth2.SetAuthURLParam("resource", api))
		status, body := refresh(t, p, tok.RefreshToken, url.Values{"resource": {api}})
		if status != 200 {
			t.Fatalf("resource token: %d %v", status, body)
		}
		hdr, _ := decodeJWT(t, body["access_token"].(string))
		if hdr["typ"] != want {
			t.Errorf("AccessTokenType %q: typ = %v, want %v", typ, hdr["typ"], want)
		}
	}
}

func TestTokenFaults(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	f := newFlow(t, p)
	tok, _ := f.login(t)

	p.SetFaults(logtotest.Faults{TokenStatus: 502, TokenBody: `{"error":"server_error"}`})
	status, body := refresh(t, p, tok.RefreshToken, nil)
	if status != 502 || body["error"] != "server_error" {
		t.Errorf("injected token answer %d %v", status, body)
	}

	p.SetFaults(logtotest.Faults{TokenDelay: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("delayed token: %v after %v", err, time.Since(start))
	}

	p.SetFaults(logtotest.Faults{DiscoveryStatus: 500})
	if _, err := oidc.NewProvider(t.Context(), p.Issuer()); err == nil {
		t.Error("discovery fault ignored")
	}
	p.SetFaults(logtotest.Faults{DiscoveryIssuer: "https://evil.example.com/oidc"})
	if _, err := oidc.NewProvider(t.Context(), p.Issuer()); err == nil {
		t.Error("issuer mismatch ignored")
	}
}
