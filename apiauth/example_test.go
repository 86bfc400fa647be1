package apiauth_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/seed098cf14d/logto/apiauth"
)

// A protected API: /api/private needs a valid token, /api/private-scoped
// also the read:messages scope, /api/organizations/{id}/members an
// organization token for {id} with read:members, and
// /api/organizations/{id}/reports an organization-scoped token of the API
// for {id} with read:reports.
func Example() {
	v, err := apiauth.NewValidator(apiauth.Config{
		Endpoint: "https://tenant.logto.app",
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	private := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s\n", c.Subject)
	})
	mux := http.NewServeMux()
	mux.Handle("GET /api/private", v.Middleware(private))
	mux.Handle("GET /api/private-scoped", v.Middleware(apiauth.RequireScopes("read:messages")(private)))
	orgID := func(r *http.Request) string { return r.PathValue("id") }
	mux.Handle("GET /api/organizations/{id}/members", v.OrganizationMiddleware(orgID)(apiauth.RequireScopes("read:members")(private)))
	mux.Handle("GET /api/organizations/{id}/reports", v.OrganizationResourceMiddleware(orgID)(apiauth.RequireScopes("read:reports")(private)))
	fmt.Println("ready")
	// Output: ready
}

// Protecting an MCP server's HTTP endpoint: the 401 a client gets without
// a token names the Protected Resource Metadata (RFC 9728), which names
// Logto as the authorization server; the client signs the user in there
// with the server's URL as the resource, and calls again with the token.
func Example_mcp() {
	const serverURL = "https://mcp.example.com" // an API resource in Logto
	v, err := apiauth.NewValidator(apiauth.Config{
		Endpoint: "https://tenant.logto.app",
		Audience: serverURL,
		Metadata: apiauth.ResourceMetadata{
			BaseURL: serverURL,
			Scopes:  []string{"mcp:tools"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mcpServer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The MCP server's Streamable HTTP transport goes here.
	})
	mux := http.NewServeMux()
	mux.Handle("GET "+apiauth.ResourceMetadataPath, v.ResourceMetadataHandler())
	mux.Handle("/mcp", v.Middleware(apiauth.RequireScopes("mcp:tools")(mcpServer)))

	r := httptest.NewRequest(http.MethodPost, serverURL+"/mcp", nil)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))

	r = httptest.NewRequest(http.MethodGet, v.ResourceMetadataURL(), nil)
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Print(w.Body)
	// Output:
	// 401 Bearer realm="api", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"
	// {"resource":"https://mcp.example.com","authorization_servers":["https://tenant.logto.app/oidc"],"scopes_supported":["mcp:tools"],"bearer_methods_supported":["header"]}
}

// An API serving the users of two Logto tenants, the second self-hosted
// beside the API and reached on the container network while its tokens
// name its public URL. A handler tells the tenants' users apart by
// Claims.Issuer; the metadata names both tenants.
func ExampleConfig_issuers() {
	v, err := apiauth.NewValidator(apiauth.Config{
		Endpoint: "https://tenant.logto.app",
		Issuers: []apiauth.IssuerConfig{{
			Endpoint:    "https://auth.example.com",
			ProviderURL: "http://logto:3001",
		}},
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+apiauth.ResourceMetadataPath, v.ResourceMetadataHandler())
	mux.Handle("GET /api/private", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := apiauth.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "hello %s of %s\n", c.Subject, c.Issuer())
	})))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, apiauth.ResourceMetadataPath, nil))
	fmt.Print(w.Body)
	// Output:
	// {"resource":"https://api.example.com","authorization_servers":["https://tenant.logto.app/oidc","https://auth.example.com/oidc"],"bearer_methods_supported":["header"]}
}
