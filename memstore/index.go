package memstore

import (
	"context"
	"errors"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/jwt"
)

// The session index: Save records each signed-in session's ID under the sub
// and sid of its ID token, so that EndSessions finds every session of a
// user or of a provider session. Removing a session from the store, for
// whatever reason, removes it from the index.

// Store implements logto.SessionEnder.
var _ logto.SessionEnder = (*Store)(nil)

// subSID returns the sub and sid of the ID token in values, reusing what
// the session's previous entry e (nil for none) read from the same token.
func (e *entry) subSID(values map[string]string) (sub, sid string) {
	token := values[logto.StorageKeyIDToken]
	if token == "" {
		return "", ""
	}
	if e != nil && e.values[logto.StorageKeyIDToken] == token {
		return e.sub, e.sid
	}
	return jwt.SubjectAndSession(token)
}

func (s *Store) indexLocked(e *entry) {
	add(s.bySub, e.sub, e.id)
	add(s.bySID, e.sid, e.id)
}

func (s *Store) unindexLocked(e *entry) {
	drop(s.bySub, e.sub, e.id)
	drop(s.bySID, e.sid, e.id)
}

func add(index map[string]map[string]struct{}, key, id string) {
	if key == "" {
		return
	}
	set := index[key]
	if set == nil {
		set = make(map[string]struct{})
		index[key] = set
	}
	set[id] = struct{}{}
}

func drop(index map[string]map[string]struct{}, key, id string) {
	set := index[key]
	if set == nil {
		return
	}
	delete(set, id)
	if len(set) == 0 {
		delete(index, key)
	}
}

// EndSessions ends every session whose ID token has the subject and the
// session ID sessionID, as OpenID Connect Back-Channel Logout asks; an
// empty subject or sessionID means any, but not both. It implements
// logto.SessionEnder, for logto.App.BackchannelLogoutHandler:
//
//	mux.Handle("POST /backchannel-logout", app.BackchannelLogoutHandler(store))
//
// Only sessions saved with an ID token are found (every signed-in one). A
// request in flight for an ended session cannot bring it back: Save stores
// an existing session only while the store still holds it.
func (s *Store) EndSessions(_ context.Context, subject, sessionID string) error {
	if subject == "" && sessionID == "" {
		return errors.New("memstore: EndSessions needs a subject or a session ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	switch {
	case subject == "":
		ids = members(s.bySID[sessionID], nil)
	case sessionID == "":
		ids = members(s.bySub[subject], nil)
	default:
		ids = members(s.bySub[subject], s.bySID[sessionID])
	}
	for _, id := range ids {
		s.removeLocked(id)
	}
	return nil
}

// members lists the IDs in set, and in also unless also is nil. It copies
// them, for the caller removes sessions from the sets as it goes.
func members(set, also map[string]struct{}) []string {
	var ids []string
	for id := range set {
		if also != nil {
			if _, ok := also[id]; !ok {
				continue
			}
		}
		ids = append(ids, id)
	}
	return ids
}
