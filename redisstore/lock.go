package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
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

// LockSession implements logto.SessionLocker: it holds the lock of session id
// across processes until unlock is called, so that one session's refresh
// grants never overlap (Logto revokes the grant when a spent refresh token is
// presented again). It waits while another holder has it, up to ctx; a holder
// that dies blocks others for at most the lease (LockLease, or
// DefaultLockLease when zero). A Redis failure is returned as an error.
func (s *Store) LockSession(ctx context.Context, id string) (func(), error) {
	lease := s.LockLease
	if lease <= 0 {
		lease = DefaultLockLease
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("redisstore: lock token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	key := s.lockKey(id)
	for {
		ok, err := s.client.SetNX(ctx, key, token, lease).Result()
		if err != nil {
			return nil, fmt.Errorf("redisstore: taking the lock of a session: %w", err)
		}
		if ok {
			break
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("redisstore: waiting for the lock of a session: %w", ctx.Err())
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
				_ = renewScript.Run(rctx, s.client, []string{key}, token, lease.Milliseconds()).Err()
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		// Best effort: if Redis is unreachable now, the lease ends it.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = unlockScript.Run(rctx, s.client, []string{key}, token).Err()
	}, nil
}

func (s *Store) lockKey(id string) string {
	p := s.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return p + "lock:" + id
}
