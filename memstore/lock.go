package memstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/seed098cf14d/logto"
)

// Store implements logto.SessionLocker.
var _ logto.SessionLocker = (*Store)(nil)

// sessionLock is the lock of one session: a one-slot channel, so that a
// waiter can give up when its context ends. It stays in the store's table
// while anyone holds or waits for it.
type sessionLock struct {
	held  chan struct{}
	users int // holders and waiters; guarded by Store.lockMu
}

// LockSession implements logto.SessionLocker: it holds the lock of session
// id until unlock is called, so that one session's refresh grants never
// overlap (Logto revokes the grant when a spent refresh token is presented
// again), however many requests, or Apps of this process, serve it at once.
// It waits while another holder has the lock, up to ctx, and returns ctx's
// error when that ends first. The lock lives in this process: a holder
// cannot die without the process, so there is no lease. Calling unlock more
// than once is harmless.
//
// logto.SessionStorage.Lock takes this lock and then reads the session
// again, so a request that waited sees the refresh token stored by the one
// before it.
func (s *Store) LockSession(ctx context.Context, id string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: waiting for the lock of a session: %w", err)
	}
	s.lockMu.Lock()
	if s.locks == nil {
		s.locks = make(map[string]*sessionLock)
	}
	l := s.locks[id]
	if l == nil {
		l = &sessionLock{held: make(chan struct{}, 1)}
		s.locks[id] = l
	}
	l.users++
	s.lockMu.Unlock()

	select {
	case l.held <- struct{}{}:
	case <-ctx.Done():
		s.leave(id, l)
		return nil, fmt.Errorf("memstore: waiting for the lock of a session: %w", ctx.Err())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-l.held
			s.leave(id, l)
		})
	}, nil
}

// leave drops one holder or waiter of l, and l itself with the last.
func (s *Store) leave(id string, l *sessionLock) {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	l.users--
	if l.users == 0 {
		delete(s.locks, id)
	}
}
