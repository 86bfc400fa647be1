package logtotest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"net/http"
	"strings"
)

var b64 = base64.RawURLEncoding

// signingKey is one asymmetric key pair with its key ID and algorithm.
type signingKey struct {
	kid  string
	alg  string
	priv crypto.Signer // *ecdsa.PrivateKey or *rsa.PrivateKey
}

// keyRing holds the published signing keys, the current signer, an
// unpublished "rogue" key for faults, and extra raw JWKs. Guarded by
// Provider.mu.
type keyRing struct {
	alg       string
	published []*signingKey // oldest first
	current   *signingKey
	rogue     *signingKey // made on first use
	extra     []json.RawMessage
}

func (kr *keyRing) init(alg string) {
	kr.alg = alg
	kr.current = newSigningKey(alg)
	kr.published = []*signingKey{kr.current}
}

func (kr *keyRing) rogueKey() *signingKey {
	if kr.rogue == nil {
		kr.rogue = newSigningKey(kr.alg)
	}
	return kr.rogue
}

// newSigningKey makes a fresh key for alg, which New has validated.
func newSigningKey(alg string) *signingKey {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		panic("logtotest: cannot generate a signing key: " + err.Error())
	}
	return &signingKey{kid: randomToken(18), alg: alg, priv: priv}
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b64.EncodeToString(b)
}

// hashFor returns the hash function an algorithm signs with, also used for
// at_hash.
func hashFor(alg string) func() hash.Hash {
	switch alg {
	case "ES384":
		return sha512.New384
	default:
		return sha256.New
	}
}

// publicJWK returns the key's public half as a JWK.
func (k *signingKey) publicJWK() map[string]any {
	jwk := map[string]any{"kid": k.kid, "alg": k.alg, "use": "sig"}
	switch pub := k.priv.Public().(type) {
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil || len(raw) < 3 {
			return jwk
		}
		n := (len(raw) - 1) / 2
		jwk["kty"] = "EC"
		jwk["crv"] = pub.Curve.Params().Name
		jwk["x"] = b64.EncodeToString(raw[1 : 1+n])
		jwk["y"] = b64.EncodeToString(raw[1+n:])
	case *rsa.PublicKey:
		jwk["kty"] = "RSA"
		jwk["n"] = b64.EncodeToString(pub.N.Bytes())
		jwk["e"] = b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	}
	return jwk
}

// publicPEM returns the PEM encoding of the key's public half.
func (k *signingKey) publicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// signature signs input with the key's algorithm, in JWS form (r||s for
// ECDSA).
func (k *signingKey) signature(input []byte) ([]byte, error) {
	h := hashFor(k.alg)()
	h.Write(input)
	digest := h.Sum(nil)
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		if err != nil {
			return nil, err
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	case *rsa.PrivateKey:
		return rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest)
	}
	return nil, errors.New("unsupported key type")
}

// verify checks a JWS signature made by signature.
func (k *signingKey) verify(input, sig []byte) bool {
	h := hashFor(k.alg)()
	h.Write(input)
	digest := h.Sum(nil)
	switch pub := k.priv.Public().(type) {
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	}
	return false
}

// jwsHeader is a JWS protected header, fields in the usual order.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Typ string `json:"typ,omitempty"`
}

// signer is a snapshot of what minting one JWT needs, taken under the lock
// so the signing itself can run outside it.
type signer struct {
	mode    Signing
	current *signingKey
	rogue   *signingKey // for SignUnknownKey and SignWrongKey
}

// signerLocked snapshots the keys for a signing mode. Call with p.mu held.
func (p *Provider) signerLocked(mode Signing) signer {
	s := signer{mode: mode, current: p.keys.current}
	if mode == SignUnknownKey || mode == SignWrongKey {
		s.rogue = p.keys.rogueKey()
	}
	return s
}

