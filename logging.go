package logto

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// logLevel is the level the package logs a failure at (Config.Logger says
// why):
//
//   - Debug: ErrNotAuthenticated alone (nobody signed in, a session that
//     ended), and a caller that went away (context.Canceled);
//   - Info: what a browser, a user or anyone with a link can cause: a
//     cancelled or refused sign-in, a stale or forged callback, a
//     cross-site request, an invalid request, a spent or expired grant
//     (which signs the user out);
//   - Warn: a provider that failed or could not be reached, and a token
//     from it that failed validation (another issuer or audience looks
//     like a setup mistake);
//   - Error: the app's own failures, answered 500: storage, an invalid
//     configuration, anything the package does not know.
func logLevel(err error) slog.Level {
	var oe *OAuthError
	switch {
	case errors.Is(err, ErrStorage), errors.Is(err, ErrInvalidConfig):
		return slog.LevelError
	case errors.Is(err, context.Canceled):
		return slog.LevelDebug
	case errors.As(err, &oe):
		if ErrorStatus(oe) < 500 {
			// An answer to the request (an error brought back through the
			// browser, a spent code, a grant the user lacks): no fault of
			// the provider's.
			return slog.LevelInfo
		}
		return slog.LevelWarn
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrProvider), errors.Is(err, ErrDiscovery):
		return slog.LevelWarn
	case errors.Is(err, ErrNotAuthenticated):
		return slog.LevelDebug
	case ErrorStatus(err) >= 500:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// loggedError is a failure the package has logged where it was decided (a
// sign-in callback, a refresh): WebHandlers.LogError does not log it again.
// It changes nothing else: errors.Is and errors.As see through it, and its
// text is the failure's.
type loggedError struct{ err error }

func (e *loggedError) Error() string { return e.err.Error() }
func (e *loggedError) Unwrap() error { return e.err }

// logFailure logs err with msg and attrs at logLevel(err), with its code,
// and returns it marked as logged. err's text never holds a token or a
// secret, and attrs must not either.
func (a *App) logFailure(ctx context.Context, msg string, err error, attrs ...slog.Attr) error {
	if err == nil {
		return nil
	}
	if level := logLevel(err); a.s.logger.Enabled(ctx, level) {
		attrs = append(attrs, slog.String("code", ErrorCode(err)), slog.Any("error", err))
		a.s.logger.LogAttrs(ctx, level, msg, attrs...)
	}
	var done *loggedError
	if errors.As(err, &done) {
		return err
	}
	return &loggedError{err}
}

// LogError logs err, a failure answering r, to App.Logger at logLevel(err),
// with the request's method and path, the status and the code. A failure
// the package logged already where it was decided (HandleSignInCallback,
// GetAccessToken and the other token getters when a refresh fails) is not
// logged again. WriteError calls it; an app answering failures its own way
// (JSON, say) calls it too.
func (h *WebHandlers) LogError(r *http.Request, err error) {
	var done *loggedError
	if errors.As(err, &done) {
		return
	}
	ctx := r.Context()
	level := logLevel(err)
	if !h.App.s.logger.Enabled(ctx, level) {
		return
	}
	h.App.s.logger.LogAttrs(ctx, level, "logto: request failed",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", ErrorStatus(err)),
		slog.String("code", ErrorCode(err)),
		slog.Any("error", err))
}
