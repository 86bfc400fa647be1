package memstore

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/seed098cf14d/logto"
)

// DefaultMaxSessions bounds a Store whose MaxSessions is 0: 90 000 signed-in
// sessions and 10 000 sign-ins under way.
const DefaultMaxSessions = 100_000

// entry is one stored session.
type entry struct {
	id string
	// values is never changed once the entry is stored: a save stores a new
	// entry, so readers copy it without holding the store's lock.
	values map[string]string
	// boxed holds values as the interfaces a load puts in a session's
	// map, made once per save rather than once per load. Sharing them is
	// safe: an interface holding a string cannot be changed through.
	boxed    []boxedValue
	expires  time.Time
	sub, sid string // of the ID token, for EndSessions; "" when unknown

	share *pool // the pool holding it
	index int   // its place in the pool's heap
}

type boxedValue struct{ k, v any }

// box returns values as boxedValues.
func box(values map[string]string) []boxedValue {
	out := make([]boxedValue, 0, len(values))
	for k, v := range values {
		out = append(out, boxedValue{k, v})
	}
	return out
}

// live reports whether the session has not expired at now.
func (e *entry) live(now time.Time) bool { return now.Before(e.expires) }

// signedIn reports whether the session holds an ID token: the SDK stores one
// only after a verified sign-in.
func (e *entry) signedIn() bool { return e.values[logto.StorageKeyIDToken] != "" }

// pool is a share of the store: a min-heap of its sessions by expiry, so
// that the session closest to expiry, and every expired one, is found at
// once.
type pool []*entry

func (p pool) Len() int           { return len(p) }
func (p pool) Less(i, j int) bool { return p[i].expires.Before(p[j].expires) }
func (p pool) Swap(i, j int) {
	p[i], p[j] = p[j], p[i]
	p[i].index, p[j].index = i, j
}

// Push and Pop are for container/heap only.
func (p *pool) Push(x any) {
	e := x.(*entry)
	e.index = len(*p)
	*p = append(*p, e)
}

func (p *pool) Pop() any {
	old := *p
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*p = old[:len(old)-1]
	return e
}

// shares returns how many signed-in sessions and how many others the store
// may hold: a tenth of MaxSessions (at least one) for sessions not signed
// in, the rest for signed-in ones.
func (s *Store) shares() (signedIn, anonymous int, err error) {
	total := s.MaxSessions
	if total == 0 {
		total = DefaultMaxSessions
	}
	if total < 2 {
		return 0, 0, fmt.Errorf("%w: memstore: MaxSessions is %d; at least 2 are needed (a signed-in session and a sign-in under way)",
			logto.ErrInvalidConfig, s.MaxSessions)
	}
	anonymous = max(total/10, 1)
	return total - anonymous, anonymous, nil
}

// insertLocked stores e in share, which may hold limit sessions: when it is
// full, its session closest to expiry makes room. Sessions of the other
// share are never touched, so a flood of sign-ins that are never completed
// evicts only its own kind.
func (s *Store) insertLocked(e *entry, share *pool, limit int) {
	for share.Len() >= limit {
		s.removeLocked((*share)[0].id)
	}
	e.share = share
	heap.Push(share, e)
	s.sessions[e.id] = e
	s.indexLocked(e)
}

// removeLocked deletes session id, if held, from the store and its index.
func (s *Store) removeLocked(id string) {
	e := s.sessions[id]
	if e == nil {
		return
	}
	delete(s.sessions, id)
	heap.Remove(e.share, e.index)
	e.share = nil
	s.unindexLocked(e)
}

// sweepLocked deletes every session expired at now: they are the first of
// their pool's heap, so this costs nothing when there are none.
func (s *Store) sweepLocked(now time.Time) {
	for _, p := range []*pool{&s.signedIn, &s.anonymous} {
		for p.Len() > 0 && !(*p)[0].live(now) {
			s.removeLocked((*p)[0].id)
		}
	}
}
