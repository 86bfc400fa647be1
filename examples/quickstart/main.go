// Command quickstart is a complete web app with Logto sign-in. It signs in
// with the embedded dev provider, so it runs with no account anywhere.
package main

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
)

func main() {
	addr := cmp.Or(os.Getenv("ADDR"), "localhost:3000")
	baseURL := "http://" + addr
	// The dev provider listens on 127.0.0.1 only: it signs in anyone.
	dev, err := logtotest.Start(logtotest.Options{SignInPage: true})
	if err != nil {
		log.Fatal(err)
	}
	app, err := logto.NewApp(logto.Config{
		Endpoint:              dev.Endpoint(), // your tenant: "https://<tenant>.logto.app"
		AppID:                 dev.ClientID(),
		AppSecret:             dev.ClientSecret(),
		RedirectURI:           baseURL + "/callback",
		PostLogoutRedirectURI: baseURL + "/",
	})
	if err != nil {
		log.Fatal(err)
	}
	secret := []byte(os.Getenv("SESSION_SECRET")) // 32 random bytes or more
	if len(secret) == 0 {
		secret = []byte(rand.Text() + rand.Text()) // sessions end with the app
	}
	store, err := logto.NewCookieStore(baseURL+"/callback", secret)
	if err != nil {
		log.Fatal(err)
	}
	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}

	mux := http.NewServeMux()
	mux.Handle("GET /sign-in", web.SignIn())
	mux.Handle("GET /callback", web.Callback())
	mux.Handle("POST /sign-out", web.SignOut())
	mux.Handle("GET /{$}", web.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, err := web.Client(w, r).IDTokenClaims(r.Context())
		if err != nil {
			web.WriteError(w, r, err)
			return
		}
		fmt.Fprintf(w, `<p>Hello, %s! <form method="post" action="/sign-out"><button>Sign out</button></form>`, html.EscapeString(claims.Name))
	})))
	fmt.Printf("open %s/\n", baseURL)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
