package logto

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/sessions"

	"github.com/seed098cf14d/logto/internal/sessioncodec"
)

// How CookieStore splits a session across cookies: the cookie called by the
// session's name holds the whole sealed value when it fits, or "<n>." and
// the first part; name.1 ... name.<n-1> hold the rest. The count in the
// first cookie, which every save writes, says which chunks belong to the
// value: a chunk left over from an earlier, longer value (or a response
// that never arrived) is ignored, and deleted by the next save.

// chunk splits value into the session's cookies, each line at most
// MaxCookieBytes: the one cookie name when it fits, otherwise name holding
// "<n>." and the first part, then name.1 ... name.<n-1>.
func chunk(name, value string, opts *sessions.Options) ([]*http.Cookie, error) {
	attrs := len(sessions.NewCookie(name, "", opts).String()) - len(name) - 1
	if len(name)+1+len(value)+attrs <= MaxCookieBytes {
		return []*http.Cookie{sessions.NewCookie(name, value, opts)}, nil
	}
	var parts []string
	rest := value
	for k := 0; rest != ""; k++ {
		if k == maxChunks {
			return nil, fmt.Errorf("%w: cookie store: %w: %d bytes of sealed value", ErrStorage, errSessionTooLarge, len(value))
		}
		room := MaxCookieBytes - attrs - len(chunkName(name, k)) - 1
		if k == 0 {
			room -= 2 // "<n>."
		}
		if room <= 0 {
			return nil, fmt.Errorf("%w: cookie store: %w: the cookie's name and attributes leave no room", ErrStorage, errSessionTooLarge)
		}
		n := min(room, len(rest))
		parts, rest = append(parts, rest[:n]), rest[n:]
	}
	out := make([]*http.Cookie, len(parts))
	for k, p := range parts {
		if k == 0 {
			p = fmt.Sprintf("%d.%s", len(parts), p)
		}
		out[k] = sessions.NewCookie(chunkName(name, k), p, opts)
	}
	return out, nil
}

// chunkName is the name of the session's k-th cookie.
func chunkName(name string, k int) string {
	if k == 0 {
		return name
	}
	return fmt.Sprintf("%s.%d", name, k)
}

// chunkIndex returns k when cookie is chunk k >= 1 of the session name.
func chunkIndex(name, cookie string) (int, bool) {
	rest, ok := strings.CutPrefix(cookie, name+".")
	if !ok || len(rest) != 1 || rest[0] < '1' || rest[0] > '0'+maxChunks-1 {
		return 0, false
	}
	return int(rest[0] - '0'), true
}

// carriedChunks lists the chunks of session name that r carries, past the
// first.
func carriedChunks(r *http.Request, name string) []int {
	if r == nil {
		return nil
	}
	var ks []int
	seen := [maxChunks]bool{}
	for _, c := range r.Cookies() {
		if k, ok := chunkIndex(name, c.Name); ok && !seen[k] {
			seen[k] = true
			ks = append(ks, k)
		}
	}
	return ks
}

// cookieValue returns the value of the first cookie called name that r
// carries. It is Request.Cookie without the parsing of every other cookie
// and the check of every byte of the value, which is the slower part of
// reading a session: a value that is not strict base64url never opens.
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			if v, ok := strings.CutPrefix(part, name); ok && strings.HasPrefix(v, "=") {
				return strings.TrimRight(v[1:], " \t"), true
			}
		}
	}
	return "", false
}

// readChunks joins the session's cookies back into its sealed value.
func readChunks(r *http.Request, name string) (string, bool) {
	if r == nil {
		return "", false
	}
	value, ok := cookieValue(r, name)
	if !ok {
		return "", false
	}
	head, first, split := strings.Cut(value, ".")
	if !split {
		return value, true
	}
	if len(head) != 1 || head[0] < '2' || head[0] > '0'+maxChunks {
		return "", false
	}
	n := int(head[0] - '0')
	var b strings.Builder
	b.Grow(n * len(first))
	b.WriteString(first)
	for k := 1; k < n; k++ {
		v, ok := cookieValue(r, chunkName(name, k))
		if !ok || b.Len()+len(v) > sessioncodec.MaxValueBytes {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}
