package redisstore_test

import (
	"log"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/redisstore"
)

// Sessions in Redis for an app run as several replicas: every replica builds
// the same Store (same Redis, prefix and keys).
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
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL")) // redis://host:6379/0
	if err != nil {
		log.Fatal(err)
	}
	// The cookie keys: a 32-byte (or longer) authentication key, then
	// optionally a 32-byte encryption key. To rotate, put the new pair first
	// and keep the old one after it until its cookies have expired.
	store, err := redisstore.New(redis.NewClient(opts), "https://app.example.com/callback",
		[]byte(os.Getenv("SESSION_AUTH_KEY")), []byte(os.Getenv("SESSION_ENC_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	store.Prefix = "myapp:" // keys are myapp:session:<id>

	web := &logto.WebHandlers{App: app, Storage: logto.SessionStorageFunc(store, "")}
	http.Handle("/sign-in", web.SignIn())
	http.Handle("/callback", web.Callback())
	http.Handle("/sign-out", web.SignOut())
	log.Fatal(http.ListenAndServe(":3000", nil))
}

// Ending a session from the server, for example from an admin page: the next
// request that presents its cookie is not signed in.
func ExampleStore_DeleteSession() {
	var store *redisstore.Store // from redisstore.New
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := store.DeleteSession(r.Context(), r.FormValue("session")); err != nil {
			http.Error(w, "could not end the session", http.StatusServiceUnavailable)
		}
	})
	_ = handler
}
