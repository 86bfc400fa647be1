package logtotest_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/seed098cf14d/logto/logtotest"
)

func decodeJWTPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLogoutToken(t *testing.T) {
	p := logtotest.NewTestProvider(t, logtotest.Options{})
	tok, err := p.LogoutToken(logtotest.LogoutTokenOptions{SessionID: "s1", Expiry: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h, c := decodeJWTPart(t, tok, 0), decodeJWTPart(t, tok, 1)
	if h["typ"] != "logout+jwt" || h["kid"] != p.SigningKeyID() {
		t.Errorf("header %v", h)
	}
	ev, _ := c["events"].(map[string]any)
	if _, ok := ev[logtotest.BackchannelLogoutEvent].(map[string]any); !ok || c["iss"] != p.Issuer() ||
		c["aud"] != p.ClientID() || c["sid"] != "s1" || c["sub"] != nil || c["jti"] == "" || c["exp"] == nil {
		t.Errorf("claims %v", c)
	}
	tok, err = p.LogoutToken(logtotest.LogoutTokenOptions{Type: "-", Nonce: "n", OmitEvents: true, OmitJTI: true})
	if err != nil {
		t.Fatal(err)
	}
	h, c = decodeJWTPart(t, tok, 0), decodeJWTPart(t, tok, 1)
	if _, ok := h["typ"]; ok || c["nonce"] != "n" || c["events"] != nil || c["jti"] != nil ||
		c["sub"] != logtotest.DefaultUser().Subject {
		t.Errorf("header %v claims %v", h, c)
	}
}
