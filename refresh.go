package logto

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/seed098cf14d/logto/internal/jwks"
	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// chainWindow is how long after a rotation a request that still holds the
// spent refresh token may follow it to its successor. Logto revokes the
// whole grant when a spent refresh token is presented again, and a
// browser's parallel requests share one cookie: the ones that left before
// the rotated cookie came back would sign the user out everywhere. Past
// this window a spent refresh token is presented as it is, and the
// provider refuses it: whoever still holds it (a copied cookie) gets
// nothing.
const chainWindow = 5 * time.Second

// refresher runs refresh grants so that one session never has two in flight,
// and remembers each rotation for chainWindow, for the same session only,
// so that requests racing the rotation follow it instead of spending the old
// token again. Storages with a cross-process lock re-read the session under
// the lock instead, and no rotation is remembered for them.
type refresher struct {
	mu      sync.Mutex
	flights map[string]*flight   // by the refresh token the grant spends
	ended   map[string]time.Time // session binding -> signed out or revoked at
}

// flight is one refresh grant, shared by the requests of one session that
// hold its refresh token.
type flight struct {
	done     chan struct{}
	rt       string // the refresh token this grant spends
	resource string
	org      string
	session  string // sessionBinding of the session that started it
	follow   bool   // its rotation may be followed (no cross-process lock)
	started  time.Time

	// Set before done is closed.
	tok      *tokenendpoint.Response
	sent     time.Time
	claims   *IDTokenClaims // of a new, verified ID token; nil when none came
	rotated  string         // the new refresh token, when the provider rotated rt
	err      error
	finished time.Time
}

// sessionBinding names the sign-in a session holds: issuer, subject and
// provider session of its ID token. It outlives an ID token that a refresh
// replaces.
func sessionBinding(c *IDTokenClaims) string {
	return c.Issuer + " " + c.Subject + " " + c.SessionID
}

// followable reports whether a caller of session may take f's outcome
// (and follow its rotation) at now. r.mu is held.
func (r *refresher) followable(f *flight, session string, now time.Time) bool {
	if !isDone(f) {
		return f.session == session
	}
	if !f.follow || f.session != session || now.Sub(f.finished) > chainWindow {
		return false
	}
	ended, ok := r.ended[session]
	return !ok || ended.Before(f.started)
}

// end forgets every rotation of a session that was signed out or whose
// grant the provider revoked: from now on its spent refresh tokens are
// presented as they are, and refused.
func (r *refresher) end(session string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended == nil {
		r.ended = map[string]time.Time{}
	}
	r.ended[session] = now
	for k, f := range r.flights {
		if f.session == session && isDone(f) {
			delete(r.flights, k)
		}
	}
}

// refresh returns a completed refresh grant answering (resource, org) for the
// session holding refresh token rt. It joins a grant already in flight for
// rt, follows rotations the same session completed within chainWindow, and
// otherwise starts one. A grant of another caller whose access token is
// refused does not answer; one this caller started always does.
//
// Before it starts a grant of its own it calls reread, which reads the
// session's storage again: another request (or process) sharing the storage
// may have refreshed meanwhile, leaving a newer refresh token, or the very
// token wanted, which reread then returns and refresh hands back instead.
//
// On a failure after the provider rotated the refresh token, the flight is
// returned with the error, so that the caller can keep the new token.
func (a *App) refresh(ctx context.Context, rt, idToken, session string, follow bool, resource, org, refused string,
	reread func(context.Context) (string, *AccessToken, error)) (*flight, *AccessToken, error) {
	r := &a.refresher
	checked := ""
	var mine *flight // the grant this caller started, if it had to
	// Tokens this caller has moved past: storage may still hold one of them
	// (the caller's own request has not written the newer one yet), and
	// going back to it would loop.
	passed := map[string]bool{}
	for {
		r.mu.Lock()
		if r.flights == nil {
			r.flights = map[string]*flight{}
		}
		f := r.flights[rt]
		if f != nil && !r.followable(f, session, a.s.now()) {
			f = nil // not ours to take: rt is spent, and the provider will say so
		}
		if f == nil && checked != rt {
			r.mu.Unlock()
			latest, cached, err := reread(ctx)
			if err != nil {
				return nil, nil, err
			}
			if cached != nil {
				return nil, cached, nil
			}
			if latest != "" && latest != rt && !passed[latest] {
				passed[rt] = true
				rt = latest
			}
			checked = rt
			continue
		}
		if f == nil {
			if old := r.flights[rt]; old != nil && !isDone(old) {
				// Another session's grant for the same token (a copy of
				// this one) is running: never overlap it.
				r.mu.Unlock()
				if err := wait(ctx, old); err != nil {
					return nil, nil, err
				}
				continue
			}
			f = &flight{done: make(chan struct{}), rt: rt, resource: resource, org: org,
				session: session, follow: follow, started: a.s.now()}
			mine = f
			r.flights[rt] = f
			r.mu.Unlock()
			// Detached from the caller: once sent, the grant spends rt, and
			// its answer must be kept even if this caller gives up. The HTTP
			// client's timeout bounds it.
			go a.runFlight(context.WithoutCancel(ctx), f, rt, idToken)
		} else {
			r.mu.Unlock()
		}

		if err := wait(ctx, f); err != nil {
			return nil, nil, err
		}
		if f.err != nil {
			return f, nil, f.err
		}
		if f.resource == resource && f.org == org && (f == mine || f.tok.AccessToken != refused) &&
			a.fresh(accessTokenFrom(f.tok, f.sent), a.s.now()) {
			return f, nil, nil
		}
		next := f.rotated
		passed[rt] = true
		if next == "" {
			// No rotation: rt is still good; take a turn of our own once
			// this flight is forgotten.
			r.mu.Lock()
			if r.flights[rt] == f {
				delete(r.flights, rt)
			}
			r.mu.Unlock()
			continue
		}
		if passed[next] {
			return nil, nil, wrapErr(ErrProvider, "the provider's refresh-token rotation leads back to a spent token", nil)
		}
		rt = next
	}
}

