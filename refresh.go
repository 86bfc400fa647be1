package logto

import (
	"context"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/seed098cf14d/logto/internal/tokenendpoint"
)

// chainTTL is how long a completed rotation is remembered. Logto revokes the
// whole grant when a used refresh token is presented again; a request that
// still carries the old token (a browser's parallel requests share one
// cookie) follows the remembered rotation instead of presenting it.
const chainTTL = 10 * time.Minute

// refresher runs refresh grants so that one session never has two in flight:
// a session is identified by its refresh token, and a rotated token leads to
// its successor.
type refresher struct {
	mu      sync.Mutex
	flights map[string]*flight
}

// flight is one refresh grant, shared by everyone holding its refresh token.
type flight struct {
	done     chan struct{}
	rt       string // the refresh token this grant spends
	resource string
	org      string

	// Set before done is closed.
	tok      *tokenendpoint.Response
	sent     time.Time
	claims   *IDTokenClaims // of a new, verified ID token; nil when none came
	err      error
	finished time.Time
}

// successor is the refresh token that replaced this flight's, or "".
func (f *flight) successor(old string) string {
	if f.err != nil || f.tok == nil || f.tok.RefreshToken == "" || f.tok.RefreshToken == old {
		return ""
	}
	return f.tok.RefreshToken
}

// refresh returns a completed refresh grant answering (resource, org) for the
// session holding refresh token rt. It joins a grant already in flight for
// rt, follows rotations other callers completed, and otherwise starts one.
//
// Before it starts a grant of its own it calls reread, which reads the
// session's storage again: another request (or process) sharing the storage
// may have refreshed meanwhile, leaving a newer refresh token, or the very
// token wanted, which reread then returns and refresh hands back instead.
func (a *App) refresh(ctx context.Context, rt, idToken, resource, org string,
	reread func(context.Context) (string, *AccessToken, error)) (*flight, *AccessToken, error) {
	r := &a.refresher
	checked := ""
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
			f = &flight{done: make(chan struct{}), rt: rt, resource: resource, org: org}
			r.flights[rt] = f
			r.mu.Unlock()
			// Detached from the caller: once sent, the grant spends rt, and
			// its answer must be kept even if this caller gives up. The HTTP
			// client's timeout bounds it.
			go a.runFlight(context.WithoutCancel(ctx), f, rt, idToken)
		} else {
			r.mu.Unlock()
		}

		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, nil, wrapErr(ErrProvider, "waiting for a refresh", ctx.Err())
		}
		if f.err != nil {
			return nil, nil, f.err
		}
		if f.resource == resource && f.org == org && a.fresh(accessTokenFrom(f.tok, f.sent), a.s.now()) {
			return f, nil, nil
		}
		next := f.successor(rt)
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

// runFlight performs the refresh grant of f and publishes its outcome.
func (a *App) runFlight(ctx context.Context, f *flight, rt, idToken string) {
	f.tok, f.sent, f.claims, f.err = a.refreshGrant(ctx, rt, idToken, f.resource, f.org)
	f.finished = a.s.now()

	r := &a.refresher
	r.mu.Lock()
	if f.successor(rt) == "" {
		// Failed, or nothing rotated: nothing to remember. Waiters already
		// hold f.
		delete(r.flights, rt)
	}
	// Forget rotations nobody can be holding any more.
	for k, old := range r.flights {
		if isDone(old) && f.finished.Sub(old.finished) > chainTTL {
			delete(r.flights, k)
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

// latestRefreshToken follows remembered rotations from rt to the newest.
func (a *App) latestRefreshToken(rt string) string {
	r := &a.refresher
	r.mu.Lock()
	defer r.mu.Unlock()
	for range len(r.flights) + 1 {
		f := r.flights[rt]
		if f == nil || !isDone(f) {
			break
		}
		next := f.successor(rt)
		if next == "" {
			break
		}
		rt = next
	}
	return rt
}

// refreshGrant sends one refresh_token grant and validates a new ID token
// against the current one (OpenID Connect Core 12.2).
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
	if err != nil {
		return nil, sent, nil, err
	}
	if claims.Issuer != old.Issuer || claims.Subject != old.Subject || !slices.Equal(claims.Audience, old.Audience) {
		return nil, sent, nil, wrapErr(ErrInvalidToken, "the refreshed ID token names another issuer, subject or audience", nil)
	}
	return tok, sent, claims, nil
}
