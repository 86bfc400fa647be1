package logto

import (
	"context"
	"sync"
	"time"
)

// EndedSessions is the record of ended sessions, the one way to end a
// session whose tokens live in the browser (a cookie session): sign-out
// records the session, so a copy of its cookie taken before is refused, and
// back-channel logout records the provider session (sid) or the user (sub)
// it names, so their sessions are refused from their next request on.
//
// It is a small key-value record with expiry; the client decides what goes
// in. An App keeps one in memory unless Config.EndedSessions names a shared
// one, which several app processes need (redisstore.EndedSessions).
type EndedSessions interface {
	// Put records that key ended at at; the record may be forgotten after
	// expires.
	Put(ctx context.Context, key string, at, expires time.Time) error
	// Get returns, for each key, when it ended, or the zero time.
	Get(ctx context.Context, keys []string) ([]time.Time, error)
}

// Keys of the ended-session record.
const (
	endedHandle  = "h:"   // one session (and its copies), by its handle
	endedSID     = "sid:" // every session of a provider session
	endedSubject = "sub:" // every session of a user started before then
)

// sessionEnded reports whether the record names the session with ID token
// raw and record rec.
func (a *App) sessionEnded(ctx context.Context, c *Client, raw string, rec sessionRecord) (bool, error) {
	m, mem := a.s.ended.(*memoryEndedSessions)
	if mem && m.empty() {
		return false, nil // nothing ended: not even the claims to read
	}
	claims, err := c.parsedClaims(raw)
	if mem {
		// On every request: the same answer without building keys.
		sub, sid := "", ""
		if err == nil {
			sub, sid = claims.Subject, claims.SessionID
		}
		return m.ended(rec.handle, sub, sid, rec.started), nil
	}
	keys := []string{endedHandle + rec.handle}
	if err == nil {
		keys = append(keys, endedSubject+claims.Subject)
		if claims.SessionID != "" {
			keys = append(keys, endedSID+claims.SessionID)
		}
	}
	at, err := a.s.ended.Get(ctx, keys)
	if err != nil {
		return false, storageErr("read", "ended sessions", err)
	}
	for i, t := range at {
		if t.IsZero() {
			continue
		}
		if keys[i][:len(endedSubject)] != endedSubject || !rec.started.After(t) {
			return true, nil
		}
	}
	return false, nil
}

// EndSessions records that the sessions of subject with provider session
// sessionID ended: every session of that provider session, or, when
// sessionID is empty, every session of subject that started before now. It
// makes the App a SessionEnder for BackchannelLogoutHandler, so back-channel
// logout works with cookie sessions too.
func (a *App) EndSessions(ctx context.Context, subject, sessionID string) error {
	now := a.s.now()
	expires := now.Add(a.s.absoluteTimeout + a.s.leeway)
	var err error
	switch {
	case sessionID != "":
		err = a.s.ended.Put(ctx, endedSID+sessionID, now, expires)
	case subject != "":
		err = a.s.ended.Put(ctx, endedSubject+subject, now, expires)
	default:
		return wrapErr(ErrInvalidRequest, "EndSessions needs a subject or a session ID", nil)
	}
	if err != nil {
		return storageErr("record", "ended sessions", err)
	}
	return nil
}

// endSession records that the session with record rec ended, so that a copy
// of it is refused.
func (a *App) endSession(ctx context.Context, rec sessionRecord) error {
	expires := rec.started.Add(a.s.absoluteTimeout + a.s.leeway)
	if err := a.s.ended.Put(ctx, endedHandle+rec.handle, a.s.now(), expires); err != nil {
		return storageErr("record", "ended sessions", err)
	}
	return nil
}

// DefaultEndedSessionsSize bounds the in-memory record of ended sessions.
const DefaultEndedSessionsSize = 100_000

// memoryEndedSessions is the in-memory EndedSessions of one process:
// bounded, with expiry. When it is full of live entries it forgets the one
// closest to expiry: a bound an attacker cannot push past, at the price of
// the oldest records.
type memoryEndedSessions struct {
	mu  sync.Mutex
	max int
	now func() time.Time
	m   map[string]endedEntry
}

type endedEntry struct{ at, expires time.Time }

func newMemoryEndedSessions(max int, now func() time.Time) *memoryEndedSessions {
	return &memoryEndedSessions{max: max, now: now, m: map[string]endedEntry{}}
}

func (m *memoryEndedSessions) Put(_ context.Context, key string, at, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[key]; !ok && len(m.m) >= m.max {
		now := m.now()
		for k, e := range m.m {
			if !now.Before(e.expires) {
				delete(m.m, k)
			}
		}
		for len(m.m) >= m.max {
			victim, soonest := "", time.Time{}
			for k, e := range m.m {
				if victim == "" || e.expires.Before(soonest) {
					victim, soonest = k, e.expires
				}
			}
			delete(m.m, victim)
		}
	}
	if old, ok := m.m[key]; ok && old.at.After(at) {
		at = old.at
	}
	m.m[key] = endedEntry{at: at, expires: expires}
	return nil
}

func (m *memoryEndedSessions) empty() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m) == 0
}

// ended is sessionEnded's test for the memory record. The keys are built
// only to look them up, which Go does without allocating them.
func (m *memoryEndedSessions) ended(handle, sub, sid string, started time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) == 0 {
		return false
	}
	now := m.now()
	live := func(e endedEntry, ok bool) bool { return ok && now.Before(e.expires) }
	if e, ok := m.m[endedHandle+handle]; live(e, ok) {
		return true
	}
	if sid != "" {
		if e, ok := m.m[endedSID+sid]; live(e, ok) {
			return true
		}
	}
	if sub != "" {
		if e, ok := m.m[endedSubject+sub]; live(e, ok) && !started.After(e.at) {
			return true
		}
	}
	return false
}

func (m *memoryEndedSessions) Get(_ context.Context, keys []string) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]time.Time, len(keys))
	if len(m.m) == 0 {
		return out, nil
	}
	for i, k := range keys {
		if e, ok := m.m[k]; ok && now.Before(e.expires) {
			out[i] = e.at
		}
	}
	return out, nil
}
