module github.com/seed098cf14d/logto

go 1.26.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	golang.org/x/oauth2 v0.37.0
)

require github.com/go-jose/go-jose/v4 v4.1.9
