package apiauth_test

import (
	"fmt"
	"log"
	"net/http"

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
