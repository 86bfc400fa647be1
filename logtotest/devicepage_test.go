package logtotest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/seed098cf14d/logto/logtotest"
)

// devicePage GETs the verification page with a user code as a browser
// does and, when it is the confirm page, returns its interaction ID and
// the choices its buttons offer.
func devicePage(t *testing.T, p *logtotest.Provider, userCode string) (page, string, []string) {
	t.Helper()
	target := p.Issuer() + "/device"
	if userCode != "" {
		target += "?" + url.Values{"user_code": {userCode}}.Encode()
	}
	pg := browse(t, http.MethodGet, target, nil, nil)
	if !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") {
		t.Fatalf("not a page: %d %q", pg.status, pg.body)
	}
	m := interactionRE.FindStringSubmatch(pg.body)
	if m == nil {
		return pg, "", nil
	}
	if !strings.Contains(pg.body, `<form method="post" action="device/confirm">`) {
		t.Fatalf("no form posting to device/confirm: %s", pg.body)
	}
	var choices []string
	for _, c := range choiceRE.FindAllStringSubmatch(pg.body, -1) {
		choices = append(choices, c[1])
	}
	return pg, m[1], choices
}

// deviceConfirm posts the verification form as the provider's page does.
func deviceConfirm(t *testing.T, p *logtotest.Provider, form url.Values, header map[string]string) page {
	t.Helper()
	h := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": p.Endpoint()}
	for k, v := range header {
		h[k] = v
	}
	return browse(t, http.MethodPost, p.Issuer()+"/device/confirm", form, h)
}

func TestDeviceVerificationPage(t *testing.T) {
	for _, signInPage := range []bool{false, true} {
		p := logtotest.NewTestProvider(t, logtotest.Options{
			SignInPage: signInPage,
			ExtraUsers: []logtotest.User{logtotest.SecondUser()},
		})
		dc, uc := startDevice(t, p, url.Values{"scope": {"openid profile"}})

		// The bare page asks for the code.
		pg, id, _ := devicePage(t, p, "")
		if pg.status != 200 || id != "" || !strings.Contains(pg.body, `<form method="get" action="device">`) ||
			!strings.Contains(pg.body, `name="user_code"`) {
			t.Fatalf("entry page: %d %s", pg.status, pg.body)
		}
		// A wrong code gets the form again, saying so.
		pg, id, _ = devicePage(t, p, otherUserCode(uc))
		if pg.status != 400 || id != "" || !strings.Contains(pg.body, "no device asked for that code") {
			t.Errorf("unknown code: %d %s", pg.status, pg.body)
		}
		pg, _, _ = devicePage(t, p, "<script>")
		if pg.status != 400 || strings.Contains(pg.body, "<script>") || !strings.Contains(pg.body, "not a user code") {
			t.Errorf("malformed code: %d %s", pg.status, pg.body)
		}

		// The code as verification_uri_complete has it, or as typed.
		pg, id, choices := devicePage(t, p, " "+strings.ToLower(uc)+" ")
		if pg.status != 200 || id == "" || !slices.Equal(choices, []string{"0", "1", "deny"}) ||
			!strings.Contains(pg.body, uc) || !strings.Contains(pg.body, "Continue as Second User") ||
			!strings.Contains(pg.body, p.NativeClientID()) || !strings.Contains(pg.body, "openid profile") {
			t.Fatalf("confirm page: %d %v %s", pg.status, choices, pg.body)
		}
		if pg.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(pg.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("confirm page may be framed: %v", pg.header)
		}
		// Cross-site posts are refused, and do not spend the form.
		pg = deviceConfirm(t, p, url.Values{"interaction": {id}, "choice": {"1"}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
		if pg.status != 403 {
			t.Errorf("cross-site post: %d %s", pg.status, pg.body)
		}
		// The sign-in form does not take a device interaction.
		if signInPage {
			if pg := confirm(t, p, url.Values{"interaction": {id}, "choice": {"1"}}, nil); pg.status != 400 {
				t.Errorf("device interaction at the sign-in form: %d %s", pg.status, pg.body)
			}
		}
		pg = deviceConfirm(t, p, url.Values{"interaction": {id}, "choice": {"1"}}, nil)
		if pg.status != 200 || !strings.Contains(pg.body, "signed in as <strong>Second User</strong>") {
			t.Fatalf("confirm: %d %s", pg.status, pg.body)
		}
		if pg := deviceConfirm(t, p, url.Values{"interaction": {id}, "choice": {"0"}}, nil); pg.status != 400 || !strings.Contains(pg.body, "already used") {
			t.Errorf("replayed form: %d %s", pg.status, pg.body)
		}
		if pg, id, _ := devicePage(t, p, uc); pg.status != 400 || id != "" || !strings.Contains(pg.body, "already used") {
			t.Errorf("decided code: %d %s", pg.status, pg.body)
		}
		status, body := poll(t, p, dc)
		if status != 200 {
			t.Fatalf("poll: %d %v", status, body)
		}
		if _, claims := decodeJWT(t, body["id_token"].(string)); claims["sub"] != logtotest.SecondUser().Subject || claims["name"] != "Second User" {
			t.Errorf("id token claims %v", claims)
		}

		// Deny.
		dc, uc = startDevice(t, p, nil)
		_, id, _ = devicePage(t, p, uc)
		pg = deviceConfirm(t, p, url.Values{"interaction": {id}, "choice": {"deny"}}, nil)
		if pg.status != 200 || !strings.Contains(pg.body, "Denied") {
			t.Fatalf("deny: %d %s", pg.status, pg.body)
		}
		status, body = poll(t, p, dc)
		wantError(t, status, body, 400, "access_denied")

		// Malformed forms, and a sign-in interaction, are refused.
		_, uc = startDevice(t, p, nil)
		_, id, _ = devicePage(t, p, uc)
		for name, form := range map[string]url.Values{
			"no choice":     {"interaction": {id}},
			"cancel":        {"interaction": {id}, "choice": {"cancel"}},
			"no such user":  {"interaction": {id}, "choice": {"2"}},
			"unknown":       {"interaction": {"bm90LWlzc3VlZA"}, "choice": {"0"}},
			"two choices":   {"interaction": {id}, "choice": {"0", "1"}},
			"negative user": {"interaction": {id}, "choice": {"-1"}},
		} {
			if pg := deviceConfirm(t, p, form, nil); pg.status != 400 {
				t.Errorf("%s: %d %s", name, pg.status, pg.body)
			}
		}
		if signInPage {
			f := newFlow(t, p)
			signInID, _ := signInForm(t, f.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if pg := deviceConfirm(t, p, url.Values{"interaction": {signInID}, "choice": {"0"}}, nil); pg.status != 400 {
				t.Errorf("sign-in interaction at the device form: %d %s", pg.status, pg.body)
			}
		}
		// None of that spent the form.
		if pg := deviceConfirm(t, p, url.Values{"interaction": {id}, "choice": {"0"}}, nil); pg.status != 200 {
			t.Errorf("confirm after refusals: %d %s", pg.status, pg.body)
		}
		if pg := browse(t, http.MethodGet, p.Issuer()+"/device/confirm", nil, nil); pg.status != 405 {
			t.Errorf("GET confirm: %d", pg.status)
		}
	}
}
