// Package redisstore keeps sign-in sessions server-side in Redis, so the
// cookie holds only a session ID and several app replicas share sessions.
//
// A [Store] is a gorilla sessions.Store; the SDK uses it through
// logto.SessionStorage like any other:
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(client, "https://app.example.com/callback", authKey32)
//	if err != nil {
//		log.Fatal(err)
//	}
//	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
//
// or, for one request, logto.NewSessionStorage(store, w, r, "").
//
// The cookie carries a random 256-bit session ID, signed (and, given an
// encryption key, encrypted) with securecookie, so it stays under 200 bytes
// whatever the session holds: a session may cache as many access tokens as
// the app needs. The session's values live under <Prefix>session:<id> as a
// JSON object of strings and expire after the cookie's MaxAge (14 days by
// default, Logto's refresh-token lifetime), counted from the last save.
//
// Failures are told apart the way logto.Storage asks: a cookie that does not
// decode, or names a session Redis no longer has, is a new empty session
// ("not signed in"); Redis being unreachable or timing out is an error, which
// the SDK reports as logto.ErrStorage, never as a sign-out.
//
// Ending sessions from the server: [Store.DeleteSession] ends one session
// whose ID the app knows (the ID of a request's session is
// sessions.GetRegistry(r).Get(store, name) then .ID). Ending every session of
// a subject or of a provider session ID, as OpenID Connect Back-Channel Logout
// asks, needs an index this package does not keep yet. It would be added in
// Save: parse the stored ID token's sub and sid claims and, in the same
// pipeline as the session write, SADD the session ID to <Prefix>sub:<sub> and
// <Prefix>sid:<sid>, extending each set's TTL to the session's; a method
// EndSessions(ctx, sub, sid) would then read a set with SMEMBERS and delete
// its sessions and the set itself. Entries of sessions that expired on their
// own are harmless: deleting a missing key is a no-op.
package redisstore
