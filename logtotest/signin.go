package logtotest

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// signInConfirmPath is where the sign-in page's form posts. The page names
// it relative to /oidc/auth ("auth/confirm"), so the post stays on the
// origin the browser is on whatever the base URL says.
const signInConfirmPath = "/oidc/auth/confirm"

// interactionTTL is how long a sign-in page's form stays good.
const interactionTTL = 10 * time.Minute

// interaction is a sign-in page shown for a validated authorization
// request, waiting for the person's choice. Only its ID travels through the
// browser. Guarded by Provider.mu.
type interaction struct {
	req     *authRequest
	expires time.Time
	used    bool
}

// signInChoice is what the sign-in form asks for: cancel, or the user at
// index user of [Options.User, Options.ExtraUsers...].
type signInChoice struct {
	cancel bool
	user   int
}

// showSignInPage keeps req under a fresh interaction ID and answers the
// page that lets a person pick a user for it.
func (p *Provider) showSignInPage(w http.ResponseWriter, req *authRequest) {
	id := randomToken(16) // 128 bits: the form's only credential
	now := p.now()
	p.mu.Lock()
	p.interactions[id] = &interaction{req: req, expires: now.Add(interactionTTL)}
	users := append([]User{p.user}, p.opts.ExtraUsers...)
	p.pruneLocked(now)
	p.mu.Unlock()

	data := signInData{
		ClientID:    req.clientID,
		RedirectURI: req.redirectURI,
		Interaction: id,
		Minutes:     int(interactionTTL / time.Minute),
	}
	for i, u := range users {
		detail := []string{"subject " + u.Subject}
		if u.Email != "" {
			detail = append([]string{u.Email}, detail...)
		}
		data.Users = append(data.Users, userButton{
			Choice: strconv.Itoa(i),
			Label:  displayName(u),
			Detail: strings.Join(detail, " · "),
		})
	}
	writeHTML(w, http.StatusOK, signInPage, data)
}

// displayName names a user on the sign-in page: Name, else Username, else
// Subject.
func displayName(u User) string {
	for _, s := range []string{u.Name, u.Username} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return u.Subject
}

// serveSignInConfirm handles the sign-in page's form: it approves the
// interaction's authorization request for the chosen user, or returns
// access_denied to the client on cancel. Nothing but the interaction ID and
// the choice is read from the browser; the request itself was validated
// and kept when the page was shown.
func (p *Provider) serveSignInConfirm(w http.ResponseWriter, r *http.Request) {
	// Before anything else, so that a cross-site post cannot burn a
	// person's interaction.
	if err := p.csrf.Check(r); err != nil {
		writeErrorPage(w, r, &oauthError{http.StatusForbidden, "invalid_request",
			"cross-origin sign-in form refused: " + err.Error()})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, r, errInvalidRequest("malformed sign-in form"))
		return
	}
	id, choice, e := parseSignInForm(r.PostForm)
	if e != nil {
		writeErrorPage(w, r, e)
		return
	}

	now := p.now()
	var extra *User
	p.mu.Lock()
	in := p.interactions[id]
	switch {
	case in == nil:
		e = errInvalidRequest("unknown sign-in interaction; start again from the app")
	case in.used:
		e = errInvalidRequest("this sign-in form was already used; start again from the app")
	case now.After(in.expires):
		e = errInvalidRequest("this sign-in form expired; start again from the app")
	case choice.cancel:
	case choice.user > len(p.opts.ExtraUsers):
		e = errInvalidRequest("the chosen user does not exist")
	case choice.user > 0:
		extra = &p.opts.ExtraUsers[choice.user-1]
	}
	if e == nil {
		in.used = true
	}
	p.mu.Unlock()
	if e != nil {
		writeErrorPage(w, r, e)
		return
	}

	if choice.cancel {
		in.req.fail(w, "access_denied", "the end-user canceled the sign-in", "")
		return
	}
	p.issueCode(w, in.req, extra)
}

