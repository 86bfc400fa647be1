package logtotest

import (
	"errors"
	"testing"
)

func TestLocalOnly(t *testing.T) {
	for _, ok := range [][]string{
		nil,
		{"http://localhost:3000"},
		{"http://127.0.0.1:3000", "127.0.0.1:4000"},
		{"http://[::1]:3000", "[::1]:4000", "localhost:80"},
	} {
		if err := LocalOnly(false, ok...); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for _, bad := range [][]string{
		{"https://app.example.com"},
		{"http://localhost:3000", ":3000"},
		{"0.0.0.0:3000"},
		{"http://10.0.0.5:3000"},
		{"http://localhost.evil.example"},
		{"::bad"},
	} {
		if err := LocalOnly(false, bad...); !errors.Is(err, ErrNotLocal) {
			t.Errorf("%v: err = %v, want ErrNotLocal", bad, err)
		}
	}
	if err := LocalOnly(true, "http://localhost:3000"); !errors.Is(err, ErrNotLocal) {
		t.Errorf("credentials: err = %v", err)
	}
}
