package redisstore

import (
	"maps"
	"testing"
)

func TestMerge(t *testing.T) {
	type m = map[string]string
	base := m{"rt": "rt0", "id": "id0", "sign": "s0"}
	cases := []struct {
		name          string
		mine, current m
		want          m // nil: a conflict
	}{
		{"nothing changed since", m{"rt": "rt1", "id": "id0", "sign": "s0"}, base,
			m{"rt": "rt1", "id": "id0", "sign": "s0"}},
		{"other values changed since", m{"rt": "rt0", "id": "id0", "sign": "s1"}, m{"rt": "rt1", "id": "id1", "sign": "s0"},
			m{"rt": "rt1", "id": "id1", "sign": "s1"}},
		{"the refresh token rotated on both sides", m{"rt": "rt1-mine", "id": "id0", "sign": "s0"}, m{"rt": "rt1", "id": "id0", "sign": "s0"},
			nil},
		{"a stale save leaves the rotation alone", m{"rt": "rt0", "id": "id0", "sign": "s1"}, m{"rt": "rt1", "id": "id0", "sign": "s0"},
			m{"rt": "rt1", "id": "id0", "sign": "s1"}},
		{"the same change on both sides", m{"rt": "rt1", "id": "id0", "sign": "s0"}, m{"rt": "rt1", "id": "id0", "sign": "s0"},
			m{"rt": "rt1", "id": "id0", "sign": "s0"}},
		{"deleted here, untouched there", m{"rt": "rt0", "id": "id0"}, m{"rt": "rt1", "id": "id0", "sign": "s0"},
			m{"rt": "rt1", "id": "id0"}},
		{"deleted here, changed there", m{"rt": "rt0", "id": "id0"}, m{"rt": "rt0", "id": "id0", "sign": "s1"},
			nil},
		{"changed here, deleted there", m{"rt": "rt0", "id": "id0", "sign": "s1"}, m{"rt": "rt0", "id": "id0"},
			nil},
		{"deleted on both sides", m{"rt": "rt0", "id": "id0"}, m{"rt": "rt1", "id": "id0"},
			m{"rt": "rt1", "id": "id0"}},
		{"added here and there, different keys", m{"rt": "rt0", "id": "id0", "sign": "s0", "a": "1"}, m{"rt": "rt0", "id": "id0", "sign": "s0", "b": "2"},
			m{"rt": "rt0", "id": "id0", "sign": "s0", "a": "1", "b": "2"}},
		{"added here and there, one key", m{"rt": "rt0", "id": "id0", "sign": "s0", "a": "1"}, m{"rt": "rt0", "id": "id0", "sign": "s0", "a": "2"},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := merge(base, tc.mine, tc.current)
			if tc.want == nil {
				if ok {
					t.Fatalf("merged into %v; want a conflict", got)
				}
				return
			}
			if !ok || !maps.Equal(got, tc.want) {
				t.Fatalf("merge = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
}