// sign builds a compact JWS of claims with header type typ.
func (s signer) sign(typ string, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	hdr := jwsHeader{Alg: s.current.alg, Kid: s.current.kid, Typ: typ}
	key := s.current
	var hmacSecret []byte
	switch s.mode {
	case SignNone:
		hdr = jwsHeader{Alg: "none", Typ: typ}
	case SignHS256PublicKey:
		hdr.Alg = "HS256"
		hmacSecret = s.current.publicPEM()
	case SignUnknownKey:
		hdr.Kid, key = s.rogue.kid, s.rogue
	case SignWrongKey:
		key = s.rogue
	}
	hb, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(hb) + "." + b64.EncodeToString(payload)
	var sig []byte
	switch {
	case s.mode == SignNone:
	case hmacSecret != nil:
		m := hmac.New(sha256.New, hmacSecret)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	default:
		if sig, err = key.signature([]byte(input)); err != nil {
			return "", fmt.Errorf("sign: %w", err)
		}
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// verifyJWT checks that token was signed by one of the published keys and
// returns its claims. It does not check any claim.
func (p *Provider) verifyJWT(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("malformed header")
	}
	var hdr jwsHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, errors.New("malformed header")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("malformed signature")
	}
	p.mu.Lock()
	keys := append([]*signingKey(nil), p.keys.published...)
	p.mu.Unlock()
	input := []byte(parts[0] + "." + parts[1])
	ok := false
	for _, k := range keys {
		if k.alg == hdr.Alg && (hdr.Kid == "" || hdr.Kid == k.kid) && k.verify(input, sig) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, errors.New("signature verification failed")
	}
	pb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed payload")
	}
	var claims map[string]any
	if err := json.Unmarshal(pb, &claims); err != nil || claims == nil {
		return nil, errors.New("malformed payload")
	}
	return claims, nil
}

// RotateKeys makes a new signing key of the same algorithm, with a new key
// ID, the signer of all later tokens. Older public keys stay published.
func (p *Provider) RotateKeys() {
	p.mu.Lock()
	alg := p.keys.alg
	p.mu.Unlock()
	k := newSigningKey(alg) // RSA key generation is slow: keep it unlocked
	p.mu.Lock()
	p.keys.current = k
	p.keys.published = append(p.keys.published, k)
	p.mu.Unlock()
}

// RetireOldKeys unpublishes every signing key but the current one, as a
// provider does some time after a rotation, or at once when a key is
// compromised: tokens the old keys signed no longer verify.
func (p *Provider) RetireOldKeys() {
	p.mu.Lock()
	p.keys.published = []*signingKey{p.keys.current}
	p.mu.Unlock()
}

// AddRawJWK publishes raw in the JWKS byte for byte, after the provider's
// own keys. Use it for keys of unknown types, such as
// {"kty":"OKP","crv":"Ed448","x":"..."} or {"kty":"foo","kid":"x"}; invalid
// JSON is published as is too, making the JWKS document malformed.
func (p *Provider) AddRawJWK(raw json.RawMessage) {
	p.mu.Lock()
	p.keys.extra = append(p.keys.extra, bytes.Clone(raw))
	p.mu.Unlock()
}

// SigningKeyID returns the key ID of the current signing key.
func (p *Provider) SigningKeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys.current.kid
}

// SigningKeyPEM returns the PEM encoding of the current signing key's public
// half, the HMAC secret [SignHS256PublicKey] uses.
func (p *Provider) SigningKeyPEM() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys.current.publicPEM()
}

// serveJWKS answers the JWKS: the provider's public keys, newest first, then
// the raw extra JWKs.
func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	if f := p.currentFaults(); f.JWKSStatus != 0 {
		status := faultStatus(f.JWKSStatus)
		writeError(w, status, faultStatusError(status), "injected JWKS fault")
		return
	}
	p.mu.Lock()
	keys := append([]*signingKey(nil), p.keys.published...)
	extra := append([]json.RawMessage(nil), p.keys.extra...)
	p.mu.Unlock()

	var buf bytes.Buffer
	buf.WriteString(`{"keys":[`)
	n := 0
	for i := len(keys) - 1; i >= 0; i-- {
		b, err := json.Marshal(keys[i].publicJWK())
		if err != nil {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
		n++
	}
	for _, raw := range extra {
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(raw)
		n++
	}
	buf.WriteString("]}")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
