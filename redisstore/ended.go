package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
)

// EndedSessions is logto.EndedSessions in Redis: the record of sessions
// ended by sign-out or back-channel logout, shared by every process of an
// app that keeps its sessions in cookies, so that a session ended on one
// replica is refused on all of them (Config.EndedSessions). Each entry is
// one key that expires on its own.
type EndedSessions struct {
	client redis.UniversalClient
	prefix string
}

var _ logto.EndedSessions = (*EndedSessions)(nil)

// NewEndedSessions returns the record kept in client under keys starting
// with prefix ("logto:ended:" when empty). It does no I/O.
func NewEndedSessions(client redis.UniversalClient, prefix string) (*EndedSessions, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: redisstore: NewEndedSessions needs a Redis client", logto.ErrInvalidConfig)
	}
	if prefix == "" {
		prefix = "logto:ended:"
	}
	return &EndedSessions{client: client, prefix: prefix}, nil
}

// Put records that key ended at at, until expires. A later end of the same
// key wins over an earlier one.
func (e *EndedSessions) Put(ctx context.Context, key string, at, expires time.Time) error {
	ttl := expires.Sub(at)
	if ttl <= 0 {
		return nil
	}
	if err := putLater.Run(ctx, e.client, []string{e.prefix + key}, at.UnixMilli(), ttl.Milliseconds()).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redisstore: recording an ended session: %w", err)
	}
	return nil
}

// putLater sets KEYS[1] to ARGV[1] (a time) unless it holds a later one,
// with a time to live of ARGV[2] milliseconds.
var putLater = redis.NewScript(`
local cur = tonumber(redis.call("GET", KEYS[1]) or "0")
local at = tonumber(ARGV[1])
if cur > at then at = cur end
redis.call("SET", KEYS[1], at, "PX", ARGV[2])
return at
`)

// Get returns when each key ended, or the zero time, in one round trip.
func (e *EndedSessions) Get(ctx context.Context, keys []string) ([]time.Time, error) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = e.prefix + k
	}
	vals, err := e.client.MGet(ctx, full...).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: reading ended sessions: %w", err)
	}
	out := make([]time.Time, len(keys))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms <= 0 {
			// Not ours to have written: fail closed.
			return nil, fmt.Errorf("redisstore: ended-session entry %q is unreadable", full[i])
		}
		out[i] = time.UnixMilli(ms)
	}
	return out, nil
}
