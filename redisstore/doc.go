// Package redisstore keeps sign-in sessions server-side in Redis, so the
// cookie holds only a session ID and several app replicas share sessions.
//
// A [Store] is a gorilla sessions.Store; the SDK uses it through
// logto.SessionStorage like any other:
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.NewFromSecret(client, "https://app.example.com/callback", secret32)
//	if err != nil {
//		log.Fatal(err)
//	}
//	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
//
// or, for one request, logto.NewSessionStorage(store, w, r, "").
//
// The cookie carries a random 256-bit session ID, signed (and, given an
// encryption key, as NewFromSecret always derives, encrypted) with
// securecookie, so it stays under 200 bytes
// whatever the session holds: a session may cache as many access tokens as
// the app needs. The session's values (strings) live under
// <Prefix>session:<id>, with a version that every save bumps, and expire
// after the cookie's MaxAge (7 days by default, the SDK's absolute session
// lifetime), counted from the last save.
//
// Failures are told apart the way logto.Storage asks: a cookie that does not
// decode, or names a session Redis no longer has, is a new empty session
// ("not signed in"); Redis being unreachable or timing out is an error, which
// the SDK reports as logto.ErrStorage, never as a sign-out.
//
// Ending sessions from the server: [Store.DeleteSession] ends one session
// whose ID the app knows (the ID of a request's session is
// sessions.GetRegistry(r).Get(store, name) then .ID). [Store.EndSessions]
// ends every session of a subject, of a provider session ID, or of both, as
// OpenID Connect Back-Channel Logout asks; a Store is a logto.SessionEnder:
//
//	mux.Handle("POST /backchannel-logout", app.BackchannelLogoutHandler(store))
//
// For it, Save indexes each signed-in session: it reads the sub and sid
// claims of the stored ID token (unverified: only the SDK writes it, after
// verification) and, in the same pipeline as the session write, adds the
// session ID to the sets <Prefix>sub:<sub> and <Prefix>sid:<sid>, extending
// each set's TTL to the session's (never shortening it). Deleting or renewing
// a session takes its ID out of its sets (best effort); entries of sessions
// that expired on their own are harmless, as deleting a missing key is a
// no-op. Save rewrites an existing session only while Redis still holds it,
// so a request in flight cannot bring back a session ended meanwhile.
//
// # Refresh locks and fencing
//
// Several processes serve one session, and Logto revokes the whole grant
// when a spent refresh token is presented again, so the SDK holds the
// session's lock across a refresh (a Store is a logto.SessionLeaser): the
// key <Prefix>lock:<id>, a lease of LockLease that the holder renews every
// third of it, however slow the provider. The holder reads the session again
// under the lock, spends the refresh token, stores the rotated one and only
// then unlocks. A lease can still run out under a holder that stalls longer
// than it (a long pause, Redis out of its reach), and another process then
// takes the lock. Two fences keep that from costing the user's grant:
//
//   - Under the lock, each read of the refresh token (the client reads it
//     right before spending it) first confirms the lock is still the
//     holder's, renewing it to a full lease. A lock that is not fails the
//     read with ErrLockLost, which the SDK reports as logto.ErrStorage: the
//     token is not spent. A renewal that finds the lock gone marks it lost
//     for good.
//   - Every save of an existing session is a compare-and-set on its version
//     (a Lua script on the session's one key). A save that finds a newer
//     version applies its own changes (against what it read) to it; when
//     both changed the refresh token or the ID token it fails with
//     ErrConflict (logto.ErrStorage) and writes nothing, and the client
//     hands out nothing from that refresh. Pending sign-ins both changed
//     (two tabs) are merged; for any other value both changed, the later
//     save's wins. So a holder that lost its lock never
//     replaces the rotation stored after it read the session, and a request
//     that read the session before a refresh (a sign-in started in another
//     tab) never writes the spent refresh token back.
//
// Not guaranteed: a holder that stalls past its lease after that check,
// while its grant is in flight. The next holder reads the same refresh token
// and presents it too; Logto revokes the grant, and the session ends
// (signed out) rather than keep a spent token. Keep LockLease well above the
// pauses a process can have.
package redisstore
