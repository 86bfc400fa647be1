package m2m_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/m2m"
)

// A machine-to-machine app gets a token for an API and calls it.
func Example() {
	provider, err := logtotest.Start(logtotest.Options{}) // your Logto tenant, in real life
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.Header.Get("Authorization")) <= len("Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer api.Close()

	client, err := m2m.New(m2m.Config{
		Endpoint:  provider.Endpoint(),
		AppID:     provider.M2MClientID(),
		AppSecret: provider.M2MClientSecret(),
	})
	if err != nil {
		log.Fatal(err)
	}
	grant := m2m.ClientCredentials{Resources: []string{"https://api.example.com"}}
	// The token goes only to the API's origin; here the API's resource
	// indicator is not its URL, so the URL is named.
	hc := &http.Client{Transport: client.Transport(grant, nil, api.URL)}
	resp, err := hc.Get(api.URL + "/reports")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// An organization token for the app, as an oauth2.TokenSource for a
// generated API client.
func ExampleClient_TokenSource() {
	provider, err := logtotest.Start(logtotest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()
	client, err := m2m.New(m2m.Config{
		Endpoint:  provider.Endpoint(),
		AppID:     provider.M2MClientID(),
		AppSecret: provider.M2MClientSecret(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := client.TokenSource(context.Background(), m2m.ClientCredentials{OrganizationID: logtotest.DefaultOrganization})
	tok, err := ts.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.Valid())
	// Output: Bearer true
}
