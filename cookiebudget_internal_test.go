package logto

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto/internal/jwt"
)

// reductionToken is an ID-token-shaped JWS (the signature does not matter
// here: reduceIDToken is given tokens verified before they were stored).
func reductionToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES384","kid":"k1"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

func claimNames(t *testing.T, raw string) []string {
	t.Helper()
	parts, err := jwt.Split(raw)
	if err != nil {
		t.Fatalf("a reduced record is not a JWS: %v", err)
	}
	h, err := parts.ParseHeader()
	if err != nil || h.Alg != "none" {
		t.Fatalf("header %s, want alg none", parts.Header)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(parts.Payload, &m); err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// An ID token too large for the cookie gives up its organization lists
// first, then everything but who the user is and how they signed in; the
// record stays readable as an ID token's claims and says it is unsigned.
func TestReduceIDToken(t *testing.T) {
	raw := reductionToken(t, map[string]any{
		"iss": "https://t.logto.app/oidc", "sub": "u1", "aud": "app", "exp": 2000, "iat": 1000,
		"auth_time": 900, "sid": "s1", "azp": "app", "acr": "urn:logto:acr:mfa", "amr": []string{"pwd"},
		"nonce": "n", "at_hash": "h", "name": "User", "email": "u@example.com", "picture": "https://example.com/u.png",
		"organizations":      []string{"o1", "o2"},
		"organization_roles": []string{"o1:member", "o2:admin"},
		"custom":             strings.Repeat("c", 100),
	})
	steps := [][]string{
		{"acr", "amr", "aud", "auth_time", "azp", "custom", "email", "exp", "iat", "iss", "name", "organizations", "picture", "sid", "sub"},
		{"acr", "amr", "aud", "auth_time", "azp", "custom", "email", "exp", "iat", "iss", "name", "picture", "sid", "sub"},
		{"acr", "amr", "aud", "auth_time", "azp", "exp", "iat", "iss", "sid", "sub"},
	}
	if isReducedIDToken(raw) {
		t.Fatal("a signed token reads as a reduced record")
	}
	for i, want := range steps {
		reduced, ok := reduceIDToken(raw)
		if !ok {
			t.Fatalf("step %d: nothing reduced", i)
		}
		if got := claimNames(t, reduced); !slices.Equal(got, want) {
			t.Fatalf("step %d: claims %v, want %v", i, got, want)
		}
		if !isReducedIDToken(reduced) || len(reduced) >= len(raw) {
			t.Fatalf("step %d: %d bytes from %d, reduced %v", i, len(reduced), len(raw), isReducedIDToken(reduced))
		}
		c, err := parseIDTokenClaims(reduced)
		if err != nil || c.Subject != "u1" || c.Issuer != "https://t.logto.app/oidc" || !c.Audience.Contains("app") ||
			c.SessionID != "s1" || c.Expiry.Unix() != 2000 || c.IssuedAt.Unix() != 1000 || c.AuthTime.Unix() != 900 {
			t.Fatalf("step %d: claims %+v, %v", i, c, err)
		}
		raw = reduced
	}
	if _, ok := reduceIDToken(raw); ok {
		t.Error("the essential claims were reduced further")
	}
	for _, bad := range []string{"", "not a token", "e30.bm90IGpzb24.", "e30.W10."} {
		if _, ok := reduceIDToken(bad); ok {
			t.Errorf("reduceIDToken(%q) reduced something", bad)
		}
	}
}

// giveUp's order: cached tokens but the one just minted (unreadable ones
// first, then oldest issued), pending sign-ins but the newest, the ID
// token's raw form, then the token just minted; the refresh token never.
func TestGiveUpOrder(t *testing.T) {
	token := func(issued string) string { return "9999999999999," + issued + ",,tok" }
	values := map[any]any{
		StorageKeyIDToken:      reductionToken(t, map[string]any{"iss": "i", "sub": "s", "aud": "a", "organizations": []string{"o"}}),
		StorageKeyRefreshToken: "rt",
		tokenStorageKey("old"): token("1000"),
		tokenStorageKey("mid"): token("2000"),
		tokenStorageKey("new"): token("3000"),
		tokenStorageKey("bad"): "unreadable",
		StorageKeySignIn:       `{"s1":{"c":1,"t":"/a"},"s2":{"c":2,"t":"/b"}}`,
	}
	keep := tokenStorageKey("old") // minted last, though issued first
	want := []string{
		"tokens [mid new old] sign-ins s1/a s2/b id signed",
		"tokens [new old] sign-ins s1/a s2/b id signed",
		"tokens [old] sign-ins s1/a s2/b id signed",
		"tokens [old] sign-ins s2/b id signed",
		"tokens [old] sign-ins s2 id signed",
		"tokens [old] sign-ins s2 id reduced",
		"tokens [] sign-ins s2 id reduced",
	}
	var got []string
	for giveUp(values, keep) {
		if len(got) > 20 {
			t.Fatal("giveUp never stops")
		}
		got = append(got, describe(t, values))
	}
	if !slices.Equal(got, want) {
		t.Errorf("states:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if values[StorageKeyRefreshToken] != "rt" {
		t.Error("the refresh token was given up")
	}
}

// describe is the state of values that giveUp changes.
func describe(t *testing.T, values map[any]any) string {
	tokens := []string{}
	for _, k := range []string{"bad", "mid", "new", "old"} {
		if _, ok := values[tokenStorageKey(k)]; ok {
			tokens = append(tokens, k)
		}
	}
	var pending map[string]pendingSignIn
	if err := json.Unmarshal([]byte(values[StorageKeySignIn].(string)), &pending); err != nil {
		t.Fatal(err)
	}
	var signIns []string
	for _, k := range slices.Sorted(maps.Keys(pending)) {
		signIns = append(signIns, k+pending[k].ReturnTo)
	}
	id := "signed"
	if isReducedIDToken(values[StorageKeyIDToken].(string)) {
		id = "reduced"
	}
	return fmt.Sprintf("tokens %v sign-ins %s id %s", tokens, strings.Join(signIns, " "), id)
}
