package logto

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Session lifetimes. Past either one the session is over: IsAuthenticated
// is false and the stored tokens are dropped, whatever the refresh token's
// own life.
const (
	// DefaultSessionAbsoluteTimeout bounds a session from its sign-in on,
	// however active it is: 7 days.
	DefaultSessionAbsoluteTimeout = 7 * 24 * time.Hour
	// DefaultSessionIdleTimeout ends a session nobody used for this long:
	// 24 hours.
	DefaultSessionIdleTimeout = 24 * time.Hour
)

// sessionRecord is what the client keeps about a session besides its
// tokens, under StorageKeySession: when it started, when it was last seen
// in use, and a random handle naming it (and every copy of it) in the
// record of ended sessions.
type sessionRecord struct {
	started, seen time.Time
	handle        string
}

// encode is "<started>,<seen>,<handle>", times in Unix milliseconds: a few
// cuts to read on every request, no JSON.
func (r sessionRecord) encode() string {
	return strconv.FormatInt(r.started.UnixMilli(), 10) + "," + strconv.FormatInt(r.seen.UnixMilli(), 10) + "," + r.handle
}

func decodeSessionRecord(v string) (sessionRecord, bool) {
	started, rest, ok1 := strings.Cut(v, ",")
	seen, handle, ok2 := strings.Cut(rest, ",")
	s, err1 := strconv.ParseInt(started, 10, 64)
	l, err2 := strconv.ParseInt(seen, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || handle == "" || s <= 0 || l < s {
		return sessionRecord{}, false
	}
	return sessionRecord{started: time.UnixMilli(s), seen: time.UnixMilli(l), handle: handle}, true
}

// startSessionRecord writes the record of a session that starts now.
func (c *Client) startSessionRecord(ctx context.Context) error {
	handle, err := randomString(16)
	if err != nil {
		return err
	}
	now := c.app.s.now()
	if err := c.storage.Set(ctx, StorageKeySession, sessionRecord{started: now, seen: now, handle: handle}.encode()); err != nil {
		return storageErr("set", StorageKeySession, err)
	}
	return nil
}

// activeSession returns the signed-in session's raw ID token and record,
// or an error wrapping ErrNotAuthenticated when there is none or it is
// over: past its absolute or idle timeout, or ended (signed out, or by
// back-channel logout). An over session's tokens are dropped. A session in
// use has its last-seen time moved on, at most once per tenth of the idle
// timeout, so that a cookie session is not rewritten on every request.
func (c *Client) activeSession(ctx context.Context) (string, sessionRecord, error) {
	raw, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil {
		return "", sessionRecord{}, storageErr("get", StorageKeyIDToken, err)
	}
	if raw == "" {
		return "", sessionRecord{}, ErrNotAuthenticated
	}
	v, err := c.storage.Get(ctx, StorageKeySession)
	if err != nil {
		return "", sessionRecord{}, storageErr("get", StorageKeySession, err)
	}
	s := c.app.s
	now := s.now()
	rec, ok := decodeSessionRecord(v)
	why := ""
	switch {
	case !ok:
		// Tokens without a record were not stored by a sign-in of this
		// version: fail closed.
		why = "the session has no lifetime record"
	case now.Sub(rec.started) >= s.absoluteTimeout:
		why = fmt.Sprintf("the session is older than %v", s.absoluteTimeout)
	case now.Sub(rec.seen) >= s.idleTimeout:
		why = fmt.Sprintf("the session was idle for more than %v", s.idleTimeout)
	}
	if why == "" {
		ended, err := c.app.sessionEnded(ctx, c, raw, rec)
		if err != nil {
			return "", sessionRecord{}, err
		}
		if ended {
			why = "the session was ended (signed out or logged out by the provider)"
		}
	}
	if why != "" {
		if err := c.clearSession(ctx); err != nil {
			return "", sessionRecord{}, err
		}
		if err := c.flush(ctx); err != nil {
			return "", sessionRecord{}, err
		}
		return "", sessionRecord{}, wrapErr(ErrNotAuthenticated, why, nil)
	}
	if now.Sub(rec.seen) >= s.idleTimeout/10 {
		rec.seen = now
		if err := c.storage.Set(ctx, StorageKeySession, rec.encode()); err != nil {
			return "", sessionRecord{}, storageErr("set", StorageKeySession, err)
		}
		if err := c.flush(ctx); err != nil {
			return "", sessionRecord{}, err
		}
	}
	return raw, rec, nil
}
