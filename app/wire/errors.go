package wire

import (
	"fmt"
	"time"
)

// Error is the payload of an error reply. Code is the SDK status code (400, 401,
// 403, 404, 409, 413, 429, 500 or a 1006xx call code); Reason is a stable machine
// word (one of the Reason constants); Message is a sentence for people.
type Error struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// RetryAfter is, on some 429 errors, how many seconds to wait before
	// trying again.
	RetryAfter int `json:"retryAfter,omitempty"`
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Reason, e.Code, e.Message) }

// SDK status codes.
const (
	CodeOK           = 200
	CodeBadRequest   = 400
	CodeUnauthorized = 401
	CodeForbidden    = 403
	CodeNotFound     = 404
	CodeConflict     = 409
	CodeTooLarge     = 413
	CodeRateLimited  = 429
	CodeInternal     = 500
	CodeInvalidLink  = 100601
	CodeCallEnded    = 100602
	CodeCallFull     = 100603
	CodeMicDenied    = 100606
	CodeCameraDenied = 100607
	CodeMediaDenied  = 100608
	CodeNotInCall    = 100609
	CodeUnreachable  = 100620
)

// Error reasons: the stable machine words of Error.Reason. Each goes with one
// code, except ReasonTooLarge (400 for custom data, as the SDK contract says)
// and ReasonMediaDenied (100606, 100607 or 100608).
const (
	ReasonBadRequest         = "bad_request"
	ReasonUnknownType        = "unknown_type"
	ReasonUnsupportedVersion = "unsupported_version"
	ReasonUnauthorized       = "unauthorized"
	ReasonForbidden          = "forbidden"
	ReasonNotFound           = "not_found"
	ReasonConflict           = "conflict"
	ReasonTooLarge           = "too_large"
	ReasonRateLimited        = "rate_limited"
	ReasonLimitReached       = "limit_reached"
	ReasonInternal           = "internal"
	ReasonNotSupported       = "not_supported"
	ReasonShutdown           = "shutting_down"
	ReasonBusy               = "busy"
	ReasonInvalidLink        = "invalid_link"
	ReasonCallEnded          = "call_ended"
	ReasonCallFull           = "call_full"
	ReasonMediaDenied        = "media_denied"
	ReasonNotInCall          = "not_in_call"
	ReasonUnreachable        = "unreachable"
	ReasonTooManySessions    = "too_many_sessions"
)

// Errorf returns an *Error with code, reason and a formatted message.
func Errorf(code int, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// BadRequest returns a 400 error: an argument or payload is wrong.
func BadRequest(format string, args ...any) *Error {
	return Errorf(CodeBadRequest, ReasonBadRequest, format, args...)
}

// Unauthorized returns a 401 error: not signed in, or bad credentials.
func Unauthorized(format string, args ...any) *Error {
	return Errorf(CodeUnauthorized, ReasonUnauthorized, format, args...)
}

// Forbidden returns a 403 error: signed in, but not allowed.
func Forbidden(format string, args ...any) *Error {
	return Errorf(CodeForbidden, ReasonForbidden, format, args...)
}

// NotFound returns a 404 error: no such user, call or pending action.
func NotFound(format string, args ...any) *Error {
	return Errorf(CodeNotFound, ReasonNotFound, format, args...)
}

// Conflict returns a 409 error: the request does not fit the current state.
func Conflict(format string, args ...any) *Error {
	return Errorf(CodeConflict, ReasonConflict, format, args...)
}

// RateLimited returns a 429 error: too many requests; slow down.
func RateLimited(format string, args ...any) *Error {
	return Errorf(CodeRateLimited, ReasonRateLimited, format, args...)
}

// RetryLater returns a 429 error that says when to try again (rounded up to
// whole seconds, at least one).
func RetryLater(after time.Duration, format string, args ...any) *Error {
	e := RateLimited(format, args...)
	e.RetryAfter = max(1, int((after+time.Second-1)/time.Second))
	return e
}

// LimitReached returns a 429 error that waiting a moment does not cure: a
// count of live things (such as meet links) is at its limit until one of
// them ends.
func LimitReached(format string, args ...any) *Error {
	return Errorf(CodeRateLimited, ReasonLimitReached, format, args...)
}

// Internal returns a 500 error: something broke that the caller cannot fix.
func Internal(format string, args ...any) *Error {
	return Errorf(CodeInternal, ReasonInternal, format, args...)
}

// TooLarge returns the 400 error for a value over its size limit.
func TooLarge(format string, args ...any) *Error {
	return Errorf(CodeBadRequest, ReasonTooLarge, format, args...)
}

// NotInCall returns the 100609 error: the request needs a call and there is none.
func NotInCall(format string, args ...any) *Error {
	return Errorf(CodeNotInCall, ReasonNotInCall, format, args...)
}

// InvalidLink returns the 100601 error: not a call link, or no call has it.
func InvalidLink(format string, args ...any) *Error {
	return Errorf(CodeInvalidLink, ReasonInvalidLink, format, args...)
}

// CallEnded returns the 100602 error: the call is over.
func CallEnded(format string, args ...any) *Error {
	return Errorf(CodeCallEnded, ReasonCallEnded, format, args...)
}

// CallFull returns the 100603 error for a call of at most max participants.
func CallFull(max int) *Error {
	return Errorf(CodeCallFull, ReasonCallFull, "A call holds at most %d people, including you.", max)
}

// Unreachable returns the 100620 error: the signalling server cannot be reached.
func Unreachable(format string, args ...any) *Error {
	return Errorf(CodeUnreachable, ReasonUnreachable, format, args...)
}

// MediaDenied returns the error for a microphone and/or camera the user or the
// browser refused: code is CodeMicDenied, CodeCameraDenied or CodeMediaDenied.
func MediaDenied(code int, message string) *Error {
	return &Error{Code: code, Reason: ReasonMediaDenied, Message: message}
}
