package logtotest

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"
)

// oauthError is an OAuth 2.0 error answer: its HTTP status, error code and
// description.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func errInvalidRequest(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_request", desc}
}

func errInvalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

func errInvalidTarget(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_target", desc}
}

func errInvalidScope(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_scope", desc}
}

func errUnauthorizedClient(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "unauthorized_client", desc}
}

func errInvalidClient(desc string) *oauthError {
	return &oauthError{http.StatusUnauthorized, "invalid_client", desc}
}

// writeError answers with an OAuth JSON error body.
func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	writeError(w, e.status, e.code, e.desc)
}

// writeJSON answers with v as JSON, never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"server_error","error_description":"cannot encode the answer"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeErrorPage answers an error that must not be redirected (unknown
// client, bad redirect URI): HTML for browsers, OAuth JSON otherwise.
func writeErrorPage(w http.ResponseWriter, r *http.Request, e *oauthError) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeOAuthError(w, e)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>oops! something went wrong</title></head>"+
		"<body><h1>oops! something went wrong</h1><pre>error: %s\nerror_description: %s</pre></body></html>\n",
		html.EscapeString(e.code), html.EscapeString(e.desc))
}
