package memstore

import (
	"slices"
)

// SessionIDs lists the IDs of the sessions s holds, expired or not, sorted.
func (s *Store) SessionIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, len(s.sessions))
	for id := range s.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Counts returns how many signed-in and how many other sessions s holds.
func (s *Store) Counts() (signedIn, anonymous int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.signedIn.Len(), s.anonymous.Len()
}

// EncodeID seals id as the store seals a session cookie named name.
func (s *Store) EncodeID(name, id string) (string, error) {
	return s.ids.Encode(name, id)
}

// DecodeID opens a session cookie value as the store does, without checking
// that it holds a well-formed ID.
func (s *Store) DecodeID(name, value string) ([]byte, error) {
	return s.ids.Decode(name, value)
}

// Shares returns how many signed-in and how many other sessions s may hold.
func (s *Store) Shares() (signedIn, anonymous int, err error) { return s.shares() }

// StoredValue returns the value of key in session id as the store holds it.
func (s *Store) StoredValue(id, key string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.sessions[id]; e != nil {
		return e.values[key]
	}
	return ""
}

// IndexSizes returns how many subjects and provider sessions the index
// holds.
func (s *Store) IndexSizes() (subjects, sids int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.bySub), len(s.bySID)
}

// Locks returns how many session locks are held or waited for.
func (s *Store) Locks() int {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	return len(s.locks)
}
