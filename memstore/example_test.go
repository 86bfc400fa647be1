package memstore_test

import (
	"log"
	"net/http"
	"os"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/memstore"
)

// Sessions in this process's memory: the cookie holds only a session ID, and
// the provider can end sessions through back-channel logout.
func ExampleNew() {
	app, err := logto.NewApp(logto.Config{
		Endpoint:    "https://your-tenant.logto.app",
		AppID:       os.Getenv("LOGTO_APP_ID"),
		AppSecret:   os.Getenv("LOGTO_APP_SECRET"),
		RedirectURI: "https://app.example.com/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	// No secret: the cookie's keys are random, as the sessions die with the
	// process anyway.
	store, err := memstore.New("https://app.example.com/callback")
	if err != nil {
		log.Fatal(err)
	}
	store.MaxSessions = 20_000 // 18 000 signed in, 2 000 sign-ins under way

	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
	mux := http.NewServeMux()
	mux.Handle("GET /sign-in", web.SignIn())
	mux.Handle("GET /callback", web.Callback())
	mux.Handle("POST /sign-out", web.SignOut())
	mux.Handle("POST /backchannel-logout", app.BackchannelLogoutHandler(store))
	log.Fatal(http.ListenAndServe(":3000", mux))
}

// Ending a session from the server, for example from an admin page: the next
// request that presents its cookie is not signed in.
func ExampleStore_DeleteSession() {
	var store *memstore.Store // from memstore.New
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = store.DeleteSession(r.Context(), r.FormValue("session"))
	})
	_ = handler
}