func wait(ctx context.Context, f *flight) error {
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return wrapErr(ErrProvider, "waiting for a refresh", ctx.Err())
	}
}

// runFlight performs the refresh grant of f and publishes its outcome.
func (a *App) runFlight(ctx context.Context, f *flight, rt, idToken string) {
	f.tok, f.sent, f.claims, f.err = a.refreshGrant(ctx, rt, idToken, f.resource, f.org)
	if f.tok != nil && f.tok.RefreshToken != "" && f.tok.RefreshToken != rt {
		f.rotated = f.tok.RefreshToken
	}
	f.finished = a.s.now()

	r := &a.refresher
	r.mu.Lock()
	if f.rotated == "" || !f.follow {
		// Nothing rotated, or a storage whose lock makes followers re-read
		// it: nothing to remember. Waiters already hold f.
		if r.flights[rt] == f {
			delete(r.flights, rt)
		}
	}
	// Forget rotations past the window, and ended sessions once no flight
	// started before the end can still be running.
	for k, old := range r.flights {
		if isDone(old) && f.finished.Sub(old.finished) > chainWindow {
			delete(r.flights, k)
		}
	}
	for s, at := range r.ended {
		if f.finished.Sub(at) > chainWindow+time.Minute {
			delete(r.ended, s)
		}
	}
	r.mu.Unlock()
	close(f.done)
}

func isDone(f *flight) bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// latestRefreshToken is the newest refresh token after flight f: the one f
// rotated to (or f's own when nothing rotated), followed through the
// rotations session may follow.
func (a *App) latestRefreshToken(f *flight, session string) string {
	rt := f.rt
	if f.rotated != "" {
		rt = f.rotated
	}
	r := &a.refresher
	r.mu.Lock()
	defer r.mu.Unlock()
	now := a.s.now()
	for range len(r.flights) + 1 {
		f := r.flights[rt]
		if f == nil || !isDone(f) || f.rotated == "" || !r.followable(f, session, now) {
			break
		}
		rt = f.rotated
	}
	return rt
}

// refreshGrant sends one refresh_token grant and validates a new ID token
// against the current one (OpenID Connect Core 12.2): the same issuer,
// subject and audience, and no later auth_time nor other acr or amr
// (checkRefreshedAuthentication). A token that fails is refused with
// ErrInvalidToken, which ends the session: a refreshed session never
// looks like a fresh sign-in.
func (a *App) refreshGrant(ctx context.Context, rt, idToken, resource, org string) (*tokenendpoint.Response, time.Time, *IDTokenClaims, error) {
	m, err := a.metadata(ctx)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if resource != "" {
		form.Set("resource", resource)
	}
	if org != "" {
		form.Set("organization_id", org)
	}
	tok, sent, err := a.tokenRequest(ctx, m, form)
	if err != nil {
		return nil, sent, nil, err
	}
	if tok.IDToken == "" {
		return tok, sent, nil, nil
	}
	old, err := parseIDTokenClaims(idToken)
	if err != nil {
		return nil, sent, nil, err
	}
	claims, err := a.verifyIDToken(ctx, m, tok.IDToken, "", "")
	switch {
	case errors.Is(err, jwks.ErrUnknownKey):
		// The provider signs with a key newer than the cached set, which
		// may not refetch yet: its own answer, over its own connection, is
		// no forgery. Keep the rotated refresh token; the ID token is not
		// stored, and the next refresh checks a new one.
		return tok, sent, nil, wrapErr(ErrProvider, "the refreshed ID token is signed with a key not yet fetched", nil)
	case errors.Is(err, ErrProvider):
		// The keys cannot be had: the provider's outage, not a bad token.
		return tok, sent, nil, err
	case err != nil:
		return nil, sent, nil, err
	}
	if claims.Issuer != old.Issuer || claims.Subject != old.Subject || !slices.Equal(claims.Audience, old.Audience) {
		return nil, sent, nil, wrapErr(ErrInvalidToken, "the refreshed ID token names another issuer, subject or audience", nil)
	}
	if err := checkRefreshedAuthentication(old, claims); err != nil {
		return nil, sent, nil, err
	}
	return tok, sent, claims, nil
}
