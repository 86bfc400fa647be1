// Package m2m gets access tokens for programs that act for no user:
// Logto machine-to-machine apps (OAuth 2.0 client credentials, RFC 6749
// section 4.4, with Logto's resource and organization parameters) and
// token exchange (RFC 8693: personal access tokens, impersonation,
// delegation).
//
// A [Client] is long-lived and safe for concurrent use. It caches each
// token until it comes within the expiry margin of its end, and sends one
// request at a time per kind of token however many goroutines ask:
//
//	client, err := m2m.New(m2m.Config{
//		Endpoint:  "https://your-tenant.logto.app",
//		AppID:     os.Getenv("LOGTO_M2M_APP_ID"),
//		AppSecret: os.Getenv("LOGTO_M2M_APP_SECRET"),
//	})
//	...
//	api := &http.Client{Transport: client.Transport(
//		m2m.ClientCredentials{Resources: []string{"https://api.example.com"}}, nil)}
//	resp, err := api.Get("https://api.example.com/reports")
//
// [Client.TokenSource] adapts it to an oauth2.TokenSource for generated API
// clients (the Logto Management API's, for one). Errors match the root
// package's kinds: logto.ErrInvalidConfig, logto.ErrInvalidRequest, and
// logto.ErrProvider, which every *logto.OAuthError (the provider's refusal,
// with its code: invalid_client, invalid_target, invalid_grant,
// unauthorized_client, ...) matches too.
package m2m
