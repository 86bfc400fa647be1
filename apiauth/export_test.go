package apiauth

import "time"

// Verifies reports how many signature checks v has run.
func Verifies(v *Validator) int64 { return v.verifies.Load() }

// CacheLen reports how many verified tokens v remembers.
func CacheLen(v *Validator) int { return v.cache.len() }

// ResetCache forgets every verified token.
func ResetCache(v *Validator) {
	v.cache.mu.Lock()
	clear(v.cache.m)
	v.cache.mu.Unlock()
}

// Bearer exposes the Authorization header parser.
var Bearer = bearer

// JudgeIntrospection exposes the introspection answer's checks.
func JudgeIntrospection(v *Validator, body []byte, now time.Time) (*Claims, error) {
	return v.judgeIntrospection(body, now)
}
