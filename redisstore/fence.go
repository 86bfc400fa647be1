package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
)

// ErrConflict is what Save returns (and the SDK reports as logto.ErrStorage)
// when the session changed in Redis since the request read it, and that
// change and the request's own changed the same value to different things:
// above all two rotations of the refresh token, of which the one stored
// first is kept, since the other was made by a holder that had lost its
// lock. Nothing of the refused save is written.
var ErrConflict = errors.New("redisstore: the session was changed by another request since it was read")

// errEnded is a write that found no session to update: it was ended.
var errEnded = errors.New("redisstore: the session was ended")

// maxMerges bounds how often one save applies its changes to a newer
// session before it gives up with ErrConflict.
const maxMerges = 5

// read is a session as Redis held it when the request read it, or last
// saved it: Save compares head and builds on values. It travels in the
// session's Values under readKey, so that logto.SessionStorage.Lock, which
// reads the session again under its lock, replaces it with the newer one.
type read struct {
	head    string // the stored value's format and version; a legacy value whole
	version uint64
	values  map[string]string
}

// readKey is the Values key of a session's read; being no string, it is
// never stored.
type readKey struct{}

// updateScript writes ARGV[2] to KEYS[1] with a TTL of ARGV[3] ms when the
// session there is still the one read, whose head is ARGV[1]: the version
// part of a versioned value ('V' and 8 bytes), or a legacy value whole. It
// returns 1 when written, 0 when the session is gone, -1 when another save
// came first.
const updateScript = `local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local head = cur
if string.byte(cur, 1) == 86 then head = string.sub(cur, 1, 9) end
if head ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`

// create writes the new session id (version 1), with its index entries,
// in a pipeline with more.
func (s *Store) create(ctx context.Context, id string, values map[string]string, ttl time.Duration,
	more func(redis.Pipeliner)) (*read, error) {
	data := encodeValues(values, 1)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.key(id), data, ttl)
		s.index(ctx, p, id, values, ttl)
		more(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &read{head: string(data[:headLen]), version: 1, values: values}, nil
}

// update writes values as session id, which the request read as before
// (nil when it was not read from Redis: all its values are then its own
// changes). When another save came first, the request's changes (values
// against before) are applied to the newer session, and the result written
// in its place, unless both changed the same value: ErrConflict. It returns
// what was written, errEnded when the session is gone. more runs in the
// first write's pipeline.
func (s *Store) update(ctx context.Context, id string, before *read, values map[string]string, ttl time.Duration,
	more func(redis.Pipeliner)) (*read, error) {
	if before == nil {
		before = &read{head: "\x00", values: map[string]string{}} // matches no stored value
	}
	head, version, write := before.head, before.version, values
	for merges := 0; ; merges++ {
		data := encodeValues(write, version+1)
		var cmd *redis.Cmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			cmd = p.Eval(ctx, updateScript, []string{s.key(id)}, head, data, ttl.Milliseconds())
			s.index(ctx, p, id, write, ttl)
			if more != nil {
				more(p)
				more = nil
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		switch n, _ := cmd.Int(); n {
		case 1:
			return &read{head: string(data[:headLen]), version: version + 1, values: write}, nil
		case 0:
			return nil, errEnded
		}
		if merges == maxMerges {
			return nil, ErrConflict
		}
		// Another save came first: build on what it wrote.
		raw, err := s.client.Get(ctx, s.key(id)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil, errEnded
		}
		if err != nil {
			return nil, err
		}
		current, curHead, curVersion, ok := decodeSession(raw)
		if !ok {
			return nil, ErrConflict
		}
		merged, ok := merge(before.values, values, current)
		if !ok {
			return nil, ErrConflict
		}
		head, version, write = curHead, curVersion, merged
	}
}

// index adds session id to the index sets of the ID token in values.
func (s *Store) index(ctx context.Context, p redis.Pipeliner, id string, values map[string]string, ttl time.Duration) {
	if idToken, ok := values[logto.StorageKeyIDToken]; ok {
		for _, ref := range s.refsOf(idToken, id) {
			p.Eval(ctx, indexScript, []string{ref.set}, ref.id, ttl.Milliseconds())
		}
	}
}

// merge applies the changes mine made to base (what the request read) to
// current (what Redis holds now): a value mine set, changed or deleted is
// set, changed or deleted in the result, and every other value is current's.
// When both changed a value, differently: the session's identity (the
// refresh and ID tokens) is a conflict, ok false, so that a holder that
// lost its lock never replaces a rotation; pending sign-ins (several tabs)
// are merged; for anything else (a cached access token, the last-used
// time) mine wins.
func merge(base, mine, current map[string]string) (merged map[string]string, ok bool) {
	merged = maps.Clone(current)
	apply := func(k string) bool {
		b, inBase := base[k]
		m, inMine := mine[k]
		if inBase == inMine && b == m {
			return true // not mine to change
		}
		c, inCur := current[k]
		if (inCur != inBase || c != b) && (inCur != inMine || c != m) {
			// Changed on both sides, differently.
			switch k {
			case logto.StorageKeyRefreshToken, logto.StorageKeyIDToken:
				return false
			case logto.StorageKeySignIn:
				if v, ok := mergeObjects(b, m, c); ok {
					if v == "" {
						delete(merged, k)
					} else {
						merged[k] = v
					}
					return true
				}
			}
		}
		if inMine {
			merged[k] = m
		} else {
			delete(merged, k)
		}
		return true
	}
	for k := range mine {
		if !apply(k) {
			return nil, false
		}
	}
	for k := range base {
		if _, in := mine[k]; !in && !apply(k) {
			return nil, false
		}
	}
	return merged, true
}

// mergeObjects merges three versions of a JSON object (the pending
// sign-ins, keyed by state): the members mine added or changed against
// base, and the deletions it made, applied to current. ok is false when a
// version is not a JSON object.
func mergeObjects(base, mine, current string) (string, bool) {
	parse := func(s string) (map[string]json.RawMessage, bool) {
		m := map[string]json.RawMessage{}
		if s == "" {
			return m, true
		}
		return m, json.Unmarshal([]byte(s), &m) == nil
	}
	b, ok1 := parse(base)
	m, ok2 := parse(mine)
	c, ok3 := parse(current)
	if !ok1 || !ok2 || !ok3 {
		return "", false
	}
	for k, v := range m {
		if old, had := b[k]; !had || string(old) != string(v) {
			c[k] = v
		}
	}
	for k := range b {
		if _, kept := m[k]; !kept {
			delete(c, k)
		}
	}
	if len(c) == 0 {
		return "", true
	}
	out, err := json.Marshal(c)
	return string(out), err == nil
}
