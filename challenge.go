package logto

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StepUpChallenge is an API's demand for a stronger or more recent sign-in
// (RFC 9470): its 401 answer with error="insufficient_user_authentication"
// in a Bearer challenge, naming the authentication context classes it
// accepts (acr_values) and how long ago the user may have signed in
// (max_age).
type StepUpChallenge struct {
	// ACRValues are the classes the API accepts; empty when it asks only
	// for a recent sign-in.
	ACRValues []string
	// MaxAge is the most time since the sign-in the API accepts; nil when
	// it does not say.
	MaxAge *time.Duration
	// Description is the API's error_description, for logs.
	Description string
	// ResourceMetadata is the API's resource_metadata URL (RFC 9728), when
	// it names one.
	ResourceMetadata string
}

// maxChallengeBytes bounds the WWW-Authenticate headers read: a challenge
// is a few hundred bytes; an API that sends more is not asking for a
// sign-in.
const maxChallengeBytes = 8 << 10

// ParseStepUpChallenge reads resp's WWW-Authenticate headers and returns
// the step-up the API asks for, when resp is a 401 whose Bearer challenge
// says error="insufficient_user_authentication" (RFC 9470 section 3). It
// reports false for any other answer, and for a challenge it cannot read.
func ParseStepUpChallenge(resp *http.Response) (*StepUpChallenge, bool) {
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return nil, false
	}
	return parseStepUp(resp.Header.Values("WWW-Authenticate"))
}

func parseStepUp(headers []string) (*StepUpChallenge, bool) {
	size := 0
	for _, h := range headers {
		size += len(h)
	}
	if size > maxChallengeBytes {
		return nil, false
	}
	for _, h := range headers {
		for _, ch := range parseChallenges(h) {
			if !strings.EqualFold(ch.scheme, "Bearer") || ch.params["error"] != "insufficient_user_authentication" {
				continue
			}
			c := &StepUpChallenge{
				ACRValues:        strings.Fields(ch.params["acr_values"]),
				Description:      ch.params["error_description"],
				ResourceMetadata: ch.params["resource_metadata"],
			}
			if checkACRValues(c.ACRValues) != nil {
				return nil, false
			}
			if v, ok := ch.params["max_age"]; ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 || n > int64(maxMaxAge/time.Second) {
					return nil, false
				}
				d := time.Duration(n) * time.Second
				c.MaxAge = &d
			}
			return c, true
		}
	}
	return nil, false
}

// maxMaxAge bounds a challenge's max_age: a year.
const maxMaxAge = 365 * 24 * time.Hour

// SignInOptions returns the options of a sign-in that meets the challenge
// and comes back to returnTo (a same-origin path, as SignInOptions.ReturnTo):
// its acr values required, its max_age sent.
func (c *StepUpChallenge) SignInOptions(returnTo string) SignInOptions {
	o := SignInOptions{ReturnTo: returnTo, ACRValues: append([]string(nil), c.ACRValues...)}
	if c.MaxAge != nil {
		d := *c.MaxAge
		o.MaxAge = &d
	}
	return o
}

// StepUpRequiredError is the error of a request through Client.Transport
// that the API answered with a step-up challenge (RFC 9470): the user must
// sign in again, more strongly or more recently. errors.As finds it
// through the *url.Error http.Client wraps it in; its Challenge's
// SignInOptions start that sign-in.
type StepUpRequiredError struct {
	Challenge *StepUpChallenge
}

func (e *StepUpRequiredError) Error() string {
	msg := "logto: the API asks for a stronger or more recent sign-in"
	if len(e.Challenge.ACRValues) > 0 {
		msg += fmt.Sprintf(" (acr_values %q)", strings.Join(e.Challenge.ACRValues, " "))
	}
	if e.Challenge.MaxAge != nil {
		msg += fmt.Sprintf(" (max_age %d)", int64(*e.Challenge.MaxAge/time.Second))
	}
	return msg
}

// Is makes a StepUpRequiredError match ErrNotAuthenticated: the user is
// signed in, but not enough for this API.
func (e *StepUpRequiredError) Is(target error) bool { return target == ErrNotAuthenticated }

// AsStepUp returns the step-up challenge err carries, from
// Client.Transport: ok is false for any other error.
func AsStepUp(err error) (*StepUpChallenge, bool) {
	var e *StepUpRequiredError
	if errors.As(err, &e) && e.Challenge != nil {
		return e.Challenge, true
	}
	return nil, false
}

// challenge is one challenge of a WWW-Authenticate header (RFC 9110
// section 11.6.1): a scheme and its auth-params, names lower-cased.
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges reads a WWW-Authenticate value: a comma-separated list
// whose items either start a challenge ("Bearer", "Bearer realm=x",
// "Basic token68") or add an auth-param (name=token or name="quoted") to
// the current one. A challenge with a repeated parameter, or a malformed
// item, ends the reading: what was read before it is returned.
func parseChallenges(h string) []challenge {
	var out []challenge
	var cur *challenge
	for _, item := range splitItems(h) {
		if item == "" {
			continue
		}
		first, rest := cutToken(item)
		if first == "" {
			return out
		}
		if r := strings.TrimLeft(rest, " \t"); !strings.HasPrefix(r, "=") {
			// A new challenge: the scheme, then maybe a first parameter or
			// a token68.
			out = append(out, challenge{scheme: first, params: map[string]string{}})
			cur = &out[len(out)-1]
			if r == "" {
				continue
			}
			if rest == r {
				return out[:len(out)-1] // no space after the scheme
			}
			item = r
			if name, after := cutToken(item); name == "" || !strings.HasPrefix(strings.TrimLeft(after, " \t"), "=") || isToken68(item) {
				continue // a token68: no parameters to read
			}
		}
		if cur == nil {
			return out
		}
		name, value, ok := parseParam(item)
		if !ok {
			return out[:len(out)-1]
		}
		if _, dup := cur.params[name]; dup {
			return out[:len(out)-1]
		}
		cur.params[name] = value
	}
	return out
}

// splitItems splits h at the commas outside quoted strings, trimming each
// item; an unterminated quote ends the list there.
func splitItems(h string) []string {
	var items []string
	start, quoted := 0, false
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			items = append(items, strings.Trim(h[start:i], " \t"))
			start = i + 1
		}
	}
	if quoted {
		return items
	}
	return append(items, strings.Trim(h[start:], " \t"))
}

// parseParam reads name BWS "=" BWS (token / quoted-string), the whole of
// item; the name comes back lower-cased.
func parseParam(item string) (name, value string, ok bool) {
	name, rest := cutToken(item)
	rest = strings.TrimLeft(rest, " \t")
	if name == "" || !strings.HasPrefix(rest, "=") {
		return "", "", false
	}
	rest = strings.TrimLeft(rest[1:], " \t")
	if strings.HasPrefix(rest, `"`) {
		value, rest, ok = cutQuoted(rest)
	} else {
		value, rest = cutToken(rest)
		ok = value != ""
	}
	if !ok || strings.TrimRight(rest, " \t") != "" {
		return "", "", false
	}
	return strings.ToLower(name), value, true
}

// isToken68 reports whether s is a token68 (RFC 9110 section 11.2).
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// cutToken splits off a leading token (RFC 9110 section 5.6.2).
func cutToken(s string) (string, string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// cutQuoted splits off a leading quoted-string, unescaping it.
func cutQuoted(s string) (string, string, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			b.WriteByte(s[i])
		default:
			if c < ' ' && c != '\t' || c == 0x7f {
				return "", "", false
			}
			b.WriteByte(c)
		}
	}
	return "", "", false
}
