package cookiekeys

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	k := func(n int) []byte { return bytes.Repeat([]byte{'k'}, n) }
	cases := []struct {
		name     string
		keys     [][]byte
		required bool
		want     []string // one entry per problem, each a part of its text
	}{
		{"no key", nil, false, []string{"authentication key of at least 32"}},
		{"no key, encryption required", nil, true, []string{"authentication key", "encryption key"}},
		{"short key", [][]byte{k(31)}, false, []string{"authentication key 0 has 31 bytes"}},
		{"encryption key of 15 bytes", [][]byte{k(32), k(15)}, false, []string{"encryption key 0 has 15 bytes; it must be 16, 24 or 32 (or nil for none)"}},
		{"empty encryption key", [][]byte{k(32), {}}, false, []string{"encryption key 0 has 0 bytes"}},
		{"every problem", [][]byte{k(8), k(15), k(7)}, true, []string{"authentication key 0", "encryption key 0 has 15", "authentication key 1", "encryption key 1 is missing"}},
		{"no encryption key, required", [][]byte{k(32)}, true, []string{"encryption key 0 is missing"}},
		{"nil encryption key, required", [][]byte{k(32), nil}, true, []string{"encryption key 0 is missing"}},
		{"older pair without, required", [][]byte{k(32), k(32), k(32), nil}, true, []string{"encryption key 1 is missing"}},

		{"authentication key only", [][]byte{k(32)}, false, nil},
		{"no encryption, rotated", [][]byte{k(32), nil, k(64), nil}, false, nil},
		{"AES-128, required", [][]byte{k(32), k(16)}, true, nil},
		{"AES-192, rotated, required", [][]byte{k(64), k(24), k(32), k(32)}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.keys, tc.required)
			if len(got) != len(tc.want) {
				t.Fatalf("Check = %v, want %d problems %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to hold %q", i, got[i], w)
				}
			}
		})
	}
}

func TestCheckRedirectURI(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://app.example/callback":   true,
		"http://localhost:3000/callback": true,
		"/callback":                      false,
		"ftp://app.example/cb":           false,
		"https://app.example/cb#x":       false,
		"https://app.example/cb#":        false,
		"https://":                       false,
		"http://a b/":                    false,
	} {
		if err := CheckRedirectURI(raw); (err == nil) != ok {
			t.Errorf("CheckRedirectURI(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestFromSecrets(t *testing.T) {
	a := []byte("secret A, at least thirty-two bytes")
	b := []byte("secret B, at least thirty-two bytes")
	pairs, err := FromSecrets([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 4 || len(pairs[0]) != 64 || len(pairs[1]) != 32 || len(pairs[2]) != 64 || len(pairs[3]) != 32 {
		t.Fatalf("pairs of lengths %d %d %d %d, want 64 32 64 32", len(pairs[0]), len(pairs[1]), len(pairs[2]), len(pairs[3]))
	}
	if problems := Check(pairs, true); len(problems) > 0 {
		t.Errorf("derived pairs fail Check: %v", problems)
	}
	if bytes.Equal(pairs[0][:32], pairs[1]) || bytes.Equal(pairs[0], pairs[2]) || bytes.Equal(pairs[1], pairs[3]) {
		t.Error("keys repeat across labels or secrets")
	}
	if bytes.Contains(pairs[0], a[:16]) || bytes.Contains(pairs[1], a[:16]) {
		t.Error("a derived key holds the secret")
	}
	again, err := FromSecrets([][]byte{a})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again[0], pairs[0]) || !bytes.Equal(again[1], pairs[1]) {
		t.Error("derivation is not deterministic: replicas with one secret would not share cookies")
	}

	for _, bad := range [][][]byte{nil, {{}}, {a[:31]}, {a, b[:4]}} {
		if _, err := FromSecrets(bad); err == nil {
			t.Errorf("FromSecrets(%q): no error", bad)
		}
	}
	_, err = FromSecrets([][]byte{a[:1], b[:2]})
	for _, w := range []string{"secret 0 has 1 bytes", "secret 1 has 2 bytes"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Errorf("error %v does not list its problems", err)
	}
}

func TestSealingKeys(t *testing.T) {
	a := []byte("secret A, at least thirty-two bytes")
	b := []byte("secret B, at least thirty-two bytes")
	keys, err := SealingKeys([][]byte{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || len(keys[0]) != 32 || len(keys[1]) != 32 {
		t.Fatalf("keys of lengths %d, want two of 32", len(keys))
	}
	if bytes.Equal(keys[0], keys[1]) {
		t.Error("two secrets give one key")
	}
	// A key of its own: never one of the gorilla pair of the same secret.
	pairs, err := FromSecrets([][]byte{a})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(keys[0], pairs[1]) || bytes.Equal(keys[0], pairs[0][:32]) || bytes.Equal(keys[0], pairs[0][32:]) {
		t.Error("the sealing key repeats a key FromSecrets derives")
	}
	again, _ := SealingKeys([][]byte{a})
	if !bytes.Equal(again[0], keys[0]) {
		t.Error("derivation is not deterministic: replicas with one secret would not share cookies")
	}
	_, err = SealingKeys([][]byte{a, b[:31], nil})
	for _, w := range []string{"secret 1 has 31 bytes", "secret 2 has 0 bytes"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
	if _, err := SealingKeys(nil); err == nil {
		t.Error("no secret: no error")
	}
}
