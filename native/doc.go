// Package native signs a person in from a program with no web server of
// its own: a command-line tool, a desktop app, a device. Such an app is a
// Logto native app, a public client (no secret; PKCE on every sign-in), and
// signs in one of two ways:
//
//   - [Client.LoginBrowser]: the authorization code flow with a loopback
//     redirect (RFC 8252 section 7.3). A listener on
//     http://127.0.0.1:<free port>/callback lives only for the sign-in; the
//     state, nonce, PKCE and ID token are checked exactly as in the web
//     flow.
//   - [Client.LoginDevice]: the device authorization grant (RFC 8628), for a
//     terminal on a machine with no browser: the person approves on
//     another device.
//
// The session is kept in a [Cache] between runs ([FileCache]: one file per
// provider and app, mode 0600, written atomically), and access tokens come
// from it or from a rotation-safe refresh, as for web apps:
//
//	cache, _ := native.NewFileCache(native.DefaultCachePath(endpoint, appID))
//	client, err := native.New(native.Config{Endpoint: endpoint, AppID: appID, Cache: cache})
//	...
//	claims, err := client.LoginDevice(ctx, native.DeviceOptions{
//		Show: func(d *logto.DeviceAuthorization) error {
//			_, err := fmt.Fprintf(os.Stderr, "visit %s and enter %s\n", d.VerificationURI, d.UserCode)
//			return err
//		},
//	})
//	...
//	tok, err := client.AccessToken(ctx, "https://api.example.com")
//
// The package never opens a browser or prints by itself: the caller
// supplies the hook that shows the URL or the code.
package native
