package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/internal/jwt"
	"github.com/seed098cf14d/logto/internal/sessionid"
)

// The session index: Save adds a signed-in session's ID to
// <Prefix>sub:<sub> and <Prefix>sid:<sid>, the sub and sid of its ID token,
// so that EndSessions finds every session of a user or of a provider
// session. Entries of sessions that expired on their own are harmless:
// deleting a missing key is a no-op.

// Store implements logto.SessionEnder.
var _ logto.SessionEnder = (*Store)(nil)

// indexScript adds ARGV[1] to the set KEYS[1] and extends the set's TTL to
// ARGV[2] milliseconds, never shortening it: the set must outlive its
// longest-lived session. (EXPIRE GT would need Redis 7.)
const indexScript = `redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`

// indexRef is one session ID in one index set.
type indexRef struct{ set, id string }

// refsOf returns the index entries of session id, whose ID token is
// idToken. The token is not verified: only the SDK writes it, after
// verifying it.
func (s *Store) refsOf(idToken, id string) []indexRef {
	sub, sid := jwt.SubjectAndSession(idToken)
	var refs []indexRef
	if sub != "" {
		refs = append(refs, indexRef{s.subKey(sub), id})
	}
	if sid != "" {
		refs = append(refs, indexRef{s.sidKey(sid), id})
	}
	return refs
}

// indexRefs reads the sessions ids and returns their index entries.
// Sessions that are gone or unreadable have none.
func (s *Store) indexRefs(ctx context.Context, ids ...string) ([]indexRef, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, s.key(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var refs []indexRef
	for i, cmd := range cmds {
		data, err := cmd.Bytes()
		if err != nil {
			continue
		}
		values, ok := decodeValues(data)
		if !ok {
			continue
		}
		refs = append(refs, s.refsOf(values[logto.StorageKeyIDToken], ids[i])...)
	}
	return refs, nil
}

// EndSessions ends every session whose ID token has the subject and the
// session ID sessionID, as OpenID Connect Back-Channel Logout asks; an
// empty subject or sessionID means any, but not both. It implements
// logto.SessionEnder, for logto.App.BackchannelLogoutHandler:
//
//	mux.Handle("POST /backchannel-logout", app.BackchannelLogoutHandler(store))
//
// Only sessions saved with an ID token are found (every signed-in one). A
// request in flight for an ended session cannot bring it back: Save writes
// an existing session only while Redis still holds it.
func (s *Store) EndSessions(ctx context.Context, subject, sessionID string) error {
	if subject == "" && sessionID == "" {
		return errors.New("redisstore: EndSessions needs a subject or a session ID")
	}
	var sets []string
	if subject != "" {
		sets = append(sets, s.subKey(subject))
	}
	if sessionID != "" {
		sets = append(sets, s.sidKey(sessionID))
	}
	cmds := make([]*redis.StringSliceCmd, len(sets))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range sets {
			cmds[i] = p.SMembers(ctx, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: end sessions: %w", err)
	}
	ids := cmds[0].Val()
	for _, c := range cmds[1:] {
		other := c.Val()
		ids = slices.DeleteFunc(ids, func(id string) bool { return !slices.Contains(other, id) })
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return !validID(id) })
	refs, err := s.indexRefs(ctx, ids...)
	if err != nil {
		return fmt.Errorf("redisstore: end sessions: %w", err)
	}
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Del(ctx, s.key(id))
		}
		for _, ref := range refs {
			p.SRem(ctx, ref.set, ref.id)
		}
		if len(sets) == 1 {
			// Every session of the set ended.
			p.Del(ctx, sets[0])
		} else {
			for _, k := range sets {
				for _, id := range ids {
					p.SRem(ctx, k, id)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: end sessions: %w", err)
	}
	return nil
}

func validID(id string) bool {
	return sessionid.Valid(id)
}

func (s *Store) subKey(sub string) string { return s.prefix() + "sub:" + sub }
func (s *Store) sidKey(sid string) string { return s.prefix() + "sid:" + sid }

func (s *Store) prefix() string {
	if s.Prefix == "" {
		return DefaultPrefix
	}
	return s.Prefix
}
