package logtotest

import (
	"html/template"
	"net/http"
	"strings"
	"time"
)

// serveDevicePage is the device grant's verification page (RFC 8628
// section 3.3): without a user_code, a form to enter one; with a code of
// a pending request, a page offering each user and Deny, as the sign-in
// page does; with any other code, the form again saying what is wrong.
// It is there whether or not Options.SignInPage is set: a device flow
// always needs a person.
func (p *Provider) serveDevicePage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeHTML(w, http.StatusBadRequest, deviceEntryPage, deviceEntryData{Problem: "the address is malformed"})
		return
	}
	typed := r.Form.Get("user_code")
	if strings.TrimSpace(typed) == "" {
		writeHTML(w, http.StatusOK, deviceEntryPage, deviceEntryData{})
		return
	}
	if len(r.Form["user_code"]) > 1 {
		writeHTML(w, http.StatusBadRequest, deviceEntryPage, deviceEntryData{Problem: "enter one code"})
		return
	}

	id := randomToken(16) // 128 bits: the form's only credential
	now := p.now()
	p.mu.Lock()
	d, err := p.pendingDeviceLocked(typed)
	if err != nil {
		p.mu.Unlock()
		if len(typed) > 64 {
			typed = ""
		}
		writeHTML(w, http.StatusBadRequest, deviceEntryPage, deviceEntryData{UserCode: typed, Problem: err.Error()})
		return
	}
	p.interactions[id] = &interaction{device: p.userCodes[d.userCode], expires: now.Add(interactionTTL)}
	users := append([]User{p.user}, p.opts.ExtraUsers...)
	data := deviceConfirmData{
		ClientID:    d.clientID,
		UserCode:    formatUserCode(d.userCode),
		Scopes:      strings.Join(d.scopes, " "),
		Interaction: id,
		Minutes:     int(interactionTTL / time.Minute),
		Users:       userButtons(users),
	}
	p.pruneLocked(now)
	p.mu.Unlock()
	writeHTML(w, http.StatusOK, deviceConfirmPage, data)
}

// serveDeviceConfirm handles the verification page's form: it approves
// the interaction's device request for the chosen user, or denies it.
// Like the sign-in form, it reads only the single-use interaction ID and
// the choice from the browser, and refuses cross-origin posts.
func (p *Provider) serveDeviceConfirm(w http.ResponseWriter, r *http.Request) {
	// Before anything else, so that a cross-site post cannot burn a
	// person's interaction.
	if err := p.csrf.Check(r); err != nil {
		writeErrorPage(w, r, &oauthError{http.StatusForbidden, "invalid_request",
			"cross-origin device form refused: " + err.Error()})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, r, errInvalidRequest("malformed device form"))
		return
	}
	id, choice, e := parseChoiceForm(r.PostForm, "deny")
	if e != nil {
		writeErrorPage(w, r, e)
		return
	}

	now := p.now()
	var label string
	p.mu.Lock()
	in := p.interactions[id]
	var d *deviceAuth
	if in != nil {
		d = p.devices[in.device]
	}
	switch {
	case in == nil || in.device == "":
		e = errInvalidRequest("unknown device interaction; enter the code again")
	case in.used:
		e = errInvalidRequest("this form was already used; enter the code again")
	case now.After(in.expires):
		e = errInvalidRequest("this form expired; enter the code again")
	case d == nil || now.After(d.expires):
		e = errInvalidRequest("the device's code expired; start again on the device")
	case d.state != devicePending:
		e = errInvalidRequest("the device's request was already decided")
	case choice.cancel:
		in.used = true
		d.state = deviceDenied
	case choice.user > len(p.opts.ExtraUsers):
		e = errInvalidRequest("the chosen user does not exist")
	default:
		in.used = true
		u, extra := p.user, (*User)(nil)
		if choice.user > 0 {
			extra = &p.opts.ExtraUsers[choice.user-1]
			u = *extra
		}
		d.state, d.subject, d.extra, d.decided = deviceApproved, u.Subject, extra, now
		label = displayName(u)
	}
	p.mu.Unlock()
	if e != nil {
		writeErrorPage(w, r, e)
		return
	}
	writeHTML(w, http.StatusOK, deviceDonePage, deviceDoneData{Approved: !choice.cancel, Label: label})
}

// deviceEntryData fills [deviceEntryPage].
type deviceEntryData struct {
	UserCode string // what was typed, to show again
	Problem  string // why it was refused, or ""
}

// deviceConfirmData fills [deviceConfirmPage].
type deviceConfirmData struct {
	ClientID    string
	UserCode    string // XXXX-XXXX
	Scopes      string
	Interaction string
	Minutes     int
	Users       []userButton
}

// deviceDoneData fills [deviceDonePage].
type deviceDoneData struct {
	Approved bool
	Label    string // who the device is signed in as
}

// deviceStyle adds the code field and the code display to [pageStyle].
const deviceStyle = `
input[name=user_code]{display:block;box-sizing:border-box;width:100%;font:1.4rem ui-monospace,monospace;letter-spacing:.15em;text-align:center;text-transform:uppercase;padding:.6rem;border:1px solid #b8b8c0;border-radius:8px}
.code{font:1.6rem ui-monospace,monospace;letter-spacing:.2em;text-align:center;margin:.4rem 0 1rem}
.problem{background:#fdecea;border-left:4px solid #d93025;padding:.6rem .8rem;margin:0 0 1rem}
`

// deviceHead is the pages' common head and notice.
const deviceHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in on a device with the dev provider</title>
<style>` + pageStyle + deviceStyle + `</style></head>
<body><main>
<h1>Sign in on a device</h1>
<p class="note">This is the embedded development provider, not a real Logto tenant: no password is needed.</p>
`

// deviceEntryPage asks for the user code; it submits to itself with GET,
// like verification_uri_complete.
var deviceEntryPage = template.Must(template.New("device").Parse(deviceHead + `{{if .Problem}}<p class="problem">The code was not accepted: {{.Problem}}.</p>
{{end}}<p>Enter the code your device shows.</p>
<form method="get" action="device">
<input name="user_code" value="{{.UserCode}}" placeholder="BCDF-GHJK" maxlength="64" autocomplete="off" autocapitalize="characters" spellcheck="false" autofocus>
<button type="submit">Continue</button>
</form>
</main></body></html>
`))

// deviceConfirmPage offers each user and Deny for one device request.
var deviceConfirmPage = template.Must(template.New("deviceconfirm").Parse(deviceHead + `<p>The app <code>{{.ClientID}}</code> on a device asks to sign in{{if .Scopes}} with the scopes <code>{{.Scopes}}</code>{{end}}. Go on only if the device shows this code:</p>
<p class="code">{{.UserCode}}</p>
<form method="post" action="device/confirm">
<input type="hidden" name="interaction" value="{{.Interaction}}">
{{range .Users}}<button type="submit" name="choice" value="{{.Choice}}">Continue as {{.Label}}</button>
<small>{{.Detail}}</small>
{{end}}<button type="submit" name="choice" value="deny" class="cancel">Deny</button>
</form>
<p class="fine">This form works once, for {{.Minutes}} minutes. Deny tells the device you declined (access_denied).</p>
</main></body></html>
`))

// deviceDonePage tells the person they may go back to the device.
var deviceDonePage = template.Must(template.New("devicedone").Parse(deviceHead + `{{if .Approved}}<p>Done: the device is signed in as <strong>{{.Label}}</strong>. It gets its tokens when it next asks; you can close this window.</p>
{{else}}<p>Denied: the device will be told you declined.</p>
{{end}}</main></body></html>
`))
