package exampleapp

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seed098cf14d/logto"
)

//go:embed pages/*.html pages/style.css
var files embed.FS

// stylesheet is inlined in every page: one file, no request for it, and no
// route every example would have to mount.
var stylesheet = func() template.CSS {
	b, err := files.ReadFile("pages/style.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(b)
}()

// The pages: the layout with one page's "title" and "content".
var (
	homePage      = parsePage("home")
	protectedPage = parsePage("protected")
	errorPage     = parsePage("error")
)

func parsePage(name string) *template.Template {
	return template.Must(template.ParseFS(files, "pages/layout.html", "pages/"+name+".html"))
}

// view is what the pages show.
type view struct {
	Title string
	CSS   template.CSS
	// Dev is set when the app signs in with the embedded dev provider,
	// DevPage when that shows its sign-in page.
	Dev, DevPage bool
	// User is the signed-in user on the home page; nil when signed out.
	User *userView
	// Error is the failure on the error page.
	Error *errorView
}

type userView struct {
	Name, Email, Picture, Initial, Subject string
	// Links are the routes that work for this user with this
	// configuration, with working values.
	Links []link
	// Missing says why a route has no link.
	Missing []string
}

type link struct{ Label, Href, About string }

// Route is the link's path, shown beside it.
func (l link) Route() string {
	path, _, _ := strings.Cut(l.Href, "?")
	return path
}

type errorView struct {
	Status        int
	Code, Message string
}

func (a *App) view() view {
	dev := a.Dev != nil
	return view{Title: a.Title, CSS: stylesheet, Dev: dev, DevPage: dev && !a.Settings.DevAutoApprove}
}

// render answers page with data, or nothing but a 500 when it fails.
func render(w http.ResponseWriter, status int, page *template.Template, data view) {
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, "layout", data); err != nil {
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// Home is GET /: "Not authenticated" with sign-in and sign-up buttons, or
// "Authenticated" with the user's name, email and picture, a sign-out
// button and a link to every route that can work with this configuration.
func (a *App) Home(w http.ResponseWriter, r *http.Request) {
	c := a.Web.Client(w, r)
	ok, err := c.IsAuthenticated(r.Context())
	if err != nil {
		a.Web.WriteError(w, r, err)
		return
	}
	v := a.view()
	if ok {
		claims, err := c.IDTokenClaims(r.Context())
		if err != nil {
			a.Web.WriteError(w, r, err)
			return
		}
		v.User = a.userView(claims)
	}
	render(w, http.StatusOK, homePage, v)
}

func (a *App) userView(claims *logto.IDTokenClaims) *userView {
	u := &userView{
		Name:    claims.Name,
		Email:   claims.Email,
		Picture: claims.Picture,
		Subject: claims.Subject,
	}
	if u.Name == "" {
		u.Name = claims.Username
	}
	if u.Name == "" {
		u.Name = claims.Subject
	}
	first, _ := utf8.DecodeRuneInString(u.Name)
	u.Initial = string(unicode.ToUpper(first))
	u.Links = []link{
		{"Protected page", "/protected", "a page behind RequireAuth"},
		{"ID token claims", "/api/id-token-claims", "the verified claims"},
		{"User info", "/api/userinfo", "the provider's userinfo answer"},
	}
	var resource, org string
	if rs := a.Settings.Resources; len(rs) > 0 {
		resource = rs[0]
		u.Links = append(u.Links, link{"Access token", "/api/access-token?" + url.Values{"resource": {resource}}.Encode(), "for the API " + resource})
	} else {
		u.Missing = append(u.Missing, "No API resource is configured: set LOGTO_RESOURCES to get access tokens for your API (/api/access-token).")
	}
	switch {
	case !slices.Contains(a.Settings.Scopes, logto.ScopeOrganizations):
		u.Missing = append(u.Missing, "The app does not ask for the "+logto.ScopeOrganizations+" scope: add it to LOGTO_SCOPES for organization tokens.")
	case len(claims.Organizations) == 0:
		u.Missing = append(u.Missing, "You are a member of no organization, so there is no organization token to get.")
	default:
		org = claims.Organizations[0]
		u.Links = append(u.Links, link{"Organization token", "/api/organization-token?" + url.Values{"organization_id": {org}}.Encode(), "for the organization " + org})
	}
	if resource != "" && org != "" {
		u.Links = append(u.Links, link{"Organization-scoped access token",
			"/api/organization-resource-token?" + url.Values{"resource": {resource}, "organization_id": {org}}.Encode(),
			"for the API " + resource + " in the organization " + org})
	}
	return u
}

// Protected is the page behind RequireAuth (GET /protected); mount it
// behind a.Web.RequireAuth.
func (a *App) Protected(w http.ResponseWriter, _ *http.Request) {
	render(w, http.StatusOK, protectedPage, a.view())
}

// writeError is the WebHandlers' ErrorHandler, called after the failure is
// logged: {"error": code, "error_description": sentence} on /api/ paths,
// the error page elsewhere. Neither shows the error's text, which may name
// internal hosts and addresses; the log has it.
func (a *App) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := logto.ErrorStatus(err)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, r, status, map[string]string{"error": logto.ErrorCode(err), "error_description": logto.ErrorMessage(err)})
		return
	}
	v := a.view()
	v.Error = &errorView{Status: status, Code: logto.ErrorCode(err), Message: logto.ErrorMessage(err)}
	render(w, status, errorPage, v)
}

