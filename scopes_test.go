package logto_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/seed098cf14d/logto"
)

// Code that changes the reserved scopes it was handed (to build its own
// list, say) must not change what every later App asks for.
func TestReservedScopesCannotBeChanged(t *testing.T) {
	want := []string{logto.ScopeOpenID, logto.ScopeOfflineAccess, logto.ScopeProfile}
	got := logto.ReservedScopes()
	if !slices.Equal(got, want) {
		t.Fatalf("ReservedScopes = %q, want %q", got, want)
	}
	got[1] = "evil:write_all"
	_ = append(got[:2], "more:evil") // writes into got's backing array

	e := newEnv(t, nil)
	authURL, err := e.app.Client(logto.NewMemoryStorage()).SignIn(context.Background(), logto.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(authURL, "evil") {
		t.Errorf("an App built after the caller changed its copy asks for %s", authURL)
	}
	if again := logto.ReservedScopes(); !slices.Equal(again, want) {
		t.Errorf("ReservedScopes after the change = %q, want %q", again, want)
	}
}
