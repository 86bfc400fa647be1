package logto

import "time"

// SetLogoutReplayCacheSize sets the capacity of a's logout-token replay
// cache, so tests can fill it.
func SetLogoutReplayCacheSize(a *App, n int) {
	a.logoutReplay.mu.Lock()
	a.logoutReplay.max = n
	a.logoutReplay.mu.Unlock()
}

// SessionRecord is the lifetime record of a session that started and was
// last seen at t, for tests that build sessions by hand.
func SessionRecord(t time.Time, handle string) string {
	return sessionRecord{started: t, seen: t, handle: handle}.encode()
}

// SetCookieStoreClock sets the clock s seals and opens cookies by.
func SetCookieStoreClock(s *CookieStore, now func() time.Time) { s.now = now }

// ForgetOpenedSessions empties what s remembers of the sessions it opened,
// so the next read of any cookie decodes and opens it. The memory stays
// with the store, as with a store that has simply never seen the cookie.
func ForgetOpenedSessions(s *CookieStore) {
	s.opened.mu.Lock()
	clear(s.opened.m)
	s.opened.bytes = 0
	s.opened.mu.Unlock()
}