// writeJSON answers v as JSON: indented for a browser (an Accept header
// naming text/html), compact for programs.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b []byte
	var err error
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// signedIn serves a JSON route for a signed-in user; anyone else gets 401
// {"error": "not_authenticated"} before anything else: the SDK checks its
// configuration first (a resource not in Config.Resources, a missing
// organizations scope), and a signed-out caller must still learn that it
// is signed out.
func (a *App) signedIn(w http.ResponseWriter, r *http.Request, serve func(*logto.Client)) {
	c := a.Web.Client(w, r)
	ok, err := c.IsAuthenticated(r.Context())
	if err == nil && !ok {
		err = logto.ErrNotAuthenticated
	}
	if err != nil {
		a.Web.WriteError(w, r, err)
		return
	}
	serve(c)
}

// IDTokenClaims is GET /api/id-token-claims: the verified ID token's claims.
func (a *App) IDTokenClaims(w http.ResponseWriter, r *http.Request) {
	a.signedIn(w, r, func(c *logto.Client) {
		claims, err := c.IDTokenClaims(r.Context())
		if err != nil {
			a.Web.WriteError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, claims.Raw)
	})
}

// UserInfo is GET /api/userinfo: the provider's userinfo answer.
func (a *App) UserInfo(w http.ResponseWriter, r *http.Request) {
	a.signedIn(w, r, func(c *logto.Client) {
		info, err := c.FetchUserInfo(r.Context())
		if err != nil {
			a.Web.WriteError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, info.Raw)
	})
}

// AccessToken is GET /api/access-token?resource=R: an access token for the
// API resource R.
func (a *App) AccessToken(w http.ResponseWriter, r *http.Request) {
	a.token(w, r, func(ctx context.Context, c *logto.Client, q url.Values) (*logto.AccessToken, error) {
		return c.GetAccessToken(ctx, q.Get("resource"))
	})
}

// OrganizationToken is GET /api/organization-token?organization_id=O: an
// organization token for O.
func (a *App) OrganizationToken(w http.ResponseWriter, r *http.Request) {
	a.token(w, r, func(ctx context.Context, c *logto.Client, q url.Values) (*logto.AccessToken, error) {
		return c.GetOrganizationToken(ctx, q.Get("organization_id"))
	})
}

// OrganizationResourceToken is GET
// /api/organization-resource-token?resource=R&organization_id=O: an access
// token for the API resource R scoped to the organization O.
func (a *App) OrganizationResourceToken(w http.ResponseWriter, r *http.Request) {
	a.token(w, r, func(ctx context.Context, c *logto.Client, q url.Values) (*logto.AccessToken, error) {
		return c.GetOrganizationResourceToken(ctx, q.Get("resource"), q.Get("organization_id"))
	})
}

// token answers {"access_token": ..., "claims": ..., "expires_at": ...};
// claims are null for an opaque token.
func (a *App) token(w http.ResponseWriter, r *http.Request, get func(context.Context, *logto.Client, url.Values) (*logto.AccessToken, error)) {
	a.signedIn(w, r, func(c *logto.Client) {
		at, err := get(r.Context(), c, r.URL.Query())
		if err != nil {
			a.Web.WriteError(w, r, err)
			return
		}
		claims, _ := at.Claims()
		writeJSON(w, r, http.StatusOK, map[string]any{"access_token": at.Token, "claims": claims, "expires_at": at.ExpiresAt.Unix()})
	})
}
