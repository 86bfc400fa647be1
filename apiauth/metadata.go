package apiauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/seed098cf14d/logto/internal/httpx"
)

// ResourceMetadataPath is the well-known path of OAuth 2.0 Protected
// Resource Metadata (RFC 9728 section 3). For an API whose base URL has no
// path, ResourceMetadataHandler is served there.
const ResourceMetadataPath = "/.well-known/oauth-protected-resource"

// metadataMaxAge is how long clients and caches may keep the metadata
// document: it changes when the API is redeployed, not per request.
const metadataMaxAge = "3600"

// ResourceMetadata describes the API in its OAuth 2.0 Protected Resource
// Metadata (RFC 9728), from which a client that knows only the API's URL
// (an AI agent reaching an MCP server, say) learns which authorization
// server issues its tokens. The zero value serves a document without the
// optional members and leaves challenges as they are.
type ResourceMetadata struct {
	// BaseURL is the API's public URL, as clients call it, such as
	// "https://api.example.com". When set, every Bearer challenge the
	// Validator sends carries resource_metadata with the metadata's URL
	// (RFC 9728 section 5.1; ResourceMetadataURL). It must be https unless
	// its host is a loopback one or Config.InsecureAllowHTTP is set.
	//
	// A client that found the metadata through a challenge checks that its
	// resource (Config.Audience) is the URL it called (RFC 9728 section
	// 3.3), as MCP clients do: for them, make Audience the API's URL, and
	// register that as the API resource's indicator in Logto.
	BaseURL string
	// Scopes are the scopes the API understands, scopes_supported; nil
	// leaves the member out.
	Scopes []string
	// Documentation is the URL of the API's documentation for developers,
	// resource_documentation; "" leaves it out.
	Documentation string
}

// resourceMetadataDoc is the RFC 9728 section 2 document.
type resourceMetadataDoc struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
}

// checkMetadata reports what is wrong with md, for NewValidator, and
// returns the metadata's URL ("" without BaseURL).
func checkMetadata(md ResourceMetadata, allowHTTP bool) (string, []error) {
	var problems []error
	var metadataURL string
	if md.BaseURL != "" {
		u, err := checkPublicURL("Metadata.BaseURL", md.BaseURL, allowHTTP)
		if err != nil {
			problems = append(problems, err)
		} else {
			// RFC 9728 section 3.1: the well-known path goes between the
			// host and the path.
			metadataURL = u.Scheme + "://" + u.Host + ResourceMetadataPath + strings.TrimRight(u.EscapedPath(), "/")
		}
	}
	if md.Documentation != "" {
		if _, err := checkPublicURL("Metadata.Documentation", md.Documentation, allowHTTP); err != nil {
			problems = append(problems, err)
		}
	}
	for _, s := range md.Scopes {
		// RFC 6749 section 3.3's scope-token, which a challenge's scope
		// parameter can carry as is.
		if s == "" || strings.ContainsAny(s, " \"\\") || quote(s) != s {
			problems = append(problems, fmt.Errorf("Metadata.Scopes: %q is not a scope", s))
		}
	}
	return metadataURL, problems
}

// checkPublicURL checks a URL the API publishes: absolute http(s), no query,
// fragment or user info, nothing a quoted-string cannot carry as is, and
// https unless its host is a loopback one or allowHTTP is set.
func checkPublicURL(what, raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("%s %q must be an absolute http(s) URL", what, raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ContainsAny(raw, "?#\"\\") || quote(raw) != raw:
		return nil, fmt.Errorf("%s %q must not carry a query, fragment, user info, quotes or backslashes", what, raw)
	case u.Scheme == "http" && !allowHTTP && !httpx.IsLoopbackHost(u.Hostname()):
		return nil, fmt.Errorf("%s %q must be https (http is accepted for loopback hosts, or with InsecureAllowHTTP)", what, raw)
	}
	return u, nil
}

// ResourceMetadataURL returns the URL of the API's Protected Resource
// Metadata, which challenges carry as resource_metadata: for
// Config.Metadata.BaseURL "https://api.example.com/v1",
// "https://api.example.com/.well-known/oauth-protected-resource/v1" (RFC
// 9728 section 3.1). It is "" when BaseURL is unset. Serve
// ResourceMetadataHandler at its path.
func (v *Validator) ResourceMetadataURL() string { return v.metadataURL }

// ResourceMetadataHandler serves the API's OAuth 2.0 Protected Resource
// Metadata (RFC 9728 section 3.2) to GET and HEAD, at the path of
// ResourceMetadataURL (ResourceMetadataPath when the base URL has no
// path): resource (Config.Audience), authorization_servers (every issuer
// whose tokens the Validator takes: Endpoint + "/oidc", then those of
// Config.Issuers, public ones even with ProviderURL),
// bearer_methods_supported ["header"], and
// scopes_supported and resource_documentation from Config.Metadata. The
// document is public: it may be cached for an hour and read from any
// origin. Other methods get 405. It needs no request to the provider.
func (v *Validator) ResourceMetadataHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, "invalid_request", "only GET and HEAD are allowed")
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age="+metadataMaxAge)
		// Nothing in it is secret, and browser-based clients (an MCP
		// inspector, say) read it from another origin.
		h.Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(v.metadataDoc)
		}
	})
}

// encodeMetadata makes the document ResourceMetadataHandler serves.
func encodeMetadata(md ResourceMetadata, resource string, issuers []*issuer) []byte {
	servers := make([]string, len(issuers))
	for i, iss := range issuers {
		servers[i] = iss.name
	}
	doc, err := json.Marshal(resourceMetadataDoc{
		Resource:               resource,
		AuthorizationServers:   servers,
		ScopesSupported:        md.Scopes,
		BearerMethodsSupported: []string{"header"},
		ResourceDocumentation:  md.Documentation,
	})
	if err != nil {
		panic("apiauth: encoding the resource metadata: " + err.Error()) // strings only: cannot happen
	}
	return append(doc, '\n')
}
