package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
)

// DefaultLockLease is how long a session lock outlives a holder that stops
// renewing it (a process that died mid-refresh). A live holder renews it
// every third of the lease, so a slow refresh keeps it.
const DefaultLockLease = 15 * time.Second

// lockPoll is how often a waiter tries again for a held lock.
const lockPoll = 25 * time.Millisecond

// Releasing and renewing check that the lock is still ours: after a lease ran
// out, another process may hold it.
var (
	unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
	renewScript  = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)
)

// ErrLockLost is what a session lock's check (LeaseSession) returns, and
// the SDK reports as logto.ErrStorage, once the lock is no longer the
// holder's: its lease ran out while the holder could not renew it (a pause
// longer than the lease, Redis out of reach), and another process may hold
// it now. The holder must not spend the refresh token it read.
var ErrLockLost = errors.New("redisstore: the session lock was lost: its lease ran out")

// LockSession implements logto.SessionLocker: it holds the lock of session id
// across processes until unlock is called, so that one session's refresh
// grants never overlap (Logto revokes the grant when a spent refresh token is
// presented again). It waits while another holder has it, up to ctx; a holder
// that dies blocks others for at most the lease (LockLease, or
// DefaultLockLease when zero). A Redis failure is returned as an error.
func (s *Store) LockSession(ctx context.Context, id string) (func(), error) {
	_, unlock, err := s.LeaseSession(ctx, id)
	return unlock, err
}

// LeaseSession implements logto.SessionLeaser: it takes the lock of session
// id as LockSession does, and also returns check, which renews the lease
// (to a full LockLease from now) when the lock is still the holder's, and
// returns ErrLockLost when it is not. logto.SessionStorage calls check each
// time it hands out the refresh token under the lock, so that the client
// confirms its lock right before it spends the token.
//
// While held, the lease is renewed every third of LockLease. A renewal that
// finds the lock no longer the holder's marks it lost for good: check then
// fails at once. A renewal that cannot reach Redis is tried again at the
// next tick; should none get through for a whole lease, the lock has
// expired in Redis, and the next renewal or check finds it lost.
func (s *Store) LeaseSession(ctx context.Context, id string) (check func(context.Context) error, unlock func(), err error) {
	lease := s.LockLease
	if lease <= 0 {
		lease = DefaultLockLease
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, nil, fmt.Errorf("redisstore: lock token: %w", err)
	}
	l := &heldLock{client: s.client, key: s.lockKey(id), token: base64.RawURLEncoding.EncodeToString(b), lease: lease}
	for {
		ok, err := s.client.SetNX(ctx, l.key, l.token, lease).Result()
		if err != nil {
			return nil, nil, fmt.Errorf("redisstore: taking the lock of a session: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("redisstore: waiting for the lock of a session: %w", ctx.Err())
		case <-t.C:
		}
	}

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				rctx, cancel := context.WithTimeout(context.Background(), lease/3)
				err := l.renew(rctx)
				cancel()
				if errors.Is(err, ErrLockLost) {
					return
				}
			}
		}
	}()
	return l.renew, func() {
		close(stop)
		<-done
		// Best effort: if Redis is unreachable now, the lease ends it.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = unlockScript.Run(rctx, s.client, []string{l.key}, l.token).Err()
	}, nil
}

// Store implements logto.SessionLeaser.
var _ logto.SessionLeaser = (*Store)(nil)

// heldLock is a session lock taken by LeaseSession.
type heldLock struct {
	client redis.UniversalClient
	key    string
	token  string
	lease  time.Duration
	lost   atomic.Bool
}

// renew extends the lease to a full one when the lock is still ours, and
// marks it lost for good when it is not.
func (l *heldLock) renew(ctx context.Context) error {
	if l.lost.Load() {
		return ErrLockLost
	}
	n, err := renewScript.Run(ctx, l.client, []string{l.key}, l.token, l.lease.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("redisstore: renewing the lock of a session: %w", err)
	}
	if n == 0 {
		l.lost.Store(true)
		return ErrLockLost
	}
	return nil
}

func (s *Store) lockKey(id string) string {
	p := s.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return p + "lock:" + id
}
