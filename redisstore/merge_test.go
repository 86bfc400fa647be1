package redisstore

import (
	"maps"
	"testing"

	"github.com/seed098cf14d/logto"
)

func TestMerge(t *testing.T) {
	type m = map[string]string
	const (
		rt   = logto.StorageKeyRefreshToken
		id   = logto.StorageKeyIDToken
		sign = logto.StorageKeySignIn
		rec  = logto.StorageKeySession
	)
	base := m{rt: "rt0", id: "id0", sign: `{"s0":1}`, rec: "r0"}
	cases := []struct {
		name          string
		mine, current m
		want          m // nil: a conflict
	}{
		{"nothing changed since", m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"}, base,
			m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"}},
		{"other values changed since", m{rt: "rt0", id: "id0", sign: `{"s0":1}`, rec: "r1"}, m{rt: "rt1", id: "id1", sign: `{"s0":1}`, rec: "r0"},
			m{rt: "rt1", id: "id1", sign: `{"s0":1}`, rec: "r1"}},
		{"the refresh token rotated on both sides", m{rt: "rt1-mine", id: "id0", sign: `{"s0":1}`, rec: "r0"}, m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"},
			nil},
		{"the ID token replaced on both sides", m{rt: "rt0", id: "id1-mine", sign: `{"s0":1}`, rec: "r0"}, m{rt: "rt0", id: "id1", sign: `{"s0":1}`, rec: "r0"},
			nil},
		{"a stale save leaves the rotation alone", m{rt: "rt0", id: "id0", sign: `{"s0":1,"s1":2}`, rec: "r0"}, m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"},
			m{rt: "rt1", id: "id0", sign: `{"s0":1,"s1":2}`, rec: "r0"}},
		{"the same change on both sides", m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"}, m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"},
			m{rt: "rt1", id: "id0", sign: `{"s0":1}`, rec: "r0"}},
		{"deleted on both sides", m{rt: "rt0", id: "id0", rec: "r0"}, m{rt: "rt1", id: "id0", rec: "r0"},
			m{rt: "rt1", id: "id0", rec: "r0"}},
		// Two tabs start a sign-in at once: both pending sign-ins are kept.
		{"sign-ins started in two tabs", m{rt: "rt0", id: "id0", sign: `{"s0":1,"a":2}`, rec: "r0"}, m{rt: "rt0", id: "id0", sign: `{"s0":1,"b":3}`, rec: "r0"},
			m{rt: "rt0", id: "id0", sign: `{"a":2,"b":3,"s0":1}`, rec: "r0"}},
		// A tab's callback consumed s0 while another started b.
		{"a sign-in consumed while another starts", m{rt: "rt0", id: "id0", sign: `{}`, rec: "r0"}, m{rt: "rt0", id: "id0", sign: `{"s0":1,"b":3}`, rec: "r0"},
			m{rt: "rt0", id: "id0", sign: `{"b":3}`, rec: "r0"}},
		// The last-used time moved on both sides: mine wins.
		{"the session record on both sides", m{rt: "rt0", id: "id0", sign: `{"s0":1}`, rec: "r-mine"}, m{rt: "rt0", id: "id0", sign: `{"s0":1}`, rec: "r-theirs"},
			m{rt: "rt0", id: "id0", sign: `{"s0":1}`, rec: "r-mine"}},
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
