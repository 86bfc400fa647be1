package acr

import "testing"

func TestMeets(t *testing.T) {
	for _, c := range []struct {
		got    string
		wanted []string
		want   bool
	}{
		{MultiFactor, []string{MultiFactor}, true},
		{MultiFactor, []string{OneFactor}, true},
		{OneFactor, []string{MultiFactor}, false},
		{OneFactor, []string{OneFactor}, true},
		{"urn:example:hwk", []string{MultiFactor, "urn:example:hwk"}, true},
		{"urn:example:hwk", []string{OneFactor}, false},
		{"", []string{OneFactor}, false},
		{"URN:LOGTO:ACR:MFA", []string{MultiFactor}, false},
		{MultiFactor, nil, false},
	} {
		if got := Meets(c.got, c.wanted); got != c.want {
			t.Errorf("Meets(%q, %q) = %v, want %v", c.got, c.wanted, got, c.want)
		}
	}
}
