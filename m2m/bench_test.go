package m2m_test

import (
	"context"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/m2m"
)

// BenchmarkCachedToken is a cached M2M token handed out through the
// oauth2.TokenSource adapter (sdk), beside x/oauth2's clientcredentials
// source handing out its cached token (x-oauth2), against the same
// provider.
func BenchmarkCachedToken(b *testing.B) {
	p := newProvider(b, logtotest.Options{})
	ctx := context.Background()
	c := newClient(b, p, nil)
	sdk := c.TokenSource(ctx, m2m.ClientCredentials{Resources: []string{apiResource}})
	x := (&clientcredentials.Config{
		ClientID:       p.M2MClientID(),
		ClientSecret:   p.M2MClientSecret(),
		TokenURL:       p.Issuer() + "/token",
		EndpointParams: map[string][]string{"resource": {apiResource}},
	}).TokenSource(ctx)
	for name, ts := range map[string]interface {
		Token() (*oauth2.Token, error)
	}{"sdk": sdk, "x-oauth2": x} {
		if _, err := ts.Token(); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
	}
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sdk.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-oauth2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
