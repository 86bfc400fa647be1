package logto

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The in-memory record is bounded: a flood of ends forgets the entries
// closest to expiry first, and expired ones before anything.
func TestMemoryEndedSessionsBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m := newMemoryEndedSessions(3, func() time.Time { return now })
	ctx := context.Background()
	for i := range 5 {
		_ = m.Put(ctx, fmt.Sprintf("h:%d", i), now, now.Add(time.Duration(i+1)*time.Hour))
	}
	if len(m.m) != 3 {
		t.Fatalf("%d entries, want 3", len(m.m))
	}
	got, _ := m.Get(ctx, []string{"h:0", "h:1", "h:4"})
	if !got[0].IsZero() || !got[1].IsZero() || got[2].IsZero() {
		t.Fatalf("kept %v; want the latest-expiring entries", got)
	}
	if !m.ended("4", "", "", now) || m.ended("0", "", "", now) {
		t.Fatal("ended disagrees with Get")
	}
	now = now.Add(10 * time.Hour) // all expired
	if m.ended("4", "", "", now) {
		t.Fatal("an expired entry still ends sessions")
	}
	_ = m.Put(ctx, "sub:u", now, now.Add(time.Hour))
	if !m.ended("x", "u", "", now.Add(-time.Second)) || m.ended("x", "u", "", now.Add(time.Second)) {
		t.Fatal("a subject's end must cover sessions started before it only")
	}
}
