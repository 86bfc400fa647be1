// Package memstore keeps sign-in sessions server-side in the memory of one
// process, so the cookie holds only a session ID: the single-process
// sibling of redisstore, with the same behaviour and no server to run.
//
// A [Store] is a gorilla sessions.Store; the SDK uses it through
// logto.SessionStorage like any other:
//
//	store, err := memstore.New("https://app.example.com/callback")
//	if err != nil {
//		log.Fatal(err)
//	}
//	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
//	mux.Handle("POST /backchannel-logout", app.BackchannelLogoutHandler(store))
//
// Sessions live as long as the process: a restart signs everyone out, and
// several replicas do not share them (use redisstore for that). In return a
// session may hold as many access tokens as the app needs, and the server
// can end it: [Store.DeleteSession] ends one session, [Store.EndSessions]
// every session of a subject or provider session (OpenID Connect
// Back-Channel Logout; a Store is a logto.SessionEnder), and sign-out ends
// the session for every copy of its cookie.
//
// The cookie carries a random 256-bit session ID, sealed (signed and
// encrypted) with keys derived from the secrets given to New, or from a
// random one, so it stays under 200 bytes. A cookie that does not open, or
// names a session the store does not hold, is a new empty session ("not
// signed in"): a guessed, forged or stale ID reads as no one. A session
// lives MaxAge seconds (the cookie's, 7 days by default) from its last
// save; Save gives a session whose ID was cleared (by
// logto.SessionStorage.Renew, at every sign-in) a new ID and deletes the
// one the browser presented, so an ID planted before sign-in never names
// the signed-in session. Values are copied in on Save and out on every
// load: requests never share them.
//
// # Bounded memory
//
// Anyone can make sessions without signing in: each visit to the sign-in
// route stores a pending sign-in under a new ID. So the store holds at most
// MaxSessions sessions (DefaultMaxSessions when zero), in two shares:
//
//   - sessions not signed in (a sign-in under way) may take a tenth of
//     MaxSessions, at least one;
//   - signed-in sessions (holding an ID token, which the SDK stores only
//     after verifying it) take the rest.
//
// When a session is saved into a full share, the session of that share
// closest to expiry (the one saved longest ago, given one MaxAge) gives way;
// expired sessions are dropped first, on every save. A share never takes
// room from the other: a flood of sign-ins that are never completed evicts
// only pending sign-ins (at worst a real user's, who then signs in again)
// and never signs anyone out; at worst new sign-ins sign out the signed-in
// users seen least recently. A rate limit on the sign-in route, per client,
// keeps real users' pending sign-ins from being crowded out.
//
// # Refreshes
//
// [Store.LockSession] makes a Store a logto.SessionLocker: refreshes of one
// session never overlap, across every request and every logto.App of the
// process that serve it, so Logto's refresh-token reuse detection never
// revokes the grant.
package memstore
