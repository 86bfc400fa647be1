// Package benchmarks compares apiauth's bearer-token middleware with the bare
// go-jose signature check and with auth0/go-jwt-middleware, on the same ES384
// access tokens minted by logtotest. It is its own module, so the SDK never
// depends on auth0.
//
// Run:
//
//	cd benchmarks && go test -run '^$' -bench . -benchmem
package benchmarks
