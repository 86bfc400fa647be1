package m2m_test

import (
	"context"
	"testing"

	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/m2m"
)

const grantExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

func TestExchangePersonalAccessToken(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	pat, err := p.MintPersonalAccessToken(logtotest.DefaultUser().Subject)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, p, nil)
	g := m2m.TokenExchange{SubjectToken: pat, SubjectTokenType: m2m.PersonalAccessToken, Resources: []string{apiResource}}
	tok, err := c.Token(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	cl := claims(t, tok.AccessToken)
	if cl["sub"] != logtotest.DefaultUser().Subject || cl["aud"] != apiResource {
		t.Errorf("claims %v", cl)
	}
	if tok.IssuedTokenType != m2m.AccessToken {
		t.Errorf("issued_token_type %q", tok.IssuedTokenType)
	}
	// Cached like any other token.
	if again, err := c.Token(context.Background(), g); err != nil || again.AccessToken != tok.AccessToken || p.Grants(grantExchange) != 1 {
		t.Errorf("asking again: %v, %d requests", err, p.Grants(grantExchange))
	}
}

func TestExchangeWithActor(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	actor, err := c.Token(context.Background(), m2m.ClientCredentials{Resources: []string{apiResource}})
	if err != nil {
		t.Fatal(err)
	}
	subject, err := p.MintSubjectToken(logtotest.DefaultUser().Subject)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(context.Background(), m2m.TokenExchange{
		SubjectToken: subject, SubjectTokenType: m2m.AccessToken,
		ActorToken: actor.AccessToken, ActorTokenType: m2m.AccessToken,
		Resources: []string{apiResource},
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := claims(t, tok.AccessToken)
	act, _ := cl["act"].(map[string]any)
	if cl["sub"] != logtotest.DefaultUser().Subject || act["sub"] != p.M2MClientID() {
		t.Errorf("claims %v", cl)
	}
}

func TestExchangeRefusals(t *testing.T) {
	p := newProvider(t, logtotest.Options{})
	c := newClient(t, p, nil)
	ctx := context.Background()
	subject, err := p.MintSubjectToken(logtotest.DefaultUser().Subject)
	if err != nil {
		t.Fatal(err)
	}
	used := m2m.TokenExchange{SubjectToken: subject, SubjectTokenType: m2m.AccessToken, Resources: []string{apiResource}}
	if _, err := c.Token(ctx, used); err != nil {
		t.Fatal(err)
	}
	// Another client spends the same subject token again: single use.
	if _, err := newClient(t, p, nil).Token(ctx, used); oauthCode(t, err) != "invalid_grant" {
		t.Errorf("used subject token: %v", err)
	}
	bogus := m2m.TokenExchange{SubjectToken: "not-a-token", SubjectTokenType: m2m.PersonalAccessToken, Resources: []string{apiResource}}
	if _, err := c.Token(ctx, bogus); oauthCode(t, err) != "invalid_grant" {
		t.Errorf("invalid subject token: %v", err)
	}

	closed := newProvider(t, logtotest.Options{TokenExchangeClients: []string{}})
	pat, err := closed.MintPersonalAccessToken(logtotest.DefaultUser().Subject)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newClient(t, closed, nil).Token(ctx, m2m.TokenExchange{SubjectToken: pat, SubjectTokenType: m2m.PersonalAccessToken, Resources: []string{apiResource}})
	if code := oauthCode(t, err); code != "unauthorized_client" {
		t.Errorf("client without exchange rights: %q (%v)", code, err)
	}
}
