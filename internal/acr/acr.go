// Package acr knows Logto's authentication context classes (the acr
// claim) and which of them meets a demand for which: a sign-in with a
// second factor meets a demand for one factor, as Logto itself decides
// when an MFA session is asked for 1fa.
package acr

import "slices"

// Logto's classes.
const (
	OneFactor   = "urn:logto:acr:1fa"
	MultiFactor = "urn:logto:acr:mfa"
)

// stronger lists, for a class, the known classes that meet it too.
var stronger = map[string][]string{
	OneFactor: {MultiFactor},
}

// Meets reports whether a sign-in of class got meets a demand for any of
// wanted: got is one of them, or a class known to be stronger than one of
// them. Classes are compared exactly; an empty got meets nothing.
func Meets(got string, wanted []string) bool {
	if got == "" {
		return false
	}
	for _, w := range wanted {
		if got == w || slices.Contains(stronger[w], got) {
			return true
		}
	}
	return false
}