// parseSignInForm reads the sign-in form's body: one "interaction" ID and
// one "choice", "cancel" or the decimal index of a user.
func parseSignInForm(form url.Values) (string, signInChoice, *oauthError) {
	for _, k := range []string{"interaction", "choice"} {
		switch vs := form[k]; {
		case len(vs) == 0 || vs[0] == "":
			return "", signInChoice{}, errInvalidRequest("missing required parameter '" + k + "'")
		case len(vs) > 1:
			return "", signInChoice{}, errInvalidRequest("'" + k + "' parameter must not be provided more than once")
		}
	}
	c := form.Get("choice")
	if c == "cancel" {
		return form.Get("interaction"), signInChoice{cancel: true}, nil
	}
	// Digits only: strconv.Atoi would also take a sign.
	bad := len(c) > 6 || strings.ContainsFunc(c, func(r rune) bool { return r < '0' || r > '9' })
	n, err := strconv.Atoi(c)
	if bad || err != nil {
		return "", signInChoice{}, errInvalidRequest("'choice' must be 'cancel' or a user's number")
	}
	return form.Get("interaction"), signInChoice{user: n}, nil
}

// signedOutData fills [signedOutPage].
type signedOutData struct {
	ReturnTo string // "" when there is nowhere to go back to
}

// writeSignedOutPage answers the end-session page shown with
// Options.SignInPage, linking back to returnTo when it is not "".
func writeSignedOutPage(w http.ResponseWriter, returnTo string) {
	writeHTML(w, http.StatusOK, signedOutPage, signedOutData{ReturnTo: returnTo})
}

// returnLink returns the post-logout redirect URI with params, for a link,
// and false when it is no http(s) URL (html/template would defuse any
// other scheme, so such a target keeps the plain redirect).
func returnLink(target string, params url.Values) (string, bool) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	link, err := withParams(target, params)
	return link, err == nil
}

// writeHTML renders a page whole before answering, so a template error is
// a clean 500 rather than half a page.
func writeHTML(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "cannot render the page")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Self-contained pages: nothing to load, no script, never framed (a
	// framed sign-in button invites clickjacking).
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	// same-origin rather than no-referrer: the form's post keeps a real
	// Origin header for browsers without Sec-Fetch-Site.
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// signInData fills [signInPage].
type signInData struct {
	ClientID    string
	RedirectURI string
	Interaction string
	Minutes     int
	Users       []userButton
}

// userButton is one "Continue as" button of the sign-in page.
type userButton struct {
	Choice string // the form's choice value
	Label  string
	Detail string
}

// pageStyle is the pages' inline style sheet.
const pageStyle = `
body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d1d1f;margin:0}
main{max-width:28rem;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin:0 0 1rem}
.note{background:#fff8e1;border-left:4px solid #f5b400;padding:.6rem .8rem;margin:0 0 1rem}
code{font-size:.9em;word-break:break-all}
button,a.button{display:block;box-sizing:border-box;width:100%;font:inherit;text-align:center;text-decoration:none;padding:.7rem;margin:.6rem 0 0;border-radius:8px;border:1px solid #5d34f2;background:#5d34f2;color:#fff;cursor:pointer}
button.cancel{background:#fff;color:#5d34f2}
small{display:block;color:#6b6b70;text-align:center}
.fine{color:#6b6b70;font-size:.85rem;margin-top:1.2rem}
`

// signInPage is the sign-in page; one form, its buttons telling the choice.
var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in to the dev provider</title>
<style>` + pageStyle + `</style></head>
<body><main>
<h1>Sign in to the dev provider</h1>
<p class="note">This is the embedded development provider, not a real Logto tenant. No password is needed: choose who to sign in as.</p>
<p>The app <code>{{.ClientID}}</code> asks you to sign in. You will go back to <code>{{.RedirectURI}}</code>.</p>
<form method="post" action="auth/confirm">
<input type="hidden" name="interaction" value="{{.Interaction}}">
{{range .Users}}<button type="submit" name="choice" value="{{.Choice}}">Continue as {{.Label}}</button>
<small>{{.Detail}}</small>
{{end}}<button type="submit" name="choice" value="cancel" class="cancel">Cancel</button>
</form>
<p class="fine">This form works once, for {{.Minutes}} minutes. Cancel tells the app you declined (access_denied).</p>
</main></body></html>
`))

// signedOutPage is the end-session page.
var signedOutPage = template.Must(template.New("signedout").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed out of the dev provider</title>
<style>` + pageStyle + `</style></head>
<body><main>
<h1>You are signed out of the dev provider</h1>
<p>The app ended your session. The embedded development provider keeps no sign-in of its own, so signing in again shows its sign-in page.</p>
{{if .ReturnTo}}<a class="button" href="{{.ReturnTo}}">Return to the app</a>
{{end}}</main></body></html>
`))
